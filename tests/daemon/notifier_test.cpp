// The notifier against a real receiving HTTP server: payloads, dedup, reminders, recovery,
// retries, and that a target's URL (which carries its token) never reaches a log.

#include "daemon/notifier.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "tests/support/loopback_server.h"

namespace reconciler::testing {
namespace {

using daemon::Notice;
using daemon::Notifier;
using daemon::NotifyFormat;
using daemon::NotifyTarget;

constexpr std::chrono::milliseconds kFastBackoff{5};
constexpr const char* kHookPath = "/services/T000/B000/SECRETPATHTOKEN";
constexpr const char* kHookQuery = "?token=QUERYSECRET";

// Records each POST it receives and answers with the scripted statuses, then 200. Declared
// before the server, since handlers run on the server's threads.
struct Receiver {
  std::mutex mu;
  std::vector<std::string> bodies;
  std::vector<std::string> content_types;
  std::vector<std::string> paths;
  std::deque<int> statuses;
  int otherwise = 200;

  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return bodies.size();
  }
  nlohmann::json Body(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    return nlohmann::json::parse(bodies.at(i));
  }
};

struct Rig {
  Receiver receiver;
  LoopbackServer server;
  FakeClock clock{1700000000};
  std::mutex log_mu;
  std::vector<std::string> log;

  Rig() {
    server.server().Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(receiver.mu);
      receiver.bodies.push_back(req.body);
      receiver.content_types.push_back(req.get_header_value("Content-Type"));
      receiver.paths.push_back(req.path);
      int status = receiver.otherwise;
      if (!receiver.statuses.empty()) {
        status = receiver.statuses.front();
        receiver.statuses.pop_front();
      }
      res.status = status;
      res.set_content("ok", "text/plain");
    });
    server.Start();
  }
  std::string url() const { return server.url() + kHookPath + kHookQuery; }
  std::function<void(const std::string&)> Logger() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu);
      log.push_back(line);
    };
  }
  std::unique_ptr<Notifier> Make(NotifyFormat format = NotifyFormat::kJson,
                                 std::chrono::seconds reminder = std::chrono::hours(1)) {
    return std::make_unique<Notifier>(std::vector<NotifyTarget>{{url(), format}}, &clock, reminder, Logger(),
                                      kFastBackoff);
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(log_mu);
    return log;
  }
};

// A loopback port that refuses connections: bound without listening, and kept bound so
// nobody else takes it for the length of the test.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot reserve a loopback port");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~ClosedPort() { close(fd_); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

Notice Drift(const std::string& detail = "tag team: cloud has \"ops\", spec has \"data\"") {
  Notice n;
  n.kind = "drift";
  n.stack = "prod";
  n.resource = "ReadOnlyInstance/reports";
  n.title = "Drift detected on ReadOnlyInstance/reports";
  n.lines = {detail};
  n.commit = "abc1234";
  n.trigger = "interval";
  return n;
}

TEST_CASE("daemon notifier: a JSON notice carries every field, dated by the clock when undated") {
  Rig rig;
  auto notifier = rig.Make();
  Notice n = Drift();
  n.kind = "applied";
  n.title = "Applied 2 changes";
  n.lines = {"create ReadOnlyInstance/reports-2: count 1 → 2", "update tags of ReadOnlyInstance/reports"};
  n.trigger = "webhook github";
  notifier->Event(n);
  notifier->Flush();

  REQUIRE(rig.receiver.count() == 1);
  CHECK(notifier->posted() == 1);
  CHECK(notifier->failed() == 0);
  const nlohmann::json body = rig.receiver.Body(0);
  CHECK(body["stack"] == "prod");
  CHECK(body["kind"] == "applied");
  CHECK(body["resource"] == "ReadOnlyInstance/reports");
  CHECK(body["title"] == "Applied 2 changes");
  CHECK(body["details"] == nlohmann::json::array({n.lines[0], n.lines[1]}));
  CHECK(body["commit"] == "abc1234");
  CHECK(body["trigger"] == "webhook github");
  CHECK(body["at"] == "2023-11-14T22:13:20Z");
  CHECK(body["source"] == "reconciler");
  std::lock_guard<std::mutex> lock(rig.receiver.mu);
  CHECK(rig.receiver.content_types.at(0) == "application/json");
  CHECK(rig.receiver.paths.at(0) == kHookPath);
}

TEST_CASE("daemon notifier: a notice's own time is kept") {
  Notice n = Drift();
  n.at = 1800000000;
  CHECK(nlohmann::json::parse(daemon::NoticePayload(n, NotifyFormat::kJson))["at"] == "2027-01-15T08:00:00Z");
}

TEST_CASE("daemon notifier: a Slack payload is only {\"text\"}, with mrkdwn escaped") {
  Rig rig;
  auto notifier = rig.Make(NotifyFormat::kSlack);
  Notice n = Drift("size <8 GB> & more");
  n.title = "Drift on <reports> & co";
  notifier->Event(n);
  notifier->Flush();

  REQUIRE(rig.receiver.count() == 1);
  const nlohmann::json body = rig.receiver.Body(0);
  REQUIRE(body.is_object());
  CHECK(body.size() == 1);
  CHECK(body["text"] ==
        "Drift on &lt;reports&gt; &amp; co\n"
        "• size &lt;8 GB&gt; &amp; more\n"
        "stack prod · commit abc1234 · trigger: interval");
}

TEST_CASE("daemon notifier: a condition raised twice is posted once, and again when its message changes") {
  Rig rig;
  auto notifier = rig.Make();
  notifier->Raise("drift:ReadOnlyInstance/reports", Drift());
  notifier->Raise("drift:ReadOnlyInstance/reports", Drift());
  notifier->Flush();
  CHECK(rig.receiver.count() == 1);

  notifier->Raise("drift:ReadOnlyInstance/reports", Drift("tag team: cloud has \"ops\", spec has \"bi\""));
  notifier->Flush();
  REQUIRE(rig.receiver.count() == 2);
  CHECK(rig.receiver.Body(1)["details"][0] == "tag team: cloud has \"ops\", spec has \"bi\"");

  notifier->Raise("drift:ReadOnlyInstance/other", Drift());  // another key is another condition
  notifier->Flush();
  CHECK(rig.receiver.count() == 3);
  CHECK(notifier->posted() == 3);
}

TEST_CASE("daemon notifier: a raised condition is reminded once the reminder period has passed") {
  Rig rig;
  auto notifier = rig.Make(NotifyFormat::kJson, std::chrono::hours(1));
  notifier->Raise("failing", Drift());
  notifier->Flush();
  REQUIRE(rig.receiver.count() == 1);

  rig.clock.Advance(std::chrono::minutes(59));
  notifier->Remind();
  notifier->Flush();
  CHECK(rig.receiver.count() == 1);

  rig.clock.Advance(std::chrono::minutes(1));
  notifier->Remind();
  notifier->Remind();  // due once, not twice
  notifier->Flush();
  REQUIRE(rig.receiver.count() == 2);
  const nlohmann::json reminder = rig.receiver.Body(1);
  CHECK(reminder["title"] == "Reminder: Drift detected on ReadOnlyInstance/reports");
  CHECK(reminder["at"] == "2023-11-14T23:13:20Z");

  rig.clock.Advance(std::chrono::minutes(30));
  notifier->Remind();
  notifier->Flush();
  CHECK(rig.receiver.count() == 2);  // the period counts from the reminder
}

TEST_CASE("daemon notifier: a cleared condition posts its recovery once, and only if it was raised") {
  Rig rig;
  auto notifier = rig.Make();
  Notice recovered = Drift();
  recovered.kind = "recovered";
  recovered.title = "ReadOnlyInstance/reports recovered";
  recovered.lines = {};

  notifier->Clear("terminal:ReadOnlyInstance/reports", recovered);
  notifier->Flush();
  CHECK(rig.receiver.count() == 0);

  notifier->Raise("terminal:ReadOnlyInstance/reports", Drift());
  notifier->Clear("terminal:ReadOnlyInstance/reports", recovered);
  notifier->Clear("terminal:ReadOnlyInstance/reports", recovered);
  notifier->Flush();
  REQUIRE(rig.receiver.count() == 2);
  CHECK(rig.receiver.Body(1)["kind"] == "recovered");
  CHECK(rig.receiver.Body(1)["title"] == "ReadOnlyInstance/reports recovered");

  rig.clock.Advance(std::chrono::hours(2));
  notifier->Remind();  // a cleared condition is forgotten: no reminder
  notifier->Flush();
  CHECK(rig.receiver.count() == 2);
}

TEST_CASE("daemon notifier: a receiver failing twice then answering 200 gets the notice delivered once") {
  Rig rig;
  rig.receiver.statuses = {500, 503};
  auto notifier = rig.Make();
  notifier->Event(Drift());
  notifier->Flush();
  CHECK(rig.receiver.count() == 3);
  CHECK(notifier->posted() == 1);
  CHECK(notifier->failed() == 0);
  CHECK(rig.Log().empty());
}

TEST_CASE("daemon notifier: a receiver that always fails drops the notice after 3 attempts, logging no token") {
  Rig rig;
  rig.receiver.otherwise = 500;
  auto notifier = rig.Make();
  notifier->Event(Drift());
  notifier->Flush();
  CHECK(rig.receiver.count() == 3);
  CHECK(notifier->posted() == 0);
  CHECK(notifier->failed() == 1);

  const std::vector<std::string> log = rig.Log();
  REQUIRE(log.size() == 1);
  CHECK(log[0].find(rig.server.url()) != std::string::npos);
  CHECK(log[0].find("HTTP 500") != std::string::npos);
  CHECK(log[0].find("SECRETPATHTOKEN") == std::string::npos);
  CHECK(log[0].find("QUERYSECRET") == std::string::npos);
  CHECK(log[0].find("/services") == std::string::npos);
}

TEST_CASE("daemon notifier: an unreachable receiver is a failure, logged by its origin only") {
  ClosedPort closed;
  const std::string url = "http://127.0.0.1:" + std::to_string(closed.port());
  FakeClock clock;
  std::vector<std::string> log;
  std::mutex mu;
  Notifier notifier({{url + "/hook/SECRETPATHTOKEN?token=QUERYSECRET", NotifyFormat::kJson}}, &clock,
                    std::chrono::hours(1),
                    [&](const std::string& line) {
                      std::lock_guard<std::mutex> lock(mu);
                      log.push_back(line);
                    },
                    kFastBackoff);
  notifier.Event(Drift());
  notifier.Flush();
  CHECK(notifier.failed() == 1);
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(log.size() == 1);
  CHECK(log[0].find(url + " after 3 attempts") != std::string::npos);
  CHECK(log[0].find("SECRETPATHTOKEN") == std::string::npos);
  CHECK(log[0].find("QUERYSECRET") == std::string::npos);
}

TEST_CASE("daemon notifier: every target gets each notice in its own format") {
  Rig rig;
  Notifier notifier({{rig.url(), NotifyFormat::kJson}, {rig.server.url() + "/slack", NotifyFormat::kSlack}},
                    &rig.clock, std::chrono::hours(1), rig.Logger(), kFastBackoff);
  notifier.Event(Drift());
  notifier.Flush();
  REQUIRE(rig.receiver.count() == 2);
  std::set<std::string> shapes;
  for (size_t i = 0; i < 2; ++i) shapes.insert(rig.receiver.Body(i).contains("text") ? "slack" : "json");
  CHECK(shapes == std::set<std::string>{"json", "slack"});
  CHECK(notifier.posted() == 2);
}

TEST_CASE("daemon notifier: destruction posts what is still queued") {
  Rig rig;
  {
    auto notifier = rig.Make();
    notifier->Event(Drift("one"));
    notifier->Event(Drift("two"));
  }
  REQUIRE(rig.receiver.count() == 2);
  CHECK(rig.receiver.Body(0)["details"][0] == "one");
  CHECK(rig.receiver.Body(1)["details"][0] == "two");
}

TEST_CASE("daemon notifier: destruction cuts a retry's backoff short") {
  Rig rig;
  rig.receiver.otherwise = 500;
  const auto start = std::chrono::steady_clock::now();
  {
    Notifier notifier({{rig.url(), NotifyFormat::kJson}}, &rig.clock, std::chrono::hours(1), rig.Logger(),
                      std::chrono::hours(1));
    notifier.Event(Drift());
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(rig.receiver.count() == 1);
  const std::vector<std::string> log = rig.Log();
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("after 1 attempt: HTTP 500") != std::string::npos);
}

TEST_CASE("daemon notifier: a URL's origin drops credentials, path, query and fragment") {
  CHECK(daemon::UrlOrigin("https://hooks.slack.com/services/T0/B1/XYZ") == "https://hooks.slack.com");
  CHECK(daemon::UrlOrigin("https://user:pw@example.com:8443/x?token=1#f") == "https://example.com:8443");
  CHECK(daemon::UrlOrigin("http://example.com?token=1") == "http://example.com");
  CHECK(daemon::UrlOrigin("http://[::1]:9000/a") == "http://[::1]:9000");
  CHECK(daemon::UrlOrigin("example.com/token") == "(invalid URL)");
}

TEST_CASE("daemon notifier: without targets nothing is posted and Flush returns") {
  FakeClock clock;
  Notifier notifier({}, &clock, std::chrono::hours(1));
  notifier.Raise("x", Drift());
  notifier.Event(Drift());
  notifier.Flush();
  CHECK(notifier.posted() == 0);
  CHECK(notifier.failed() == 0);
}

}  // namespace
}  // namespace reconciler::testing
