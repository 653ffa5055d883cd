#include "daemon/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/status_page.h"

namespace reconciler::daemon {

namespace {

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kJsonType = "application/json";
constexpr const char* kTextType = "text/plain; charset=utf-8";

struct ListenAddress {
  std::string host;
  int port = 0;
};

Status BadAddress(const std::string& listen, const std::string& why) {
  return Status(Code::kInvalidInput,
                "listen address \"" + listen + "\": " + why +
                    " (expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464)");
}

Result<ListenAddress> ParseListen(const std::string& listen) {
  ListenAddress a;
  std::string port_text;
  if (!listen.empty() && listen[0] == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos) return BadAddress(listen, "no closing ']'");
    a.host = listen.substr(1, close - 1);
    if (close + 1 >= listen.size() || listen[close + 1] != ':')
      return BadAddress(listen, "no port");
    port_text = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return BadAddress(listen, "no port");
    a.host = listen.substr(0, colon);
    if (a.host.find(':') != std::string::npos)
      return BadAddress(listen, "an IPv6 host needs brackets");
    port_text = listen.substr(colon + 1);
  }
  if (a.host.empty()) return BadAddress(listen, "no host (0.0.0.0 listens on every address)");
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535) {
    return BadAddress(listen, "the port must be a number from 0 to 65535");
  }
  a.port = std::stoi(port_text);
  // Resolving here tells a host that does not exist (the caller's mistake) from an address
  // that exists but cannot be bound (busy, or not ours).
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(a.host.c_str(), nullptr, &hints, &found);
  if (rc != 0)
    return BadAddress(listen, std::string("cannot resolve the host: ") + gai_strerror(rc));
  freeaddrinfo(found);
  return a;
}

std::string JsonBody(const nlohmann::json& j) {
  // Error messages come from the cloud and the specs; a stray invalid byte must not turn
  // the whole answer into a 500.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

enum class BodyRead { kOk, kTooLarge, kBroken };

// Reads the body through httplib's reader, keeping at most kMaxWebhookBody bytes: a chunked
// body has no length to check up front, and must not fill memory either.
BodyRead ReadBounded(const httplib::ContentReader& reader, httplib::Response& res,
                     std::string* body) {
  bool too_large = false;
  bool ok = reader([&](const char* data, size_t n) {
    if (body->size() + n > kMaxWebhookBody) {
      too_large = true;
      return false;
    }
    body->append(data, n);
    return true;
  });
  if (too_large || res.status == 413)
    return BodyRead::kTooLarge;  // 413: Content-Length over the limit
  return ok ? BodyRead::kOk : BodyRead::kBroken;
}

// The headers as the sender sent them. httplib adds REMOTE_ADDR and friends to the same map;
// they describe the socket, not the delivery, so the verifier never sees them.
std::map<std::string, std::string> HeadersOf(const httplib::Request& req) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : req.headers) {
    if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
        name == "LOCAL_PORT")
      continue;
    out.emplace(name, value);  // the first of repeated headers wins
  }
  return out;
}

// "post-receive" from /trigger?reason=post-receive, kept short and plain: it ends up in logs.
std::string TriggerReason(const httplib::Request& req) {
  std::string reason = req.get_param_value("reason");
  std::string clean;
  for (char c : reason) {
    if (clean.size() >= 64) break;
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ' ')
      clean += c;
  }
  return clean.empty() ? "trigger" : clean;
}

// The phrase for the statuses this server sends without a body of its own.
const char* Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

}  // namespace

struct HttpServer::Impl {
  std::mutex mu;  // Start and Stop
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  int port = -1;
  HttpHandlers handlers;
  // Stand-ins when the caller leaves a pointer empty: no metrics yet, and no secret, which
  // refuses every webhook.
  Metrics spare_metrics;
  WebhookVerifier spare_verifier{""};

  StackStatus Snapshot() const { return handlers.status ? handlers.status() : StackStatus{}; }
  Metrics& metrics() { return handlers.metrics ? *handlers.metrics : spare_metrics; }
  WebhookVerifier& verifier() { return handlers.webhooks ? *handlers.webhooks : spare_verifier; }
  void Trigger(const std::string& why) {
    if (handlers.trigger) handlers.trigger(why);
  }

  void Configure(httplib::Server& s);
  void Routes(httplib::Server& s);
  void Webhook(const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader);
  void TriggerEndpoint(const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader);
};

void HttpServer::Impl::Configure(httplib::Server& s) {
  s.set_payload_max_length(kMaxWebhookBody);
  // One request per connection: httplib checks for a stop only between requests, so an idle
  // keep-alive connection would hold Stop() for its whole timeout. Scrapes and webhooks are
  // rare enough that a new connection each costs nothing.
  s.set_keep_alive_max_count(1);
  s.set_keep_alive_timeout(2);
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.set_tcp_nodelay(true);
  // httplib's default is SO_REUSEPORT, under which a second daemon on the same port binds
  // without error and the kernel splits the requests between the two. SO_REUSEADDR alone
  // still lets a restart bind while the old connections sit in TIME_WAIT.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // A client that asks first (curl does for large bodies) hears 413 before sending them.
  s.set_expect_100_continue_handler([](const httplib::Request& req, httplib::Response& res) {
    if (std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) >
        kMaxWebhookBody) {
      res.status = 413;
      return 413;
    }
    return 100;
  });
  // httplib would put the exception's text in a header; nothing internal goes out.
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("internal error\n", kTextType);
  });
  // Statuses httplib decides itself (404, 413, 400) get a line of text; ours keep their body.
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        res.set_content(std::to_string(res.status) + " " + Reason(res.status) + "\n", kTextType);
        return httplib::Server::HandlerResponse::Handled;
      }));
}

void HttpServer::Impl::Routes(httplib::Server& s) {
  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    bool healthy = !handlers.healthy || handlers.healthy();
    res.status = healthy ? 200 : 503;
    res.set_content(healthy ? "ok\n" : "the loop is not running\n", kTextType);
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ready = Snapshot().ready;
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready: the first observation has not succeeded\n",
                    kTextType);
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics().Render(), kMetricsType);
  });
  s.Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(JsonBody(StatusJson(Snapshot())), kJsonType);
  });
  s.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(StatusHtml(Snapshot(), handlers.refresh_seconds), "text/html; charset=utf-8");
  });
  s.Post("/hooks/([^/]+)",
         [this](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) { Webhook(req, res, reader); });
  s.Post("/trigger",
         [this](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) { TriggerEndpoint(req, res, reader); });
  // Any other POST: its body is drained within the limit so the 404 reaches the sender.
  s.Post(".*",
         [](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
           std::string ignored;
           res.status = ReadBounded(reader, res, &ignored) == BodyRead::kTooLarge ? 413 : 404;
         });
}

void HttpServer::Impl::Webhook(const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
  std::string source = req.matches[1];
  // The label takes only known names, so a scan of made-up paths cannot grow the metrics.
  std::string label =
      (source == "github" || source == "gitlab" || source == "generic") ? source : "unknown";
  std::string body;
  BodyRead read = ReadBounded(reader, res, &body);
  if (read == BodyRead::kBroken) {
    metrics().CountWebhook(label, "unreadable");
    res.status = 400;
    res.set_content("{\"result\":\"unreadable\",\"trigger\":false}\n", kJsonType);
    return;
  }
  WebhookVerdict verdict;
  if (read == BodyRead::kTooLarge) {
    verdict.http_status = 413;
    verdict.result = "too-large";
    verdict.body = "{\"result\":\"too-large\",\"trigger\":false}";
  } else {
    verdict = verifier().Check(source, HeadersOf(req), body);
  }
  metrics().CountWebhook(label, verdict.result);
  res.status = verdict.http_status;
  res.set_content(verdict.body + "\n", kJsonType);
  if (verdict.trigger) Trigger("webhook " + source);
}

void HttpServer::Impl::TriggerEndpoint(const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
  std::string ignored;
  if (ReadBounded(reader, res, &ignored) == BodyRead::kTooLarge) {
    res.status = 413;
    return;
  }
  if (!IsLoopbackPeer(req.remote_addr)) {
    res.status = 403;
    res.set_content("{\"result\":\"forbidden\",\"trigger\":false}\n", kJsonType);
    return;
  }
  Trigger(TriggerReason(req));
  res.status = 202;
  res.set_content("{\"result\":\"triggered\",\"trigger\":true}\n", kJsonType);
}

bool IsLoopbackPeer(const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d.
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const std::string& listen, HttpHandlers handlers) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->thread.joinable()) {
    return Status(Code::kInvalidInput,
                  "the HTTP server already listens on port " + std::to_string(impl_->port));
  }
  Result<ListenAddress> address = ParseListen(listen);
  if (!address.ok()) return address.status();

  impl_->handlers = std::move(handlers);
  auto server = std::make_unique<httplib::Server>();
  impl_->Configure(*server);
  impl_->Routes(*server);
  errno = 0;
  int port = address->port;
  bool bound = port == 0 ? (port = server->bind_to_any_port(address->host)) > 0
                         : server->bind_to_port(address->host, port);
  if (!bound) {
    std::string why = errno != 0 ? std::string(": ") + std::strerror(errno) : "";
    // base/status.h has no kUnavailable; a socket we cannot open is a local I/O failure.
    return Status(Code::kInternal, "cannot listen on " + listen + why);
  }
  impl_->port = port;
  impl_->server = std::move(server);
  impl_->listen_returned = false;
  impl_->thread = std::thread([impl = impl_.get()] {
    impl->server->listen_after_bind();
    impl->listen_returned = true;
  });
  // The socket already queues connections; waiting for the accept loop means Stop() never
  // meets a server that has not started, which httplib's stop() would not stop.
  while (!impl_->server->is_running() && !impl_->listen_returned) std::this_thread::yield();
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!impl_) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->thread.joinable()) return;
  impl_->server->stop();
  // listen_after_bind() returns after joining its workers, so no handler runs after this.
  impl_->thread.join();
  impl_->server.reset();
}

int HttpServer::port() const { return impl_->port; }

}  // namespace reconciler::daemon
