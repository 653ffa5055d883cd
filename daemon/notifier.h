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

#include <chrono>
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

// The JSON body posted for `notice` in `format`.
std::string NoticePayload(const Notice& notice, NotifyFormat format);

class Notifier {
 public:
  // `clock` (must outlive the notifier) dates notices and paces reminders. `log` receives one
  // line per failed post, without the URL's path or query.
  Notifier(std::vector<NotifyTarget> targets, Clock* clock, std::chrono::seconds reminder,
           std::function<void(const std::string&)> log = {});
  ~Notifier();  // posts what is queued (at most a few seconds), then stops

  void Raise(const std::string& condition, const Notice& notice);
  void Clear(const std::string& condition, const Notice& recovered);
  void Event(const Notice& notice);
  // Sends the reminders that are due. Called after every pass.
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
  void Enqueue(const Notice& notice);
  void Worker();

  std::vector<NotifyTarget> targets_;
  Clock* clock_;
  std::chrono::seconds reminder_;
  std::function<void(const std::string&)> log_;
  std::map<std::string, Raised> raised_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Notice> queue_;
  int64_t in_progress_ = 0;
  int64_t posted_ = 0;
  int64_t failed_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace reconciler::daemon
