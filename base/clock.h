#pragma once

// Time comes from an injected Clock so tests can drive it instead of sleeping.

#include <chrono>
#include <optional>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>

namespace reconciler {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, used for request timestamps and records.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Blocks for `d` of this clock's time, or until `stop` is requested. Returns false when
  // stopped. Each caller brings its own token, so stopping one stack's work never wakes
  // another's sleeps on a shared clock.
  virtual bool SleepFor(std::chrono::milliseconds d, std::stop_token stop) = 0;
  bool SleepFor(std::chrono::milliseconds d) { return SleepFor(d, std::stop_token()); }

  int64_t NowUnixSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
  }
};

// "2026-12-02T19:44:07Z": a time in UTC, as the state, the locks and the messages write it.
std::string UtcText(int64_t unix_seconds);
std::string UtcText(std::chrono::system_clock::time_point t);
// The seconds since the epoch of a UtcText ("2026-12-03T05:29:39Z"); nullopt if it is not one.
std::optional<int64_t> ParseUtcText(const std::string& text);
// RFC 3339 in UTC with milliseconds: "2026-12-03T02:00:00.123Z".
std::string UtcTextMillis(std::chrono::system_clock::time_point t);

// The real clock.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override;
  using Clock::SleepFor;
  bool SleepFor(std::chrono::milliseconds d, std::stop_token stop) override;
};

// A clock that only moves when told to. SleepFor() advances it by the requested amount
// immediately (the sleeper is the only one waiting for time to pass), so code that polls
// with sleeps runs at full speed and deterministically under test.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_seconds = 1700000000);
  std::chrono::system_clock::time_point Now() const override;
  using Clock::SleepFor;
  // Returns false, without moving time, when `stop` was requested.
  bool SleepFor(std::chrono::milliseconds d, std::stop_token stop) override;
  void Advance(std::chrono::milliseconds d);
  // Total time handed out through SleepFor(), for tests that assert on backoff.
  std::chrono::milliseconds slept() const;

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point now_;
  std::chrono::milliseconds slept_{0};
};

}  // namespace reconciler
