#include "providers/tencentcloud/rate_budget.h"

#include <algorithm>
#include <cmath>

namespace reconciler {

namespace {
constexpr double kSlowdownSeconds = 10;
}

RateBudget::RateBudget(Clock* clock, int (*limit_of)(const std::string&), std::map<std::string, int> overrides)
    : clock_(clock), limit_of_(limit_of), overrides_(std::move(overrides)) {}

double RateBudget::NowSeconds() const {
  return std::chrono::duration<double>(clock_->Now().time_since_epoch()).count();
}

RateBudget::Bucket& RateBudget::BucketFor(const std::string& action, double now) {
  auto [it, fresh] = buckets_.try_emplace(action);
  Bucket& b = it->second;
  if (fresh) {
    auto o = overrides_.find(action);
    b.limit = o != overrides_.end() ? o->second : limit_of_(action);
    b.rate = b.limit;
    b.tokens = b.limit;  // a full second's burst
    b.updated = now;
  }
  if (b.rate < b.limit && now >= b.slowed_until) b.rate = b.limit;
  if (now > b.updated) {
    b.tokens = std::min(b.rate, b.tokens + (now - b.updated) * b.rate);
    b.updated = now;
  }
  return b;
}

bool RateBudget::Acquire(const std::string& action, std::stop_token stop) {
  for (;;) {
    double wait = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Bucket& b = BucketFor(action, NowSeconds());
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return true;
      }
      wait = (1 - b.tokens) / b.rate;
    }
    auto ms = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(wait * 1000)));
    if (!clock_->SleepFor(std::max(ms, std::chrono::milliseconds(1)), stop)) return false;
  }
}

void RateBudget::Throttled(const std::string& action) {
  std::lock_guard<std::mutex> lock(mu_);
  double now = NowSeconds();
  Bucket& b = BucketFor(action, now);
  b.rate = std::max(1.0, b.rate / 2);
  b.tokens = std::min(b.tokens, 0.0);
  b.slowed_until = now + kSlowdownSeconds;
}

}  // namespace reconciler
