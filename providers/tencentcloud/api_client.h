#pragma once

// One signed Tencent Cloud API 3.0 call: Call(service, version, action, region, params).
//
// The client signs with the service named by the call (not the host), so one endpoint
// override such as http://127.0.0.1:9100 serves both `postgres` and `tag`.
// It parses the {"Response": ...} envelope and gives every failure its Status code from the
// retry table (reconciler/retry_policy.h); the cloud's code, message and RequestId travel with
// every error.

#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

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

// What one call did, for the debug log: never a key, token or parameter.
struct CallRecord {
  std::string service;
  std::string action;
  std::string region;
  std::string code;        // "ok", the cloud's Error.Code, or the failure's class
  long http_status = 0;    // 0 when no answer came
  std::string request_id;  // empty when no answer came
  std::chrono::milliseconds duration{0};
};

// Takes in a successful answer while it is parsed, for answers too large to build whole
// first (listing pages: providers/tencentcloud/listing.h).
class AnswerReader {
 public:
  virtual ~AnswerReader() = default;
  // Reads `body`, an answer with HTTP status 200. True when it is a success answer the
  // reader took in whole, with its RequestId in *request_id. False leaves it to the general
  // path, which parses it again and says what is wrong with it; so a reader declines
  // anything it is not sure of.
  virtual bool Read(std::string_view body, std::string* request_id) = 0;
};

class ApiClient {
 public:
  // `transport` and `clock` must outlive the client.
  ApiClient(CloudConfig config, HttpTransport* transport, Clock* clock);

  // Makes one signed call. On success returns the envelope's Response object, with every
  // field the cloud sent, RequestId included. Credentials that expire (config.renew) are
  // renewed first when they expire within kRenewBeforeSeconds; a renewal that fails fails
  // the call. An AuthFailure.* answer's message names where the keys came from.
  // Failures: the transport's classes, HTTP statuses and unreadable answers as
  // TransportCode() says, and cloud errors as ClassifyCloudError() says.
  //
  // With a `reader` that takes the answer in, the Response returned holds its RequestId
  // only: the rest is in the reader.
  Result<nlohmann::json> Call(const ApiCall& call, const nlohmann::json& params, AnswerReader* reader = nullptr);

  // Called with a redacted description of each request and response, for --verbose.
  void SetTrace(std::function<void(const std::string&)> trace) { trace_ = std::move(trace); }

  // Called after every call with its action and how it ended: "ok", the cloud's Error.Code,
  // or the failure's class ("transport", "http", "malformed") when no answer came. For
  // metrics; it must be quick and thread-safe.
  void SetObserver(std::function<void(const std::string& action, const std::string& code)> observer) {
    observer_ = std::move(observer);
  }

  // Called after every call with what it did (CallRecord), for --log-level debug. It must be
  // thread-safe.
  void SetCallLog(std::function<void(const CallRecord&)> log) { call_log_ = std::move(log); }

  // The configuration; its `credentials` are those loaded, not the latest renewed ones.
  const CloudConfig& config() const { return config_; }

 private:
  // The credentials to sign with now, renewed when due.
  Result<Credentials> CurrentCredentials();
  // `*http_status` receives the answer's HTTP status, or 0 when none came.
  Result<nlohmann::json> CallOnce(const ApiCall& call, const nlohmann::json& params, AnswerReader* reader,
                                  long* http_status);
  HttpRequest BuildRequest(const ApiCall& call, std::string body, const Credentials& credentials) const;
  void Trace(const HttpRequest& request) const;

  CloudConfig config_;
  HttpTransport* transport_;
  Clock* clock_;
  std::function<void(const std::string&)> trace_;
  std::function<void(const std::string&, const std::string&)> observer_;
  std::function<void(const CallRecord&)> call_log_;
  std::mutex credentials_mu_;
  Credentials credentials_;  // guarded by credentials_mu_; renewed in place
};

// Replaces the value of every field whose name contains "Password" or equals "Token",
// "SecretKey" or "TmpSecretKey" with "<redacted>", recursively. For any JSON that is shown.
void RedactSecrets(nlohmann::json* doc);

}  // namespace reconciler::tencentcloud
