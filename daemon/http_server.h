#pragma once

// The daemon's HTTP endpoints, on cpp-httplib (included only by http_server.cpp):
//   GET  /healthz          200 while the loop thread is alive, else 503
//   GET  /readyz           200 once the first observation succeeded, else 503
//   GET  /metrics          Prometheus text (Metrics::Render)
//   GET  /status           JSON (StatusJson)
//   GET  /                 the status page (StatusHtml)
//   POST /hooks/github, /hooks/gitlab, /hooks/generic   WebhookVerifier; 202 and a pass when
//   accepted POST /trigger          from a loopback peer only, else 403: wakes the loop (hook
//   post-receive);
//                          ?reason=post-receive names why (letters, digits, " .-_", at most 64)
// A body over kMaxWebhookBody gets 413 before it is verified, on every POST. Any other path
// or method is 404. Each connection serves one request, so Stop() never waits on an idle
// keep-alive client; a client that stalls mid-request holds it for at most the 5 s read timeout.

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "daemon/metrics.h"
#include "daemon/status.h"
#include "daemon/webhooks.h"

namespace reconciler::daemon {

struct HttpHandlers {
  std::function<StackStatus()> status;  // a snapshot (empty: an empty StackStatus)
  std::function<bool()> healthy;        // the loop is alive (empty: always)
  std::function<void(const std::string& why)>
      trigger;                          // wake the loop: "webhook github", "post-receive"
  Metrics* metrics = nullptr;           // null: an empty registry of the server's own
  WebhookVerifier* webhooks = nullptr;  // null: no secret, so every webhook is refused
  int refresh_seconds = 5;              // the status page's reload period
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // stops

  // Binds `listen` ("host:port" or "[v6]:port"; port 0 picks one) and serves on a thread of
  // its own; handlers run on the server's worker threads, so what they capture must be
  // thread-safe and outlive Stop(). Fails with kInvalidInput on a malformed address or a host
  // that does not resolve, or when already serving, and with kInternal (base/status.h has no
  // kUnavailable) naming the address when it cannot bind. May be called again after Stop().
  Status Start(const std::string& listen, HttpHandlers handlers);
  // Stops listening and returns once every handler has returned. Idempotent.
  void Stop();
  int port() const;  // the bound port, after Start (-1 before)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether a peer address (as the socket reports it) is this machine's loopback: 127.0.0.0/8,
// ::1, or 127.0.0.0/8 mapped into IPv6.
bool IsLoopbackPeer(const std::string& address);

}  // namespace reconciler::daemon
