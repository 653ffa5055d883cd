// Two state files for one stack must never both buy. On one host the stack lock keyed by
// the stack and its endpoint stops the second apply at once; across hosts, the executor's
// check before each purchase finds what the other bought and stops.

#include <doctest/doctest.h>

#include <sqlite3.h>

#include <filesystem>

#include "state/sqlite/sqlite_state_store.h"
#include "engine/engine.h"
#include "engine/executor.h"
#include "state/host_lock.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/emulator_rig.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string Replica(const std::string& name, int count) {
  return "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name + "}\nspec:\n" +
         "  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n  storageGB: 100\n" +
         "  count: " + std::to_string(count) + "\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n" +
         "  chargeType: POSTPAID_BY_HOUR\n";
}

int Replicas(EmulatorFixture& emu) {
  int n = 0;
  const json state = emu.State();
  for (const json& i : state["instances"]) n += i["DBInstanceType"] == "readonly";
  return n;
}

int RealCreates(EmulatorFixture& emu) {
  json c = emu.Calls("CreateReadOnlyDBInstance");
  return c["total"].get<int>() - c["dryRun"].get<int>();
}

ApplyResult ApplyWith(EmulatorRig& rig, StateStore* store, const Plan& plan) {
  Executor executor(&rig.cloud, store, &rig.clock, &rig.reporter, plan.stack);
  return executor.Apply(plan);
}

std::unique_ptr<StateStore> SecondState(EmulatorRig& rig) {
  Result<std::unique_ptr<StateStore>> other = OpenSqliteStateStore((rig.dir.path() / "copy.db").string(), &rig.clock);
  REQUIRE(other.ok());
  return std::move(other).value();
}

RigOptions RoomForTwo() {
  RigOptions o;
  o.tweak = [](emu::World& w) { w.catalogue.replica_quota_per_master = 20; };
  return o;
}

TEST_CASE("two buyers: the second state file finds what the first bought since both planned and buys nothing") {
  EmulatorRig rig(RoomForTwo());
  specs::DesiredState desired = rig.LoadText(Replica("a", 3) + Replica("b", 2));
  std::unique_ptr<StateStore> copy = SecondState(rig);
  // Both plan before either buys, as two checkouts started together would.
  Result<Plan> first = MakePlan(&rig.cloud, rig.store.get(), &rig.clock, desired, rig.dir.str(), {});
  Result<Plan> second = MakePlan(&rig.cloud, copy.get(), &rig.clock, desired, rig.dir.str(), {});
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  REQUIRE(first->Summary().create == 2);
  REQUIRE(second->Summary().create == 2);
  ApplyResult a = ApplyWith(rig, rig.store.get(), *first);
  REQUIRE(a.ok());
  CHECK(Replicas(rig.emu) == 5);
  const int creates = RealCreates(rig.emu);

  ApplyResult b = ApplyWith(rig, copy.get(), *second);
  CHECK_FALSE(b.ok());
  CHECK(RealCreates(rig.emu) == creates);
  CHECK(Replicas(rig.emu) == 5);
  for (const ChangeResult& r : b.changes) {
    CAPTURE(r.message);
    CHECK(r.outcome == Outcome::kFailed);
    CHECK(r.message.find("another state file is buying for stack it in ap-beijing") != std::string::npos);
    CHECK(r.message.find("which this state does not know. Nothing was sent.") != std::string::npos);
  }
  // It names what the other bought, so the user can find the other owner.
  Result<std::vector<Operation>> ops = rig.store->Operations();
  REQUIRE(ops.ok());
  REQUIRE_FALSE(ops->empty());
  CHECK(b.changes.front().message.find(ops->front().instance_ids.front()) != std::string::npos);
  CHECK(b.changes.front().message.find(ops->front().id) != std::string::npos);

  // Planned again, the second state adopts what the first bought and buys nothing.
  Result<Plan> again = MakePlan(&rig.cloud, copy.get(), &rig.clock, desired, rig.dir.str(), {});
  REQUIRE(again.ok());
  CHECK(again->Summary().create == 0);
  CHECK(again->Summary().adopt == 2);
}

TEST_CASE("two buyers: instances the plan adopts are not another buyer") {
  EmulatorRig rig;
  REQUIRE(ApplyWith(rig, rig.store.get(),
                    *MakePlan(&rig.cloud, rig.store.get(), &rig.clock, rig.LoadText(Replica("a", 2)), rig.dir.str(), {}))
              .ok());
  // A state that lost everything, and specs that now want one more in a second resource.
  std::unique_ptr<StateStore> copy = SecondState(rig);
  specs::DesiredState desired = rig.LoadText(Replica("a", 2) + Replica("b", 1));
  Result<Plan> plan = MakePlan(&rig.cloud, copy.get(), &rig.clock, desired, rig.dir.str(), {});
  REQUIRE(plan.ok());
  CHECK(plan->Summary().adopt == 1);
  CHECK(plan->Summary().create == 1);
  ApplyResult r = ApplyWith(rig, copy.get(), *plan);
  for (const ChangeResult& c : r.changes) CAPTURE(c.message);
  CHECK(r.ok());
  CHECK(Replicas(rig.emu) == 3);
}

// The reconciler binary run from two checkouts of one stack.
struct Checkouts {
  Checkouts()
      : emu([](emu::World& w) {
          w.catalogue.clock.manual = false;
          w.catalogue.clock.time_scale = 0.1;  // prepaid orders take seconds: time to start the second
        }) {
    fs::copy(SourcePath("examples/prepaid"), dir.path() / "a", fs::copy_options::recursive);
    fs::copy(SourcePath("examples/prepaid"), dir.path() / "b", fs::copy_options::recursive);
    fs::create_directories(dir.path() / "locks");
  }
  std::vector<std::string> Env(const std::string& lock_dir) const {
    return {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId,
            std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey, "TENCENTCLOUD_ENDPOINT=" + emu.url(),
            "HOME=/nonexistent", "NO_COLOR=1", "RECONCILER_LOCK_DIR=" + lock_dir};
  }
  std::string Stack(const std::string& name) const { return (dir.path() / name).string(); }
  EmulatorFixture emu;
  TempDir dir{"checkouts"};
};

TEST_CASE("two buyers: a second checkout on the same host is stopped at once and names the first") {
  Checkouts c;
  const std::string locks = (c.dir.path() / "locks").string();
  Child a({BinaryPath("reconciler"), "apply", "--auto-approve"}, c.Env(locks), c.Stack("a"));
  REQUIRE(a.WaitForOutput(": ordered", std::chrono::seconds(60)));
  ProcessResult b = RunProcess({BinaryPath("reconciler"), "apply", "--auto-approve"}, c.Env(locks), "", c.Stack("b"));
  INFO(b.out << b.err);
  CHECK(b.exit_code == 1);
  CHECK(b.err.find("is being applied on this host from another checkout or state file") != std::string::npos);
  CHECK(b.err.find("state " + c.Stack("a")) != std::string::npos);
  ProcessResult first = a.Wait();
  INFO(first.out << first.err);
  CHECK(first.exit_code == 0);
  const int creates = RealCreates(c.emu);
  // Once the first is done, the second adopts what it bought.
  ProcessResult later = RunProcess({BinaryPath("reconciler"), "apply", "--auto-approve"}, c.Env(locks), "", c.Stack("b"));
  INFO(later.out << later.err);
  CHECK(later.exit_code == 0);
  CHECK(RealCreates(c.emu) == creates);
}

TEST_CASE("two buyers: a checkout on another host started while the first buys ends with exactly the count") {
  Checkouts c;
  // Separate lock directories stand for separate hosts: only the cloud can tell them apart.
  const std::string host_a = (c.dir.path() / "locks").string(), host_b = (c.dir.path() / "b").string();
  Child a({BinaryPath("reconciler"), "apply", "--auto-approve"}, c.Env(host_a), c.Stack("a"));
  REQUIRE(a.WaitForOutput(": ordered", std::chrono::seconds(60)));
  ProcessResult rb = RunProcess({BinaryPath("reconciler"), "apply", "--auto-approve"}, c.Env(host_b), "", c.Stack("b"));
  ProcessResult ra = a.Wait();
  INFO(ra.out << ra.err << rb.out << rb.err);
  CHECK(ra.exit_code == 0);
  // The second sees what the first bought, whether its plan adopts it or its check before
  // the purchase stops it; either way it buys nothing.
  const int creates = RealCreates(c.emu);
  for (int round = 0; round < 3; ++round) {
    ProcessResult plan =
        RunProcess({BinaryPath("reconciler"), "plan", "--detailed-exitcode"}, c.Env(host_b), "", c.Stack("b"));
    if (plan.exit_code == 0) break;
    RunProcess({BinaryPath("reconciler"), "apply", "--auto-approve"}, c.Env(host_b), "", c.Stack("b"));
  }
  CHECK(RealCreates(c.emu) == creates);
  CHECK(Replicas(c.emu) == 3);
  CHECK(RunProcess({BinaryPath("reconciler"), "plan", "--detailed-exitcode"}, c.Env(host_b), "", c.Stack("b")).exit_code == 0);
}

}  // namespace
}  // namespace reconciler::testing

namespace reconciler::testing {
namespace {

// A plan is data: whatever instance it names, the executor touches only the stack's own.
TEST_CASE("ownership: a plan naming an instance the stack does not own cannot destroy untag or restore it") {
  EmulatorRig rig;
  auto bought = rig.emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest());
  REQUIRE(bought.ok());
  const std::string stranger = (*bought)["DBInstanceIdSet"][0];
  Plan plan;
  plan.stack = "it";
  plan.allow_destroy = true;
  int n = 0;
  for (Action action : {Action::kDelete, Action::kOrphan, Action::kRestore}) {
    Change c;
    c.id = "c" + std::to_string(++n);
    c.action = action;
    c.key = *specs::ParseResourceKey("ReadOnlyInstance/a");
    c.region = "ap-beijing";
    c.instance_ids = {stranger};
    c.destroys = action == Action::kDelete;
    plan.changes.push_back(c);
  }
  ApplyResult r = ApplyWith(rig, rig.store.get(), plan);
  REQUIRE(r.changes.size() == 3);
  for (const ChangeResult& c : r.changes) {
    CAPTURE(c.message);
    CHECK(c.outcome == Outcome::kFailed);
    CHECK(c.message.find(stranger + " in ap-beijing does not belong to ReadOnlyInstance/a of stack it") !=
          std::string::npos);
  }
  CHECK(rig.emu.Calls("IsolateDBInstances")["total"] == 0);
  CHECK(rig.emu.Calls("DisIsolateDBInstances")["total"] == 0);
  CHECK(rig.emu.Calls("UnTagResources")["total"] == 0);
  CHECK(rig.emu.Calls("ModifyResourceTags")["total"] == 0);
  // Once it carries the stack's tags, it is the stack's to untag.
  REQUIRE(rig.emu
              .Call("TagResources",
                    {{"ResourceList", {"qcs::postgres:ap-beijing:uin/:DBInstanceId/" + stranger}},
                     {"Tags", {{{"TagKey", "reconciler/stack"}, {"TagValue", "it"}},
                               {{"TagKey", "reconciler/resource"}, {"TagValue", "ReadOnlyInstance/a"}}}}},
                    "ap-beijing", "tag")
              .ok());
  plan.changes = {plan.changes[1]};
  ApplyResult untag = ApplyWith(rig, rig.store.get(), plan);
  REQUIRE(untag.changes.size() == 1);
  INFO(untag.changes[0].message);
  CHECK(untag.changes[0].outcome == Outcome::kDone);
}

}  // namespace
}  // namespace reconciler::testing

namespace reconciler::testing {
namespace {

// The executor reads the state before anything else; a state it cannot read sends nothing.
TEST_CASE("ownership: an apply whose state cannot be read sends nothing") {
  EmulatorRig rig;
  Result<Plan> plan = MakePlan(&rig.cloud, rig.store.get(), &rig.clock, rig.LoadText(Replica("a", 2)), rig.dir.str(), {});
  REQUIRE(plan.ok());
  REQUIRE(plan->Summary().create == 1);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((rig.dir.path() / "state.db").c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "DROP TABLE resources", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  ApplyResult r = ApplyWith(rig, rig.store.get(), *plan);
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find("nothing was sent: ") == 0);
  CHECK(r.changes[0].message.find("resources") != std::string::npos);
  CHECK(RealCreates(rig.emu) == 0);
}

}  // namespace
}  // namespace reconciler::testing
