#include "providers/tencentcloud/api_client.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "providers/tencentcloud/signer.h"
#include "tests/support/loopback_server.h"

namespace reconciler::tencentcloud {
namespace {

using nlohmann::json;
using testing::LoopbackServer;

constexpr const char* kSecretKey = "sEcReTkEy-1234567890-abcdefghij";
constexpr const char* kToken = "tOkEn-0987654321-zyxwvutsrq";

CloudConfig TestConfig(const std::string& endpoint, bool with_token = false) {
  CloudConfig config;
  config.credentials.secret_id = "AKIDtest";
  config.credentials.secret_key = Secret(kSecretKey);
  if (with_token) config.credentials.token = Secret(kToken);
  config.endpoints.SetOverride(endpoint);
  return config;
}

// Recomputes the signature the way a server would, from what arrived.
bool SignatureValid(const httplib::Request& req, const std::string& secret_key) {
  ParsedAuthorization auth;
  std::string error;
  if (!ParseAuthorization(req.get_header_value("Authorization"), &auth, &error)) return false;
  SignInput in;
  for (const std::string& name : auth.signed_headers) {
    in.headers.emplace_back(name, req.get_header_value(name.c_str()));
  }
  in.payload = req.body;
  in.service = auth.service;
  in.timestamp = std::stoll(req.get_header_value("X-TC-Timestamp"));
  in.secret_id = auth.secret_id;
  in.secret_key = secret_key;
  return Sign(in).signature == auth.signature;
}

struct Captured {
  httplib::Headers headers;
  std::string body;
  bool signature_valid = false;
  std::string service;
};

// A server that records the request and answers `answer` with `status`.
void Serve(LoopbackServer& srv, Captured* seen, std::string answer, int status = 200) {
  srv.server().Post("/", [=](const httplib::Request& req, httplib::Response& res) {
    seen->headers = req.headers;
    seen->body = req.body;
    seen->signature_valid = SignatureValid(req, kSecretKey);
    ParsedAuthorization auth;
    std::string error;
    if (ParseAuthorization(req.get_header_value("Authorization"), &auth, &error)) seen->service = auth.service;
    res.status = status;
    res.set_content(answer, "application/json");
  });
  srv.Start();
}

std::string Header(const Captured& c, const std::string& name) {
  auto it = c.headers.find(name);
  return it == c.headers.end() ? std::string("<absent>") : it->second;
}

TEST_CASE("api client: sends every common header and a valid signature") {
  Captured seen;  // before the server: its handler writes here until the server stops
  LoopbackServer srv;
  Serve(srv, &seen, R"({"Response":{"TotalCount":0,"RegionSet":[],"RequestId":"r-1"}})");
  FakeClock clock(1700000000);
  auto transport = NewCurlTransport({});
  ApiClient client(TestConfig(srv.url(), /*with_token=*/true), transport.get(), &clock);
  ApiCall call;
  call.action = "DescribeRegions";
  call.region = "ap-guangzhou";
  Result<json> r = client.Call(call, json::object({{"Limit", 1}}));
  REQUIRE(r.ok());
  CHECK((*r)["RequestId"] == "r-1");
  CHECK(seen.signature_valid);
  CHECK(seen.service == "postgres");
  CHECK(Header(seen, "X-TC-Action") == "DescribeRegions");
  CHECK(Header(seen, "X-TC-Version") == "2017-03-12");
  CHECK(Header(seen, "X-TC-Timestamp") == "1700000000");
  CHECK(Header(seen, "X-TC-Region") == "ap-guangzhou");
  CHECK(Header(seen, "X-TC-Token") == kToken);
  CHECK(Header(seen, "X-TC-Language") == "en-US");
  CHECK(Header(seen, "Content-Type") == "application/json");
  CHECK(json::parse(seen.body) == json{{"Limit", 1}});
}

TEST_CASE("api client: no region header when the call has no region") {
  Captured seen;  // before the server: its handler writes here until the server stops
  LoopbackServer srv;
  Serve(srv, &seen, R"({"Response":{"RequestId":"r"}})");
  FakeClock clock;
  auto transport = NewCurlTransport({});
  ApiClient client(TestConfig(srv.url()), transport.get(), &clock);
  ApiCall call;
  call.action = "DescribeRegions";
  REQUIRE(client.Call(call, json::object()).ok());
  CHECK(Header(seen, "X-TC-Region") == "<absent>");
  CHECK(Header(seen, "X-TC-Token") == "<absent>");
}

TEST_CASE("api client: the signing service comes from the call, not the host") {
  Captured seen;  // before the server: its handler writes here until the server stops
  LoopbackServer srv;
  Serve(srv, &seen, R"({"Response":{"FailedResources":[],"RequestId":"r"}})");
  FakeClock clock;
  auto transport = NewCurlTransport({});
  ApiClient client(TestConfig(srv.url()), transport.get(), &clock);
  ApiCall call;
  call.service = "tag";
  call.version = "2018-08-13";
  call.action = "TagResources";
  REQUIRE(client.Call(call, json::object()).ok());
  CHECK(seen.service == "tag");
  CHECK(seen.signature_valid);
  CHECK(Header(seen, "X-TC-Version") == "2018-08-13");
}

TEST_CASE("api client: endpoint templates substitute the service") {
  Endpoints e;
  CHECK(e.For("postgres") == "https://postgres.tencentcloudapi.com");
  CHECK(e.For("tag") == "https://tag.tencentcloudapi.com");
  e.SetForService("postgres", "https://postgres.ap-shanghai-fsi.tencentcloudapi.com");
  CHECK(e.For("postgres") == "https://postgres.ap-shanghai-fsi.tencentcloudapi.com");
  e.SetOverride("https://{service}.intl.tencentcloudapi.com");
  CHECK(e.For("tag") == "https://tag.intl.tencentcloudapi.com");
  e.SetOverride("http://127.0.0.1:9100");
  CHECK(e.For("tag") == "http://127.0.0.1:9100");
}

TEST_CASE("api client: a cloud error keeps its code, message and RequestId") {
  Captured seen;  // before the server: its handler writes here until the server stops
  LoopbackServer srv;
  Serve(srv, &seen,
        R"({"Response":{"Error":{"Code":"InvalidParameterValue.BadSpec","Message":"spec not sold"},"RequestId":"req-42"}})");
  FakeClock clock;
  auto transport = NewCurlTransport({});
  ApiClient client(TestConfig(srv.url()), transport.get(), &clock);
  ApiCall call;
  call.action = "CreateReadOnlyDBInstance";
  Result<json> r = client.Call(call, json::object());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kPermanent);
  CHECK(r.status().api_code() == "InvalidParameterValue.BadSpec");
  CHECK(r.status().message() == "spec not sold");
  CHECK(r.status().request_id() == "req-42");
}

TEST_CASE("api client: HTTP status and unreadable answers are classified") {
  struct Case {
    int status;
    std::string body;
    Code expected;
  };
  for (const Case& c : {Case{503, "{}", Code::kOutcomeUnknown}, Case{502, "bad gateway", Code::kOutcomeUnknown},
                        Case{429, "{}", Code::kThrottled},
                        // The API answers its own errors with HTTP 200: a 4xx comes from something in
                        // between, which may have passed the request on.
                        Case{404, "{}", Code::kOutcomeUnknown}, Case{403, "{}", Code::kOutcomeUnknown},
                        Case{200, "{not json", Code::kOutcomeUnknown},
                        Case{200, R"({"NoEnvelope":1})", Code::kOutcomeUnknown},
                        Case{200, R"({"Response":{"Error":"flat"}})", Code::kOutcomeUnknown}}) {
    CAPTURE(c.status);
    CAPTURE(c.body);
    Captured seen;
    LoopbackServer srv;
    Serve(srv, &seen, c.body, c.status);
    FakeClock clock;
    auto transport = NewCurlTransport({});
    ApiClient client(TestConfig(srv.url()), transport.get(), &clock);
    ApiCall call;
    call.action = "DescribeOrders";
    Result<json> r = client.Call(call, json::object());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == c.expected);
  }
}

TEST_CASE("api client: the trace never shows the secret key, token or signature") {
  Captured seen;  // before the server: its handler writes here until the server stops
  LoopbackServer srv;
  Serve(srv, &seen, R"({"Response":{"RequestId":"r"}})");
  FakeClock clock;
  auto transport = NewCurlTransport({});
  ApiClient client(TestConfig(srv.url(), /*with_token=*/true), transport.get(), &clock);
  std::string trace;
  client.SetTrace([&](const std::string& text) { trace += text; });
  ApiCall call;
  call.action = "DescribeRegions";
  REQUIRE(client.Call(call, json{{"AdminPassword", "hunter2-pass"}}).ok());
  std::string signature = Header(seen, "Authorization").substr(Header(seen, "Authorization").find("Signature=") + 10);
  CHECK(trace.find("X-TC-Action: DescribeRegions") != std::string::npos);
  CHECK(trace.find("Signature=<redacted>") != std::string::npos);
  CHECK(trace.find(kSecretKey) == std::string::npos);
  CHECK(trace.find(kToken) == std::string::npos);
  CHECK(trace.find(signature) == std::string::npos);
  CHECK(trace.find("hunter2-pass") == std::string::npos);
}

TEST_CASE("api client: RedactSecrets hides passwords at any depth") {
  json doc = json::parse(
      R"({"DBInstanceSet":[{"DBAccountSet":[{"DBUser":"u","DBPassword":"p4ss"}]}],"Token":"t","Name":"n"})");
  RedactSecrets(&doc);
  CHECK(doc["DBInstanceSet"][0]["DBAccountSet"][0]["DBPassword"] == "<redacted>");
  CHECK(doc["DBInstanceSet"][0]["DBAccountSet"][0]["DBUser"] == "u");
  CHECK(doc["Token"] == "<redacted>");
  CHECK(doc["Name"] == "n");
}


TEST_CASE("api client: an answer nested too deep is an unknown outcome and not a crash") {
  Captured seen;
  LoopbackServer srv;
  Serve(srv, &seen, R"({"Response":{"RequestId":"r","Deep":)" + std::string(500000, '[') + std::string(500000, ']') + "}}");
  FakeClock clock;
  auto transport = NewCurlTransport({});
  ApiClient client(TestConfig(srv.url()), transport.get(), &clock);
  ApiCall call;
  call.action = "DescribeDBInstances";
  Result<json> r = client.Call(call, json::object());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(r.status().message() == "DescribeDBInstances: the answer is not a Tencent Cloud API envelope (JSON nested 500002 "
                                "levels deep; the limit is 100)");
}

TEST_CASE("api client: a plain http endpoint off this machine is refused at the call before sending") {
  FakeClock clock;
  TransportOptions options;
  options.connect_timeout = std::chrono::milliseconds(500);
  options.total_timeout = std::chrono::milliseconds(1000);
  auto transport = NewCurlTransport(options);
  ApiCall call;
  call.action = "DescribeDBInstances";
  CloudConfig config = TestConfig("http://{service}.far.invalid", /*with_token=*/true);
  {
    ApiClient client(config, transport.get(), &clock);
    Result<json> refused = client.Call(call, json::object());
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Code::kInvalidInput);  // not kNotSent: no connection was tried
    CHECK(refused.status().message().rfind("endpoint http://postgres.far.invalid/ is plain http to postgres.far.invalid", 0) ==
          0);
  }
  config.insecure_endpoint = InsecureEndpoint::kAllow;
  ApiClient allowed(config, transport.get(), &clock);
  Result<json> tried = allowed.Call(call, json::object());
  REQUIRE_FALSE(tried.ok());
  CHECK(tried.status().code() != Code::kInvalidInput);  // it went to the network, which has no such host
}

}  // namespace
}  // namespace reconciler::tencentcloud
