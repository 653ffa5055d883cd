#pragma once

// How the engine tells people (and machines) what it is doing. The core never prints:
// progress goes through a Reporter. TextReporter writes one line per transition (logs, CI);
// TtyReporter keeps one live line per resource; JsonReporter writes JSON lines for the
// daemon and other programs; tests record events.

#include <chrono>
#include <iosfwd>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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

// One line per transition: "[00:03] ReadOnlyInstance/reports: ordered: 2 deals (20261123...)".
class TextReporter : public Reporter {
 public:
  explicit TextReporter(std::ostream& out);
  void Progress(const ProgressEvent& event) override;
  void Note(const std::string& message) override;

 protected:
  std::string Elapsed() const;
  std::ostream& out_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point start_;
};

// A live line per resource with its phase and elapsed time, redrawn in place on every event
// and once a second while anything is still in progress.
class TtyReporter : public TextReporter {
 public:
  explicit TtyReporter(std::ostream& out);
  ~TtyReporter() override;
  void Progress(const ProgressEvent& event) override;
  void Note(const std::string& message) override;

 private:
  void Redraw();
  std::condition_variable tick_cv_;
  bool stopping_ = false;
  std::thread ticker_;
  struct Line {
    std::string resource;
    std::string phase;
    std::string detail;
    std::chrono::steady_clock::time_point since;
    std::optional<ProgressEvent::Wait> wait;     // as last reported ...
    std::chrono::steady_clock::time_point heard;  // ... at this time
    bool final = false;
  };
  std::vector<std::string> order_;
  std::map<std::string, Line> lines_;
  size_t drawn_ = 0;
};

// {"at":"...","change":"c1","resource":"...","phase":"...","detail":"..."} per line.
class JsonReporter : public Reporter {
 public:
  explicit JsonReporter(std::ostream& out) : out_(out) {}
  void Progress(const ProgressEvent& event) override;
  void Note(const std::string& message) override;

 private:
  std::ostream& out_;
  std::mutex mu_;
};

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
