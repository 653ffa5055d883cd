#pragma once

// HTTP transport. The only code in the project that touches sockets on the client side.
//
// Every failure is classified by the retry table (reconciler/retry_policy.h), so the layers
// above can keep purchases exactly-once:
//   Code::kNotSent         the request certainly never reached the server (DNS failure,
//                          connection refused, TLS handshake or verification failure);
//   Code::kOutcomeUnknown  the server may have processed it (timeout after the request went
//                          out, reset, truncated or oversize answer);
//   success                the server answered, with any HTTP status.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace reconciler::tencentcloud {

// Whether a request may ride on a pooled keep-alive connection.
enum class Reuse {
  kAllowed,
  // A new connection, closed afterwards. Used for requests that must never be repeated:
  // libcurl silently re-sends a request when a reused connection dies before any response
  // byte arrives, which for a purchase would buy twice.
  kFreshConnection,
};

struct HttpRequest {
  std::string method = "POST";  // "POST" or "GET"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Reuse reuse = Reuse::kAllowed;
};

struct HttpResponse {
  long status = 0;
  std::string body;
};

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{5000};  // default 5 s
  std::chrono::milliseconds total_timeout{30000};   // default 30 s, whole exchange
  size_t max_response_bytes = 16u << 20;            // default 16 MiB, after decompression
  std::string ca_file;                              // default: the system trust store
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Thread-safe. See the header comment for how failures are classified.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// `url` as libcurl reads it: the parser Send uses, so a check made on these parts holds for
// the connection Send would make.
struct UrlParts {
  std::string scheme;  // lower case: "https"
  std::string host;    // as libcurl will resolve it: "127.0.0.1", "[::1]", "example.com"
};
// Fails with kInvalidInput, saying why, when libcurl cannot parse `url`.
Result<UrlParts> ParseUrl(const std::string& url);

// Whether `host` (as in UrlParts) is this machine: localhost, [::1] or 127.0.0.0/8.
// Requests to it never go through a proxy: a proxy elsewhere would reach its own loopback,
// and a plain http request (allowed only to loopback) would cross the network to it.
bool IsLoopbackHost(std::string host);

// libcurl with a pool of easy handles, so sequential calls reuse one keep-alive
// connection and concurrent calls each get their own. TLS verification is always on.
// Proxies come from the usual environment variables (https_proxy, http_proxy, no_proxy),
// gzip and deflate answers are accepted.
std::unique_ptr<HttpTransport> NewCurlTransport(const TransportOptions& options);

}  // namespace reconciler::tencentcloud
