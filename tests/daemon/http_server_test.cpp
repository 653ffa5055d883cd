// The daemon's HTTP endpoints on a real socket (127.0.0.1, a kernel-chosen port), driven by
// httplib's client: health and readiness, metrics, status, webhooks (413, 401, 202 and a
// pass), /trigger from loopback only, and clean stops.

#include "daemon/http_server.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace reconciler::testing {
namespace {

using daemon::HmacSha256Hex;
using daemon::HttpHandlers;
using daemon::HttpServer;

const std::string kSecret = "http-test-secret";

// What the handlers saw, shared with the server's threads.
struct Rig {
  std::mutex mu;
  std::condition_variable cv;
  daemon::StackStatus status;
  bool healthy = true;
  std::vector<std::string> triggers;
  daemon::Metrics metrics;
  daemon::WebhookVerifier verifier{kSecret};
  HttpServer server;  // last: stops (joining its handlers) before the rest goes away

  HttpHandlers Handlers() {
    HttpHandlers h;
    h.status = [this] {
      std::lock_guard<std::mutex> lock(mu);
      return status;
    };
    h.healthy = [this] {
      std::lock_guard<std::mutex> lock(mu);
      return healthy;
    };
    h.trigger = [this](const std::string& why) {
      std::lock_guard<std::mutex> lock(mu);
      triggers.push_back(why);
      cv.notify_all();
    };
    h.metrics = &metrics;
    h.webhooks = &verifier;
    return h;
  }

  void Start(const std::string& listen = "127.0.0.1:0") {
    REQUIRE(server.Start(listen, Handlers()).ok());
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server.port());
    c.set_connection_timeout(5);
    c.set_read_timeout(10);
    return c;
  }

  std::vector<std::string> Triggers() {
    std::lock_guard<std::mutex> lock(mu);
    return triggers;
  }

  // Triggers run before the answer is written, so after a response they are final; the wait
  // guards only against a broken server that triggers late.
  bool WaitForTriggers(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return triggers.size() >= n; });
  }
};

httplib::Headers GithubHeaders(const std::string& body, const std::string& delivery) {
  return {{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kSecret, body)},
          {"X-GitHub-Event", "push"},
          {"X-GitHub-Delivery", delivery}};
}

TEST_CASE("daemon http: healthz follows the loop, readyz the first observation") {
  Rig rig;
  rig.Start();
  REQUIRE(rig.server.port() > 0);
  httplib::Client c = rig.Client();

  auto health = c.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto ready = c.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 503);

  {
    std::lock_guard<std::mutex> lock(rig.mu);
    rig.healthy = false;
    rig.status.ready = true;
  }
  health = c.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  ready = c.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
}

TEST_CASE(
    "daemon http: /metrics, /status and / answer with their content types; unknown paths 404") {
  Rig rig;
  rig.status.stack = "prod";
  daemon::ResourceStatus resource;
  resource.key = "ReadOnlyInstance/r";
  resource.desired = 2;
  resource.observed = 1;
  rig.status.resources.push_back(resource);
  rig.metrics.CountReconcile("success");
  rig.Start();
  httplib::Client c = rig.Client();

  auto metrics = c.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics->body.find("reconciler_reconcile_total{result=\"success\"} 1\n") !=
        std::string::npos);

  auto status = c.Get("/status");
  REQUIRE(status);
  CHECK(status->status == 200);
  CHECK(status->get_header_value("Content-Type") == "application/json");
  nlohmann::json j = nlohmann::json::parse(status->body);
  CHECK(j["stack"] == "prod");
  REQUIRE(j["resources"].size() == 1);
  CHECK(j["resources"][0]["observed"] == 1);

  auto page = c.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(page->body.find("data-key=\"ReadOnlyInstance/r\"") != std::string::npos);

  for (const char* path : {"/nope", "/status/x", "/hooks/github", "/trigger", "/metricsx"}) {
    INFO(path);
    auto r = c.Get(path);
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  auto post = c.Post("/nope", "x", "text/plain");
  REQUIRE(post);
  CHECK(post->status == 404);
}

TEST_CASE("daemon http: a webhook body of 1 MiB + 1 gets 413 and no pass") {
  Rig rig;
  rig.Start();
  httplib::Client c = rig.Client();
  std::string big(daemon::kMaxWebhookBody + 1, 'x');
  for (const char* source : {"github", "gitlab", "generic"}) {
    INFO(source);
    auto r =
        c.Post(std::string("/hooks/") + source, GithubHeaders(big, "big"), big, "application/json");
    REQUIRE(r);
    CHECK(r->status == 413);
  }
  // /trigger and unknown paths are bounded the same way.
  auto t = c.Post("/trigger", big, "application/octet-stream");
  REQUIRE(t);
  CHECK(t->status == 413);
  CHECK(rig.Triggers().empty());
  // Exactly at the limit is read and verified (and refused only for its signature here).
  std::string at_limit(daemon::kMaxWebhookBody, 'x');
  auto r = c.Post("/hooks/generic", {{"X-Signature", "sha256=00"}}, at_limit, "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(rig.Triggers().empty());
}

TEST_CASE(
    "daemon http: unsigned, wrongly signed, SHA-1-only and replayed webhooks trigger nothing") {
  Rig rig;
  rig.Start();
  httplib::Client c = rig.Client();
  const std::string body = R"({"ref":"refs/heads/main"})";

  auto unsigned_ = c.Post("/hooks/github", body, "application/json");
  REQUIRE(unsigned_);
  CHECK(unsigned_->status == 401);
  CHECK(unsigned_->body.find(kSecret) == std::string::npos);

  auto wrong =
      c.Post("/hooks/github", {{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("guess", body)}},
             body, "application/json");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(wrong->body.find(HmacSha256Hex("guess", body)) == std::string::npos);

  auto sha1 = c.Post("/hooks/github",
                     {{"X-Hub-Signature", "sha1=0000000000000000000000000000000000000000"}}, body,
                     "application/json");
  REQUIRE(sha1);
  CHECK(sha1->status == 401);
  CHECK(sha1->body.find("sha1-refused") != std::string::npos);

  auto gitlab = c.Post("/hooks/gitlab", {{"X-Gitlab-Token", "guess"}}, body, "application/json");
  REQUIRE(gitlab);
  CHECK(gitlab->status == 401);

  auto unknown = c.Post("/hooks/bitbucket", body, "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);

  auto first = c.Post("/hooks/github", GithubHeaders(body, "delivery-1"), body, "application/json");
  REQUIRE(first);
  CHECK(first->status == 202);
  auto replay =
      c.Post("/hooks/github", GithubHeaders(body, "delivery-1"), body, "application/json");
  REQUIRE(replay);
  CHECK(replay->status == 200);
  CHECK(replay->body.find("replayed") != std::string::npos);

  CHECK(rig.Triggers() == std::vector<std::string>{"webhook github"});  // the first delivery only
  std::string metrics = rig.metrics.Render();
  CHECK(metrics.find(R"(reconciler_webhooks_total{source="github",result="unsigned"} 1)") !=
        std::string::npos);
  CHECK(metrics.find(R"(reconciler_webhooks_total{source="github",result="bad-signature"} 1)") !=
        std::string::npos);
  CHECK(metrics.find(R"(reconciler_webhooks_total{source="github",result="sha1-refused"} 1)") !=
        std::string::npos);
  CHECK(metrics.find(R"(reconciler_webhooks_total{source="github",result="replayed"} 1)") !=
        std::string::npos);
  CHECK(metrics.find(R"(reconciler_webhooks_total{source="unknown",result="unknown-source"} 1)") !=
        std::string::npos);
}

TEST_CASE("daemon http: a chunked webhook body over 1 MiB, validly signed, triggers nothing") {
  // Chunked bodies carry no length to check up front; the server stops reading at the limit.
  // It then answers 413 and closes, and the client, still sending, may see the reset first,
  // so only a 202 or a pass is a failure here.
  Rig rig;
  rig.Start();
  httplib::Client c = rig.Client();
  std::string big(daemon::kMaxWebhookBody + 4096, 'y');
  httplib::Headers headers = {{"X-Signature", "sha256=" + HmacSha256Hex(kSecret, big)}};
  auto r = c.Post(
      "/hooks/generic", headers,
      [&big](size_t offset, httplib::DataSink& sink) {
        if (offset >= big.size()) {
          sink.done();
          return true;
        }
        size_t n = std::min<size_t>(64 * 1024, big.size() - offset);
        return sink.write(big.data() + offset, n);
      },
      "application/json");
  if (r) CHECK(r->status == 413);
  CHECK(rig.Triggers().empty());
  CHECK(rig.metrics.Render().find(
            R"(reconciler_webhooks_total{source="generic",result="too-large"} 1)") !=
        std::string::npos);
}

TEST_CASE("daemon http: signed webhooks from each source answer 202 and trigger a pass") {
  Rig rig;
  rig.Start();
  httplib::Client c = rig.Client();
  const std::string body = R"({"after":"0123"})";

  auto github = c.Post("/hooks/github", GithubHeaders(body, "d-42"), body, "application/json");
  REQUIRE(github);
  CHECK(github->status == 202);
  CHECK(github->get_header_value("Content-Type") == "application/json");
  auto gitlab = c.Post("/hooks/gitlab", {{"X-Gitlab-Token", kSecret}}, body, "application/json");
  REQUIRE(gitlab);
  CHECK(gitlab->status == 202);
  auto generic =
      c.Post("/hooks/generic", {{"X-Signature", "sha256=" + HmacSha256Hex(kSecret, body)}}, body,
             "application/json");
  REQUIRE(generic);
  CHECK(generic->status == 202);
  auto ping = c.Post("/hooks/github",
                     {{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kSecret, body)},
                      {"X-GitHub-Event", "ping"}},
                     body, "application/json");
  REQUIRE(ping);
  CHECK(ping->status == 200);

  REQUIRE(rig.WaitForTriggers(3));
  CHECK(rig.Triggers() ==
        std::vector<std::string>{"webhook github", "webhook gitlab", "webhook generic"});
  std::string metrics = rig.metrics.Render();
  CHECK(metrics.find(R"(reconciler_webhooks_total{source="github",result="accepted"} 1)") !=
        std::string::npos);
  CHECK(metrics.find(R"(reconciler_webhooks_total{source="github",result="ping"} 1)") !=
        std::string::npos);
  CHECK(metrics.find(R"(reconciler_webhooks_total{source="generic",result="accepted"} 1)") !=
        std::string::npos);
}

TEST_CASE("daemon http: a server without a secret refuses every webhook") {
  daemon::WebhookVerifier no_secret("");
  Rig rig;
  HttpHandlers h = rig.Handlers();
  h.webhooks = &no_secret;
  REQUIRE(rig.server.Start("127.0.0.1:0", h).ok());
  httplib::Client c = rig.Client();
  const std::string body = "{}";
  auto r = c.Post("/hooks/github", {{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("", body)}},
                  body, "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(r->body.find("no-secret") != std::string::npos);
  CHECK(rig.Triggers().empty());
}

TEST_CASE("daemon http: /trigger from loopback wakes the loop with the reason given") {
  Rig rig;
  rig.Start();
  httplib::Client c = rig.Client();
  auto r = c.Post("/trigger?reason=post-receive", "", "text/plain");
  REQUIRE(r);
  CHECK(r->status == 202);
  auto plain = c.Post("/trigger", "", "text/plain");
  REQUIRE(plain);
  CHECK(plain->status == 202);
  auto odd = c.Post("/trigger?reason=%3Cx%3E%0Aevil", "", "text/plain");
  REQUIRE(odd);
  CHECK(odd->status == 202);
  REQUIRE(rig.WaitForTriggers(3));
  CHECK(rig.Triggers() == std::vector<std::string>{"post-receive", "trigger", "xevil"});
}

TEST_CASE("daemon http: the loopback test accepts 127/8, ::1 and mapped 127/8 only") {
  CHECK(daemon::IsLoopbackPeer("127.0.0.1"));
  CHECK(daemon::IsLoopbackPeer("127.1.2.3"));
  CHECK(daemon::IsLoopbackPeer("::1"));
  CHECK(daemon::IsLoopbackPeer("::ffff:127.0.0.1"));
  CHECK_FALSE(daemon::IsLoopbackPeer("192.0.2.2"));
  CHECK_FALSE(daemon::IsLoopbackPeer("128.0.0.1"));
  CHECK_FALSE(daemon::IsLoopbackPeer("::ffff:10.0.0.1"));
  CHECK_FALSE(daemon::IsLoopbackPeer("fd00::2"));
  CHECK_FALSE(daemon::IsLoopbackPeer("::"));
  CHECK_FALSE(daemon::IsLoopbackPeer(""));
  CHECK_FALSE(daemon::IsLoopbackPeer("localhost"));
}

// This machine's first IPv4 address that is not loopback, or "" when it has none.
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a && found.empty(); a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    if (!daemon::IsLoopbackPeer(text)) found = text;
  }
  freeifaddrs(list);
  return found;
}

TEST_CASE("daemon http: /trigger from a peer that is not loopback is 403 and wakes nothing") {
  std::string address = NonLoopbackAddress();
  if (address.empty()) {
    MESSAGE(
        "this machine has no IPv4 address but loopback; the socket-level check cannot run here");
    return;
  }
  Rig rig;
  rig.Start("0.0.0.0:0");
  httplib::Client c(address, rig.server.port());
  c.set_connection_timeout(5);
  auto r = c.Post("/trigger?reason=remote", "", "text/plain");
  REQUIRE(r);
  CHECK(r->status == 403);
  // Webhooks, by contrast, come from anywhere.
  const std::string body = "{}";
  auto hook = c.Post("/hooks/generic", {{"X-Signature", "sha256=" + HmacSha256Hex(kSecret, body)}},
                     body, "application/json");
  REQUIRE(hook);
  CHECK(hook->status == 202);
  CHECK(rig.Triggers() == std::vector<std::string>{"webhook generic"});
}

TEST_CASE("daemon http: malformed listen addresses are invalid input; a taken port is named") {
  for (const char* bad :
       {"", "9464", "127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:http", "127.0.0.1:65536",
        "127.0.0.1:-1", "::1:9464", "[::1]", "[::1:9464", "[]:9464"}) {
    INFO(bad);
    HttpServer s;
    Status st = s.Start(bad, HttpHandlers{});
    CHECK(st.code() == Code::kInvalidInput);
    CHECK(st.message().find("listen address") != std::string::npos);
  }

  HttpServer first;
  REQUIRE(first.Start("127.0.0.1:0", HttpHandlers{}).ok());
  std::string taken = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second;
  Status st = second.Start(taken, HttpHandlers{});
  CHECK_FALSE(st.ok());
  CHECK(st.code() != Code::kInvalidInput);
  CHECK(st.message().find(taken) != std::string::npos);
  CHECK(st.message().find("in use") != std::string::npos);

  CHECK_FALSE(first.Start("127.0.0.1:0", HttpHandlers{}).ok());  // already serving
}

TEST_CASE("daemon http: IPv6 loopback listens too") {
  Rig rig;
  Status st = rig.server.Start("[::1]:0", rig.Handlers());
  if (!st.ok()) {
    MESSAGE("no IPv6 loopback here: " << st.ToString());
    return;
  }
  httplib::Client c("::1", rig.server.port());
  c.set_connection_timeout(5);
  auto r = c.Post("/trigger?reason=v6", "", "text/plain");
  REQUIRE(r);
  CHECK(r->status == 202);
  CHECK(rig.Triggers() == std::vector<std::string>{"v6"});
}

TEST_CASE(
    "daemon http: Stop is prompt with an idle client connected, idempotent, and the port is "
    "freed") {
  Rig rig;
  rig.Start();
  int port = rig.server.port();
  httplib::Client c = rig.Client();
  c.set_keep_alive(true);  // the server answers one request per connection all the same
  auto r = c.Get("/healthz");
  REQUIRE(r);
  CHECK(r->status == 200);

  auto begin = std::chrono::steady_clock::now();
  rig.server.Stop();
  auto took = std::chrono::steady_clock::now() - begin;
  CHECK(took < std::chrono::seconds(3));
  rig.server.Stop();  // again: nothing to do

  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(2);
  CHECK_FALSE(after.Get("/healthz"));

  // A fresh server may take the same port at once.
  HttpServer again;
  CHECK(again.Start("127.0.0.1:" + std::to_string(port), HttpHandlers{}).ok());
  again.Stop();
  // Start after Stop serves again.
  REQUIRE(rig.server.Start("127.0.0.1:0", rig.Handlers()).ok());
  auto back = rig.Client().Get("/healthz");
  REQUIRE(back);
  CHECK(back->status == 200);
}

TEST_CASE("daemon http: a server destroyed without Stop stops; one never started is fine") {
  int port = 0;
  {
    HttpServer s;
    REQUIRE(s.Start("127.0.0.1:0", HttpHandlers{}).ok());
    port = s.port();
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/healthz");  // no handlers given: healthy, empty status, spare metrics
    REQUIRE(r);
    CHECK(r->status == 200);
    auto m = c.Get("/metrics");
    REQUIRE(m);
    CHECK(m->body.find("# TYPE reconciler_paused gauge") != std::string::npos);
  }
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  CHECK_FALSE(c.Get("/healthz"));
  { HttpServer never; }
}

}  // namespace
}  // namespace reconciler::testing
