#include "base/clock.h"

#include <condition_variable>
#include <ctime>
#include <fmt/chrono.h>

namespace reconciler {

std::string UtcText(int64_t unix_seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(unix_seconds)));
}

std::string UtcText(std::chrono::system_clock::time_point t) {
  return UtcText(static_cast<int64_t>(std::chrono::system_clock::to_time_t(t)));
}

std::chrono::system_clock::time_point SystemClock::Now() const {
  return std::chrono::system_clock::now();
}

bool SystemClock::SleepFor(std::chrono::milliseconds d, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

FakeClock::FakeClock(int64_t unix_seconds)
    : now_(std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds))) {}

std::chrono::system_clock::time_point FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

bool FakeClock::SleepFor(std::chrono::milliseconds d, std::stop_token stop) {
  if (stop.stop_requested()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
  slept_ += d;
  return true;
}

void FakeClock::Advance(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

std::chrono::milliseconds FakeClock::slept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slept_;
}

}  // namespace reconciler
