#include "providers/tencentcloud/emulator/rate_limiter.h"

#include <algorithm>

namespace reconciler::tencentcloud::emulator {

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
