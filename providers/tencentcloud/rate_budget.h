#pragma once

// Rate limits as a budget, not an error: a token bucket per API action, filled at the
// action's documented rate (or the project's rateLimits), shapes every call. A throttled
// answer halves that action's rate for a while, so a shared account is not hammered.

#include <map>
#include <mutex>
#include <string>

#include <stop_token>

#include "base/clock.h"

namespace reconciler {

class RateBudget {
 public:
  // `limit_of` gives the default per-second limit of an action; `overrides` replaces it.
  RateBudget(Clock* clock, int (*limit_of)(const std::string&), std::map<std::string, int> overrides = {});

  // Waits, on the clock, until `action` may be called. Returns false when `stop` was
  // requested (Ctrl-C, or the stack's work being stopped) during the wait.
  bool Acquire(const std::string& action, std::stop_token stop = {});
  // Reports a RequestLimitExceeded answer for `action`.
  void Throttled(const std::string& action);

 private:
  struct Bucket {
    double rate = 0;  // tokens per second now
    double limit = 0;  // the configured rate
    double tokens = 0;
    double updated = 0;  // seconds
    double slowed_until = 0;
  };
  Bucket& BucketFor(const std::string& action, double now);
  double NowSeconds() const;

  Clock* clock_;
  int (*limit_of_)(const std::string&);
  std::map<std::string, int> overrides_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace reconciler
