// Describe, modify, isolate, destroy, tags, rate limits, faults and persistence.

#include <doctest/doctest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

// Buys `n` postpaid replicas of postgres-abcdef and lets them reach running.
std::vector<std::string> BuyRunning(EmulatorFixture& emu, int n, json extra = json::object()) {
  json req = SeedCreateReadOnlyRequest();
  req["InstanceCount"] = n;
  req.merge_patch(extra);
  auto r = emu.Call("CreateReadOnlyDBInstance", req);
  REQUIRE(r.ok());
  emu.Advance(80);
  return (*r)["DBInstanceIdSet"].get<std::vector<std::string>>();
}

std::string StatusOf(EmulatorFixture& emu, const std::string& id) {
  auto a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  return a.ok() ? (*a)["DBInstance"]["DBInstanceStatus"].get<std::string>() : a.status().api_code();
}

TEST_CASE("emulator: DescribeDBInstances filters, pages and orders") {
  EmulatorFixture emu;
  BuyRunning(emu, 3, {{"TagList", {{"TagKey", "reconciler/stack"}, {"TagValue", "demo"}}}});
  auto tagged = emu.Call("DescribeDBInstances",
                         {{"Filters", {{{"Name", "db-tag-key"}, {"Values", {"reconciler/stack"}}}}}, {"Limit", 2}});
  REQUIRE(tagged.ok());
  CHECK((*tagged)["TotalCount"] == 3);
  CHECK((*tagged)["DBInstanceSet"].size() == 2);
  auto page2 = emu.Call("DescribeDBInstances", {{"Filters", {{{"Name", "db-tag-key"}, {"Values", {"reconciler/stack"}}}}},
                                                {"Limit", 2}, {"Offset", 2}});
  CHECK((*page2)["DBInstanceSet"].size() == 1);
  // ANDed filters, ORed values.
  auto both = emu.Call("DescribeDBInstances",
                       {{"Filters", {{{"Name", "db-pay-mode"}, {"Values", {"prepaid", "postpaid"}}},
                                     {{"Name", "db-instance-id"}, {"Values", {"postgres-abcdef", "postgres-prepaid1"}}}}}});
  CHECK((*both)["TotalCount"] == 2);
  auto by_id = emu.Call("DescribeDBInstances", {{"OrderBy", "DBInstanceId"}, {"OrderByType", "desc"}, {"Limit", 100}});
  REQUIRE(by_id.ok());
  std::vector<std::string> ids;
  for (const json& i : (*by_id)["DBInstanceSet"]) ids.push_back(i["DBInstanceId"]);
  CHECK(std::is_sorted(ids.rbegin(), ids.rend()));
  auto default_limit = emu.Call("DescribeDBInstances");
  CHECK((*default_limit)["TotalCount"] == 6);  // three primaries in ap-beijing and three replicas
  auto too_many = emu.Call("DescribeDBInstances", {{"Limit", 101}});
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.status().api_code() == "InvalidParameterValue.InvalidParameterValueError");
  auto bad_filter = emu.Call("DescribeDBInstances", {{"Filters", {{{"Name", "db-color"}, {"Values", {"x"}}}}}});
  REQUIRE_FALSE(bad_filter.ok());
  auto master = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", "postgres-abcdef"}});
  CHECK((*master)["DBInstance"]["ReadOnlyInstanceNum"] == 3);
}

TEST_CASE("emulator: name, deletion protection and security groups are modified in place") {
  EmulatorFixture emu;
  std::string id = BuyRunning(emu, 1)[0];
  REQUIRE(emu.Call("ModifyDBInstanceName", {{"DBInstanceId", id}, {"InstanceName", "reports-1"}}).ok());
  REQUIRE(emu.Call("ModifyDBInstanceDeletionProtection", {{"DBInstanceId", id}, {"DeletionProtection", true}}).ok());
  REQUIRE(emu.Call("ModifyDBInstanceSecurityGroups", {{"DBInstanceId", id}, {"SecurityGroupIdSet", {"sg-bjreport1"}}}).ok());
  auto a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  CHECK((*a)["DBInstance"]["DBInstanceName"] == "reports-1");
  CHECK((*a)["DBInstance"]["DeletionProtection"] == true);
  auto bad = emu.Call("ModifyDBInstanceName", {{"DBInstanceId", id}, {"InstanceName", "no spaces"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().api_code() == "InvalidParameterValue.ParameterCharacterError");
  auto sg = emu.Call("ModifyDBInstanceSecurityGroups", {{"DBInstanceId", id}, {"SecurityGroupIdSet", {"sg-gzdemo001"}}});
  REQUIRE_FALSE(sg.ok());
}

TEST_CASE("emulator: a spec change is an order and passes through expanding") {
  EmulatorFixture emu;
  std::string id = BuyRunning(emu, 1)[0];
  auto r = emu.Call("ModifyDBInstanceSpec", {{"DBInstanceId", id}, {"Memory", 4}, {"Storage", 200}});
  REQUIRE(r.ok());
  CHECK_FALSE((*r)["DealName"].get<std::string>().empty());
  CHECK(StatusOf(emu, id) == "expanding");
  emu.Advance(60);
  auto a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  CHECK((*a)["DBInstance"]["DBInstanceStatus"] == "running");
  CHECK((*a)["DBInstance"]["DBInstanceClass"] == "pg.it.medium4");
  CHECK((*a)["DBInstance"]["DBInstanceStorage"] == 200);
  auto orders = emu.Call("DescribeOrders", {{"DealNames", {(*r)["DealName"]}}});
  CHECK((*orders)["Deals"][0]["DBInstanceIdSet"][0] == id);
  auto nothing = emu.Call("ModifyDBInstanceSpec", {{"DBInstanceId", id}, {"Memory", 3}, {"Storage", 200}});
  REQUIRE_FALSE(nothing.ok());
  CHECK(nothing.status().api_code() == "InvalidParameterValue.BadSpec");
}

TEST_CASE("emulator: isolate, restore, isolate, destroy, gone") {
  EmulatorFixture emu;
  std::string id = BuyRunning(emu, 1)[0];
  REQUIRE(emu.Call("IsolateDBInstances", {{"DBInstanceIdSet", {id}}}).ok());
  CHECK(StatusOf(emu, id) == "isolating");
  auto early = emu.Call("DestroyDBInstance", {{"DBInstanceId", id}});
  REQUIRE_FALSE(early.ok());
  CHECK(early.status().api_code() == "OperationDenied.InstanceStatusLimitOpError");
  emu.Advance(10);
  CHECK(StatusOf(emu, id) == "isolated");
  REQUIRE(emu.Call("DisIsolateDBInstances", {{"DBInstanceIdSet", {id}}}).ok());
  CHECK(StatusOf(emu, id) == "disisolating");
  emu.Advance(10);
  CHECK(StatusOf(emu, id) == "running");
  REQUIRE(emu.Call("IsolateDBInstances", {{"DBInstanceIdSet", {id}}}).ok());
  emu.Advance(10);
  REQUIRE(emu.Call("DestroyDBInstance", {{"DBInstanceId", id}}).ok());
  CHECK(StatusOf(emu, id) == "offlining");
  emu.Advance(10);
  CHECK(StatusOf(emu, id) == "ResourceNotFound.InstanceNotFoundError");
}

TEST_CASE("emulator: deletion protection refuses isolate and destroy, naming it") {
  EmulatorFixture emu;
  std::string id = BuyRunning(emu, 1, {{"DeletionProtection", true}})[0];
  auto r = emu.Call("IsolateDBInstances", {{"DBInstanceIdSet", {id}}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "OperationDenied.InstanceStatusLimitOpError");
  CHECK(r.status().message().find("deletion protection") != std::string::npos);
}

TEST_CASE("emulator: ModifyReadOnlyGroupConfig changes what it names, and validates as the SDK model and the API page say") {
  EmulatorFixture emu;
  auto g = emu.Call("CreateReadOnlyGroup", {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "reports"},
                                            {"VpcId", "vpc-8btfafeo"}, {"SubnetId", "subnet-1i9huswn"}});
  REQUIRE(g.ok());
  std::string gid = (*g)["ReadOnlyGroupId"];
  auto code = [&](const nlohmann::json& p) {
    auto r = emu.Call("ModifyReadOnlyGroupConfig", p);
    return r.ok() ? std::string("ok") : r.status().api_code();
  };
  CHECK(code({{"ReadOnlyGroupId", gid}, {"MaxReplayLag", 30}}) == "OperationDenied.ROGroupStatusError");  // creating
  emu.Advance(3600);
  CHECK(code({{"ReadOnlyGroupId", "pgrogrp-nothere1"}}) == "FailedOperation.ROGroupNotFoundError");
  CHECK(code({{"ReadOnlyGroupId", gid}, {"ReplayLagEliminate", 2}}) == "InvalidParameterValue.InvalidParameterValueError");
  CHECK(code({{"ReadOnlyGroupId", gid}, {"ReplayLagEliminate", 1}, {"MaxReplayLag", 0}}) ==
        "InvalidParameterValue.InvalidParameterValueError");
  CHECK(code({{"ReadOnlyGroupId", gid}, {"MinDelayEliminateReserve", 101}}) ==
        "InvalidParameterValue.InvalidParameterValueError");
  CHECK(code({{"ReadOnlyGroupId", gid}, {"ReadOnlyGroupName", "bad name!"}}) ==
        "InvalidParameterValue.ParameterCharacterError");
  CHECK(code({{"ReadOnlyGroupId", gid}, {"MaxReplayLag", "30"}}) == "InvalidParameter");  // a number in the model
  CHECK(code({{"ReadOnlyGroupId", gid}, {"ReplayLagEliminate", 1}, {"MaxReplayLag", 30}, {"Rebalance", 1}}) == "ok");
  auto listed = emu.Call("DescribeReadOnlyGroups", {{"Filters", {{{"Name", "db-master-instance-id"}, {"Values", nlohmann::json::array({"postgres-abcdef"})}}}}});
  REQUIRE(listed.ok());
  const nlohmann::json& group = (*listed)["ReadOnlyGroupList"][0];
  CHECK(group["MaxReplayLag"] == 30);
  CHECK(group["ReplayLagEliminate"] == 1);
  CHECK(group["Rebalance"] == 1);
  CHECK(group["ReadOnlyGroupName"] == "reports");  // not named in the request: unchanged
  CHECK(group["MinDelayEliminateReserve"] == 0);
}

TEST_CASE("emulator: read-only group membership moves and groups delete only when empty") {
  EmulatorFixture emu;
  std::string id = BuyRunning(emu, 1)[0];
  auto g = emu.Call("CreateReadOnlyGroup", {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "reports"},
                                            {"VpcId", "vpc-8btfafeo"}, {"SubnetId", "subnet-1i9huswn"}});
  REQUIRE(g.ok());
  std::string gid = (*g)["ReadOnlyGroupId"];
  REQUIRE(emu.Call("ModifyDBInstanceReadOnlyGroup", {{"DBInstanceId", id}, {"ReadOnlyGroupId", ""}, {"NewReadOnlyGroupId", gid}}).ok());
  auto busy = emu.Call("DeleteReadOnlyGroup", {{"ReadOnlyGroupId", gid}});
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.status().api_code() == "OperationDenied.ROGroupStatusError");
  auto wrong_from = emu.Call("ModifyDBInstanceReadOnlyGroup", {{"DBInstanceId", id}, {"ReadOnlyGroupId", ""}, {"NewReadOnlyGroupId", gid}});
  REQUIRE_FALSE(wrong_from.ok());
  REQUIRE(emu.Call("ModifyDBInstanceReadOnlyGroup", {{"DBInstanceId", id}, {"ReadOnlyGroupId", gid}, {"NewReadOnlyGroupId", ""}}).ok());
  REQUIRE(emu.Call("DeleteReadOnlyGroup", {{"ReadOnlyGroupId", gid}}).ok());
  auto gone = emu.Call("DeleteReadOnlyGroup", {{"ReadOnlyGroupId", gid}});
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.status().api_code() == "FailedOperation.ROGroupNotFoundError");
}

TEST_CASE("emulator: the tag service tags, untags and modifies by six-segment name") {
  EmulatorFixture emu;
  std::string id = BuyRunning(emu, 1)[0];
  std::string name = "qcs::postgres:ap-beijing:uin/100000000001:DBInstanceId/" + id;
  auto tagged = emu.Call("TagResources", {{"ResourceList", {name, "qcs::postgres:ap-beijing:uin/:DBInstanceId/pgro-nothere"}},
                                          {"Tags", {{{"TagKey", "team"}, {"TagValue", "data"}}, {{"TagKey", "env"}, {"TagValue", "prod"}}}}},
                         "", "tag");
  REQUIRE(tagged.ok());
  REQUIRE((*tagged)["FailedResources"].size() == 1);
  CHECK((*tagged)["FailedResources"][0]["Code"] == "ResourceNotFound");
  auto a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  CHECK((*a)["DBInstance"]["TagList"].size() == 2);
  REQUIRE(emu.Call("ModifyResourceTags", {{"Resource", name}, {"ReplaceTags", {{{"TagKey", "env"}, {"TagValue", "dev"}}}},
                                          {"DeleteTags", {{{"TagKey", "team"}}}}}, "", "tag").ok());
  a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  CHECK((*a)["DBInstance"]["TagList"] == json::array({{{"TagKey", "env"}, {"TagValue", "dev"}}}));
  auto clash = emu.Call("ModifyResourceTags", {{"Resource", name}, {"ReplaceTags", {{{"TagKey", "x"}, {"TagValue", "1"}}}},
                                               {"DeleteTags", {{{"TagKey", "x"}}}}}, "", "tag");
  REQUIRE_FALSE(clash.ok());
  auto empty = emu.Call("ModifyResourceTags", {{"Resource", name}, {"ReplaceTags", json::array()}}, "", "tag");
  REQUIRE_FALSE(empty.ok());
  REQUIRE(emu.Call("UnTagResources", {{"ResourceList", {name}}, {"TagKeys", {"env"}}}, "", "tag").ok());
  a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  CHECK((*a)["DBInstance"]["TagList"].empty());
  auto malformed = emu.Call("ModifyResourceTags", {{"Resource", "pgro-x"}, {"DeleteTags", {{{"TagKey", "x"}}}}}, "", "tag");
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.status().api_code() == "InvalidParameterValue.ResourceFormatError");
  // Past 50 tags a resource is listed as failed and keeps the tags it had.
  auto tags = [](const std::string& prefix) {
    json list = json::array();
    for (int i = 0; i < 10; ++i) list.push_back({{"TagKey", prefix + std::to_string(i)}, {"TagValue", "v"}});
    return list;
  };
  for (const char* prefix : {"a", "b", "c", "d", "e"}) {
    REQUIRE(emu.Call("TagResources", {{"ResourceList", {name}}, {"Tags", tags(prefix)}}, "", "tag").ok());
  }
  auto over = emu.Call("TagResources", {{"ResourceList", {name}}, {"Tags", tags("f")}}, "", "tag");
  REQUIRE(over.ok());
  REQUIRE((*over)["FailedResources"].size() == 1);
  CHECK((*over)["FailedResources"][0]["Code"] == "LimitExceeded.ResourceAttachedTags");
  a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  CHECK((*a)["DBInstance"]["TagList"].size() == 50);
  auto none = emu.Call("UnTagResources", {{"ResourceList", json::array()}, {"TagKeys", {"a1"}}}, "", "tag");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().api_code() == "InvalidParameterValue");
}

TEST_CASE("emulator: per-action rate limits answer RequestLimitExceeded") {
  EmulatorFixture emu;
  json dry = SeedCreateReadOnlyRequest();
  dry["DryRun"] = true;
  // The manual clock stands still, so all of these fall in the same second.
  int ok = 0;
  for (int i = 0; i < 100; ++i) ok += emu.Call("CreateReadOnlyDBInstance", dry).ok();
  CHECK(ok == 100);
  auto over = emu.Call("CreateReadOnlyDBInstance", dry);
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().api_code() == "RequestLimitExceeded");
  CHECK(over.status().code() == Code::kThrottled);
  // /_admin/calls counts the throttle among the errors and apart from them.
  CHECK(emu.Calls("CreateReadOnlyDBInstance")["errors"] == 1);
  CHECK(emu.Calls("CreateReadOnlyDBInstance")["throttled"] == 1);
  // Other actions have their own budgets.
  CHECK(emu.Call("DescribeRegions").ok());
  CHECK(emu.Calls("DescribeRegions")["throttled"] == 0);
  emu.Advance(1);
  CHECK(emu.Call("CreateReadOnlyDBInstance", dry).ok());

  json serverless = {{"Zone", "ap-beijing-1"}, {"DBInstanceName", "s"}, {"DBVersion", "10.4"}, {"DBCharset", "UTF8"}, {"DryRun", true}};
  ok = 0;
  for (int i = 0; i < 21; ++i) ok += emu.Call("CreateServerlessDBInstance", serverless).ok();
  CHECK(ok == 20);  // the seed's 20 per second
}

TEST_CASE("emulator fault: latency delays the answer") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "latency"}, {"ms", 150}, {"action", "DescribeRegions"}});
  auto start = std::chrono::steady_clock::now();
  CHECK(emu.Call("DescribeRegions").ok());
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(150));
}

TEST_CASE("emulator fault: 5xx answers and buys nothing") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "httpError"}, {"status", 502}, {"action", "CreateReadOnlyDBInstance"}});
  auto r = emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(r.status().message().find("502") != std::string::npos);
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest()).ok());  // it fired once
}

TEST_CASE("emulator fault: a reset before processing buys nothing") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "resetBeforeProcessing"}, {"action", "CreateReadOnlyDBInstance"}});
  auto r = emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  CHECK(emu.ReadOnlyInstances().empty());
}

TEST_CASE("emulator fault: dropAfterCommit buys and never answers") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "dropAfterCommit"}, {"action", "CreateReadOnlyDBInstance"}});
  json req = SeedCreateReadOnlyRequest();
  req["TagList"] = {{"TagKey", "reconciler/operation"}, {"TagValue", "op-1"}};
  auto r = emu.Call("CreateReadOnlyDBInstance", req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kOutcomeUnknown);
  auto replicas = emu.ReadOnlyInstances();
  REQUIRE(replicas.size() == 1);  // the money is spent; only a search by tag finds it
  auto found = emu.Call("DescribeDBInstances", {{"Filters", {{{"Name", "db-tag-key"}, {"Values", {"reconciler/operation"}}}}}});
  CHECK((*found)["TotalCount"] == 1);
}

TEST_CASE("emulator fault: a throttling burst") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "throttle"}, {"action", "DescribeDBInstances"}, {"times", 3}});
  for (int i = 0; i < 3; ++i) {
    auto r = emu.Call("DescribeDBInstances");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().api_code() == "RequestLimitExceeded");
  }
  CHECK(emu.Call("DescribeDBInstances").ok());
}

TEST_CASE("emulator fault: an order that is never delivered") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "orderNeverDelivered"}});
  json req = SeedCreateReadOnlyRequest();
  req.merge_patch({{"MasterDBInstanceId", "postgres-prepaid1"}, {"InstanceChargeType", "PREPAID"}, {"ProjectId", 0}});
  int64_t before = emu.State()["balanceCents"];
  auto r = emu.Call("CreateReadOnlyDBInstance", req);
  REQUIRE(r.ok());
  emu.Advance(3600);
  auto orders = emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}});
  CHECK((*orders)["Deals"][0]["DBInstanceIdSet"].empty());
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(emu.State()["balanceCents"] == before);  // refunded
}

TEST_CASE("emulator fault: an order delivered short") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "orderShort"}, {"missing", 1}});
  json req = SeedCreateReadOnlyRequest();
  req["InstanceCount"] = 3;
  auto r = emu.Call("CreateReadOnlyDBInstance", req);
  REQUIRE(r.ok());
  CHECK((*r)["DealNames"].size() == 3);
  emu.Advance(30);
  auto orders = emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}});
  int delivered = 0;
  for (const json& d : (*orders)["Deals"]) delivered += static_cast<int>(d["DBInstanceIdSet"].size());
  CHECK(delivered == 2);
  CHECK(emu.ReadOnlyInstances().size() == 2);
}

TEST_CASE("emulator fault: an instance stuck in initing") {
  EmulatorFixture emu;
  emu.AddFault({{"type", "stuckIniting"}});
  auto r = emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest());
  REQUIRE(r.ok());
  emu.Advance(86400);
  CHECK(StatusOf(emu, (*r)["DBInstanceIdSet"][0]) == "initing");
}

TEST_CASE("emulator: faults from the world file, and malformed fault rules are refused") {
  EmulatorFixture emu([](emu::World& w) { w.faults_json = R"([{"type":"throttle","action":"DescribeZones"}])"; });
  auto r = emu.Call("DescribeZones");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "RequestLimitExceeded");
  httplib::Client cli(emu.url());
  auto bad = cli.Post("/_admin/faults", R"({"type":"earthquake"})", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("unknown fault type") != std::string::npos);
  auto advance = cli.Post("/_admin/advance?seconds=-1", "", "application/json");
  CHECK(advance->status == 400);
}

TEST_CASE("emulator: with --data the account survives a restart of the binary") {
  namespace fs = std::filesystem;
  fs::path data = fs::temp_directory_path() / ("emu-data-" + std::to_string(getpid()) + ".json");
  fs::remove(data);
  std::string bought;
  {
    EmulatorProcess proc(DefaultWorldPath(), data.string());
    auto r = RunProcess({BinaryPath("reconciler"), "api", "CreateReadOnlyDBInstance", "--data", SeedCreateReadOnlyRequest().dump()},
                        {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
                         "TENCENTCLOUD_REGION=ap-beijing", "TENCENTCLOUD_ENDPOINT=" + proc.url(), "HOME=/nonexistent"});
    REQUIRE(r.exit_code == 0);
    bought = json::parse(r.out)["DBInstanceIdSet"][0];
  }
  EmulatorProcess again(DefaultWorldPath(), data.string());
  auto r = RunProcess({BinaryPath("reconciler"), "api", "DescribeDBInstanceAttribute", "--data",
                       json{{"DBInstanceId", bought}}.dump()},
                      {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
                       "TENCENTCLOUD_REGION=ap-beijing", "TENCENTCLOUD_ENDPOINT=" + again.url(), "HOME=/nonexistent"});
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out)["DBInstance"]["DBInstanceId"] == bought);
  fs::remove(data);
}

TEST_CASE("emulator: a bad world file is refused with its position") {
  auto r = emu::LoadWorldText("account:\n  uin: 1\n  balance: lots\n  credentials: [{secretId: a, secretKey: b}]\nregions: []\n", "w.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "w.yaml:3:12: account.balance: expected a number");
  auto unknown = emu::LoadWorldText("acount: {}\n", "w.yaml");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("w.yaml:1:1: world.acount: unknown field") == 0);
  auto p = RunProcess({BinaryPath("tcloud-emulator"), "--world", "/nonexistent.yaml"});
  CHECK(p.exit_code == 3);
  CHECK(p.err.find("cannot open the world file") != std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing
