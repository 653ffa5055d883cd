#include "emulator/rate_limiter.h"

#include <algorithm>

namespace reconciler::tencentcloud::emulator {

namespace {

// "A maximum of N requests per second", per action, as the API pages state it: the two seed
// pages (CreateReadOnlyDBInstance 100, CreateServerlessDBInstance 20) and the pages listed in
// docs/tencent-api.md section 5. Written here from those pages, not shared with the client,
// so that a wrong belief in one shows up against the other. Pages that state no limit: 20.
int PageRateLimit(const std::string& action) {
  static const std::map<std::string, int> kPages = {
      {"CreateReadOnlyDBInstance", 100},   {"CreateServerlessDBInstance", 20},
      {"DescribeDBInstances", 1000},       {"DescribeDBInstanceAttribute", 1000},
      {"DescribeOrders", 1000},            {"DeleteServerlessDBInstance", 100},
      {"DestroyDBInstance", 50},           {"DisIsolateDBInstances", 100},
      {"CreateInstances", 100},            {"ModifyDBInstanceReadOnlyGroup", 100},
      {"ModifyDBInstanceSecurityGroups", 100}, {"ModifyDBInstanceSpec", 100},
  };
  auto it = kPages.find(action);
  return it == kPages.end() ? 20 : it->second;
}

}  // namespace

int RateLimiter::LimitFor(const std::string& action) const {
  auto it = overrides_.find(action);
  return it == overrides_.end() ? PageRateLimit(action) : it->second;
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
