#pragma once

// One signed Tencent Cloud API 3.0 call: Call(service, version, action, region, params).
//
// The client signs with the service named by the call (not the host), so one endpoint
// override such as http://127.0.0.1:9100 serves both `postgres` and `tag`.
// It parses the {"Response": ...} envelope and maps Error.Code onto the few Status codes
// callers branch on; the cloud's code, message and RequestId travel with every error.

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "providers/tencentcloud/credentials.h"
#include "providers/tencentcloud/transport.h"
#include "reconciler/clock.h"
#include "reconciler/status.h"

namespace reconciler::tencentcloud {

// Whether repeating the request could have an effect the caller must know about.
enum class Effect {
  kRead,      // describe, inquiry: safe to repeat
  kMutate,    // modify, tag: repeating is harmless or detectable
  kPurchase,  // create, spec change: repeating may buy twice; sent on a fresh connection
};

struct ApiCall {
  std::string service = "postgres";
  std::string version = "2017-03-12";
  std::string action;
  std::string region;  // empty: no X-TC-Region header
  Effect effect = Effect::kRead;
};

// Maps a cloud Error.Code onto a Status code:
//   RequestLimitExceeded*                    -> kThrottled
//   AuthFailure.*, UnauthorizedOperation*, CAM denials -> kAuth
//   InternalError*, ServiceUnavailable, transient FailedOperation.* -> kRetryable
//   anything else                            -> kPermanent
Code ClassifyApiError(const std::string& api_code);

class ApiClient {
 public:
  // `transport` and `clock` must outlive the client.
  ApiClient(CloudConfig config, HttpTransport* transport, Clock* clock);

  // Makes one signed call. On success returns the envelope's Response object, with every
  // field the cloud sent, RequestId included.
  // Failures: transport classes (kNotSent, kOutcomeUnknown), HTTP 429 -> kThrottled,
  // other non-200 -> kOutcomeUnknown for 5xx and kPermanent for 4xx, an unreadable body
  // -> kOutcomeUnknown, and cloud errors as ClassifyApiError() says.
  Result<nlohmann::json> Call(const ApiCall& call, const nlohmann::json& params);

  // Called with a redacted description of each request and response, for --verbose.
  void SetTrace(std::function<void(const std::string&)> trace) { trace_ = std::move(trace); }

  const CloudConfig& config() const { return config_; }

 private:
  HttpRequest BuildRequest(const ApiCall& call, std::string body) const;
  void Trace(const HttpRequest& request) const;

  CloudConfig config_;
  HttpTransport* transport_;
  Clock* clock_;
  std::function<void(const std::string&)> trace_;
};

// Replaces the value of every field whose name contains "Password" or equals "Token",
// "SecretKey" or "TmpSecretKey" with "<redacted>", recursively. For any JSON that is shown.
void RedactSecrets(nlohmann::json* doc);

}  // namespace reconciler::tencentcloud
