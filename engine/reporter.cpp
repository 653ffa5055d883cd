#include "engine/reporter.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

namespace reconciler {

const char* ProgressPhaseName(ProgressPhase p) {
  switch (p) {
    case ProgressPhase::kStarted: return "started";
    case ProgressPhase::kIntent: return "intent";
    case ProgressPhase::kUnknown: return "unknown";
    case ProgressPhase::kOrdered: return "ordered";
    case ProgressPhase::kDelivered: return "delivered";
    case ProgressPhase::kDone: return "done";
    case ProgressPhase::kFailed: return "failed";
    case ProgressPhase::kSearching: return "searching";
    case ProgressPhase::kTagging: return "tagging";
    case ProgressPhase::kResuming: return "resuming";
    case ProgressPhase::kRestoring: return "restoring";
    case ProgressPhase::kIsolating: return "isolating";
    case ProgressPhase::kDestroying: return "destroying";
    case ProgressPhase::kWaiting: return "waiting";
    case ProgressPhase::kComplete: return "complete";
    case ProgressPhase::kSkipped: return "skipped";
    case ProgressPhase::kPending: return "pending";
    case ProgressPhase::kBlocked: return "blocked";
  }
  return "?";
}

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
