// The emulator's fault classes, each proved through the product's own ApiClient and the
// admin API: what the client sees, and what the account holds afterwards.

#include <doctest/doctest.h>
#include <thread>
#include <future>
#include <httplib.h>

#include <chrono>

#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace tc = tencentcloud;

json Seed(const json& changes = json::object()) {
  json req = SeedCreateReadOnlyRequest();
  req.merge_patch(changes);
  return req;
}

json Prepaid(const json& changes = json::object()) {
  json req = Seed({{"MasterDBInstanceId", "postgres-prepaid1"}, {"InstanceChargeType", "PREPAID"}, {"ProjectId", 0}});
  req.merge_patch(changes);
  return req;
}

// The one tag a create can carry (TagList is one Tag object).
json Tagged(const std::string& op) { return {{"TagKey", "reconciler/operation"}, {"TagValue", op}}; }

json ByTag(const std::string& key) { return {{"Filters", {{{"Name", "db-tag-key"}, {"Values", {key}}}}}}; }

std::string StatusOf(EmulatorFixture& emu, const std::string& id) {
  auto a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  return a.ok() ? (*a)["DBInstance"]["DBInstanceStatus"].get<std::string>() : a.status().api_code();
}

// The fault rules the emulator holds now.
json Rules(EmulatorFixture& emu) { return emu.AdminGet("/_admin/faults"); }

// Posts a fault rule and returns the HTTP status and the error said, for rules that must be
// refused.
std::pair<int, std::string> PostRule(EmulatorFixture& emu, const std::string& body) {
  httplib::Client cli(emu.url());
  auto res = cli.Post("/_admin/faults", body, "application/json");
  REQUIRE(res);
  json answer = json::parse(res->body, nullptr, false);
  return {res->status, answer.is_object() ? answer.value("error", "") : res->body};
}

// A client of its own: other credentials, or a transport with a short timeout.
struct Client {
  explicit Client(tc::CloudConfig config, std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : transport(tc::NewCurlTransport(Options(timeout))), api(std::move(config), transport.get(), &clock) {}
  static tc::TransportOptions Options(std::chrono::milliseconds timeout) {
    tc::TransportOptions o;
    o.total_timeout = timeout;
    return o;
  }
  Result<json> Call(const std::string& action, const json& params, tc::Effect effect = tc::Effect::kRead) {
    tc::ApiCall call;
    call.action = action;
    call.region = "ap-beijing";
    call.effect = effect;
    return api.Call(call, params);
  }
  SystemClock clock;
  std::unique_ptr<tc::HttpTransport> transport;
  tc::ApiClient api;
};

// ---- scope, after, and the rule syntax ----

TEST_CASE("emulator fault: scope dryRun fires only on DryRun calls and scope real only on the others") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "httpError"}, {"status", 503}, {"action", "CreateReadOnlyDBInstance"}, {"scope", "real"}});
  emu.AddFault({{"type", "throttle"}, {"action", "CreateReadOnlyDBInstance"}, {"scope", "dryRun"}});
  auto dry = emu.Call("CreateReadOnlyDBInstance", Seed({{"DryRun", true}}));
  REQUIRE_FALSE(dry.ok());
  CHECK(dry.status().api_code() == "RequestLimitExceeded");  // the dryRun rule, not the real one
  CHECK(emu.Call("CreateReadOnlyDBInstance", Seed({{"DryRun", true}})).ok());
  auto real = emu.Call("CreateReadOnlyDBInstance", Seed());
  REQUIRE_FALSE(real.ok());
  CHECK(real.status().message().find("503") != std::string::npos);
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(Rules(emu).empty());  // both fired once and are gone
}

TEST_CASE("emulator fault: after lets matching calls through before the rule fires") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "throttle"}, {"action", "DescribeRegions"}, {"after", 2}, {"times", 1}});
  CHECK(Rules(emu)[0]["after"] == 2);
  CHECK(emu.Call("DescribeRegions").ok());
  CHECK(emu.Call("DescribeZones").ok());  // another action does not count
  CHECK(emu.Call("DescribeRegions").ok());
  auto third = emu.Call("DescribeRegions");
  REQUIRE_FALSE(third.ok());
  CHECK(third.status().api_code() == "RequestLimitExceeded");
  CHECK(emu.Call("DescribeRegions").ok());
  CHECK(emu.Calls("DescribeRegions")["throttled"] == 1);  // an injected throttle counts like a real one
}

TEST_CASE("emulator fault: malformed rules of the new classes are refused with the field named") {
  EmulatorFixture emu;
  auto refused = [&](const std::string& body, const std::string& says) {
    CAPTURE(body);
    auto [status, text] = PostRule(emu, body);
    CHECK(status == 400);
    CHECK(text.find(says) != std::string::npos);
  };
  refused(R"({"type":"errorAfterCommit","status":429})", "fault.status: expected an HTTP 4xx or 5xx status other than 429");
  refused(R"({"type":"errorAfterCommit","status":302})", "fault.status: expected an HTTP 4xx or 5xx status other than 429");
  refused(R"({"type":"lateAnswer"})", "fault.ms: is required");
  refused(R"({"type":"listingLag","seconds":60,"mode":"stale"})", "fault.mode: expected \"absent\" or \"untagged\"");
  refused(R"({"type":"listingLag"})", "fault.seconds: is required");
  refused(R"({"type":"malformedAnswer"})", "fault.mode: is required");
  refused(R"({"type":"malformedAnswer","mode":"absent"})", "fault.mode: expected \"wrongTypes\"");
  refused(R"({"type":"stuck"})", "fault.status: is required");
  refused(R"({"type":"stuck","status":"sleeping"})", "fault.status: expected a DBInstanceStatus");
  refused(R"({"type":"orderOverDelivered","extra":0})", "fault.extra: expected 1..100");
  refused(R"({"type":"clockSkew"})", "fault.seconds: is required");
  refused(R"({"type":"throttle","scope":"maybe"})", "fault.scope: expected \"dryRun\", \"real\" or \"any\"");
  refused(R"([{"type":"throttle"},{"type":"tokenExpiry","after":-1}])", "faults[1].after: expected a non-negative integer");
  CHECK(Rules(emu).empty());  // a refused batch adds nothing
  emu.AddFault(json::parse(R"([{"type":"stuckIniting"},{"type":"listingLag","seconds":30,"times":-1},
                               {"type":"malformedAnswer","mode":"truncated","scope":"real"}])"));
  json rules = Rules(emu);
  CHECK(rules[0] == json{{"type", "stuck"}, {"status", "initing"}, {"times", 1}});
  CHECK(rules[1] == json{{"type", "listingLag"}, {"seconds", 30.0}, {"mode", "absent"}, {"times", -1}});
  CHECK(rules[2] == json{{"type", "malformedAnswer"}, {"mode", "truncated"}, {"scope", "real"}, {"times", 1}});
}

// ---- 1. errorAfterCommit ----

TEST_CASE("emulator fault: errorAfterCommit buys and then answers HTTP 5xx") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "errorAfterCommit"}, {"status", 502}, {"action", "CreateReadOnlyDBInstance"}});
  // A DryRun changes nothing, so the rule waits for the purchase.
  REQUIRE(emu.Call("CreateReadOnlyDBInstance", Seed({{"DryRun", true}})).ok());
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed({{"TagList", Tagged("op-late")}}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(r.status().message().find("502") != std::string::npos);
  auto replicas = emu.ReadOnlyInstances();
  REQUIRE(replicas.size() == 1);  // bought all the same
  CHECK(emu.State()["orders"].size() == 1);
  CHECK(emu.Calls("CreateReadOnlyDBInstance")["errors"] == 0);  // the cloud did the work
  CHECK((*emu.Call("DescribeDBInstances", ByTag("reconciler/operation")))["TotalCount"] == 1);
  CHECK(emu.Call("CreateReadOnlyDBInstance", Seed()).ok());  // it fired once
}

// ---- 2. lateAnswer ----

TEST_CASE("emulator fault: lateAnswer buys and answers after the client has timed out") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "lateAnswer"}, {"ms", 5000}, {"action", "CreateReadOnlyDBInstance"}, {"scope", "real"}});
  Client impatient(emu.Config(), std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  auto r = impatient.Call("CreateReadOnlyDBInstance", Seed(), tc::Effect::kPurchase);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(4000));  // the client gave up first
  auto replicas = emu.ReadOnlyInstances();
  REQUIRE(replicas.size() == 1);  // processed before the delay
  CHECK(replicas[0]["DBInstanceStatus"] == "applying");
}

TEST_CASE("emulator fault: clearing the rules releases an answer a lateAnswer holds") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "lateAnswer"}, {"ms", 600000}, {"action", "DescribeRegions"}});
  Client patient(emu.Config(), std::chrono::milliseconds(60000));
  auto answer = std::async(std::launch::async, [&] { return patient.Call("DescribeRegions", json::object()); });
  // Wait until the held call has been processed, then clear: the answer must go out now.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (emu.Calls("DescribeRegions")["total"] == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  REQUIRE(emu.Calls("DescribeRegions")["total"] == 1);
  emu.AdminPost("/_admin/faults", {{"clear", true}});
  REQUIRE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(answer.get().ok());
}

TEST_CASE("emulator fault: a lateAnswer within the client's patience arrives whole") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "lateAnswer"}, {"ms", 200}, {"action", "DescribeRegions"}});
  auto start = std::chrono::steady_clock::now();
  auto r = emu.Call("DescribeRegions");
  REQUIRE(r.ok());
  CHECK((*r)["TotalCount"] == 3);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(200));
}

// ---- 3. listingLag ----

TEST_CASE("emulator fault: listingLag absent hides new instances from listings but not from lookups by id") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "listingLag"}, {"seconds", 60}, {"times", -1}});
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed({{"TagList", Tagged("op-lag")}}));
  REQUIRE(r.ok());
  const std::string id = (*r)["DBInstanceIdSet"][0];
  CHECK((*emu.Call("DescribeDBInstances", ByTag("reconciler/operation")))["TotalCount"] == 0);
  CHECK((*emu.Call("DescribeDBInstances", {{"Limit", 100}}))["TotalCount"] == 3);  // the world's own only
  auto by_id = emu.Call("DescribeDBInstances", {{"Filters", {{{"Name", "db-instance-id"}, {"Values", {id}}}}}});
  CHECK((*by_id)["TotalCount"] == 0);  // a listing, even when filtered by id
  CHECK(StatusOf(emu, id) == "applying");  // DescribeDBInstanceAttribute is consistent
  CHECK(emu.ReadOnlyInstances().size() == 1);
  emu.Advance(59);
  CHECK((*emu.Call("DescribeDBInstances", ByTag("reconciler/operation")))["TotalCount"] == 0);
  emu.Advance(2);
  auto caught_up = emu.Call("DescribeDBInstances", ByTag("reconciler/operation"));
  REQUIRE((*caught_up)["TotalCount"] == 1);
  CHECK((*caught_up)["DBInstanceSet"][0]["DBInstanceId"] == id);
}

TEST_CASE("emulator fault: listingLag untagged lists new instances without their tags") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "listingLag"}, {"seconds", 30}, {"mode", "untagged"}, {"times", -1}});
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed({{"TagList", Tagged("op-untagged")}}));
  REQUIRE(r.ok());
  const std::string id = (*r)["DBInstanceIdSet"][0];
  CHECK((*emu.Call("DescribeDBInstances", ByTag("reconciler/operation")))["TotalCount"] == 0);
  auto all = emu.Call("DescribeDBInstances", {{"Filters", {{{"Name", "db-instance-id"}, {"Values", {id}}}}}});
  REQUIRE((*all)["TotalCount"] == 1);
  CHECK((*all)["DBInstanceSet"][0]["TagList"] == json::array());
  auto a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  CHECK((*a)["DBInstance"]["TagList"].size() == 1);  // the lookup by id has them
  emu.Advance(31);
  all = emu.Call("DescribeDBInstances", {{"Filters", {{{"Name", "db-instance-id"}, {"Values", {id}}}}}});
  CHECK((*all)["DBInstanceSet"][0]["TagList"].size() == 1);
}

TEST_CASE("emulator fault: listingLag applies to serverless listings and counts listings as its times") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "listingLag"}, {"seconds", 60}, {"action", "DescribeServerlessDBInstances"}, {"times", 1}});
  json req = {{"Zone", "ap-beijing-1"}, {"DBInstanceName", "sandbox"}, {"DBVersion", "10.4"}, {"DBCharset", "UTF8"}};
  auto r = emu.Call("CreateServerlessDBInstance", req);
  REQUIRE(r.ok());
  CHECK((*emu.Call("DescribeDBInstances", {{"Limit", 100}}))["TotalCount"] == 3);  // another action: untouched
  CHECK((*emu.Call("DescribeServerlessDBInstances"))["TotalCount"] == 0);
  CHECK((*emu.Call("DescribeServerlessDBInstances"))["TotalCount"] == 1);  // the one firing is used up
}

// ---- 4. malformedAnswer ----

TEST_CASE("emulator fault: malformedAnswer wrongTypes swaps every type but the RequestId") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "malformedAnswer"}, {"mode", "wrongTypes"}, {"action", "DescribeDBInstances"}});
  auto r = emu.Call("DescribeDBInstances", {{"Limit", 2}});
  REQUIRE(r.ok());  // still an envelope
  CHECK((*r)["TotalCount"] == "3");
  REQUIRE((*r)["DBInstanceSet"].is_object());
  const json& first = (*r)["DBInstanceSet"]["0"];
  CHECK(first["DBInstanceId"] == std::string("postgres-abcdef").size());
  CHECK(first["DBInstanceStorage"] == "200");
  CHECK(first["DeletionProtection"] == "false");
  CHECK(first["TagList"].is_object());
  CHECK((*r)["RequestId"].is_string());
  CHECK((*emu.Call("DescribeDBInstances", {{"Limit", 2}}))["TotalCount"] == 3);  // once
}

TEST_CASE("emulator fault: malformedAnswer truncated sends half the body with a matching length") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "malformedAnswer"}, {"mode", "truncated"}, {"action", "CreateReadOnlyDBInstance"}});
  std::string trace;
  emu.client().SetTrace([&](const std::string& line) { trace += line; });
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed());
  emu.client().SetTrace({});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(r.status().message().find("not a Tencent Cloud API envelope") != std::string::npos);
  CHECK(trace.find("< HTTP 200 (") != std::string::npos);  // the transport read it all: the length matched
  CHECK(emu.ReadOnlyInstances().size() == 1);              // and the purchase stands
}

TEST_CASE("emulator fault: malformedAnswer missingSet drops the sets from an answer") {
  EmulatorFixture emu;
  auto bought = emu.Call("CreateReadOnlyDBInstance", Seed({{"InstanceCount", 2}}));
  REQUIRE(bought.ok());
  emu.Advance(30);
  emu.AddFault(json::parse(R"([{"type":"malformedAnswer","mode":"missingSet","action":"DescribeOrders"},
                               {"type":"malformedAnswer","mode":"missingSet","action":"DescribeDBInstances"}])"));
  auto orders = emu.Call("DescribeOrders", {{"DealNames", (*bought)["DealNames"]}});
  REQUIRE(orders.ok());
  CHECK((*orders)["TotalCount"] == 2);
  CHECK_FALSE(orders->contains("Deals"));
  auto list = emu.Call("DescribeDBInstances");
  REQUIRE(list.ok());
  CHECK((*list)["TotalCount"] == 5);
  CHECK_FALSE(list->contains("DBInstanceSet"));
  // A refusal is not an answer to break.
  emu.AddFault({{"type", "malformedAnswer"}, {"mode", "missingSet"}, {"action", "DescribeOrders"}});
  auto refused = emu.Call("DescribeOrders", {{"DealNames", json::array()}});
  CHECK(refused.status().api_code() == "InvalidParameterValue.NullDealNames");
  CHECK(Rules(emu).size() == 1);
}

// ---- 5. order outcomes ----

TEST_CASE("emulator fault: orderFailed answers with IDs that never come to exist") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "orderFailed"}, {"action", "CreateReadOnlyDBInstance"}});
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed({{"InstanceCount", 2}}));
  REQUIRE(r.ok());
  REQUIRE((*r)["DBInstanceIdSet"].size() == 2);  // postpaid: the allocated IDs, as usual
  REQUIRE((*r)["DealNames"].size() == 2);
  const std::string id = (*r)["DBInstanceIdSet"][0];
  CHECK(StatusOf(emu, id) == "ResourceNotFound.InstanceNotFoundError");
  emu.Advance(86400);
  auto orders = emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}});
  REQUIRE((*orders)["Deals"].size() == 2);
  for (const json& d : (*orders)["Deals"]) CHECK(d["DBInstanceIdSet"] == json::array());
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(StatusOf(emu, id) == "ResourceNotFound.InstanceNotFoundError");
}

TEST_CASE("emulator fault: a prepaid orderFailed is refunded") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "orderFailed"}});
  int64_t before = emu.State()["balanceCents"];
  auto r = emu.Call("CreateReadOnlyDBInstance", Prepaid());
  REQUIRE(r.ok());
  CHECK((*r)["DBInstanceIdSet"] == json::array());  // prepaid answers never carry IDs
  emu.Advance(3600);
  CHECK((*emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}}))["Deals"][0]["DBInstanceIdSet"] == json::array());
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(emu.State()["balanceCents"] == before);
}

TEST_CASE("emulator fault: orderRefunded delivers and then isolates and removes the instances and refunds") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "orderRefunded"}});
  int64_t before = emu.State()["balanceCents"];
  auto r = emu.Call("CreateReadOnlyDBInstance", Prepaid({{"InstanceCount", 2}}));
  REQUIRE(r.ok());
  CHECK(emu.State()["balanceCents"] == before);  // refunded at once
  auto replicas = emu.ReadOnlyInstances();
  REQUIRE(replicas.size() == 2);
  const std::string id = replicas[0]["DBInstanceId"];
  CHECK(StatusOf(emu, id) == "applying");
  emu.Advance(20);  // applying ends (world timings: applying 20, isolating 10, destroying 10)
  CHECK(StatusOf(emu, id) == "isolating");
  emu.Advance(10);
  CHECK(StatusOf(emu, id) == "isolated");
  // The orders were delivered: they list what they delivered.
  auto orders = emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}});
  CHECK((*orders)["Deals"][0]["DBInstanceIdSet"].size() == 1);
  emu.Advance(10);
  CHECK(StatusOf(emu, id) == "offlining");
  emu.Advance(10);
  CHECK(StatusOf(emu, id) == "ResourceNotFound.InstanceNotFoundError");
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(emu.State()["balanceCents"] == before);
}

TEST_CASE("emulator fault: orderOverDelivered lists more instances than InstanceCount") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "orderOverDelivered"}, {"extra", 1}});
  int64_t before = emu.State()["balanceCents"];
  auto r = emu.Call("CreateReadOnlyDBInstance", Prepaid({{"InstanceCount", 2}, {"TagList", Tagged("op-over")}}));
  REQUIRE(r.ok());
  REQUIRE((*r)["DealNames"].size() == 2);
  emu.Advance(30);
  auto orders = emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}});
  size_t listed = 0;
  for (const json& d : (*orders)["Deals"]) listed += d["DBInstanceIdSet"].size();
  CHECK(listed == 3);
  CHECK(emu.ReadOnlyInstances().size() == 3);
  CHECK((*emu.Call("DescribeDBInstances", ByTag("reconciler/operation")))["TotalCount"] == 3);
  CHECK(before - emu.State()["balanceCents"].get<int64_t>() == 26000 * 2);  // charged for two
  emu.Advance(80);
  for (const json& i : emu.ReadOnlyInstances()) CHECK(i["DBInstanceStatus"] == "running");
}

// ---- 6. stuck ----

TEST_CASE("emulator fault: stuck keeps bought instances in the status named") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "stuck"}, {"status", "applying"}, {"action", "CreateReadOnlyDBInstance"}});
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed());
  REQUIRE(r.ok());
  emu.Advance(86400);
  CHECK(StatusOf(emu, (*r)["DBInstanceIdSet"][0]) == "applying");
  emu.AddFault({{"type", "stuckIniting"}});  // the older name
  auto s = emu.Call("CreateReadOnlyDBInstance", Seed());
  REQUIRE(s.ok());
  CHECK(StatusOf(emu, (*s)["DBInstanceIdSet"][0]) == "applying");
  emu.Advance(86400);
  CHECK(StatusOf(emu, (*s)["DBInstanceIdSet"][0]) == "initing");
  emu.AddFault({{"type", "stuck"}, {"status", "limited run"}, {"action", "CreateServerlessDBInstance"}});
  auto sl = emu.Call("CreateServerlessDBInstance",
                     {{"Zone", "ap-beijing-1"}, {"DBInstanceName", "sl"}, {"DBVersion", "10.4"}, {"DBCharset", "UTF8"}});
  REQUIRE(sl.ok());
  emu.Advance(86400);
  CHECK((*emu.Call("DescribeServerlessDBInstances"))["DBInstanceSet"][0]["DBInstanceStatus"] == "limited run");
}

TEST_CASE("emulator fault: stuck keeps targeted instances isolating and a stuck spec change never applies") {
  EmulatorFixture emu;
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed({{"InstanceCount", 2}}));
  REQUIRE(r.ok());
  emu.Advance(80);
  const std::string a = (*r)["DBInstanceIdSet"][0], b = (*r)["DBInstanceIdSet"][1];
  emu.AddFault({{"type", "stuck"}, {"status", "isolating"}, {"action", "IsolateDBInstances"}});
  emu.AddFault({{"type", "stuck"}, {"status", "expanding"}, {"action", "ModifyDBInstanceSpec"}});
  REQUIRE(emu.Call("IsolateDBInstances", {{"DBInstanceIdSet", {a}}}).ok());
  REQUIRE(emu.Call("ModifyDBInstanceSpec", {{"DBInstanceId", b}, {"Memory", 4}, {"Storage", 200}}).ok());
  emu.Advance(86400);
  CHECK(StatusOf(emu, a) == "isolating");
  auto attr = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", b}});
  CHECK((*attr)["DBInstance"]["DBInstanceStatus"] == "expanding");
  CHECK((*attr)["DBInstance"]["DBInstanceClass"] == "pg.it.small2");
}

// ---- 7. throttling, clocks and tokens ----

TEST_CASE("emulator fault: httpError 429 is throttling and processes nothing") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "httpError"}, {"status", 429}, {"action", "CreateReadOnlyDBInstance"}, {"times", 2}});
  for (int i = 0; i < 2; ++i) {
    auto r = emu.Call("CreateReadOnlyDBInstance", Seed());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kThrottled);
    CHECK(r.status().message().find("429") != std::string::npos);
  }
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(emu.Calls("CreateReadOnlyDBInstance")["errors"] == 2);
  CHECK(emu.Call("CreateReadOnlyDBInstance", Seed()).ok());
}

TEST_CASE("emulator fault: clockSkew makes good timestamps AuthFailure.SignatureExpire") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "clockSkew"}, {"seconds", 100}});  // within the 5 minutes: harmless
  CHECK(emu.Call("DescribeRegions").ok());
  emu.AddFault({{"type", "clockSkew"}, {"seconds", -600}, {"action", "CreateReadOnlyDBInstance"}, {"times", 2}});
  for (int i = 0; i < 2; ++i) {
    auto r = emu.Call("CreateReadOnlyDBInstance", Seed());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().api_code() == "AuthFailure.SignatureExpire");
    CHECK(r.status().code() == Code::kAuth);
  }
  CHECK(emu.Call("DescribeRegions").ok());  // other actions keep the true clock
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(emu.Call("CreateReadOnlyDBInstance", Seed()).ok());
}

TEST_CASE("emulator fault: tokenExpiry fails the STS token after N calls and only for calls that carry one") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "tokenExpiry"}, {"after", 2}, {"times", -1}});
  Client sts(emu.Config(kStsSecretId, kStsSecretKey, kStsToken));
  CHECK(sts.Call("DescribeRegions", json::object()).ok());
  CHECK(sts.Call("DescribeRegions", json::object()).ok());
  for (int i = 0; i < 3; ++i) {
    auto r = sts.Call("DescribeRegions", json::object());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().api_code() == "AuthFailure.TokenFailure");
    CHECK(r.status().code() == Code::kAuth);
  }
  CHECK(emu.Call("DescribeRegions").ok());  // a permanent key has no token to expire
  emu.AdminPost("/_admin/faults", {{"clear", true}});
  CHECK(sts.Call("DescribeRegions", json::object()).ok());
}

}  // namespace
}  // namespace reconciler::testing
