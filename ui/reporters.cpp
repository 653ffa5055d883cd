#include "ui/reporters.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

namespace reconciler {

TextReporter::TextReporter(std::ostream& out) : out_(out), start_(std::chrono::steady_clock::now()) {}

std::string TextReporter::Elapsed() const {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_).count();
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
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

TtyReporter::TtyReporter(std::ostream& out) : TextReporter(out) {
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
  out_ << message << "\n";
  drawn_ = 0;  // the live block starts again below the note
  Redraw();
}

void TtyReporter::Redraw() {
  // Move up over the block drawn last time and draw it again, a line per resource.
  if (drawn_ > 0) out_ << "\033[" << drawn_ << "A";
  auto now = std::chrono::steady_clock::now();
  for (const std::string& key : order_) {
    const Line& l = lines_[key];
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - l.since).count();
    out_ << "\033[2K  " << (l.final ? (l.phase == ProgressPhase::kComplete ? "\033[32m\xe2\x9c\x93\033[0m " : "\033[31m\xe2\x9c\x97\033[0m ") : "\xe2\x80\xa6 ")
         << l.resource << "  " << ProgressPhaseName(l.phase);
    if (!l.detail.empty()) out_ << " (" << l.detail << ")";
    if (l.wait && !l.final) {
      // Counts on from the last report, which came from the engine's clock.
      ProgressEvent::Wait w = *l.wait;
      w.waited += std::chrono::duration_cast<std::chrono::seconds>(now - l.heard);
      out_ << "  " << FormatWait(w);
    } else if (!l.final) {
      out_ << "  " << secs << "s";
    }
    out_ << "\n";
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
