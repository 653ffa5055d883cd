#include "base/clock.h"

#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fmt/chrono.h>

namespace reconciler {

std::string UtcText(int64_t unix_seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(unix_seconds)));
}

std::string UtcText(std::chrono::system_clock::time_point t) {
  return UtcText(static_cast<int64_t>(std::chrono::system_clock::to_time_t(t)));
}

std::optional<int64_t> ParseUtcText(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

std::string UtcTextMillis(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  // Floor division, so an instant before 1970 still names its own second.
  const int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  std::string text = UtcText(seconds);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms - seconds * 1000));
  return text.insert(text.size() - 1, frac);
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
