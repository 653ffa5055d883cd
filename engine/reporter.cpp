#include "engine/reporter.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

namespace reconciler {

std::string FormatDuration(std::chrono::seconds d) {
  const int64_t s = std::max<int64_t>(0, d.count());
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) {
    std::string out = std::to_string(s / 60) + "m";
    if (s < 600 && s % 60 != 0) out += std::to_string(s % 60) + "s";
    return out;
  }
  std::string out = std::to_string(s / 3600) + "h";
  if (s % 3600 / 60 != 0) out += std::to_string(s % 3600 / 60) + "m";
  return out;
}

std::string FormatWait(const ProgressEvent::Wait& wait) {
  return "waiting for " + wait.what + ": " + FormatDuration(wait.waited) + " of " + FormatDuration(wait.limit);
}

void RecordingReporter::Progress(const ProgressEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(e);
}

void RecordingReporter::Note(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  notes_.push_back(message);
}

std::vector<ProgressEvent> RecordingReporter::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

std::vector<std::string> RecordingReporter::notes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return notes_;
}

}  // namespace reconciler
