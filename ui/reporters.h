#pragma once

// The reporters people and programs read: TextReporter writes one line per transition (logs,
// CI); TtyReporter keeps one live line per resource; JsonReporter writes JSON lines for the
// daemon and other programs.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <iosfwd>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "engine/reporter.h"

namespace reconciler {

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

// The width in columns of the terminal on `fd` (TIOCGWINSZ); 0 when `fd` is not a terminal.
int TerminalColumns(int fd);

struct TtyOptions {
  bool color = true;  // colour the done and failed marks (--color, NO_COLOR)
  // The terminal's width in columns, asked before every redraw, so a resize takes effect at
  // the next one (within a second). Unset or 0: lines are not cut.
  std::function<int()> columns;
};

// A live line per resource with its phase and elapsed time, redrawn in place on every event
// and once a second while anything is still in progress. Each line is cut to fit the
// terminal's width, so none wraps.
class TtyReporter : public TextReporter {
 public:
  explicit TtyReporter(std::ostream& out, TtyOptions options = {});
  ~TtyReporter() override;
  void Progress(const ProgressEvent& event) override;
  void Note(const std::string& message) override;

 private:
  void Redraw();
  // Moves up over the block drawn last and erases from there to the end of the screen.
  void EraseBlock();
  TtyOptions options_;
  std::condition_variable tick_cv_;
  bool stopping_ = false;
  std::thread ticker_;
  struct Line {
    std::string resource;
    ProgressPhase phase = ProgressPhase::kStarted;
    std::string detail;
    std::chrono::steady_clock::time_point since;
    std::optional<ProgressEvent::Wait> wait;     // as last reported ...
    std::chrono::steady_clock::time_point heard;  // ... at this time
    bool final = false;
  };
  // The line's text after its mark: resource, phase, detail, and the wait or time so far.
  static std::string Body(const Line& line, std::chrono::steady_clock::time_point now);
  std::vector<std::string> order_;
  std::map<std::string, Line> lines_;
  size_t drawn_ = 0;
};

// {"at":"...","change":"c1","resource":"...","phase":"...","detail":"..."} per line.
// One JSON object per line, each with "time" (RFC 3339 UTC with milliseconds) first.
class JsonReporter : public Reporter {
 public:
  // `clock` dates the lines and must outlive the reporter; nullptr: the system clock.
  explicit JsonReporter(std::ostream& out, const Clock* clock = nullptr) : out_(out), clock_(clock) {}
  void Progress(const ProgressEvent& event) override;
  void Note(const std::string& message) override;

 private:
  std::string Now() const;

  std::ostream& out_;
  const Clock* clock_;
  std::mutex mu_;
};

}  // namespace reconciler
