#pragma once

// The daemon's HTTP endpoints, on cpp-httplib (included only by http_server.cpp):
//   GET  /healthz          200 while the loop thread is alive, else 503
//   GET  /readyz           200 once the first observation succeeded, else 503
//   GET  /metrics          Prometheus text (Metrics::Render)
//   GET  /status           JSON (StatusJson)
//   GET  /                 the status page (StatusHtml)
//   POST /hooks/github, /hooks/gitlab, /hooks/generic   WebhookVerifier; 202 and a pass when accepted
//   POST /trigger          from a loopback peer only: wakes the loop (hook post-receive)
// A body over kMaxWebhookBody gets 413 before it is verified.

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "daemon/metrics.h"
#include "daemon/status.h"
#include "daemon/webhooks.h"

namespace reconciler::daemon {

struct HttpHandlers {
  std::function<StackStatus()> status;                  // a snapshot
  std::function<bool()> healthy;                        // the loop is alive
  std::function<void(const std::string& why)> trigger;  // wake the loop: "webhook github", "post-receive"
  Metrics* metrics = nullptr;
  WebhookVerifier* webhooks = nullptr;
  int refresh_seconds = 5;  // the status page's reload period
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // stops

  // Binds `listen` ("host:port"; port 0 picks one) and serves on a thread of its own.
  // Fails with kInvalidInput on a malformed address and kUnavailable when it cannot bind.
  Status Start(const std::string& listen, HttpHandlers handlers);
  void Stop();
  int port() const;  // the bound port, after Start

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reconciler::daemon
