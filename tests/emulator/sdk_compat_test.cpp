// Requests as the official SDKs build them, which differ from this project's client: the
// Node SDK signs the host without its port and names the endpoint's first label as the
// service; Java adds a charset; SDKs may send GET with flattened parameters, leave the
// body unsigned, or send an endpoint's path.

#include <doctest/doctest.h>
#include <httplib.h>

#include "providers/tencentcloud/signer.h"
#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace tc = tencentcloud;

struct SdkRequest {
  std::string method = "POST";
  std::string path = "/";
  std::string action = "DescribeRegions";
  std::string version = "2017-03-12";
  std::string scope_service = "postgres";
  std::string sent_host;    // the Host header; default 127.0.0.1:PORT
  std::string signed_host;  // the host in the signature; default the Host header
  std::string query;        // GET only, already URL-encoded
  std::string body = "{}";  // POST only
  std::string content_type = "application/json";
  bool unsigned_payload = false;
};

// Signs and sends `r` the way an SDK would, and returns the Response object.
json Send(EmulatorFixture& emu, SdkRequest r) {
  const std::string port = emu.url().substr(emu.url().rfind(':') + 1);
  if (r.sent_host.empty()) r.sent_host = "127.0.0.1:" + port;
  if (r.signed_host.empty()) r.signed_host = r.sent_host;
  if (r.method == "GET") r.body.clear();
  const int64_t ts = SystemClock().NowUnixSeconds();
  tc::SignInput in;
  in.method = r.method;
  in.canonical_query = r.query;
  in.headers = {{"content-type", r.content_type}, {"host", r.signed_host}};
  in.payload = r.unsigned_payload ? std::string_view("UNSIGNED-PAYLOAD") : std::string_view(r.body);
  in.service = r.scope_service;
  in.timestamp = ts;
  in.secret_id = kDemoSecretId;
  in.secret_key = kDemoSecretKey;
  httplib::Headers h = {{"Host", r.sent_host},
                        {"X-TC-Action", r.action},
                        {"X-TC-Version", r.version},
                        {"X-TC-Region", "ap-beijing"},
                        {"X-TC-Timestamp", std::to_string(ts)},
                        {"Authorization", tc::Sign(in).authorization}};
  if (r.unsigned_payload) h.emplace("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD");
  httplib::Client cli("127.0.0.1", std::stoi(port));
  cli.set_url_encode(false);  // the query is sent as signed, like the SDKs do
  if (r.method == "GET") h.emplace("Content-Type", r.content_type);
  httplib::Result res = r.method == "GET"
                            ? cli.Get((r.path + "?" + r.query).c_str(), h)
                            : cli.Post(r.path.c_str(), h, r.body, r.content_type.c_str());
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return json::parse(res->body)["Response"];
}

std::string ErrorCode(const json& response) {
  return response.contains("Error") ? response["Error"]["Code"] : "";
}

std::string Port(EmulatorFixture& emu) { return emu.url().substr(emu.url().rfind(':') + 1); }

// What the SDKs' GET does to a request: Name.N.Field pairs, URL-encoded.
std::string Flatten(const json& v, const std::string& prefix = "") {
  std::string out;
  auto add = [&](const std::string& key, const json& child) {
    std::string part = Flatten(child, prefix.empty() ? key : prefix + "." + key);
    if (!part.empty()) out += (out.empty() ? "" : "&") + part;
  };
  if (v.is_object()) {
    for (const auto& [k, child] : v.items()) add(k, child);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) add(std::to_string(i), v[i]);
  } else {
    std::string text = v.is_string() ? v.get<std::string>() : v.dump();
    std::string encoded;
    for (unsigned char c : text) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
        encoded.push_back(static_cast<char>(c));
      else if (c == ' ')
        encoded.push_back('+');
      else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        encoded += buf;
      }
    }
    out = prefix + "=" + encoded;
  }
  return out;
}

TEST_CASE("emulator sdk: the host may be signed with or without its port") {
  EmulatorFixture emu;
  SdkRequest with_port;
  CHECK(ErrorCode(Send(emu, with_port)).empty());
  SdkRequest node;  // signs new URL(url).hostname, sends Host with the port
  node.signed_host = "127.0.0.1";
  CHECK(ErrorCode(Send(emu, node)).empty());
  SdkRequest other_host;
  other_host.signed_host = "127.0.0.2";
  CHECK(ErrorCode(Send(emu, other_host)) == "AuthFailure.SignatureFailure");
}

TEST_CASE("emulator sdk: a scope naming the Host's first label stands for the action's service") {
  EmulatorFixture emu;
  // Node, Java and C++ take the service from the endpoint: "127" for 127.0.0.1:PORT.
  SdkRequest node;
  node.scope_service = "127";
  node.signed_host = "127.0.0.1";
  CHECK(ErrorCode(Send(emu, node)).empty());
  SdkRequest tag = node;
  tag.action = "UnTagResources";
  tag.version = "2018-08-13";
  tag.body =
      R"({"ResourceList":["qcs::postgres:ap-beijing:uin/:DBInstanceId/postgres-abcdef"],"TagKeys":["x"]})";
  json untagged = Send(emu, tag);
  CHECK(ErrorCode(untagged).empty());
  CHECK(untagged["FailedResources"].empty());
  // Java on localhost:PORT names "localhost:PORT", port and all.
  SdkRequest java;
  java.sent_host = "localhost:" + Port(emu);
  java.scope_service = "localhost:" + Port(emu);
  java.content_type = "application/json; charset=utf-8";
  CHECK(ErrorCode(Send(emu, java)).empty());
  java.scope_service = "localhost";
  CHECK(ErrorCode(Send(emu, java)).empty());
  // A label that is neither a service nor the Host's is a signature mismatch.
  SdkRequest cvm;
  cvm.scope_service = "cvm";
  CHECK(ErrorCode(Send(emu, cvm)) == "AuthFailure.SignatureFailure");
  // A real service still has to own the action.
  SdkRequest wrong = node;
  wrong.scope_service = "tag";
  json r = Send(emu, wrong);
  CHECK(ErrorCode(r) == "AuthFailure.SignatureFailure");
  CHECK(r["Error"]["Message"].get<std::string>().find("belongs to `postgres`") !=
        std::string::npos);
  // An unknown action under a stand-in scope is InvalidAction.
  SdkRequest unknown = node;
  unknown.action = "DescribeEverything";
  CHECK(ErrorCode(Send(emu, unknown)) == "InvalidAction");
}

TEST_CASE("emulator sdk: postgres.localhost and tag.localhost name their service") {
  EmulatorFixture emu;
  SdkRequest pg;
  pg.sent_host = "postgres.localhost:" + Port(emu);
  CHECK(ErrorCode(Send(emu, pg)).empty());
  pg.signed_host = "postgres.localhost";  // the Node SDK again
  CHECK(ErrorCode(Send(emu, pg)).empty());
  SdkRequest tag;
  tag.sent_host = "tag.localhost:" + Port(emu);
  tag.scope_service = "tag";
  tag.action = "UnTagResources";
  tag.version = "2018-08-13";
  tag.body =
      R"({"ResourceList":["qcs::postgres:ap-beijing:uin/:DBInstanceId/postgres-abcdef"],"TagKeys":["x"]})";
  CHECK(ErrorCode(Send(emu, tag)).empty());
  // tccli given a URL endpoint sends and signs the scheme too.
  SdkRequest tccli;
  tccli.sent_host = "http://127.0.0.1:" + Port(emu);
  CHECK(ErrorCode(Send(emu, tccli)).empty());
}

TEST_CASE("emulator sdk: an unsigned payload is verified over the literal UNSIGNED-PAYLOAD") {
  EmulatorFixture emu;
  SdkRequest r;
  r.unsigned_payload = true;
  r.action = "DescribeDBInstances";
  r.body = R"({"Limit": 1})";
  json answer = Send(emu, r);
  CHECK(ErrorCode(answer).empty());
  CHECK(answer["DBInstanceSet"].size() == 1);
}

TEST_CASE("emulator sdk: the API answers on an endpoint's path prefix") {
  EmulatorFixture emu;
  SdkRequest r;
  r.path = "/prefix/api";
  CHECK(ErrorCode(Send(emu, r)).empty());
}

TEST_CASE("emulator sdk: GET takes flattened parameters typed by the site model") {
  EmulatorFixture emu;
  SdkRequest list;
  list.method = "GET";
  list.action = "DescribeDBInstances";
  list.content_type = "application/x-www-form-urlencoded";
  list.query =
      "Limit=5&Filters.0.Name=db-instance-id&Filters.0.Values.1=postgres-prepaid1&Filters.0.Values."
      "0=postgres-abcdef";
  json listed = Send(emu, list);
  REQUIRE(ErrorCode(listed).empty());
  CHECK(listed["TotalCount"] == 2);

  // A purchase over GET, with a struct (TagList.TagKey) and a number, as the SDKs flatten it.
  json seed = SeedCreateReadOnlyRequest();
  seed["TagList"] = {{"TagKey", "team"}, {"TagValue", "data science"}};
  SdkRequest buy = list;
  buy.action = "CreateReadOnlyDBInstance";
  buy.query = Flatten(seed);
  json bought = Send(emu, buy);
  REQUIRE(ErrorCode(bought).empty());
  auto replicas = emu.ReadOnlyInstances();
  REQUIRE(replicas.size() == 1);
  CHECK(replicas[0]["DBInstanceStorage"] == 100);
  CHECK(replicas[0]["TagList"] ==
        json::array({{{"TagKey", "team"}, {"TagValue", "data science"}}}));

  // Booleans in any letter case (Python sends True).
  SdkRequest protect = list;
  protect.action = "ModifyDBInstanceDeletionProtection";
  protect.query = "DBInstanceId=postgres-abcdef&DeletionProtection=True";
  CHECK(ErrorCode(Send(emu, protect)).empty());
  auto master = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", "postgres-abcdef"}});
  CHECK((*master)["DBInstance"]["DeletionProtection"] == true);

  SdkRequest bad_number = list;
  bad_number.query = "Limit=ten";
  json r = Send(emu, bad_number);
  CHECK(ErrorCode(r) == "InvalidParameter");
  CHECK(r["Error"]["Message"].get<std::string>().find("`Limit`") != std::string::npos);
  SdkRequest unknown = list;
  unknown.query = "Filters.0.Colour=red";
  r = Send(emu, unknown);
  CHECK(ErrorCode(r) == "UnknownParameter");
  CHECK(r["Error"]["Message"].get<std::string>().find("Filters.0.Colour") != std::string::npos);
  SdkRequest json_type = list;
  json_type.content_type = "application/json";
  CHECK(ErrorCode(Send(emu, json_type)) == "InvalidParameter");
}

}  // namespace
}  // namespace reconciler::testing
