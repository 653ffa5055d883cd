// What the crash harness (crash_harness_test.cpp) found, kept as deterministic cases: the
// state exactly as a killed apply left it, then plan and apply, against the emulator.

#include <doctest/doctest.h>

#include "engine/diff.h"
#include "engine/engine.h"
#include "engine/executor.h"
#include "engine/plan.h"
#include "tests/support/emulator_rig.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

const char* kGroupAndReplica =
    "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: g}\n"
    "spec: {masterInstanceId: postgres-abcdef, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n"
    "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: c}\nspec:\n"
    "  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n  storageGB: 100\n"
    "  count: 2\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n  readOnlyGroup: g\n";

// The create-group operation a killed apply left: its intent, and `attempts` sends.
Operation GroupIntent(const specs::DesiredState& desired, int64_t attempts, int64_t sent_at) {
  Operation op;
  op.id = "op-killedgroup01";
  op.resource_key = "ReadOnlyGroup/g";
  op.kind = OperationKind::kCreateGroup;
  op.region = "ap-beijing";
  op.request_json = GroupRequestJson(GroupRequestFor(*desired.Find({specs::Kind::kReadOnlyGroup, "g"}))).dump();
  op.expected = 1;
  op.attempts = attempts;
  op.sent_at = sent_at;
  return op;
}

int GroupsNamed(EmulatorRig& rig, const std::string& name) {
  int n = 0;
  const json state = rig.emu.State();
  for (const json& g : state["readOnlyGroups"]) n += g["ReadOnlyGroupName"] == name;
  return n;
}

// Plans and applies until a plan shows no changes (at most `rounds` applies); the plans' lines.
std::string Converge(EmulatorRig& rig, const specs::DesiredState& desired, int rounds, bool* converged) {
  std::string log;
  *converged = false;
  for (int i = 0; i <= rounds; ++i) {
    Result<Plan> plan = MakePlan(&rig.cloud, rig.store.get(), &rig.clock, desired, rig.dir.str(), {});
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    for (const Change& c : plan->changes) log += std::string(ActionName(c.action)) + " " + c.key.ToString() + "\n";
    if (!plan->HasChanges()) {
      *converged = true;
      return log;
    }
    if (i == rounds) break;
    Executor executor(&rig.cloud, rig.store.get(), &rig.clock, &rig.reporter, plan->stack, {});
    executor.Apply(*plan);
  }
  return log;
}

// Found by the crash harness (seed 2005 of the group case): an apply killed just after the
// group's intent was committed. The next plan resumed that intent and also planned a new
// group, since the cloud held none yet: two groups for one ReadOnlyGroup.
TEST_CASE("crash regression: a group intent never sent is resumed and not bought a second time") {
  EmulatorRig rig;
  specs::DesiredState desired = rig.LoadText(kGroupAndReplica);
  REQUIRE(rig.store->PutOperation(GroupIntent(desired, 0, 0), "create read-only group g").ok());
  Result<Plan> plan = MakePlan(&rig.cloud, rig.store.get(), &rig.clock, desired, rig.dir.str(), {});
  REQUIRE(plan.ok());
  int creates = 0, resumes = 0;
  for (const Change& c : plan->changes) {
    if (c.key.ToString() != "ReadOnlyGroup/g") continue;
    creates += c.action == Action::kCreate;
    resumes += c.action == Action::kResume;
  }
  CHECK(creates == 0);
  CHECK(resumes == 1);
  bool converged = false;
  std::string log = Converge(rig, desired, 3, &converged);
  INFO(log);
  CHECK(converged);
  CHECK(GroupsNamed(rig, "g") == 1);
  CHECK(rig.emu.Calls("CreateReadOnlyGroup")["total"] == 1);
  int in_group = 0;
  for (const json& i : rig.emu.ReadOnlyInstances()) in_group += !i["ReadOnlyGroupId"].get<std::string>().empty();
  CHECK(in_group == 2);
}

TEST_CASE("crash regression: a group create sent before the kill is found and not bought a second time") {
  EmulatorRig rig;
  specs::DesiredState desired = rig.LoadText(kGroupAndReplica);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(rig.clock.Now().time_since_epoch()).count();
  REQUIRE(rig.store->PutOperation(GroupIntent(desired, 1, now), "sending attempt 1").ok());
  // The killed process's create reached the cloud.
  REQUIRE(rig.emu
              .Call("CreateReadOnlyGroup", {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "g"}, {"ProjectId", 0},
                                            {"VpcId", "vpc-8btfafeo"}, {"SubnetId", "subnet-1i9huswn"}})
              .ok());
  bool converged = false;
  std::string log = Converge(rig, desired, 3, &converged);
  INFO(log);
  CHECK(converged);
  CHECK(GroupsNamed(rig, "g") == 1);
  CHECK(rig.emu.Calls("CreateReadOnlyGroup")["total"] == 1);
}

TEST_CASE("crash regression: a group create sent before the kill that never arrived is sent once after the window") {
  EmulatorRig rig;
  specs::DesiredState desired = rig.LoadText(kGroupAndReplica);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(rig.clock.Now().time_since_epoch()).count();
  REQUIRE(rig.store->PutOperation(GroupIntent(desired, 1, now), "sending attempt 1").ok());
  bool converged = false;
  std::string log = Converge(rig, desired, 3, &converged);
  INFO(log);
  CHECK(converged);
  CHECK(GroupsNamed(rig, "g") == 1);
  CHECK(rig.emu.Calls("CreateReadOnlyGroup")["total"] == 1);
}

}  // namespace
}  // namespace reconciler::testing
