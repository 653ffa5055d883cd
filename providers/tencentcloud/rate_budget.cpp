#include "providers/tencentcloud/rate_budget.h"

#include <algorithm>
#include <cmath>

namespace reconciler {

namespace {
constexpr double kSlowdownSeconds = 10;
// The share of a second's calls held back from the burst: arrivals may jitter this long
// (100 ms) and still find room in the cloud's bucket.
constexpr double kReserveShare = 0.1;
constexpr double kMinReserve = 2;
}  // namespace

RateBudget::RateBudget(Clock* clock, int (*limit_of)(const std::string&), std::map<std::string, int> overrides)
    : clock_(clock), limit_of_(limit_of), overrides_(std::move(overrides)) {}

double RateBudget::NowSeconds() const {
  return std::chrono::duration<double>(clock_->Now().time_since_epoch()).count();
}

int RateBudget::LimitOf(const std::string& action) const {
  auto o = overrides_.find(action);
  return std::max(1, o != overrides_.end() ? o->second : limit_of_(action));
}

RateBudget::Schedule& RateBudget::ScheduleFor(const std::string& action, double now) {
  auto [it, fresh] = schedules_.try_emplace(action);
  Schedule& s = it->second;
  if (fresh) {
    s.limit = LimitOf(action);
    s.rate = s.limit;
    s.burst = std::max(1.0, s.limit - std::max(kMinReserve, std::floor(s.limit * kReserveShare)));
    s.next = 0;  // long ago: the whole burst is there
  }
  if (s.rate < s.limit && now >= s.slowed_until) s.rate = s.limit;
  return s;
}

bool RateBudget::Acquire(const std::string& action, std::stop_token stop) {
  double at = 0;
  double now = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    now = NowSeconds();
    Schedule& s = ScheduleFor(action, now);
    const double interval = 1 / s.rate;
    // After a quiet spell the schedule lags behind now; it may lag by at most a burst, which
    // is what goes out at once.
    s.next = std::max(s.next, now - (s.burst - 1) * interval);
    at = s.next;
    s.next += interval;
  }
  if (at <= now) return !stop.stop_requested();
  auto ms = std::chrono::milliseconds(static_cast<int64_t>(std::ceil((at - now) * 1000)));
  return clock_->SleepFor(ms, stop);
}

void RateBudget::Throttled(const std::string& action) {
  std::lock_guard<std::mutex> lock(mu_);
  const double now = NowSeconds();
  Schedule& s = ScheduleFor(action, now);
  s.rate = std::max(1.0, s.rate / 2);
  // No burst now: the cloud's bucket is empty. The next call waits a full interval.
  s.next = std::max(s.next, now + 1 / s.rate);
  s.slowed_until = now + kSlowdownSeconds;
}

}  // namespace reconciler
