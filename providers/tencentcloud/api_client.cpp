#include "providers/tencentcloud/api_client.h"

#include <nlohmann/json.hpp>

#include "providers/tencentcloud/metadata_role.h"
#include "providers/tencentcloud/signer.h"
#include "base/json_input.h"

namespace reconciler::tencentcloud {

namespace {

using nlohmann::json;

// "http://127.0.0.1:9100/x" -> "127.0.0.1:9100"
std::string HostOf(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string WithRootPath(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  return url.find('/', start) == std::string::npos ? url + "/" : url;
}

std::string TextField(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

void RedactSecrets(json* doc) {
  if (doc->is_object()) {
    for (auto& [key, value] : doc->items()) {
      if (key.find("Password") != std::string::npos || key == "Token" || key == "SecretKey" ||
          key == "TmpSecretKey") {
        if (!value.is_null()) value = "<redacted>";
      } else {
        RedactSecrets(&value);
      }
    }
  } else if (doc->is_array()) {
    for (auto& item : *doc) RedactSecrets(&item);
  }
}

ApiClient::ApiClient(CloudConfig config, HttpTransport* transport, Clock* clock)
    : config_(std::move(config)), transport_(transport), clock_(clock), credentials_(config_.credentials) {}

Result<Credentials> ApiClient::CurrentCredentials() {
  std::lock_guard<std::mutex> lock(credentials_mu_);
  const bool due = credentials_.expires_at != 0 && clock_->NowUnixSeconds() >= credentials_.expires_at - kRenewBeforeSeconds;
  if (due && config_.renew) {
    // Under the lock: concurrent callers wait for one renewal instead of each making one.
    Result<Credentials> fresh = config_.renew(*transport_);
    if (!fresh.ok()) {
      return Status(fresh.status().code(), "renewing the credentials (" + credentials_.source +
                                               ") failed: " + fresh.status().message());
    }
    credentials_ = std::move(fresh).value();
  }
  return credentials_;
}

HttpRequest ApiClient::BuildRequest(const ApiCall& call, std::string body, const Credentials& credentials) const {
  HttpRequest req;
  req.url = WithRootPath(config_.endpoints.For(call.service));
  req.body = std::move(body);
  req.reuse = call.effect == Effect::kPurchase ? Reuse::kFreshConnection : Reuse::kAllowed;

  const std::string host = HostOf(req.url);
  const std::string content_type = "application/json";
  const int64_t timestamp = clock_->NowUnixSeconds();

  SignInput in;
  in.headers = {{"content-type", content_type}, {"host", host}, {"x-tc-action", call.action}};
  in.payload = req.body;
  in.service = call.service;
  in.timestamp = timestamp;
  in.secret_id = credentials.secret_id;
  in.secret_key = credentials.secret_key.Reveal();
  Signature sig = Sign(in);

  req.headers = {
      {"Host", host},
      {"Content-Type", content_type},
      {"Authorization", sig.authorization},
      {"X-TC-Action", call.action},
      {"X-TC-Version", call.version},
      {"X-TC-Timestamp", std::to_string(timestamp)},
      {"X-TC-Language", "en-US"},
      {"X-TC-RequestClient", "reconciler"},
  };
  if (!call.region.empty()) req.headers.emplace_back("X-TC-Region", call.region);
  if (!credentials.token.empty()) {
    req.headers.emplace_back("X-TC-Token", credentials.token.Reveal());
  }
  return req;
}

void ApiClient::Trace(const HttpRequest& request) const {
  std::string out = "> " + request.method + " " + request.url + "\n";
  for (const auto& [name, value] : request.headers) {
    std::string shown = value;
    if (name == "X-TC-Token") {
      shown = "<redacted>";
    } else if (name == "Authorization") {
      size_t at = shown.find("Signature=");
      if (at != std::string::npos) shown = shown.substr(0, at) + "Signature=<redacted>";
    }
    out += "> " + name + ": " + shown + "\n";
  }
  json body = json::parse(request.body, nullptr, false);
  if (!body.is_discarded()) RedactSecrets(&body);
  out += "> " + (body.is_discarded() ? std::string("<unparseable body>") : body.dump()) + "\n";
  trace_(out);
}

Result<json> ApiClient::Call(const ApiCall& call, const json& params, AnswerReader* reader) {
  const auto started = std::chrono::steady_clock::now();
  long http_status = 0;
  Result<json> result = CallOnce(call, params, reader, &http_status);
  std::string code = "ok";
  if (!result.ok()) {
    code = !result.status().api_code().empty() ? result.status().api_code() : CodeName(result.status().code());
  }
  if (observer_) observer_(call.action, code);
  if (call_log_) {
    CallRecord record{call.service, call.action, call.region, code, http_status, {}, {}};
    record.request_id = result.ok() ? TextField(*result, "RequestId") : result.status().request_id();
    record.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    call_log_(record);
  }
  return result;
}

Result<json> ApiClient::CallOnce(const ApiCall& call, const json& params, AnswerReader* reader, long* http_status) {
  // These travel in headers (and the URL): a control character would end a header early and
  // let the rest be read as another header.
  for (const std::string* field : {&call.service, &call.version, &call.action, &call.region}) {
    for (char c : *field) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Status(Code::kInvalidInput, "the service, version, action and region may not hold control characters; "
                                           "nothing was sent");
      }
    }
  }
  Result<Credentials> credentials = CurrentCredentials();
  if (!credentials.ok()) return credentials.status();
  HttpRequest request = BuildRequest(call, params.dump(), *credentials);
  // Checked here as well as where the endpoint was configured: this is the one place every
  // request passes, whatever the service name made of the URL.
  Status endpoint = CheckEndpoint(request.url, "", config_.insecure_endpoint);
  if (!endpoint.ok()) return endpoint;
  if (trace_) Trace(request);

  Result<HttpResponse> sent = transport_->Send(request);
  if (!sent.ok()) {
    if (trace_) trace_("< " + sent.status().ToString() + "\n");
    return sent.status().Annotate(call.action);
  }
  const HttpResponse& response = *sent;
  *http_status = response.status;
  if (trace_) {
    trace_("< HTTP " + std::to_string(response.status) + " (" +
           std::to_string(response.body.size()) + " bytes)\n");
  }
  if (response.status != 200) {
    TransportFailure failure = response.status == 429  ? TransportFailure::kHttp429
                               : response.status >= 500 ? TransportFailure::kHttp5xx
                                                        : TransportFailure::kHttpOther;
    return Status(TransportCode(failure), call.action + ": HTTP status " + std::to_string(response.status));
  }

  if (std::string request_id; reader != nullptr && reader->Read(response.body, &request_id)) {
    return json{{"RequestId", std::move(request_id)}};
  }
  Result<json> parsed = ParseJsonInput(response.body);
  if (!parsed.ok()) {
    return Status(TransportCode(TransportFailure::kMalformedAnswer),
                  call.action + ": the answer is not a Tencent Cloud API envelope (" + parsed.status().message() + ")");
  }
  json& doc = *parsed;
  if (!doc.is_object() || !doc.contains("Response") || !doc["Response"].is_object()) {
    return Status(TransportCode(TransportFailure::kMalformedAnswer),
                  call.action + ": the answer is not a Tencent Cloud API envelope");
  }
  json& body = doc["Response"];
  // Every field is read for its type first: an answer is input, and a mistyped field must
  // come back as an error, never as an exception.
  auto text = [](const json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string request_id = text(body, "RequestId");
  if (auto err = body.find("Error"); err != body.end()) {
    if (!err->is_object() || !err->contains("Code") || !(*err)["Code"].is_string()) {
      return Status(TransportCode(TransportFailure::kMalformedAnswer), call.action + ": malformed Error in the answer",
                    "", request_id);
    }
    std::string api_code = (*err)["Code"];
    std::string message = text(*err, "Message");
    // Which keys were refused is what the reader needs to fix it; the keys themselves never.
    if (api_code.rfind("AuthFailure", 0) == 0) message += " (keys from " + credentials->source + ")";
    return Status(ClassifyCloudError(api_code), message, api_code, request_id);
  }
  return std::move(body);
}

}  // namespace reconciler::tencentcloud
