#pragma once

// Per-action request budgets of one account, as token buckets on the emulator's clock:
// each action may burst up to its limit and refills at its limit per second.

#include <map>
#include <string>


namespace reconciler::tencentcloud::emulator {

class RateLimiter {
 public:
  // `overrides` replaces the API pages' limits per action (from the world file).
  explicit RateLimiter(std::map<std::string, int> overrides = {}) : overrides_(std::move(overrides)) {}

  int LimitFor(const std::string& action) const;
  // Takes one token for `action` at time `now` (seconds). Returns false when the bucket is
  // empty, i.e. the call exceeds the limit.
  bool Allow(const std::string& action, double now);
  void Reset() { buckets_.clear(); }

 private:
  struct Bucket {
    double tokens = 0;
    double updated = 0;
    bool started = false;
  };
  std::map<std::string, int> overrides_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace reconciler::tencentcloud::emulator
