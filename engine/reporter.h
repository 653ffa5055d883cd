#pragma once

// How the engine tells people (and machines) what it is doing. The core never prints:
// progress goes through a Reporter. The text, terminal and JSON reporters are in
// ui/reporters.h; RecordingReporter here records events for tests.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace reconciler {

// Where a change stands, as the progress line names it.
enum class ProgressPhase {
  kStarted,     // the change began
  kIntent,      // a purchase's phases (state_store.h Phase), as each is committed
  kUnknown,
  kOrdered,
  kDelivered,
  kDone,
  kFailed,
  kSearching,   // looking for what a create whose answer was lost bought
  kTagging,     // finishing the tags a create could not carry
  kResuming,    // following a purchase an earlier apply left in flight
  kRestoring,
  kIsolating,
  kDestroying,
  kWaiting,     // for instances to reach a status
  kComplete,    // final: the change is done
  kSkipped,     // final
  kPending,     // final: left in flight for the next apply
  kBlocked,     // final
};
// "started", "intent", ..., the words the progress lines and JSON events carry.
const char* ProgressPhaseName(ProgressPhase p);

struct ProgressEvent {
  std::string change_id;
  std::string resource;  // "ReadOnlyInstance/reports"
  ProgressPhase phase = ProgressPhase::kStarted;
  std::string detail;
  bool final = false;    // the change is finished (done, failed or left pending)

  // Set while the change waits on the cloud. The executor sends one when a wait starts and
  // then at growing intervals (not at every poll); a live view counts on between them.
  struct Wait {
    std::string what;               // "order 20261123...", "pgro-1 (initing) to run"
    std::chrono::seconds waited{0};  // so far, by the engine's clock
    std::chrono::seconds limit{0};   // the deadline, counted from the wait's start
  };
  std::optional<Wait> wait{};
};

// "45s", "1m20s", "30m", "1h", "2h5m" (seconds shown below 10 minutes only).
std::string FormatDuration(std::chrono::seconds d);

// "waiting for order 2026...: 1m20s of 30m"
std::string FormatWait(const ProgressEvent::Wait& wait);

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void Progress(const ProgressEvent& event) = 0;
  virtual void Note(const std::string& message) = 0;
};

// Records every event, for tests and benchmarks.
class RecordingReporter : public Reporter {
 public:
  void Progress(const ProgressEvent& event) override;
  void Note(const std::string& message) override;
  std::vector<ProgressEvent> events() const;
  std::vector<std::string> notes() const;

 private:
  mutable std::mutex mu_;
  std::vector<ProgressEvent> events_;
  std::vector<std::string> notes_;
};

}  // namespace reconciler
