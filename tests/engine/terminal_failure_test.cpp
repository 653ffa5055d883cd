// A terminal outcome stops its resource with the cloud's code, shows in plan and state list
// with what to do, and nothing spins on it: no later plan buys for that resource until the
// user says so (--retry-failed).

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "ui/plan_render.h"
#include "state/sqlite/sqlite_state_store.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

size_t Count(const std::vector<cloud::Instance>& all, const std::string& resource) {
  return std::count_if(all.begin(), all.end(), [&](const cloud::Instance& i) {
    auto t = i.tags.find(cloud::kResourceTag);
    return t != i.tags.end() && t->second == resource;
  });
}

PlanOptions RetryFailed() {
  PlanOptions o;
  o.retry_failed = true;
  return o;
}

TEST_CASE("terminal: a refused purchase holds its resource and the plan shows the cloud's code and what to do") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kRefuse);
  auto desired = f.Load(ReplicaYaml("reports", 2));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  Operation op = f.store->Operations()->front();
  CHECK(op.error_code == "InvalidParameterValue.BadSpec");
  CHECK(op.error.find("injected refusal") != std::string::npos);
  const int creates = f.fake.Calls("CreateReadOnlyDBInstance");
  const int dry_runs = f.fake.Calls("CreateReadOnlyDBInstance/DryRun");
  const int calls = f.fake.TotalCalls();

  // The next plans buy nothing for it, however often they run.
  for (int round = 0; round < 3; ++round) {
    Plan plan = f.MakePlan(desired);
    CHECK_FALSE(plan.HasChanges());
    CHECK_FALSE(plan.HasErrors());  // other resources may still apply
    CHECK(plan.HasHeldFailures());
    REQUIRE(plan.failures.size() == 1);
    CHECK(plan.failures[0].code == "InvalidParameterValue.BadSpec");
    CHECK(plan.failures[0].operation_id == op.id);
    CHECK(plan.failures[0].withheld == 2);
    if (round == 0) {
      std::string text = RenderPlanText(plan, /*color=*/false);
      CHECK(text.find("Failed purchases (nothing is bought for these until you act):") != std::string::npos);
      CHECK(text.find("! ReadOnlyInstance/reports  " + op.id + "  InvalidParameterValue.BadSpec") != std::string::npos);
      CHECK(text.find("not bought: 2 replica(s)") != std::string::npos);
      CHECK(text.find("reconciler apply --retry-failed") != std::string::npos);
      CHECK(text.find("No changes.") == std::string::npos);
      std::string markdown = RenderPlanMarkdown(plan);
      CHECK(markdown.find("`InvalidParameterValue.BadSpec`") != std::string::npos);
    }
  }
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == creates);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance/DryRun") == dry_runs);  // not even a preflight for it
  CHECK(f.fake.TotalCalls() > calls);                                  // the plans did observe
  CHECK(f.fake.Replicas().empty());

  // The user fixed the cause and says so.
  Plan retry = f.MakePlan(desired, RetryFailed());
  REQUIRE(retry.changes.size() == 1);
  CHECK(retry.changes[0].action == Action::kCreate);
  REQUIRE(retry.failures.size() == 1);
  CHECK(retry.failures[0].retrying);
  CHECK_FALSE(retry.HasHeldFailures());
  CHECK(RenderPlanText(retry, false).find("bought again by this plan (--retry-failed)") != std::string::npos);
  CHECK(f.Apply(retry).ok());
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 2);
  Plan after = f.MakePlan(desired);
  CHECK_FALSE(after.HasChanges());
  CHECK(after.failures.empty());  // the newer purchase succeeded
}

TEST_CASE("terminal: a held failure does not stop the other resources of the stack") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kRefuse);
  auto one = f.Load(ReplicaYaml("reports", 1));
  REQUIRE_FALSE(f.Apply(f.MakePlan(one)).ok());
  auto two = f.Load(ReplicaYaml("reports", 1) + ReplicaYaml("batch", 2));
  Plan plan = f.MakePlan(two);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].key.ToString() == "ReadOnlyInstance/batch");
  CHECK(plan.failures.size() == 1);
  CHECK(f.Apply(plan).ok());
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/batch") == 2);
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 0);
}

TEST_CASE("terminal: an auth refusal does not hold the resource once the credentials work again") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kUnauthorized);
  auto desired = f.Load(ReplicaYaml("reports", 1));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find("UnauthorizedOperation") != std::string::npos);
  CHECK(f.store->Operations()->front().error_code == "UnauthorizedOperation");
  Plan again = f.MakePlan(desired);
  CHECK(again.failures.empty());
  REQUIRE(again.changes.size() == 1);
  CHECK(again.changes[0].action == Action::kCreate);
}

TEST_CASE("terminal: replicas that join a group whose purchase failed wait with it") {
  EngineFixture f;
  const std::string group =
      "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: g}\n"
      "spec: {masterInstanceId: postgres-abcdef, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n";
  auto desired = f.Load(group + ReplicaYaml("reports", 2, "  readOnlyGroup: g\n"));
  // A group purchase refused by the cloud, as an earlier apply recorded it.
  Operation op;
  op.id = "op-groupfailed1";
  op.resource_key = "ReadOnlyGroup/g";
  op.kind = OperationKind::kCreateGroup;
  op.region = "ap-beijing";
  op.request_json = "{}";
  op.expected = 1;
  op.phase = Phase::kFailed;
  op.error_code = "FailedOperation.ROGroupNumExceedError";
  op.error = "too many groups";
  REQUIRE(f.store->PutOperation(op, "refused").ok());
  Plan plan = f.MakePlan(desired);
  CHECK_FALSE(plan.HasChanges());  // neither the group nor replicas outside it
  REQUIRE(plan.failures.size() == 1);
  CHECK(plan.failures[0].key.ToString() == "ReadOnlyGroup/g");
  bool warned = false;
  for (const std::string& w : plan.warnings) warned = warned || w.find("ReadOnlyInstance/reports: 2 replica(s) not bought") == 0;
  CHECK(warned);
  Plan retry = f.MakePlan(desired, RetryFailed());
  CHECK(retry.changes.size() == 2);  // the group, then the replicas that join it
}

TEST_CASE("terminal: a held resource is not replaced either") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 1));
  REQUIRE(f.Apply(f.MakePlan(desired)).ok());
  // A later purchase for it was refused.
  Operation op = RecordedPurchase(desired, "reports", "op-refusedlater", 1);
  op.phase = Phase::kFailed;
  op.settled = 1;
  op.error_code = "ResourceInsufficient.ResourceNotEnough";
  op.error = "refused: sold out";
  REQUIRE(f.store->PutOperation(op, "refused").ok());
  auto moved = f.Load(ReplicaYaml("reports", 1, "  needSupportIpv6: true\n"));
  PlanOptions destroy;
  destroy.allow_destroy = true;
  Plan plan = f.MakePlan(moved, destroy);
  for (const Change& c : plan.changes) CHECK(c.action != Action::kReplace);
  REQUIRE(plan.failures.size() == 1);
  CHECK(plan.failures[0].withheld == 1);
  destroy.retry_failed = true;
  Plan retry = f.MakePlan(moved, destroy);
  REQUIRE(retry.changes.size() == 1);
  CHECK(retry.changes[0].action == Action::kReplace);
}

TEST_CASE("terminal: failures survive the plan file") {
  Plan plan;
  plan.stack = "unit";
  plan.retry_failed = true;
  Failure f;
  f.key = {specs::Kind::kReadOnlyInstance, "reports"};
  f.operation_id = "op-1";
  f.code = kOrderDeadlineExceeded;
  f.message = "order d1 listed no instances within 30m";
  f.remedy = "check order(s) d1";
  f.deal_names = {"d1"};
  f.withheld = 2;
  f.retrying = true;
  plan.failures.push_back(f);
  Result<Plan> back = PlanFromJson(PlanToJson(plan));
  REQUIRE(back.ok());
  CHECK(back->retry_failed);
  REQUIRE(back->failures.size() == 1);
  CHECK(back->failures[0].key.ToString() == "ReadOnlyInstance/reports");
  CHECK(back->failures[0].code == kOrderDeadlineExceeded);
  CHECK(back->failures[0].deal_names == std::vector<std::string>{"d1"});
  CHECK(back->failures[0].withheld == 2);
  CHECK(back->failures[0].retrying);
  // A file written before failures were recorded still reads.
  nlohmann::json old = PlanToJson(Plan{});
  old.erase("failures");
  old.erase("retryFailed");
  Result<Plan> older = PlanFromJson(old);
  REQUIRE(older.ok());
  CHECK(older->failures.empty());
}

TEST_CASE("terminal: state list shows failed purchases with the cloud's code and purchases in flight with their deadline") {
  TempDir stack("stack");
  stack.Write("reconciler.yaml", "stack: unit\nprovider: {tencentcloud: {region: ap-beijing}}\n");
  SystemClock clock;
  {
    auto store = OpenSqliteStateStore((stack.path() / ".reconciler" / "state.db").string(), &clock);
    REQUIRE(store.ok());
    Operation failed;
    failed.id = "op-refused0001";
    failed.resource_key = "ReadOnlyInstance/reports";
    failed.kind = OperationKind::kCreateReplicas;
    failed.region = "ap-beijing";
    failed.request_json = "{}";
    failed.expected = 2;
    failed.phase = Phase::kFailed;
    failed.error_code = "OperationDenied.InsufficientBalanceError";
    failed.error = "refused: Insufficient account balance. (RequestId r-1)";
    REQUIRE((*store)->PutOperation(failed, "refused").ok());
    Operation waiting = failed;
    waiting.id = "op-waiting0001";
    waiting.resource_key = "ReadOnlyInstance/batch";
    waiting.phase = Phase::kOrdered;
    waiting.error_code.clear();
    waiting.error.clear();
    waiting.deal_names = {"20261123000001"};
    waiting.waiting_since = 1700000000;
    waiting.deadline_at = 1700001800;
    REQUIRE((*store)->PutOperation(waiting, "ordered").ok());
  }
  std::ostringstream out, err;
  StateCommandOptions options;
  options.action = "list";
  options.stack = stack.str();
  CHECK(RunStateCommand(options, {out, err}) == kExitOk);
  INFO(out.str() << err.str());
  CHECK(out.str().find("Failed purchases") != std::string::npos);
  CHECK(out.str().find("op-refused0001  ReadOnlyInstance/reports  failed  OperationDenied.InsufficientBalanceError") !=
        std::string::npos);
  CHECK(out.str().find("Insufficient account balance") != std::string::npos);
  CHECK(out.str().find("op-waiting0001  ReadOnlyInstance/batch  ordered") != std::string::npos);
  CHECK(out.str().find("deadline 2023-11-14T22:43:20Z") != std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing
