#include "ui/reporters.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <ostream>

#include "base/term_style.h"

namespace reconciler {

TextReporter::TextReporter(std::ostream& out) : out_(out), start_(std::chrono::steady_clock::now()) {}

std::string TextReporter::Elapsed() const {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_).count();
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

void TextReporter::Progress(const ProgressEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  out_ << "[" << Elapsed() << "] " << e.resource << ": " << ProgressPhaseName(e.phase);
  if (!e.detail.empty()) out_ << ": " << e.detail;
  if (e.wait) out_ << ": " << FormatWait(*e.wait);
  out_ << "\n" << std::flush;
}

void TextReporter::Note(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  out_ << message << "\n" << std::flush;
}

namespace {

// Columns a UTF-8 string takes: one per code point (the view prints no wide characters of
// its own; a wide one in a name or detail makes the line one column shorter than it could be).
size_t Columns(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// `s` cut to at most `columns` columns, ending in an ellipsis when cut; never splits a code point.
std::string FitTo(const std::string& s, size_t columns) {
  if (Columns(s) <= columns) return s;
  if (columns == 0) return "";
  std::string out;
  size_t used = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool starts = (s[i] & 0xC0) != 0x80;
    if (starts && ++used > columns - 1) break;
    out += s[i];
  }
  return out + "\xe2\x80\xa6";
}

}  // namespace

int TerminalColumns(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

TtyReporter::TtyReporter(std::ostream& out, TtyOptions options) : TextReporter(out), options_(std::move(options)) {
  ticker_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      tick_cv_.wait_for(lock, std::chrono::seconds(1));
      bool live = false;
      for (const auto& [key, line] : lines_) live = live || !line.final;
      if (!stopping_ && live) Redraw();
    }
  });
}

TtyReporter::~TtyReporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  tick_cv_.notify_all();
  ticker_.join();
}

void TtyReporter::Progress(const ProgressEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = e.change_id + " " + e.resource;
  auto [it, fresh] = lines_.try_emplace(key);
  if (fresh) {
    order_.push_back(key);
    it->second.resource = e.resource;
  }
  Line& line = it->second;
  const auto now = std::chrono::steady_clock::now();
  if (line.phase != e.phase) {
    line.since = now;
    line.wait.reset();
  }
  line.phase = e.phase;
  if (e.wait) {
    line.wait = e.wait;  // the detail of the event before stays: the wait adds to it
    line.heard = now;
  } else {
    line.detail = e.detail;
    if (e.final) line.wait.reset();
  }
  line.final = e.final;
  Redraw();
}

void TtyReporter::Note(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  // The note takes the live block's place and the block is drawn again below it, so no
  // stale copy of the block stays above.
  EraseBlock();
  out_ << message << "\n";
  Redraw();
}

std::string TtyReporter::Body(const Line& l, std::chrono::steady_clock::time_point now) {
  std::string body = l.resource + "  " + ProgressPhaseName(l.phase);
  if (!l.detail.empty()) body += " (" + l.detail + ")";
  if (l.wait && !l.final) {
    // Counts on from the last report, which came from the engine's clock.
    ProgressEvent::Wait w = *l.wait;
    w.waited += std::chrono::duration_cast<std::chrono::seconds>(now - l.heard);
    body += "  " + FormatWait(w);
  } else if (!l.final) {
    body += fmt::format("  {}", std::chrono::duration_cast<std::chrono::seconds>(now - l.since));
  }
  return body;
}

void TtyReporter::EraseBlock() {
  if (drawn_ > 0) out_ << "\033[" << drawn_ << "A\r\033[J";
  drawn_ = 0;
}

void TtyReporter::Redraw() {
  // Erase the block drawn last time and draw it again, a line per resource. A line is cut one
  // column short of the width: one that filled the row would wrap onto a row the next move up
  // does not count, and a copy would stay behind. The width is asked each time, so after a
  // resize the next redraw fits the new width.
  const int columns = options_.columns ? options_.columns() : 0;
  EraseBlock();
  const auto now = std::chrono::steady_clock::now();
  for (const std::string& key : order_) {
    const Line& l = lines_[key];
    std::string mark = "\xe2\x80\xa6";  // in progress
    if (l.final) {
      const bool done = l.phase == ProgressPhase::kComplete;
      mark = done ? "\xe2\x9c\x93" : "\xe2\x9c\x97";
      mark = Styled(mark, {done ? TermStyle::kGreen : TermStyle::kRed}, options_.color);
    }
    std::string body = Body(l, now);
    constexpr size_t kMarkColumns = 4;  // "  ✓ "
    if (columns > 0) body = FitTo(body, static_cast<size_t>(std::max<int>(columns - 1 - kMarkColumns, 0)));
    out_ << "  " << mark << " " << body << "\n";
  }
  drawn_ = order_.size();
  out_ << std::flush;
}

std::string JsonReporter::Now() const {
  return UtcTextMillis(clock_ != nullptr ? clock_->Now() : std::chrono::system_clock::now());
}

void JsonReporter::Progress(const ProgressEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::ordered_json j{{"time", Now()}, {"change", e.change_id}, {"resource", e.resource}, {"phase", ProgressPhaseName(e.phase)},
                   {"detail", e.detail}, {"final", e.final}};
  if (e.wait) {
    j["waitingFor"] = e.wait->what;
    j["waitedSeconds"] = e.wait->waited.count();
    j["deadlineSeconds"] = e.wait->limit.count();
  }
  out_ << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n" << std::flush;
}

void JsonReporter::Note(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  out_ << nlohmann::ordered_json{{"time", Now()}, {"note", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"
       << std::flush;
}

}  // namespace reconciler
