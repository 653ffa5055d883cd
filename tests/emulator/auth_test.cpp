// The emulator's front door: signatures, common parameters and the envelope.

#include <doctest/doctest.h>
#include <httplib.h>

#include "providers/tencentcloud/signer.h"
#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace tc = tencentcloud;

// A call made with custom credentials or clock.
Result<json> CallWith(tc::CloudConfig config, Clock* clock, const std::string& action,
                      const json& params = json::object(), const std::string& service = "postgres",
                      const std::string& version = "2017-03-12", const std::string& region = "ap-beijing") {
  auto transport = tc::NewCurlTransport({});
  tc::ApiClient client(std::move(config), transport.get(), clock);
  tc::ApiCall call;
  call.service = service;
  call.version = version;
  call.action = action;
  call.region = region;
  return client.Call(call, params);
}

// Posts raw headers and body, for malformed requests no client would build.
json RawPost(EmulatorFixture& emu, const httplib::Headers& headers, const std::string& body) {
  httplib::Client cli(emu.url());
  auto res = cli.Post("/", headers, body, "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  return json::parse(res->body)["Response"];
}

TEST_CASE("emulator: a correctly signed call succeeds with a fresh RequestId each time") {
  EmulatorFixture emu;
  auto a = emu.Call("DescribeRegions");
  auto b = emu.Call("DescribeRegions");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)["TotalCount"] == 3);
  CHECK((*a)["RequestId"].get<std::string>().size() == 36);
  CHECK((*a)["RequestId"] != (*b)["RequestId"]);
}

TEST_CASE("emulator: a wrong secret key is AuthFailure.SignatureFailure") {
  EmulatorFixture emu;
  SystemClock clock;
  auto r = CallWith(emu.Config(kDemoSecretId, "not-the-key"), &clock, "DescribeRegions");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "AuthFailure.SignatureFailure");
  CHECK(r.status().code() == Code::kAuth);
  CHECK_FALSE(r.status().request_id().empty());
}

TEST_CASE("emulator: more than 5 minutes of skew is AuthFailure.SignatureExpire") {
  EmulatorFixture emu;
  FakeClock old_clock(SystemClock().NowUnixSeconds() - 301);
  auto r = CallWith(emu.Config(), &old_clock, "DescribeRegions");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "AuthFailure.SignatureExpire");
  FakeClock ok_clock(SystemClock().NowUnixSeconds() - 240);
  CHECK(CallWith(emu.Config(), &ok_clock, "DescribeRegions").ok());
}

TEST_CASE("emulator: advancing the emulated clock does not expire signatures") {
  EmulatorFixture emu;
  emu.Advance(86400);
  CHECK(emu.Call("DescribeRegions").ok());
}

TEST_CASE("emulator: an unknown SecretId is AuthFailure.SecretIdNotFound") {
  EmulatorFixture emu;
  SystemClock clock;
  auto r = CallWith(emu.Config("AKIDnobody", kDemoSecretKey), &clock, "DescribeRegions");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "AuthFailure.SecretIdNotFound");
}

TEST_CASE("emulator: temporary credentials need their token (AuthFailure.TokenFailure)") {
  EmulatorFixture emu;
  SystemClock clock;
  auto missing = CallWith(emu.Config(kStsSecretId, kStsSecretKey), &clock, "DescribeRegions");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().api_code() == "AuthFailure.TokenFailure");
  auto wrong = CallWith(emu.Config(kStsSecretId, kStsSecretKey, "bad-token"), &clock, "DescribeRegions");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().api_code() == "AuthFailure.TokenFailure");
  CHECK(CallWith(emu.Config(kStsSecretId, kStsSecretKey, kStsToken), &clock, "DescribeRegions").ok());
}

TEST_CASE("emulator: malformed Authorization is AuthFailure.InvalidAuthorization") {
  EmulatorFixture emu;
  const std::string ts = std::to_string(SystemClock().NowUnixSeconds());
  httplib::Headers base = {{"X-TC-Action", "DescribeRegions"}, {"X-TC-Version", "2017-03-12"}, {"X-TC-Timestamp", ts}};
  json missing = RawPost(emu, base, "{}");
  CHECK(missing["Error"]["Code"] == "AuthFailure.InvalidAuthorization");
  httplib::Headers garbage = base;
  garbage.emplace("Authorization", "Bearer abc");
  CHECK(RawPost(emu, garbage, "{}")["Error"]["Code"] == "AuthFailure.InvalidAuthorization");
  httplib::Headers host_only = base;
  host_only.emplace("Authorization", "TC3-HMAC-SHA256 Credential=" + std::string(kDemoSecretId) + "/" +
                                         tc::UtcDate(std::stoll(ts)) + "/postgres/tc3_request, SignedHeaders=host, Signature=00");
  json r = RawPost(emu, host_only, "{}");
  CHECK(r["Error"]["Code"] == "AuthFailure.InvalidAuthorization");
  CHECK(r["Error"]["Message"].get<std::string>().find("content-type and host") != std::string::npos);
  CHECK(r["RequestId"].get<std::string>().size() == 36);
}

TEST_CASE("emulator: any SignedHeaders list is verified, not only the SDK's") {
  EmulatorFixture emu;
  const int64_t ts = SystemClock().NowUnixSeconds();
  const std::string host = "127.0.0.1:" + emu.url().substr(emu.url().rfind(':') + 1);
  const std::string body = "{}";
  tc::SignInput in;
  in.headers = {{"content-type", "application/json"}, {"host", host}, {"x-tc-version", "2017-03-12"}};
  in.payload = body;
  in.service = "postgres";
  in.timestamp = ts;
  in.secret_id = kDemoSecretId;
  in.secret_key = kDemoSecretKey;
  tc::Signature sig = tc::Sign(in);
  httplib::Headers h = {{"X-TC-Action", "DescribeRegions"}, {"X-TC-Version", "2017-03-12"},
                        {"X-TC-Timestamp", std::to_string(ts)}, {"Authorization", sig.authorization}};
  CHECK_FALSE(RawPost(emu, h, body).contains("Error"));
  // The same signature over a tampered signed header fails.
  h.erase("X-TC-Version");
  h.emplace("X-TC-Version", "2017-03-13");
  CHECK(RawPost(emu, h, body)["Error"]["Code"] == "AuthFailure.SignatureFailure");
}

TEST_CASE("emulator: the scope's service must own the action") {
  EmulatorFixture emu;
  SystemClock clock;
  auto r = CallWith(emu.Config(), &clock, "DescribeDBInstances", json::object(), "tag", "2018-08-13");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "AuthFailure.SignatureFailure");
  CHECK(r.status().message().find("belongs to `postgres`") != std::string::npos);
}

TEST_CASE("emulator: InvalidAction, NoSuchVersion and MissingParameter for the header") {
  EmulatorFixture emu;
  SystemClock clock;
  auto action = CallWith(emu.Config(), &clock, "DescribeEverything");
  REQUIRE_FALSE(action.ok());
  CHECK(action.status().api_code() == "InvalidAction");
  auto version = CallWith(emu.Config(), &clock, "DescribeRegions", json::object(), "postgres", "2099-01-01");
  REQUIRE_FALSE(version.ok());
  CHECK(version.status().api_code() == "NoSuchVersion");
  auto region = CallWith(emu.Config(), &clock, "DescribeZones", json::object(), "postgres", "2017-03-12", "");
  REQUIRE_FALSE(region.ok());
  CHECK(region.status().api_code() == "MissingParameter");
}

TEST_CASE("emulator: regions are checked in three steps") {
  EmulatorFixture emu;
  auto unknown = emu.Call("DescribeZones", json::object(), "mars-north-1");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().api_code() == "UnsupportedRegion");
  auto unsupported = emu.Call("DescribeZones", json::object(), "eu-moscow");
  REQUIRE_FALSE(unsupported.ok());
  CHECK(unsupported.status().api_code() == "InvalidParameterValue.RegionNotSupported");
  auto absent = emu.Call("DescribeZones", json::object(), "ap-tokyo");  // supported, not in this world
  REQUIRE_FALSE(absent.ok());
  CHECK(absent.status().api_code() == "InvalidParameterValue.IllegalRegion");
}

TEST_CASE("emulator: UnknownParameter, MissingParameter and InvalidParameter") {
  EmulatorFixture emu;
  auto unknown = emu.Call("DescribeDBInstances", {{"Filterz", json::array()}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().api_code() == "UnknownParameter");
  CHECK(unknown.status().message().find("Filterz") != std::string::npos);
  // The serverless listing spells it Filter, singular.
  auto plural = emu.Call("DescribeServerlessDBInstances", {{"Filters", json::array()}});
  REQUIRE_FALSE(plural.ok());
  CHECK(plural.status().api_code() == "UnknownParameter");
  auto missing = emu.Call("DescribeDBInstanceAttribute");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().api_code() == "MissingParameter");
  CHECK(missing.status().message().find("DBInstanceId") != std::string::npos);
  auto type = emu.Call("DescribeDBInstances", {{"Limit", "10"}});
  REQUIRE_FALSE(type.ok());
  CHECK(type.status().api_code() == "InvalidParameter");
  CHECK(type.status().message().find("`Limit` should be Number, got String") != std::string::npos);
  // The model says Number; the API says Integer, which the action checks after it.
  auto fraction = emu.Call("DescribeDBInstances", {{"Limit", 2.5}});
  REQUIRE_FALSE(fraction.ok());
  CHECK(fraction.status().api_code() == "InvalidParameter");
  CHECK(fraction.status().message().find("Integer") != std::string::npos);
}

TEST_CASE("emulator: an oversize body is RequestSizeLimitExceeded") {
  EmulatorFixture emu([](emu::World& w) { w.catalogue.max_request_bytes = 1024; });
  auto r = emu.Call("DescribeDBInstances", {{"Filters", json::array({{{"Name", "db-instance-name"},
                                                                        {"Values", {std::string(2000, 'x')}}}})}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "RequestSizeLimitExceeded");
}

TEST_CASE("emulator: a body that is not a JSON object is StructParseFailed") {
  EmulatorFixture emu;
  const int64_t ts = SystemClock().NowUnixSeconds();
  const std::string body = "[1,2]";
  const std::string host = emu.url().substr(7);
  tc::SignInput in;
  in.headers = {{"content-type", "application/json"}, {"host", host}};
  in.payload = body;
  in.service = "postgres";
  in.timestamp = ts;
  in.secret_id = kDemoSecretId;
  in.secret_key = kDemoSecretKey;
  httplib::Headers h = {{"X-TC-Action", "DescribeRegions"}, {"X-TC-Version", "2017-03-12"},
                        {"X-TC-Timestamp", std::to_string(ts)}, {"Authorization", tc::Sign(in).authorization}};
  CHECK(RawPost(emu, h, body)["Error"]["Code"] == "InvalidParameterValue.StructParseFailed");
}

TEST_CASE("emulator: the admin API counts calls, dry runs and errors") {
  EmulatorFixture emu;
  emu.Call("DescribeRegions");
  emu.Call("DescribeDBInstanceAttribute");  // MissingParameter
  json c = emu.Calls("DescribeDBInstanceAttribute");
  CHECK(c["total"] == 1);
  CHECK(c["errors"] == 1);
  CHECK(emu.Calls("DescribeRegions")["errors"] == 0);
  emu.AdminPost("/_admin/reset");
  CHECK(emu.Calls("DescribeRegions")["total"] == 0);
}

}  // namespace
}  // namespace reconciler::testing
