#include "providers/tencentcloud/transport.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <mutex>
#include <set>

#include "emulator/socket_abort.h"
#include "tests/support/loopback_server.h"

namespace reconciler::tencentcloud {
namespace {

using testing::LoopbackServer;

HttpRequest Post(const std::string& url, Reuse reuse = Reuse::kAllowed) {
  HttpRequest req;
  req.url = url + "/";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = "{}";
  req.reuse = reuse;
  return req;
}

TEST_CASE("transport: an answer of any status is a success at this layer") {
  LoopbackServer srv;
  srv.server().Post("/", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("busy", "text/plain");
  });
  srv.Start();
  auto transport = NewCurlTransport({});
  Result<HttpResponse> r = transport->Send(Post(srv.url()));
  REQUIRE(r.ok());
  CHECK(r->status == 503);
  CHECK(r->body == "busy");
}

TEST_CASE("transport: timeout after the request was sent is outcome-unknown") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> received{false};
  LoopbackServer srv;  // after what its handler uses, so that it stops first
  srv.server().Post("/", [&](const httplib::Request&, httplib::Response& res) {
    received = true;
    released.wait_for(std::chrono::seconds(10));  // held until the client has given up
    res.set_content("{}", "application/json");
  });
  srv.Start();
  TransportOptions options;
  options.total_timeout = std::chrono::milliseconds(300);
  auto transport = NewCurlTransport(options);
  Result<HttpResponse> r = transport->Send(Post(srv.url()));
  release.set_value();
  srv.Stop();
  CHECK(received);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(r.status().message().find("timed out") != std::string::npos);
}

TEST_CASE("transport: a reset after the request was sent is outcome-unknown") {
  std::atomic<bool> aborted{false};
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request& req, httplib::Response&) {
    aborted = AbortConnection(req.local_port, req.remote_port, Abort::kReset);
  });
  srv.Start();
  auto transport = NewCurlTransport({});
  Result<HttpResponse> r = transport->Send(Post(srv.url(), Reuse::kFreshConnection));
  srv.Stop();  // the client can see the reset before the handler records it
  CHECK(aborted);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(r.status().message().find("reset") != std::string::npos);
}

TEST_CASE("transport: a connection closed without any answer is outcome-unknown") {
  LoopbackServer srv;
  srv.server().Post("/", [](const httplib::Request& req, httplib::Response&) {
    AbortConnection(req.local_port, req.remote_port, Abort::kClose);
  });
  srv.Start();
  auto transport = NewCurlTransport({});
  Result<HttpResponse> r = transport->Send(Post(srv.url(), Reuse::kFreshConnection));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  INFO(r.status().message());
  CHECK(r.status().message().find("Empty reply") != std::string::npos);
}

TEST_CASE("transport: a truncated answer is outcome-unknown") {
  LoopbackServer srv;
  srv.server().Post("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(1000, "application/json",
                             [](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset == 0) sink.write("{\"Response\":", 12);
                               return offset == 0;  // then give up: the body stays short
                             });
  });
  srv.Start();
  auto transport = NewCurlTransport({});
  Result<HttpResponse> r = transport->Send(Post(srv.url()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
}

TEST_CASE("transport: an oversize answer is outcome-unknown") {
  LoopbackServer srv;
  srv.server().Post("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(2 << 20, 'x'), "text/plain");
  });
  srv.Start();
  TransportOptions options;
  options.max_response_bytes = 1 << 20;
  auto transport = NewCurlTransport(options);
  Result<HttpResponse> r = transport->Send(Post(srv.url()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(r.status().message().find("larger than 1048576 bytes") != std::string::npos);
}

TEST_CASE("transport: an oversize answer without Content-Length is caught while reading") {
  LoopbackServer srv;
  srv.server().Post("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      std::string block(64 << 10, 'y');
      if (offset < (4u << 20)) sink.write(block.data(), block.size());
      else sink.done();
      return true;
    });
  });
  srv.Start();
  TransportOptions options;
  options.max_response_bytes = 1 << 20;
  auto transport = NewCurlTransport(options);
  Result<HttpResponse> r = transport->Send(Post(srv.url()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
}

TEST_CASE("transport: connection refused is not-sent") {
  // Bind a port, then close it: nothing listens there.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  auto transport = NewCurlTransport({});
  Result<HttpResponse> r = transport->Send(Post("http://127.0.0.1:" + std::to_string(port)));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kNotSent);
}

TEST_CASE("transport: a name that does not resolve is not-sent") {
  TransportOptions options;
  options.connect_timeout = std::chrono::milliseconds(2000);
  auto transport = NewCurlTransport(options);
  Result<HttpResponse> r = transport->Send(Post("http://no-such-host.invalid"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kNotSent);
}

TEST_CASE("transport: 1000 sequential calls use at most 2 TCP connections") {
  std::mutex mu;
  std::set<int> client_ports;  // one per TCP connection
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      client_ports.insert(req.remote_port);
    }
    res.set_content("{}", "application/json");
  });
  srv.Start();
  auto transport = NewCurlTransport({});
  int ok = 0;
  for (int i = 0; i < 1000; ++i) ok += transport->Send(Post(srv.url())).ok();
  srv.Stop();
  CHECK(ok == 1000);
  CHECK(client_ports.size() <= 2);
}

TEST_CASE("transport: purchase-style requests never ride a reused connection") {
  std::mutex mu;
  std::set<int> client_ports;
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    client_ports.insert(req.remote_port);
    res.set_content("{}", "application/json");
  });
  srv.Start();
  auto transport = NewCurlTransport({});
  REQUIRE(transport->Send(Post(srv.url())).ok());
  for (int i = 0; i < 3; ++i) REQUIRE(transport->Send(Post(srv.url(), Reuse::kFreshConnection)).ok());
  srv.Stop();
  CHECK(client_ports.size() == 4);
}

TEST_CASE("transport: gzip answers are accepted and decoded") {
  std::string accept_encoding;
  const std::string payload(20000, 'a');
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    accept_encoding = req.get_header_value("Accept-Encoding");
    res.set_content(payload, "application/json");  // httplib compresses when the client accepts it
  });
  srv.Start();
  auto transport = NewCurlTransport({});
  Result<HttpResponse> r = transport->Send(Post(srv.url()));
  srv.Stop();
  REQUIRE(r.ok());
  CHECK(accept_encoding.find("gzip") != std::string::npos);
  CHECK(r->body == payload);
}

TEST_CASE("transport: the proxy environment variables are honoured") {
  std::string seen_host, seen_target;
  LoopbackServer proxy;
  proxy.server().Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
    seen_host = req.get_header_value("Host");
    seen_target = req.target;
    res.set_content("{\"via\":\"proxy\"}", "application/json");
  });
  proxy.Start();
  setenv("http_proxy", proxy.url().c_str(), 1);
  auto transport = NewCurlTransport({});
  Result<HttpResponse> r = transport->Send(Post("http://postgres.example.test"));
  unsetenv("http_proxy");
  proxy.Stop();
  REQUIRE(r.ok());
  CHECK(r->body == "{\"via\":\"proxy\"}");
  CHECK(seen_host == "postgres.example.test");
}

TEST_CASE("transport: a request to this machine never goes through a proxy") {
  // Plain http is allowed only to loopback; a proxy would carry it across the network.
  int proxied = 0, direct = 0;
  LoopbackServer proxy;
  proxy.server().Post(".*", [&](const httplib::Request&, httplib::Response& res) {
    ++proxied;
    res.set_content("{\"via\":\"proxy\"}", "application/json");
  });
  proxy.Start();
  LoopbackServer target;
  target.server().Post(".*", [&](const httplib::Request&, httplib::Response& res) {
    ++direct;
    res.set_content("{\"via\":\"direct\"}", "application/json");
  });
  target.Start();
  setenv("http_proxy", proxy.url().c_str(), 1);
  auto transport = NewCurlTransport({});
  Result<HttpResponse> numeric = transport->Send(Post(target.url()));
  Result<HttpResponse> named = transport->Send(Post("http://localhost:" + std::to_string(target.port())));
  Result<HttpResponse> far = transport->Send(Post("http://postgres.example.test"));
  unsetenv("http_proxy");
  proxy.Stop();
  target.Stop();
  REQUIRE(numeric.ok());
  REQUIRE(named.ok());
  REQUIRE(far.ok());
  CHECK(numeric->body == "{\"via\":\"direct\"}");
  CHECK(named->body == "{\"via\":\"direct\"}");
  CHECK(far->body == "{\"via\":\"proxy\"}");
  CHECK(direct == 2);
  CHECK(proxied == 1);
}

}  // namespace
}  // namespace reconciler::tencentcloud
