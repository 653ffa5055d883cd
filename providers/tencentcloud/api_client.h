#pragma once

// One signed Tencent Cloud API 3.0 call: Call(service, version, action, region, params).
//
// The client signs with the service named by the call (not the host), so one endpoint
// override such as http://127.0.0.1:9100 serves both `postgres` and `tag`.
// It parses the {"Response": ...} envelope and gives every failure its Status code from the
// retry table (reconciler/retry_policy.h); the cloud's code, message and RequestId travel with
// every error.

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "providers/tencentcloud/credentials.h"
#include "providers/tencentcloud/transport.h"
#include "base/clock.h"
#include "base/retry_policy.h"
#include "base/status.h"

namespace reconciler::tencentcloud {

// What repeating a call could do (retry_policy.h), under the name this layer always used.
using Effect = ::reconciler::Effect;

struct ApiCall {
  std::string service = "postgres";
  std::string version = "2017-03-12";
  std::string action;
  std::string region;  // empty: no X-TC-Region header
  Effect effect = Effect::kRead;  // a purchase is sent on a fresh connection
};

class ApiClient {
 public:
  // `transport` and `clock` must outlive the client.
  ApiClient(CloudConfig config, HttpTransport* transport, Clock* clock);

  // Makes one signed call. On success returns the envelope's Response object, with every
  // field the cloud sent, RequestId included.
  // Failures: the transport's classes, HTTP statuses and unreadable answers as
  // TransportCode() says, and cloud errors as ClassifyCloudError() says.
  Result<nlohmann::json> Call(const ApiCall& call, const nlohmann::json& params);

  // Called with a redacted description of each request and response, for --verbose.
  void SetTrace(std::function<void(const std::string&)> trace) { trace_ = std::move(trace); }

  // Called after every call with its action and how it ended: "ok", the cloud's Error.Code,
  // or the failure's class ("transport", "http", "malformed") when no answer came. For
  // metrics; it must be quick and thread-safe.
  void SetObserver(std::function<void(const std::string& action, const std::string& code)> observer) {
    observer_ = std::move(observer);
  }

  const CloudConfig& config() const { return config_; }

 private:
  Result<nlohmann::json> CallOnce(const ApiCall& call, const nlohmann::json& params);
  HttpRequest BuildRequest(const ApiCall& call, std::string body) const;
  void Trace(const HttpRequest& request) const;

  CloudConfig config_;
  HttpTransport* transport_;
  Clock* clock_;
  std::function<void(const std::string&)> trace_;
  std::function<void(const std::string&, const std::string&)> observer_;
};

// Replaces the value of every field whose name contains "Password" or equals "Token",
// "SecretKey" or "TmpSecretKey" with "<redacted>", recursively. For any JSON that is shown.
void RedactSecrets(nlohmann::json* doc);

}  // namespace reconciler::tencentcloud
