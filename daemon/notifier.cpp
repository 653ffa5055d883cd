#include "daemon/notifier.h"

#include <curl/curl.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

namespace reconciler::daemon {

namespace {

constexpr int kAttempts = 3;
constexpr std::chrono::seconds kPostTimeout{10};
constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Slack's mrkdwn reads these three as markup; everything else is literal.
std::string SlackEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string SlackText(const Notice& notice) {
  std::string text = SlackEscape(notice.title);
  for (const std::string& line : notice.lines) text += "\n• " + SlackEscape(line);
  // Why the pass ran and at which commit: the question a person asks first.
  std::string context;
  auto add = [&context](const std::string& part) { context += (context.empty() ? "" : " · ") + part; };
  if (!notice.stack.empty()) add("stack " + notice.stack);
  if (!notice.commit.empty()) add("commit " + notice.commit);
  if (!notice.trigger.empty()) add("trigger: " + notice.trigger);
  if (!context.empty()) text += "\n" + SlackEscape(context);
  return text;
}

std::string Host(const std::string& origin) {
  std::string authority = origin.substr(origin.find("://") + 3);
  if (!authority.empty() && authority[0] == '[') return authority.substr(1, authority.find(']') - 1);
  return authority.substr(0, authority.find(':'));
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

size_t Discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

// Aborts a transfer once the shutdown deadline has passed.
int OnProgress(void* deadline, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return SteadyNanos() > static_cast<std::atomic<int64_t>*>(deadline)->load() ? 1 : 0;
}

}  // namespace

std::string NoticePayload(const Notice& notice, NotifyFormat format) {
  nlohmann::ordered_json body;
  if (format == NotifyFormat::kSlack) {
    body["text"] = SlackText(notice);
  } else {
    body["stack"] = notice.stack;
    body["kind"] = notice.kind;
    body["resource"] = notice.resource;
    body["title"] = notice.title;
    body["details"] = notice.lines;
    body["commit"] = notice.commit;
    body["trigger"] = notice.trigger;
    body["at"] = UtcText(notice.at);
    body["source"] = "reconciler";
  }
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string UrlOrigin(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) return "(invalid URL)";
  const size_t start = scheme_end + 3;
  std::string authority = url.substr(start, url.find_first_of("/?#", start) - start);
  // user:password@ is a credential too.
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  return url.substr(0, scheme_end) + "://" + authority;
}

Notifier::Notifier(std::vector<NotifyTarget> targets, Clock* clock, std::chrono::seconds reminder,
                   std::function<void(const std::string&)> log, std::chrono::milliseconds retry_backoff)
    : targets_(std::move(targets)),
      clock_(clock),
      reminder_(reminder),
      log_(std::move(log)),
      retry_backoff_(retry_backoff),
      deadline_ns_(kNoDeadline) {
  if (targets_.empty()) return;
  GlobalInitOnce();
  worker_ = std::thread([this] { Worker(); });
}

Notifier::~Notifier() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    deadline_ns_ = SteadyNanos() + std::chrono::nanoseconds(kShutdownBound).count();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Notifier::Raise(const std::string& condition, const Notice& notice) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = raised_.find(condition);
  if (it != raised_.end() && it->second.notice.title == notice.title && it->second.notice.lines == notice.lines) {
    it->second.notice = notice;  // the newest commit and trigger, for the reminders
    return;
  }
  raised_[condition] = Raised{notice, clock_->Now()};
  Enqueue(notice);
}

void Notifier::Clear(const std::string& condition, const Notice& recovered) {
  std::lock_guard<std::mutex> lock(mu_);
  if (raised_.erase(condition) == 0) return;
  Enqueue(recovered);
}

void Notifier::Event(const Notice& notice) {
  std::lock_guard<std::mutex> lock(mu_);
  Enqueue(notice);
}

void Notifier::Remind() {
  if (reminder_.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_->Now();
  for (auto& [condition, raised] : raised_) {
    if (now - raised.last_sent < reminder_) continue;
    Notice reminder = raised.notice;
    reminder.title = "Reminder: " + reminder.title;
    reminder.at = clock_->NowUnixSeconds();
    Enqueue(reminder);
    raised.last_sent = now;
  }
}

void Notifier::Enqueue(const Notice& notice) {
  if (stopping_ || targets_.empty()) return;
  Notice dated = notice;
  if (dated.at == 0) dated.at = clock_->NowUnixSeconds();
  for (size_t i = 0; i < targets_.size(); ++i) {
    queue_.push_back(Post{i, NoticePayload(dated, targets_[i].format), dated.kind});
  }
  cv_.notify_all();
}

void Notifier::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && in_progress_ == 0; });
}

int64_t Notifier::posted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return posted_;
}

int64_t Notifier::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

// Once stopping, the queue is still drained (that is the shutdown's "post what is queued"),
// but without backoff waits and only until the shutdown deadline.
void Notifier::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Post post = std::move(queue_.front());
    queue_.pop_front();
    ++in_progress_;
    const bool ok = Deliver(post, lock);
    --in_progress_;
    ++(ok ? posted_ : failed_);
    cv_.notify_all();
  }
}

bool Notifier::Deliver(const Post& post, std::unique_lock<std::mutex>& lock) {
  const NotifyTarget& target = targets_[post.target];
  std::string error;
  int attempts = 0;
  while (attempts < kAttempts) {
    if (SteadyNanos() >= deadline_ns_.load()) {
      error = error.empty() ? "shutting down" : error;
      break;
    }
    ++attempts;
    lock.unlock();
    error = PostOnce(target, post.body);
    lock.lock();
    if (error.empty()) return true;
    if (attempts == kAttempts) break;
    const auto wait = retry_backoff_ * (1 << (attempts - 1));
    if (cv_.wait_for(lock, wait, [this] { return stopping_; })) break;
  }
  const std::string line = "notify: dropped a " + (post.kind.empty() ? std::string("notice") : post.kind) +
                           " notice to " + UrlOrigin(target.url) + " after " + std::to_string(attempts) +
                           (attempts == 1 ? " attempt: " : " attempts: ") + error;
  if (log_) {
    // The callback may be slow (or log through something that locks); never under mu_.
    lock.unlock();
    log_(line);
    lock.lock();
  }
  return false;
}

// "" on a 2xx answer, else why not. The message never repeats the URL: libcurl's own text
// for the code is generic, and the HTTP status is a number.
std::string Notifier::PostOnce(const NotifyTarget& target, const std::string& body) {
  CURL* h = curl_easy_init();
  if (h == nullptr) return "cannot start libcurl";
  const int64_t left_ns = deadline_ns_.load() == kNoDeadline ? kNoDeadline : deadline_ns_.load() - SteadyNanos();
  const long timeout_ms = static_cast<long>(
      std::min<int64_t>(std::chrono::milliseconds(kPostTimeout).count(), std::max<int64_t>(left_ns / 1000000, 1)));

  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (IsLoopback(Host(UrlOrigin(target.url)))) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_USERAGENT, "reconciler");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &deadline_ns_);

  const CURLcode code = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  if (code != CURLE_OK) return curl_easy_strerror(code);
  if (status < 200 || status > 299) return "HTTP " + std::to_string(status);
  return "";
}

}  // namespace reconciler::daemon
