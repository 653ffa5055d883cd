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

struct ProgressEvent {
  std::string change_id;
  std::string resource;  // "ReadOnlyInstance/reports"
  std::string phase;     // "sending", "ordered", "delivered", "running", "done", "failed", ...
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
