#include "providers/tencentcloud/emulator/rate_limiter.h"

#include <algorithm>

namespace reconciler::tencentcloud::emulator {

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

int RateLimiter::LimitFor(const std::string& action) const {
  auto it = overrides_.find(action);
  return it == overrides_.end() ? DocumentedRateLimit(action) : it->second;
}

bool RateLimiter::Allow(const std::string& action, double now) {
  const double limit = LimitFor(action);
  Bucket& b = buckets_[action];
  if (!b.started) {
    b = {limit, now, true};
  } else if (now > b.updated) {
    b.tokens = std::min(limit, b.tokens + (now - b.updated) * limit);
    b.updated = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace reconciler::tencentcloud::emulator
