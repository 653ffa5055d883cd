#pragma once

// Notifications: the daemon posts to the webhook URLs the project file names
// (daemon.notify), as generic JSON or as a Slack-compatible payload ({"text": ...}).
//
// One condition is posted once, not on every pass: Raise() posts when a condition key is
// new (or its message changed), Clear() posts the recovery of a raised one, and while a
// condition stays raised a reminder goes out every `reminder` (default 1h). Event() posts a
// one-off fact (a pass that applied changes, saying what and why). Posting happens on a
// thread of the notifier's own, so a slow receiver never delays a pass; a failed post is
// retried a few times with backoff and then dropped with a log line. No secret is ever in a
// payload, and the URLs (which often carry a token) are never logged whole.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"

namespace reconciler::daemon {

enum class NotifyFormat { kJson, kSlack };

struct NotifyTarget {
  std::string url;
  NotifyFormat format = NotifyFormat::kJson;
};

struct Notice {
  std::string kind;      // "drift", "applied", "terminal", "recovered", "paused", "failing", "invalid-commit"
  std::string stack;
  std::string resource;  // "" for the whole stack
  std::string title;     // one line
  std::vector<std::string> lines;  // the details: each change and its reason, the error and its code
  std::string commit;    // the applied commit, when from git
  std::string trigger;   // why the pass ran
  int64_t at = 0;        // unix seconds
};

// The JSON body posted for `notice` in `format`:
// - kJson: {"stack","kind","resource","title","details":[...],"commit","trigger",
//   "at": "2026-12-03T02:00:00Z","source":"reconciler"};
// - kSlack: {"text": "<title>\n• detail\n..."} for a Slack incoming webhook, with & < >
//   escaped as mrkdwn wants and a last line naming the stack, commit and trigger.
std::string NoticePayload(const Notice& notice, NotifyFormat format);

// "https://hooks.example.com:8443" for "https://user:pw@hooks.example.com:8443/T0/B1?token=x":
// what a log line may say about a target. "(invalid URL)" when `url` has no scheme.
std::string UrlOrigin(const std::string& url);

class Notifier {
 public:
  // `clock` (must outlive the notifier) dates notices and paces reminders; `reminder` <= 0
  // sends none. `log` receives one line per failed post, naming the target by UrlOrigin()
  // only; it is called on the notifier's thread. A failed post (transport error or non-2xx)
  // is tried 3 times in all, waiting `retry_backoff`, then twice that, between attempts.
  Notifier(std::vector<NotifyTarget> targets, Clock* clock, std::chrono::seconds reminder,
           std::function<void(const std::string&)> log = {},
           std::chrono::milliseconds retry_backoff = std::chrono::seconds(2));
  ~Notifier();  // stops accepting, posts what is queued (at most kShutdownBound), then stops
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  static constexpr std::chrono::seconds kShutdownBound{3};

  // Posts `notice` when `condition` is not raised yet or its title or lines changed; else
  // only remembers the newest copy (for the reminders).
  void Raise(const std::string& condition, const Notice& notice);
  // Posts `recovered` when `condition` was raised, and forgets it; else does nothing.
  void Clear(const std::string& condition, const Notice& recovered);
  // Posts `notice`, always.
  void Event(const Notice& notice);
  // Sends the reminders that are due: each raised condition last sent `reminder` or more
  // ago (by the clock) is posted again, its title prefixed "Reminder: ". Called after every pass.
  void Remind();

  // Waits until every queued post was attempted (tests).
  void Flush();
  int64_t posted() const;  // posts that got a 2xx answer
  int64_t failed() const;  // posts dropped after their retries

 private:
  struct Raised {
    Notice notice;
    std::chrono::system_clock::time_point last_sent;
  };
  // One body for one target.
  struct Post {
    size_t target = 0;
    std::string body;
    std::string kind;
  };
  void Enqueue(const Notice& notice);  // REQUIRES: mu_ held
  void Worker();
  bool Deliver(const Post& post, std::unique_lock<std::mutex>& lock);
  std::string PostOnce(const NotifyTarget& target, const std::string& body);

  std::vector<NotifyTarget> targets_;
  Clock* clock_;
  std::chrono::seconds reminder_;
  std::function<void(const std::string&)> log_;
  std::chrono::milliseconds retry_backoff_;
  std::map<std::string, Raised> raised_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Post> queue_;
  int64_t in_progress_ = 0;
  int64_t posted_ = 0;
  int64_t failed_ = 0;
  bool stopping_ = false;
  // Steady-clock nanoseconds after which no post may still be running (set at shutdown);
  // read by libcurl's progress callback to abort a slow receiver.
  std::atomic<int64_t> deadline_ns_;
  std::thread worker_;
};

}  // namespace reconciler::daemon
