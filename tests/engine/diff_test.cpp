// What the plan proposes for each situation, and that applying it converges.

#include <doctest/doctest.h>

#include "ui/plan_render.h"
#include "state/sqlite/sqlite_state_store.h"
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

TEST_CASE("plan: isolated instances are restored, never bought again") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 2));
  REQUIRE(f.Converge(desired).ok());
  std::string isolated = Of(f.fake, "ReadOnlyInstance/reports")[0].id;
  f.fake.SetStatus(isolated, "isolated");  // isolated for arrears, say
  Plan plan = f.MakePlan(desired);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].action == Action::kRestore);
  CHECK(plan.changes[0].instance_ids == std::vector<std::string>{isolated});
  CHECK(plan.changes[0].reason.find("not gone") != std::string::npos);
  CHECK(f.Apply(plan).ok());
  CHECK(f.fake.Calls("DisIsolateDBInstances") == 1);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);  // only the first purchase
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("plan: too many instances are orphaned by default, newest first") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 3))).ok());
  auto fewer = f.Load(ReplicaYaml("reports", 1));
  Plan plan = f.MakePlan(fewer);
  REQUIRE(plan.changes.size() == 1);
  const Change& c = plan.changes[0];
  CHECK(c.action == Action::kOrphan);
  CHECK(c.instance_ids.size() == 2);
  CHECK(c.reason.find("count 3 -> 1") != std::string::npos);
  CHECK(f.Apply(plan).ok());
  CHECK(Of(f.fake, "ReadOnlyInstance/reports").size() == 1);
  CHECK(f.fake.Replicas().size() == 3);  // the orphans keep running, untagged
  CHECK_FALSE(f.MakePlan(fewer).HasChanges());
}

TEST_CASE("plan: with deletionPolicy Delete, excess instances are destroyed only with --allow-destroy") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 2, "  deletionPolicy: Delete\n"))).ok());
  auto fewer = f.Load(ReplicaYaml("reports", 1, "  deletionPolicy: Delete\n"));
  Plan blocked = f.MakePlan(fewer);
  REQUIRE(blocked.changes.size() == 1);
  CHECK(blocked.changes[0].action == Action::kDelete);
  CHECK(blocked.changes[0].blocked);
  CHECK(blocked.HasErrors());
  Plan allowed = f.MakePlan(fewer, /*allow_destroy=*/true);
  CHECK_FALSE(allowed.HasErrors());
  CHECK(f.Apply(allowed).ok());
  CHECK(f.fake.Replicas().size() == 1);
  CHECK(f.fake.Calls("IsolateDBInstances") == 1);
  CHECK(f.fake.Calls("DestroyDBInstance") == 1);
}

TEST_CASE("plan: a removed spec is orphaned, or deleted per the policy it was applied with") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("keep", 1) + ReplicaYaml("temp", 1, "  deletionPolicy: Delete\n") +
                            ReplicaYaml("old", 1)))
              .ok());
  auto remaining = f.Load(ReplicaYaml("keep", 1));
  Plan plan = f.MakePlan(remaining, /*allow_destroy=*/true);
  std::map<std::string, Action> by;
  for (const Change& c : plan.changes) by[c.key.name] = c.action;
  CHECK(by["temp"] == Action::kDelete);
  CHECK(by["old"] == Action::kOrphan);
  CHECK(f.Apply(plan).ok());
  CHECK(Of(f.fake, "ReadOnlyInstance/old").empty());
  CHECK(f.fake.Replicas().size() == 2);  // keep, and the untagged orphan
  CHECK_FALSE(f.MakePlan(remaining).HasChanges());
  auto resources = *f.store->Resources();
  CHECK(resources.size() == 1);
}

TEST_CASE("plan: deletion protection blocks a delete, naming the instance") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("guarded", 1, "  deletionProtection: true\n  deletionPolicy: Delete\n"))).ok());
  Plan plan = f.MakePlan(f.Load(ReplicaYaml("other", 1)), /*allow_destroy=*/true);
  bool found = false;
  for (const Change& c : plan.changes) {
    if (c.key.name != "guarded") continue;
    found = true;
    CHECK(c.blocked);
    CHECK(c.blocked_reason.find("deletion protection is on for pgro-") != std::string::npos);
  }
  CHECK(found);
}

TEST_CASE("plan: an immutable field replaces, create before destroy, only with --allow-destroy") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 2))).ok());
  std::string yaml = ReplicaYaml("reports", 2);
  yaml.replace(yaml.find("ap-beijing-4"), 12, "ap-beijing-3");
  auto moved = f.Load(yaml);
  Plan blocked = f.MakePlan(moved);
  REQUIRE(blocked.changes.size() == 1);
  CHECK(blocked.changes[0].action == Action::kReplace);
  CHECK(blocked.changes[0].blocked);
  CHECK(blocked.changes[0].reason.find("zone cannot change in place") != std::string::npos);
  CHECK(RenderPlanText(blocked, false).find("-/+ ReadOnlyInstance/reports") != std::string::npos);
  Plan allowed = f.MakePlan(moved, true);
  CHECK(f.Apply(allowed).ok());
  auto now = Of(f.fake, "ReadOnlyInstance/reports");
  REQUIRE(now.size() == 2);
  for (const cloud::Instance& i : now) CHECK(i.zone == "ap-beijing-3");
  CHECK_FALSE(f.MakePlan(moved, true).HasChanges());
}

TEST_CASE("plan: drift in name, tags and deletion protection is updated in place") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 1, "  instanceName: reports-db\n  tags: {team: data}\n"));
  REQUIRE(f.Converge(desired).ok());
  std::string id = Of(f.fake, "ReadOnlyInstance/reports")[0].id;
  REQUIRE(f.fake.ModifyName("ap-beijing", id, "renamed-by-hand").ok());
  REQUIRE(f.fake.ModifyTags("ap-beijing", id, {{"team", "ops"}, {"owner", "bob"}}, {}).ok());
  REQUIRE(f.fake.ModifyDeletionProtection("ap-beijing", id, true).ok());
  Plan plan = f.MakePlan(desired);
  REQUIRE(plan.changes.size() == 1);
  const Change& c = plan.changes[0];
  CHECK(c.action == Action::kUpdate);
  std::map<std::string, std::pair<std::string, std::string>> fields;
  for (const FieldDiff& d : c.fields) fields[d.field] = {d.before, d.after};
  CHECK(fields["instanceName"] == std::make_pair(std::string("\"renamed-by-hand\""), std::string("\"reports-db\"")));
  CHECK(fields["tags.team"] == std::make_pair(std::string("\"ops\""), std::string("\"data\"")));
  CHECK(fields["tags.owner"] == std::make_pair(std::string("\"bob\""), std::string("(none)")));
  CHECK(fields["deletionProtection"] == std::make_pair(std::string("true"), std::string("false")));
  CHECK(f.Apply(plan).ok());
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("plan: a spec change goes through ModifyDBInstanceSpec and is tracked like a purchase") {
  EngineFixture f;
  REQUIRE(f.Converge(f.Load(ReplicaYaml("reports", 1))).ok());
  std::string yaml = ReplicaYaml("reports", 1);
  yaml.replace(yaml.find("pg.it.small2"), 12, "pg.it.medium4");
  yaml.replace(yaml.find("storageGB: 100"), 14, "storageGB: 200");
  auto bigger = f.Load(yaml);
  Plan plan = f.MakePlan(bigger);
  REQUIRE(plan.changes.size() == 1);
  const Change& c = plan.changes[0];
  REQUIRE(c.update.spec);
  CHECK(c.update.spec->memory_gb == 4);  // from DescribeClasses
  // The hourly prices the cloud quotes (FakeCloud: monthly / 720, rounded up), never times 720.
  REQUIRE(c.cost);
  CHECK(*c.cost == std::map<std::string, int64_t>{{"CNY/hour", (36000 + 719) / 720 - (18000 + 719) / 720}});
  CHECK(f.Apply(plan).ok());
  CHECK(f.fake.Calls("ModifyDBInstanceSpec") == 1);
  Operation op = f.store->Operations()->back();
  CHECK(op.kind == OperationKind::kModifySpec);
  CHECK(op.phase == Phase::kDone);
  CHECK_FALSE(f.MakePlan(bigger).HasChanges());
}

TEST_CASE("plan: instances carrying our tags but missing from state are adopted") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 2));
  REQUIRE(f.Converge(desired).ok());
  // The state file is lost; a new one knows nothing.
  f.store.reset();
  std::filesystem::remove_all(f.dir.path() / "state.db");
  f.store = std::move(OpenSqliteStateStore((f.dir.path() / "state2.db").string(), &f.clock)).value();
  Plan plan = f.MakePlan(desired);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].action == Action::kAdopt);
  CHECK(plan.changes[0].instance_ids.size() == 2);
  CHECK(RenderPlanText(plan, false).find("<= ReadOnlyInstance/reports") != std::string::npos);
  CHECK(f.Apply(plan).ok());
  CHECK(f.store->Instances()->size() == 2);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
}

TEST_CASE("plan: groups are created before the replicas that join them") {
  EngineFixture f;
  std::string group = "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: reports-group}\n"
                      "spec: {masterInstanceId: postgres-abcdef, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n";
  auto desired = f.Load(ReplicaYaml("reports", 2, "  readOnlyGroup: reports-group\n") + group);
  Plan plan = f.MakePlan(desired);
  REQUIRE(plan.changes.size() == 2);
  CHECK(plan.changes[0].key.kind == specs::Kind::kReadOnlyGroup);
  CHECK(plan.changes[1].after == std::vector<std::string>{plan.changes[0].id});
  CHECK(f.Apply(plan).ok());
  auto groups = *f.fake.ListGroups("ap-beijing", "postgres-abcdef");
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].member_ids.size() == 2);
  CHECK(f.store->Resources()->front().group_id == groups[0].id);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("plan: serverless instances are created and their tags kept") {
  EngineFixture f;
  std::string sl = "---\napiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: sandbox}\n"
                   "spec: {zone: ap-beijing-1, tags: {team: data}}\n";
  auto desired = f.Load(sl);
  REQUIRE(f.Converge(desired).ok());
  auto all = *f.fake.ListServerless("ap-beijing", "");
  REQUIRE(all.size() == 1);
  CHECK(all[0].name == "sandbox");
  CHECK(all[0].tags.at(cloud::kStackTag) == "unit");
  REQUIRE(f.fake.ModifyTags("ap-beijing", all[0].id, {{"team", "x"}}, {}).ok());
  Plan plan = f.MakePlan(desired);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].action == Action::kUpdate);
  CHECK(f.Apply(plan).ok());
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("plan: a failed preflight shows the cloud's code in the plan, which then cannot apply") {
  EngineFixture f;
  f.fake.sold_out = {"ap-beijing-4"};
  Plan plan = f.MakePlan(f.Load(ReplicaYaml("reports", 1)));
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].preflight.state == PreflightState::kFailed);
  CHECK(plan.changes[0].preflight.code == "ResourceInsufficient.ResourceNotEnough");
  CHECK(plan.HasErrors());
  CHECK(RenderPlanText(plan, false).find("preflight failed: ResourceInsufficient.ResourceNotEnough") != std::string::npos);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 0);
}

TEST_CASE("plan: without DryRun the read-only checks judge the purchase") {
  EngineFixture f;
  f.fake.supports_dry_run = false;
  Plan ok = f.MakePlan(f.Load(ReplicaYaml("reports", 1)));
  CHECK(ok.changes[0].preflight.state == PreflightState::kFallback);
  CHECK(f.fake.Calls("DescribeZones") == 1);
  CHECK(f.fake.Calls("DescribeClasses") == 1);
  CHECK(f.fake.Calls("DescribeDBInstanceAttribute") == 1);
  f.fake.sold_out = {"ap-beijing-4"};
  Plan sold = f.MakePlan(f.Load(ReplicaYaml("other", 1)));
  CHECK(sold.changes[0].preflight.state == PreflightState::kFailed);
  CHECK(sold.changes[0].preflight.code == "ResourceInsufficient.ResourceNotEnough");
  f.fake.sold_out.clear();
  Plan prepaid = f.MakePlan(f.Load(ReplicaYaml("third", 1, "  chargeType: PREPAID\n")));
  CHECK(prepaid.changes[0].preflight.code == "OperationDenied.PayModeError");
}

TEST_CASE("plan: a no-op plan over 250 replicas costs exactly 3 DescribeDBInstances calls and nothing per instance") {
  EngineFixture f;
  std::string yaml;
  for (int r = 0; r < 5; ++r) yaml += ReplicaYaml("reports-" + std::to_string(r), 50);  // count is at most 100
  auto desired = f.Load(yaml);
  REQUIRE(f.Converge(desired).ok());
  int before_list = f.fake.Calls("DescribeDBInstances");
  int before_total = f.fake.TotalCalls();
  Plan plan = f.MakePlan(desired);
  CHECK_FALSE(plan.HasChanges());
  CHECK(f.fake.Calls("DescribeDBInstances") - before_list == 3);
  CHECK(f.fake.TotalCalls() - before_total == 4);  // and one serverless listing
}

}  // namespace
}  // namespace reconciler::testing
