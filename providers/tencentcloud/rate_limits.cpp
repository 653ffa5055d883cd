#include "providers/tencentcloud/rate_limits.h"

#include <map>

namespace reconciler::tencentcloud {

int DocumentedRateLimit(const std::string& action) {
  static const std::map<std::string, int> kLimits = {
      {"DescribeDBInstances", 1000},
      {"DescribeDBInstanceAttribute", 1000},
      {"DescribeOrders", 1000},
      {"CreateReadOnlyDBInstance", 100},   // seed page
      {"CreateServerlessDBInstance", 20},  // seed page (2021-05-19)
      {"DeleteServerlessDBInstance", 100},
      {"DestroyDBInstance", 50},
      {"DisIsolateDBInstances", 100},
      {"CreateInstances", 100},
      {"ModifyDBInstanceReadOnlyGroup", 100},
      {"ModifyDBInstanceSecurityGroups", 100},
      {"ModifyDBInstanceSpec", 100},
  };
  auto it = kLimits.find(action);
  return it == kLimits.end() ? 20 : it->second;
}

}  // namespace reconciler::tencentcloud
