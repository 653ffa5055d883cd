// The engine against the emulator: real HTTP, real signatures, the real provider. Every
// change kind end to end, with the API calls each costs.

#include <doctest/doctest.h>

#include <set>

#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "engine/engine.h"
#include "engine/executor.h"
#include "ui/plan_render.h"
#include "specs/spec_loader.h"
#include "tests/support/emulator_clock.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/emulator_rig.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace tc = tencentcloud;

// The engine wired to an in-process emulator, with the calls each change costs.
struct Rig : EmulatorRig {
  // The emulator stands in for `site`, and the provider speaks that site's model.
  explicit Rig(std::function<void(emu::World&)> tweak = {}, tc::Site site = tc::Site::kIntl)
      : EmulatorRig({std::move(tweak), site}) {}

  specs::DesiredState Load(const std::string& stack_dir) {
    specs::LoadedStack s = specs::LoadStackDir(stack_dir);
    REQUIRE_MESSAGE(s.ok(), s.RenderDiagnostics());
    return s.desired;
  }
  Plan MakePlan(const specs::DesiredState& d, bool allow_destroy = false, bool retry_failed = false) {
    Result<Plan> p = reconciler::MakePlan(&cloud, store.get(), &clock, d, dir.str(), {allow_destroy, retry_failed});
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    return std::move(p).value();
  }
  ApplyResult Apply(const Plan& p) {
    Executor executor(&cloud, store.get(), &clock, &reporter, p.stack);
    return executor.Apply(p);
  }
  // Calls per action since the last Mark().
  void Mark() { marked = emu.AdminGet("/_admin/calls"); }
  int Since(const std::string& action) {
    json now = emu.AdminGet("/_admin/calls");
    int before = marked.contains(action) ? marked[action]["total"].get<int>() : 0;
    return (now.contains(action) ? now[action]["total"].get<int>() : 0) - before;
  }
  int SinceAll() {
    json now = emu.AdminGet("/_admin/calls");
    int total = 0;
    for (const auto& [action, c] : now.items()) total += c["total"].get<int>() - (marked.contains(action) ? marked[action]["total"].get<int>() : 0);
    return total;
  }
  std::vector<json> Tagged(const std::string& resource) {
    std::vector<json> out;
    json state = emu.State();
    for (const json& i : state["instances"]) {
      for (const json& t : i["TagList"]) {
        if (t["TagKey"] == cloud::kResourceTag && t["TagValue"] == resource) out.push_back(i);
      }
    }
    return out;
  }

  json marked = json::object();
};

// A ReadOnlyInstance document; `fields` override or add spec fields.
std::string Replica(const std::string& name, int count, std::map<std::string, std::string> fields = {}) {
  std::map<std::string, std::string> spec = {{"zone", "ap-beijing-4"}, {"masterInstanceId", "postgres-abcdef"},
                                             {"specCode", "pg.it.small2"}, {"storageGB", "100"},
                                             {"count", std::to_string(count)}, {"vpcId", "vpc-8btfafeo"},
                                             {"subnetId", "subnet-1i9huswn"}, {"chargeType", "POSTPAID_BY_HOUR"}};
  for (auto& [k, v] : fields) spec[k] = v;
  std::string out = "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name + "}\nspec:\n";
  for (const auto& [k, v] : spec) out += "  " + k + ": " + v + "\n";
  return out;
}

const char* kGroupG2 = "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: g2}\n"
                       "spec: {masterInstanceId: postgres-abcdef, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n";

TEST_CASE("integration: the quickstart stack plans, applies, and then plans no changes for 3 calls") {
  Rig rig;
  auto desired = rig.Load(SourcePath("examples/quickstart"));
  Plan plan = rig.MakePlan(desired);
  REQUIRE(plan.changes.size() == 3);
  for (const Change& c : plan.changes) CHECK(c.preflight.state != PreflightState::kFailed);
  CHECK(rig.emu.Calls("CreateReadOnlyDBInstance")["dryRun"] == 1);
  CHECK(rig.emu.Calls("CreateServerlessDBInstance")["dryRun"] == 1);
  CHECK(rig.emu.Calls("InquiryPriceCreateDBInstances")["total"] == 1);
  ApplyResult r = rig.Apply(plan);
  CHECK(r.ok());
  auto replicas = rig.Tagged("ReadOnlyInstance/reports");
  REQUIRE(replicas.size() == 2);
  for (const json& i : replicas) {
    CHECK(i["DBInstanceStatus"] == "running");
    CHECK_FALSE(i["ReadOnlyGroupId"].get<std::string>().empty());
    CHECK(i["DeletionProtection"] == true);
  }
  json creates = rig.emu.Calls("CreateReadOnlyDBInstance");
  CHECK(creates["total"].get<int>() - creates["dryRun"].get<int>() == 1);
  CHECK(rig.emu.State()["readOnlyGroups"].size() == 1);
  CHECK(rig.Tagged("ServerlessInstance/sandbox").size() == 1);

  rig.Mark();
  Plan again = rig.MakePlan(desired);
  CHECK_FALSE(again.HasChanges());
  CHECK(rig.Since("DescribeDBInstances") == 1);
  CHECK(rig.Since("DescribeServerlessDBInstances") == 1);
  CHECK(rig.Since("DescribeReadOnlyGroups") == 1);
  CHECK(rig.SinceAll() == 3);
}

TEST_CASE("integration: a no-op plan over 250 managed replicas costs exactly 3 DescribeDBInstances calls") {
  Rig rig([](emu::World& w) { w.catalogue.replica_quota_per_master = 1000; });
  std::string yaml;
  for (int r = 0; r < 5; ++r) yaml += Replica("reports-" + std::to_string(r), 50);
  auto desired = rig.LoadText(yaml);
  REQUIRE(rig.Apply(rig.MakePlan(desired)).ok());
  rig.Mark();
  Plan plan = rig.MakePlan(desired);
  CHECK_FALSE(plan.HasChanges());
  CHECK(rig.Since("DescribeDBInstances") == 3);
  CHECK(rig.SinceAll() == 4);  // and the serverless listing; no group is referenced
}

TEST_CASE("integration: every in-place update goes through its own API call on the China site") {
  Rig rig({}, tc::Site::kChina);
  auto v1 = rig.LoadText(Replica("reports", 1, {{"tags", "{team: data}"}, {"securityGroupIds", "[sg-iwnfp51z]"}}) + kGroupG2);
  REQUIRE(rig.Apply(rig.MakePlan(v1)).ok());
  auto v2 = rig.LoadText(Replica("reports", 1,
                                 {{"tags", "{team: platform}"}, {"securityGroupIds", "[sg-bjreport1]"},
                                  {"instanceName", "reports-v2"}, {"deletionProtection", "true"},
                                  {"readOnlyGroup", "g2"}, {"specCode", "pg.it.medium4"}, {"storageGB", "200"}}) +
                         kGroupG2);
  Plan plan = rig.MakePlan(v2);
  REQUIRE(plan.changes.size() == 1);
  const Change& c = plan.changes[0];
  CHECK(c.action == Action::kUpdate);
  std::set<std::string> fields;
  for (const FieldDiff& f : c.fields) fields.insert(f.field);
  CHECK(fields == std::set<std::string>{"deletionProtection", "instanceName", "readOnlyGroup", "securityGroupIds",
                                        "specCode", "storageGB", "tags.team"});
  CHECK(c.preflight.state != PreflightState::kFailed);
  rig.Mark();
  ApplyResult r = rig.Apply(plan);
  CHECK(r.ok());
  for (const char* action : {"ModifyDBInstanceName", "ModifyDBInstanceDeletionProtection", "ModifyDBInstanceSecurityGroups",
                             "ModifyDBInstanceReadOnlyGroup", "ModifyResourceTags", "ModifyDBInstanceSpec"}) {
    CAPTURE(action);
    CHECK(rig.Since(action) == 1);
  }
  auto now = rig.Tagged("ReadOnlyInstance/reports");
  REQUIRE(now.size() == 1);
  CHECK(now[0]["DBInstanceName"] == "reports-v2");
  CHECK(now[0]["DBInstanceClass"] == "pg.it.medium4");
  CHECK(now[0]["DBInstanceStorage"] == 200);
  CHECK(now[0]["DBInstanceStatus"] == "running");
  CHECK(now[0]["DeletionProtection"] == true);
  CHECK_FALSE(rig.MakePlan(v2).HasChanges());
}

TEST_CASE("integration: on the international site deletion protection is set at purchase and drift only warns") {
  Rig rig;
  auto v1 = rig.LoadText(Replica("reports", 1, {{"deletionProtection", "true"}, {"tags", "{team: data}"}}));
  REQUIRE(rig.Apply(rig.MakePlan(v1)).ok());
  auto now = rig.Tagged("ReadOnlyInstance/reports");
  REQUIRE(now.size() == 1);
  CHECK(now[0]["DeletionProtection"] == true);
  // The one create-time tag proved the purchase; the rest went on through the tag service.
  std::set<std::string> keys;
  for (const json& t : now[0]["TagList"]) keys.insert(t["TagKey"].get<std::string>());
  CHECK(keys == std::set<std::string>{cloud::kStackTag, cloud::kResourceTag, cloud::kOperationTag, "team"});
  CHECK(rig.emu.Calls("TagResources")["total"] == 1);
  auto v2 = rig.LoadText(Replica("reports", 1, {{"deletionProtection", "false"}, {"tags", "{team: data}"}}));
  rig.Mark();
  Plan plan = rig.MakePlan(v2);
  CHECK_FALSE(plan.HasChanges());
  REQUIRE(plan.warnings.size() == 1);
  CHECK(plan.warnings[0].find("ModifyDBInstanceDeletionProtection") != std::string::npos);
  CHECK(rig.Since("ModifyDBInstanceDeletionProtection") == 0);
}

TEST_CASE("integration: on the international site twelve tags go on in calls of at most ten") {
  Rig rig;
  std::string tags = "{";
  for (int i = 1; i <= 9; ++i) tags += std::string(i > 1 ? ", " : "") + "k" + std::to_string(i) + ": v" + std::to_string(i);
  tags += "}";
  auto desired = rig.LoadText(Replica("reports", 2, {{"tags", tags}}));
  REQUIRE(rig.Apply(rig.MakePlan(desired)).ok());
  auto now = rig.Tagged("ReadOnlyInstance/reports");
  REQUIRE(now.size() == 2);
  for (const json& i : now) CHECK(i["TagList"].size() == 12);
  CHECK(rig.emu.Calls("TagResources")["total"] == 2);  // 11 tags (the create carried the 12th): 10 + 1
  CHECK(rig.emu.Calls("TagResources")["errors"] == 0);
  CHECK_FALSE(rig.MakePlan(desired).HasChanges());
}

TEST_CASE("integration: isolated replicas are restored; removed ones orphaned; excess with Delete destroyed, offlining until gone") {
  Rig rig;
  auto v1 = rig.LoadText(Replica("a", 2) + Replica("b", 1) + Replica("c", 2, {{"deletionPolicy", "Delete"}}));
  REQUIRE(rig.Apply(rig.MakePlan(v1)).ok());
  std::string victim = rig.Tagged("ReadOnlyInstance/a")[0]["DBInstanceId"];
  REQUIRE(rig.emu.Call("IsolateDBInstances", {{"DBInstanceIdSet", {victim}}}).ok());
  rig.emu.Advance(10);
  auto v2 = rig.LoadText(Replica("a", 2) + Replica("c", 1, {{"deletionPolicy", "Delete"}}));
  Plan plan = rig.MakePlan(v2, /*allow_destroy=*/true);
  std::map<std::string, Action> by;
  for (const Change& c : plan.changes) by[c.key.name] = c.action;
  CHECK(by["a"] == Action::kRestore);
  CHECK(by["b"] == Action::kOrphan);
  CHECK(by["c"] == Action::kDelete);
  std::vector<std::string> destroyed;
  for (const Change& c : plan.changes) {
    if (c.key.name == "c") destroyed = c.instance_ids;
  }
  REQUIRE(destroyed.size() == 1);
  rig.Mark();
  CHECK(rig.Apply(plan).ok());
  CHECK(rig.Since("DisIsolateDBInstances") == 1);
  CHECK(rig.Since("CreateReadOnlyDBInstance") == 0);
  CHECK(rig.Since("IsolateDBInstances") == 1);
  CHECK(rig.Since("DestroyDBInstance") == 1);
  CHECK(rig.Tagged("ReadOnlyInstance/b").empty());
  // Apply returns once DestroyDBInstance is accepted; the cloud lists the replica as
  // offlining, still tagged, until it is gone.
  auto c_now = rig.Tagged("ReadOnlyInstance/c");
  REQUIRE(c_now.size() == 2);
  for (const json& i : c_now) {
    CHECK((i["DBInstanceId"] == destroyed[0]) == (i["DBInstanceStatus"] == "offlining"));
  }
  CHECK_FALSE(rig.MakePlan(v2, true).HasChanges());
  rig.emu.Advance(10);  // the default world's destroying time
  c_now = rig.Tagged("ReadOnlyInstance/c");
  REQUIRE(c_now.size() == 1);
  CHECK(c_now[0]["DBInstanceId"] != destroyed[0]);
  CHECK(c_now[0]["DBInstanceStatus"] == "running");
  CHECK_FALSE(rig.MakePlan(v2, true).HasChanges());
}

TEST_CASE("integration: a delete finishes an isolation begun elsewhere, and stops at a refused one") {
  Rig rig;
  const std::map<std::string, std::string> del = {{"deletionPolicy", "Delete"}};
  REQUIRE(rig.Apply(rig.MakePlan(rig.LoadText(Replica("c", 2, del)))).ok());
  Plan plan = rig.MakePlan(rig.LoadText(Replica("c", 1, del)), /*allow_destroy=*/true);
  REQUIRE(plan.changes.size() == 1);
  REQUIRE(plan.changes[0].action == Action::kDelete);
  REQUIRE(plan.changes[0].instance_ids.size() == 1);
  const std::string victim = plan.changes[0].instance_ids[0];
  SUBCASE("isolated by someone else between plan and apply: IsolateDBInstances is refused, and that is fine") {
    REQUIRE(rig.emu.Call("IsolateDBInstances", {{"DBInstanceIdSet", {victim}}}).ok());
    rig.Mark();
    CHECK(rig.Apply(plan).ok());
    CHECK(rig.Since("IsolateDBInstances") == 1);
    CHECK(rig.Since("DestroyDBInstance") == 1);
    for (const json& i : rig.Tagged("ReadOnlyInstance/c")) {
      CHECK((i["DBInstanceId"] == victim) == (i["DBInstanceStatus"] == "offlining"));
    }
  }
  SUBCASE("protected between plan and apply: the refusal stops the delete, naming the call") {
    REQUIRE(rig.emu.Call("ModifyDBInstanceDeletionProtection", {{"DBInstanceId", victim}, {"DeletionProtection", true}}).ok());
    rig.Mark();
    ApplyResult r = rig.Apply(plan);
    CHECK_FALSE(r.ok());
    REQUIRE(r.changes.size() == 1);
    CHECK(r.changes[0].outcome == Outcome::kFailed);
    CHECK(r.changes[0].message.find("IsolateDBInstances " + victim) != std::string::npos);
    CHECK(rig.Since("DestroyDBInstance") == 0);
    CHECK(rig.Tagged("ReadOnlyInstance/c").size() == 2);
  }
}

TEST_CASE("integration: a zone change replaces, create before destroy") {
  Rig rig;
  REQUIRE(rig.Apply(rig.MakePlan(rig.LoadText(Replica("r", 1)))).ok());
  std::string old_id = rig.Tagged("ReadOnlyInstance/r")[0]["DBInstanceId"];
  auto moved = rig.LoadText(Replica("r", 1, {{"zone", "ap-beijing-3"}, {"subnetId", "subnet-3bj0zone"}}));
  Plan blocked = rig.MakePlan(moved);
  CHECK(blocked.HasErrors());
  Plan plan = rig.MakePlan(moved, true);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].action == Action::kReplace);
  CHECK(rig.Apply(plan).ok());
  std::vector<json> now;
  for (const json& i : rig.Tagged("ReadOnlyInstance/r")) {
    if (i["DBInstanceStatus"] != "offlining") now.push_back(i);  // the old one is on its way out
  }
  REQUIRE(now.size() == 1);
  CHECK(now[0]["Zone"] == "ap-beijing-3");
  CHECK(now[0]["DBInstanceId"] != old_id);
}

TEST_CASE("integration: sold-out zone, bad spec and low balance fail in plan, never in apply") {
  Rig rig([](emu::World& w) { w.initial.balance_cents = 1000; });
  auto desired = rig.LoadText(
      Replica("soldout", 1, {{"zone", "ap-beijing-5"}}) + Replica("badspec", 1, {{"specCode", "cdb.pg.sh1.128g"}}) +
      Replica("poor", 1, {{"masterInstanceId", "postgres-prepaid1"}, {"chargeType", "PREPAID"}}));
  Plan plan = rig.MakePlan(desired);
  std::map<std::string, std::string> codes;
  for (const Change& c : plan.changes) codes[c.key.name] = c.preflight.code;
  CHECK(codes["soldout"] == "ResourceInsufficient.ResourceNotEnough");
  CHECK(codes["badspec"] == "InvalidParameterValue.BadSpec");
  CHECK(codes["poor"] == "OperationDenied.InsufficientBalanceError");
  CHECK(plan.HasErrors());
  json creates = rig.emu.Calls("CreateReadOnlyDBInstance");
  CHECK(creates["total"] == 3);
  CHECK(creates["dryRun"] == 3);  // nothing but DryRuns was sent
  CHECK(rig.emu.ReadOnlyInstances().empty());
}

TEST_CASE("integration: a second call refused by the replica limit is refused by the cloud, and buys nothing") {
  Rig rig;  // 6 replicas per master
  auto desired = rig.LoadText(Replica("p", 8));
  Plan plan = rig.MakePlan(desired);
  CHECK(plan.changes[0].preflight.note.find("per-master replica limit") != std::string::npos);
  ApplyResult r = rig.Apply(plan);
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find("OperationDenied.RoInstanceCountExeedError") != std::string::npos);
  json creates = rig.emu.Calls("CreateReadOnlyDBInstance");
  // The plan's DryRun proved the call of 2 (the limit was not reached then), so the apply
  // sends no DryRun of its own: the create goes out, the cloud refuses it, nothing is bought.
  CHECK(creates["total"].get<int>() - creates["dryRun"].get<int>() == 2);
  CHECK(rig.emu.Calls("CreateReadOnlyDBInstance")["errors"] == 1);
  // The two purchases (6 and 2) go out at once, so the cloud decides which one the limit
  // refuses; whichever it is, the other is bought whole and nothing more.
  const size_t bought = rig.Tagged("ReadOnlyInstance/p").size();
  CHECK((bought == 6 || bought == 2));
  // The refusal holds the resource, although its sibling may have been begun after it: the
  // next plan shows it with its code and buys nothing.
  Plan next = rig.MakePlan(desired);
  CHECK_FALSE(next.HasChanges());
  REQUIRE(next.failures.size() == 1);
  CHECK(next.failures[0].code == "OperationDenied.RoInstanceCountExeedError");
  CHECK(next.failures[0].withheld == 8 - bought);
  // Asked to try again, the plan's DryRun still sees the limit.
  Plan retry = rig.MakePlan(desired, false, /*retry_failed=*/true);
  REQUIRE(retry.changes.size() == 1);
  CHECK(retry.changes[0].preflight.code == "OperationDenied.RoInstanceCountExeedError");
}

TEST_CASE("integration: lost answers and resets never buy twice") {
  for (const char* fault : {"dropAfterCommit", "resetBeforeProcessing", "httpError"}) {
    CAPTURE(fault);
    Rig rig;
    rig.emu.AddFault({{"type", fault}, {"action", "CreateReadOnlyDBInstance"}, {"status", 502}});
    auto desired = rig.LoadText(Replica("r", 3));
    ApplyResult r = rig.Apply(rig.MakePlan(desired));
    CHECK(r.ok());
    CHECK(rig.Tagged("ReadOnlyInstance/r").size() == 3);
    CHECK_FALSE(rig.MakePlan(desired).HasChanges());
  }
}

TEST_CASE("integration: prepaid orders are followed through DescribeOrders, every deal in one call") {
  Rig rig([](emu::World& w) { w.catalogue.replica_quota_per_master = 20; });
  auto desired = rig.LoadText(Replica("p", 8, {{"masterInstanceId", "postgres-prepaid1"}, {"chargeType", "PREPAID"},
                                               {"periodMonths", "3"}}));
  int64_t before = rig.emu.State()["balanceCents"];
  rig.Mark();
  ApplyResult r = rig.Apply(rig.MakePlan(desired));
  std::string outcomes;
  for (const ChangeResult& c : r.changes) outcomes += c.resource + ": " + OutcomeName(c.outcome) + ": " + c.message + "\n";
  INFO(outcomes);
  REQUIRE(r.ok());
  CHECK(rig.Tagged("ReadOnlyInstance/p").size() == 8);
  // 8 replicas in 2 purchases with 8 deals; every poll asked about all pending deals at once.
  int order_calls = rig.Since("DescribeOrders");
  CHECK(order_calls >= 1);
  CHECK(order_calls < 8);
  CHECK(before - rig.emu.State()["balanceCents"].get<int64_t>() == 26000 * 8 * 3);
}

}  // namespace
}  // namespace reconciler::testing
