// Issue 10 item 5: semantic defects found by using the reconciler as a user would, each with
// the attack that found it. Over the in-memory cloud; the CLI's side is in cli_apply_test.cpp.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "engine/identity.h"
#include "ui/plan_render.h"
#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

std::vector<cloud::Instance> Of(FakeCloud& fake, const std::string& resource) {
  std::vector<cloud::Instance> out;
  for (const cloud::Instance& i : fake.Replicas()) {
    auto t = i.tags.find(cloud::kResourceTag);
    if (t != i.tags.end() && t->second == resource) out.push_back(i);
  }
  return out;
}

std::optional<ResourceRecord> Recorded(StateStore* store, const std::string& key) {
  std::vector<ResourceRecord> all = *store->Resources();
  for (const ResourceRecord& r : all) {
    if (r.key == key) return r;
  }
  return std::nullopt;
}

std::string GroupYaml(const std::string& extra = "") {
  return "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: reports-group}\n"
         "spec:\n  masterInstanceId: postgres-abcdef\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n" +
         extra;
}

// ---- 1. deletionPolicy alone ----

TEST_CASE("defects: a deletionPolicy change alone is a visible state-only update that apply records") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 1))).ok());
  auto marked = f.Load(ReplicaYaml("reports", 1, "  deletionPolicy: Delete\n"));
  Plan plan = f.MakePlan(marked);
  REQUIRE(plan.changes.size() == 1);  // was: "No changes"
  const Change& c = plan.changes[0];
  CHECK(c.action == Action::kUpdate);
  CHECK(c.instance_ids.empty());
  CHECK(c.update.empty());
  REQUIRE(c.fields.size() == 1);
  CHECK(c.fields[0].field == "deletionPolicy");
  CHECK(c.fields[0].before == "Orphan");
  CHECK(c.fields[0].after == "Delete");
  CHECK(RenderPlanText(plan, false).find("update state only") != std::string::npos);
  const int calls = f.fake.TotalCalls();
  CHECK(f.Apply(plan).ok());
  CHECK(f.fake.TotalCalls() == calls);  // nothing was called in the cloud
  CHECK(Recorded(f.store.get(), "ReadOnlyInstance/reports")->deletion_policy == "Delete");
  CHECK(Recorded(f.store.get(), "ReadOnlyInstance/reports")->spec_json.find("\"deletionPolicy\":\"Delete\"") !=
        std::string::npos);
  CHECK_FALSE(f.MakePlan(marked).HasChanges());
  // Removing the spec now follows the policy the user set: delete, not orphan.
  Plan removed = f.MakePlan(f.Load(ReplicaYaml("other", 1)), /*allow_destroy=*/true);
  bool deletes = false;
  for (const Change& r : removed.changes) deletes |= r.key.name == "reports" && r.action == Action::kDelete;
  CHECK(deletes);
}

TEST_CASE("defects: a deletionPolicy change records only the policy, not spec fields whose own change failed") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 1, "  securityGroupIds: [sg-aaaaaaaa]\n"))).ok());
  auto both = f.Load(ReplicaYaml("reports", 1, "  securityGroupIds: [sg-bbbbbbbb]\n  deletionPolicy: Delete\n"));
  f.cloud.Inject("ModifyDBInstanceSecurityGroups", Fault::kRefuse);
  ApplyResult r = f.Apply(f.MakePlan(both));
  CHECK_FALSE(r.ok());
  CHECK(Recorded(f.store.get(), "ReadOnlyInstance/reports")->deletion_policy == "Delete");
  // The refused security-group change is still planned: it was not recorded as applied.
  Plan again = f.MakePlan(both);
  REQUIRE(again.changes.size() == 1);
  CHECK(again.changes[0].update.security_groups.has_value());
}

TEST_CASE("defects: a deletionPolicy change interrupted before it ran is planned again, and removal keeps the old policy") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 1))).ok());
  Plan plan = f.MakePlan(f.Load(ReplicaYaml("reports", 1, "  deletionPolicy: Delete\n")));
  Executor executor(&f.cloud, f.store.get(), &f.clock, &f.reporter, plan.stack);
  executor.Interrupt();  // the process stops before the change runs
  CHECK_FALSE(executor.Apply(plan).ok());
  CHECK(Recorded(f.store.get(), "ReadOnlyInstance/reports")->deletion_policy == "Orphan");
  CHECK(f.MakePlan(f.Load(ReplicaYaml("reports", 1, "  deletionPolicy: Delete\n"))).changes.size() == 1);
  Plan removed = f.MakePlan(f.Load(ReplicaYaml("other", 1)), /*allow_destroy=*/true);
  for (const Change& c : removed.changes) {
    if (c.key.name == "reports") CHECK(c.action == Action::kOrphan);  // what the plan shows is what happens
  }
}

// ---- 2. a blocked change holds only its resource ----

TEST_CASE("defects: a blocked destroy holds its own resource only; the rest is applied and the result says so") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("temp", 2, "  deletionPolicy: Delete\n") + ReplicaYaml("keep", 1))).ok());
  auto next = f.Load(ReplicaYaml("temp", 1, "  deletionPolicy: Delete\n  tags: {team: x}\n") + ReplicaYaml("keep", 2));
  Plan plan = f.MakePlan(next);  // no --allow-destroy
  CHECK(plan.HasErrors());
  std::string text = RenderPlanText(plan, false);
  CHECK(text.find("Blocked (apply leaves these resources alone, applies the rest and exits 1):") != std::string::npos);
  CHECK(text.find("! ReadOnlyInstance/temp") != std::string::npos);
  ApplyResult r = f.Apply(plan);
  CHECK_FALSE(r.ok());
  std::map<std::string, std::vector<Outcome>> by;
  for (const ChangeResult& c : r.changes) by[c.resource].push_back(c.outcome);
  for (Outcome o : by["ReadOnlyInstance/temp"]) CHECK(o == Outcome::kBlocked);  // its tag update too
  CHECK(by["ReadOnlyInstance/temp"].size() == 2);
  REQUIRE(by["ReadOnlyInstance/keep"].size() == 1);
  CHECK(by["ReadOnlyInstance/keep"][0] == Outcome::kDone);
  CHECK(f.fake.Calls("IsolateDBInstances") == 0);
  CHECK(f.fake.Calls("ModifyResourceTags") == 0);
  CHECK(Of(f.fake, "ReadOnlyInstance/keep").size() == 2);
  CHECK(Of(f.fake, "ReadOnlyInstance/temp").size() == 2);
}

TEST_CASE("defects: deletion protection blocks one resource's delete while another resource is bought") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("safe", 2, "  deletionPolicy: Delete\n  deletionProtection: true\n"))).ok());
  auto next = f.Load(ReplicaYaml("safe", 1, "  deletionPolicy: Delete\n  deletionProtection: true\n") +
                     ReplicaYaml("fresh", 1));
  Plan plan = f.MakePlan(next, /*allow_destroy=*/true);
  ApplyResult r = f.Apply(plan);
  CHECK_FALSE(r.ok());
  bool blocked = false;
  for (const ChangeResult& c : r.changes) {
    if (c.resource == "ReadOnlyInstance/safe") {
      CHECK(c.outcome == Outcome::kBlocked);
      blocked |= c.message.find("deletion protection is on") != std::string::npos;
    }
  }
  CHECK(blocked);
  CHECK(Of(f.fake, "ReadOnlyInstance/fresh").size() == 1);
  CHECK(f.fake.Calls("IsolateDBInstances") == 0);
}

TEST_CASE("defects: the executor refuses a destroy the plan did not flag when destroys are not allowed") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("temp", 2, "  deletionPolicy: Delete\n"))).ok());
  Plan plan = f.MakePlan(f.Load(ReplicaYaml("temp", 1, "  deletionPolicy: Delete\n")), /*allow_destroy=*/true);
  plan.allow_destroy = false;  // a plan edited, or made with other flags
  for (Change& c : plan.changes) c.blocked = false;
  ApplyResult r = f.Apply(plan);
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kBlocked);
  CHECK(f.fake.Calls("IsolateDBInstances") == 0);
}

// ---- 4. group settings change in place ----

TEST_CASE("defects: read-only group settings are updated in place with ModifyReadOnlyGroupConfig") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(GroupYaml("  replayLagEliminate: true\n  maxReplayLagSeconds: 10\n"))).ok());
  auto changed = f.Load(GroupYaml("  groupName: reports-ro\n  replayLagEliminate: true\n  maxReplayLagSeconds: 30\n"
                                  "  minDelayEliminateReserve: 2\n"));
  Plan plan = f.MakePlan(changed);
  CHECK(plan.warnings.empty());  // was: a warning, and "No changes"
  REQUIRE(plan.changes.size() == 1);
  const Change& c = plan.changes[0];
  CHECK(c.action == Action::kUpdate);
  REQUIRE(c.update.group_config.has_value());
  CHECK(c.update.group_config->max_replay_lag_seconds == 30);
  std::string text = RenderPlanText(plan, false);
  CHECK(text.find("maxReplayLagSeconds: 10 \xe2\x86\x92 30") != std::string::npos);
  CHECK(text.find("groupName: \"reports-group\" \xe2\x86\x92 \"reports-ro\"") != std::string::npos);
  CHECK(text.find("minDelayEliminateReserve: 0 \xe2\x86\x92 2") != std::string::npos);
  // The plan file carries the call and reads back the same.
  Result<Plan> back = PlanFromJson(PlanToJson(plan));
  REQUIRE(back.ok());
  CHECK(PlanDifferences(plan, *back).empty());
  REQUIRE(back->changes[0].update.group_config.has_value());
  CHECK(back->changes[0].update.group_config->name == "reports-ro");
  CHECK(f.Apply(plan).ok());
  CHECK(f.fake.Calls("ModifyReadOnlyGroupConfig") == 1);
  auto groups = *f.fake.ListGroups("ap-beijing", "postgres-abcdef");
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].max_replay_lag_seconds == 30);
  CHECK(groups[0].name == "reports-ro");
  CHECK(f.fake.Calls("CreateReadOnlyGroup") == 1);  // changed, never bought again
  CHECK_FALSE(f.MakePlan(changed).HasChanges());
}

TEST_CASE("defects: a refused group config change is reported with the cloud's code and planned again") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(GroupYaml())).ok());
  auto changed = f.Load(GroupYaml("  maxReplayLatencyMB: 512\n"));
  f.cloud.Inject("ModifyReadOnlyGroupConfig", Fault::kRefuse);
  ApplyResult r = f.Apply(f.MakePlan(changed));
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find("ModifyReadOnlyGroupConfig on pgrogrp-") != std::string::npos);
  CHECK(r.changes[0].message.find("InvalidParameterValue.BadSpec") != std::string::npos);  // the cloud's code
  CHECK(f.MakePlan(changed).changes.size() == 1);
  CHECK(f.Apply(f.MakePlan(changed)).ok());
  CHECK_FALSE(f.MakePlan(changed).HasChanges());
  CHECK(f.fake.Calls("CreateReadOnlyGroup") == 1);
}

TEST_CASE("defects: a group config change whose answer is lost took effect: the next plan has nothing to do") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(GroupYaml())).ok());
  auto changed = f.Load(GroupYaml("  maxReplayLatencyMB: 512\n"));
  f.cloud.Inject("ModifyReadOnlyGroupConfig", Fault::kLoseAnswer);
  ApplyResult r = f.Apply(f.MakePlan(changed));
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find("may have taken effect") != std::string::npos);
  CHECK_FALSE(f.MakePlan(changed).HasChanges());
  CHECK(f.fake.Calls("CreateReadOnlyGroup") == 1);
}

// ---- 5. resume and adopt ----

TEST_CASE("defects: after an interrupted purchase each instance appears once, under the resume that covers it") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 2));
  Operation op = RecordedPurchase(desired, "reports", "op-interrupted01", 2);
  op.phase = Phase::kOrdered;
  REQUIRE(f.store->PutOperation(op, "ordered").ok());
  // The create went out and bought, with every tag (the China site), before the process died.
  cloud::ReplicaRequest q = ReplicaRequestFromJson(nlohmann::json::parse(op.request_json));
  q.tags[cloud::kOperationTag] = OperationTagValue("unit", op.resource_key, op.id);
  Result<cloud::Purchase> bought = f.fake.CreateReplicas(q, cloud::DryRun::kNo);
  REQUIRE(bought.ok());
  Plan plan = f.MakePlan(desired);
  std::map<std::string, int> seen;
  for (const Change& c : plan.changes) {
    CHECK(c.action != Action::kAdopt);
    for (const std::string& id : c.instance_ids) ++seen[id];
  }
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].action == Action::kResume);
  for (const auto& [id, n] : seen) CHECK(n == 1);
}

TEST_CASE("defects: an instance of a resumed purchase that the state does not name yet is not adopted as well") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 1));
  Operation op = RecordedPurchase(desired, "reports", "op-lostanswer01", 1);
  op.phase = Phase::kUnknown;  // the answer was lost: the ids are known only from the cloud
  op.sent_at = std::chrono::duration_cast<std::chrono::seconds>(f.clock.Now().time_since_epoch()).count();
  REQUIRE(f.store->PutOperation(op, "unknown").ok());
  cloud::ReplicaRequest q = ReplicaRequestFromJson(nlohmann::json::parse(op.request_json));
  q.tags[cloud::kOperationTag] = OperationTagValue("unit", op.resource_key, op.id);
  REQUIRE(f.fake.CreateReplicas(q, cloud::DryRun::kNo).ok());
  Plan plan = f.MakePlan(desired);
  for (const Change& c : plan.changes) CHECK(c.action != Action::kAdopt);
  ApplyResult r = f.Apply(plan);
  CHECK(r.ok());
  CHECK(f.store->Instances()->size() == 1);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
}

// ---- 6. count: 0 ----

TEST_CASE("defects: count 0 orphans every instance and keeps the resource in state") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 2))).ok());
  auto zero = f.Load(ReplicaYaml("reports", 0));
  Plan plan = f.MakePlan(zero);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].action == Action::kOrphan);
  CHECK(plan.changes[0].instance_ids.size() == 2);
  CHECK(plan.changes[0].reason.find("count 2 -> 0") != std::string::npos);
  CHECK(f.Apply(plan).ok());
  CHECK(Of(f.fake, "ReadOnlyInstance/reports").empty());
  CHECK(f.fake.Replicas().size() == 2);  // they keep running, untagged
  CHECK(Recorded(f.store.get(), "ReadOnlyInstance/reports").has_value());
  CHECK(f.store->Instances()->empty());
  CHECK_FALSE(f.MakePlan(zero).HasChanges());
  // Back to one: bought again, nothing else.
  Plan one = f.MakePlan(f.Load(ReplicaYaml("reports", 1)));
  REQUIRE(one.changes.size() == 1);
  CHECK(one.changes[0].action == Action::kCreate);
  CHECK(one.changes[0].count == 1);
}

TEST_CASE("defects: count 0 with deletionPolicy Delete destroys, only with --allow-destroy") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 2, "  deletionPolicy: Delete\n"))).ok());
  auto zero = f.Load(ReplicaYaml("reports", 0, "  deletionPolicy: Delete\n"));
  Plan blocked = f.MakePlan(zero);
  REQUIRE(blocked.changes.size() == 1);
  CHECK(blocked.changes[0].action == Action::kDelete);
  CHECK(blocked.changes[0].blocked);
  ApplyResult refused = f.Apply(blocked);
  CHECK(refused.changes[0].outcome == Outcome::kBlocked);
  CHECK(f.fake.Calls("IsolateDBInstances") == 0);
  CHECK(f.Apply(f.MakePlan(zero, /*allow_destroy=*/true)).ok());
  CHECK(f.fake.Replicas().empty());
  CHECK(f.fake.Calls("DestroyDBInstance") == 2);
  CHECK(Recorded(f.store.get(), "ReadOnlyInstance/reports").has_value());
  CHECK_FALSE(f.MakePlan(zero).HasChanges());
}

TEST_CASE("defects: a new spec with count 0 buys nothing and costs no preflight") {
  EngineFixture f;
  Plan plan = f.MakePlan(f.Load(ReplicaYaml("reports", 0)));
  CHECK_FALSE(plan.HasChanges());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 0);
  CHECK(f.fake.Calls("InquiryPriceCreateDBInstances") == 0);
}

}  // namespace
}  // namespace reconciler::testing
