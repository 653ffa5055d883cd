#pragma once

// Rate limits as a budget, not an error. Each API action has a documented limit of N calls
// per second (or the project's rateLimits). The budget hands out send times for it as a
// virtual schedule (GCRA): each caller reserves the next slot, at least 1/N s after the
// previous one, and sleeps until it. Callers are served in the order they asked, and none
// wakes only to find its slot taken, however many wait.
//
// The cloud counts calls as they arrive, in a bucket that holds N. Arrival times jitter, so
// calls sent exactly 1/N s apart can arrive closer together. The budget therefore allows a
// burst of only N minus a reserve (a tenth of a second's calls, at least 2; at least 1 call
// is still a burst). The cloud's bucket then always has that reserve left to absorb 100 ms
// of jitter, and a sustained run goes at the full rate with no
// RequestLimitExceeded. A throttled answer still halves that action's rate for 10 s: the
// account may be shared with other clients.

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

  // The configured calls per second of `action`.
  int LimitOf(const std::string& action) const;

 private:
  struct Schedule {
    double limit = 0;         // the configured rate, calls per second
    double rate = 0;          // the rate now (lower for a while after a throttle)
    double burst = 0;         // calls that may go at once after a quiet spell
    double next = 0;          // seconds: the schedule's next slot, ignoring the burst
    double slowed_until = 0;  // seconds
  };
  Schedule& ScheduleFor(const std::string& action, double now);
  double NowSeconds() const;

  Clock* clock_;
  int (*limit_of_)(const std::string&);
  std::map<std::string, int> overrides_;
  std::mutex mu_;
  std::map<std::string, Schedule> schedules_;
};

}  // namespace reconciler
