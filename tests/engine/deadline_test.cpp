// Bounded waits: an order has its deadline to list its instances and they have theirs to run.
// The deadlines are kept in the state, so an apply that stops and a later one that resumes
// wait no longer together than one would have; past a deadline the purchase ends terminal.
// Time is the fake clock's: every wait moves it, nothing sleeps.

#include <doctest/doctest.h>

#include "engine/engine.h"
#include "engine/executor.h"
#include "engine/identity.h"
#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

using std::chrono::seconds;

// Interrupts the executor, as Ctrl-C would, once a wait of `phase` has lasted `after`.
class InterruptDuringWait : public Reporter {
 public:
  InterruptDuringWait(ProgressPhase phase, seconds after) : phase_(phase), after_(after) {}
  Executor* executor = nullptr;
  void Progress(const ProgressEvent& e) override {
    if (e.wait && e.phase == phase_ && e.wait->waited >= after_ && executor) executor->Interrupt();
  }
  void Note(const std::string&) override {}

 private:
  ProgressPhase phase_;
  seconds after_;
};

int64_t Unix(const FakeClock& clock) { return std::chrono::duration_cast<seconds>(clock.Now().time_since_epoch()).count(); }

// Applies `plan` until a wait of `phase` has lasted `after`, then stops, as Ctrl-C would.
ApplyResult ApplyUntil(EngineFixture& f, const Plan& plan, const ExecutorOptions& options, ProgressPhase phase,
                       seconds after) {
  InterruptDuringWait stop(phase, after);
  Executor executor(&f.cloud, f.store.get(), &f.clock, &stop, plan.stack, options);
  stop.executor = &executor;
  return executor.Apply(plan);
}

TEST_CASE("deadline: an order deadline kept in state is not restarted by the next apply") {
  EngineFixture f;
  f.fake.never_deliver = true;
  auto desired = f.Load(ReplicaYaml("reports", 2, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  ExecutorOptions options;
  options.order_deadline = seconds(1800);
  ApplyResult first = ApplyUntil(f, f.MakePlan(desired), options, ProgressPhase::kOrdered, seconds(600));
  CHECK(first.interrupted);
  REQUIRE(first.pending.size() == 1);
  const Operation recorded = first.pending.front();
  CHECK(recorded.phase == Phase::kOrdered);
  CHECK(recorded.waiting_since > 0);
  CHECK(recorded.deadline_at == recorded.waiting_since + 1800);
  CHECK(Unix(f.clock) >= recorded.waiting_since + 600);

  // The process is gone for five minutes; then apply runs again.
  f.clock.Advance(std::chrono::minutes(5));
  Plan again = f.MakePlan(desired);
  REQUIRE(again.changes.size() == 1);
  CHECK(again.changes[0].action == Action::kResume);
  const int64_t resumed_at = Unix(f.clock);
  ApplyResult second = f.Apply(again, options);
  REQUIRE(second.changes.size() == 1);
  CHECK(second.changes[0].outcome == Outcome::kFailed);
  CHECK(second.changes[0].message.find(kOrderDeadlineExceeded) != std::string::npos);
  // It gave up at the deadline the first apply set, not a fresh 30 minutes after resuming.
  CHECK(Unix(f.clock) >= recorded.deadline_at);
  CHECK(Unix(f.clock) <= recorded.deadline_at + 31);
  CHECK(Unix(f.clock) - resumed_at < 1800 - 600);
  Operation op = *f.store->GetOperation(recorded.id);
  CHECK(op.deadline_at == recorded.deadline_at);
  CHECK(op.error_code == kOrderDeadlineExceeded);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
}

TEST_CASE("deadline: a running deadline kept in state is not restarted by the next apply") {
  EngineFixture f;
  f.fake.stuck_initing = true;
  auto desired = f.Load(ReplicaYaml("reports", 1));
  ExecutorOptions options;
  options.running_deadline = seconds(1200);
  ApplyResult first = ApplyUntil(f, f.MakePlan(desired), options, ProgressPhase::kDelivered, seconds(600));
  REQUIRE(first.pending.size() == 1);
  const Operation recorded = first.pending.front();
  CHECK(recorded.phase == Phase::kDelivered);
  CHECK(recorded.deadline_at == recorded.waiting_since + 1200);

  f.clock.Advance(std::chrono::minutes(5));
  ApplyResult second = f.Apply(f.MakePlan(desired), options);
  REQUIRE(second.changes.size() == 1);
  CHECK(second.changes[0].outcome == Outcome::kFailed);
  CHECK(second.changes[0].message.find(kRunningDeadlineExceeded) != std::string::npos);
  CHECK(Unix(f.clock) >= recorded.deadline_at);
  CHECK(Unix(f.clock) <= recorded.deadline_at + 31);
  // Delivered, so kept: not waited on again and not bought again.
  Plan after = f.MakePlan(desired);
  CHECK_FALSE(after.HasChanges());
  CHECK(after.failures.size() == 1);
  CHECK(f.store->Instances()->size() == 1);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
}

TEST_CASE("deadline: a purchase recorded before deadlines were kept gets its deadline from the apply that follows it") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 1, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  // As a schema 5 state holds it: ordered, with a deal the cloud never delivers, and no deadline.
  Operation op = RecordedPurchase(desired, "reports", "op-fromschema5", 1);
  op.phase = Phase::kOrdered;
  op.settled = 0;
  op.deal_names = {"deal-that-never-lists"};
  REQUIRE(f.store->PutOperation(op, "ordered").ok());
  ExecutorOptions options;
  options.order_deadline = seconds(300);
  const int64_t resumed_at = Unix(f.clock);
  ApplyResult r = f.Apply(f.MakePlan(desired), options);
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  Operation after = *f.store->GetOperation(op.id);
  CHECK(after.waiting_since == resumed_at);
  CHECK(after.deadline_at == resumed_at + 300);
  CHECK(after.error_code == kOrderDeadlineExceeded);
  CHECK(after.error.find("deal-that-never-lists") != std::string::npos);
  bool announced = false;
  std::vector<Event> events = *f.store->Events(op.id);
  for (const Event& e : events) announced = announced || e.detail.find("waiting until ") == 0;
  CHECK(announced);
}

TEST_CASE("deadline: the project file's deadlines reach the executor and it keeps to them") {
  EngineFixture f;
  specs::DesiredState configured = f.Load(ReplicaYaml("reports", 1));
  CHECK(ExecutorOptionsFor(configured.project).order_deadline == seconds(1800));
  CHECK(ExecutorOptionsFor(configured.project).running_deadline == seconds(3600));
  specs::StackSource source;
  source.dir = ".";
  source.project = specs::StackFile{"reconciler.yaml",
                                    "stack: unit\nprovider:\n  tencentcloud:\n    region: ap-beijing\n"
                                    "    orderDeadline: 45m\n    runningDeadline: 2h\n    purchaseSearchWindow: 8m\n"};
  specs::LoadedStack loaded = specs::LoadStack(source);
  INFO(loaded.RenderDiagnostics());
  REQUIRE(loaded.ok());
  ExecutorOptions options = ExecutorOptionsFor(loaded.desired.project);
  CHECK(options.order_deadline == seconds(2700));
  CHECK(options.running_deadline == seconds(7200));
  CHECK(options.search_window == seconds(480));

  // And the executor keeps to it: an order that never delivers fails 45 minutes in, not 30.
  f.fake.never_deliver = true;
  auto prepaid = f.Load(ReplicaYaml("reports", 1, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  const int64_t start = Unix(f.clock);
  ApplyResult r = f.Apply(f.MakePlan(prepaid), options);
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find("within 45m") != std::string::npos);
  CHECK(Unix(f.clock) - start >= 2700);
  CHECK(Unix(f.clock) - start <= 2700 + 31);
  Operation op = f.store->Operations()->front();
  CHECK(op.deadline_at - op.waiting_since == 2700);
}

TEST_CASE("deadline: a wait is reported when it starts and at growing intervals and not at every poll") {
  EngineFixture f;
  f.fake.never_deliver = true;
  auto desired = f.Load(ReplicaYaml("reports", 1, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  ExecutorOptions options;
  options.order_deadline = seconds(1800);
  f.Apply(f.MakePlan(desired), options);
  std::vector<ProgressEvent::Wait> waits;
  for (const ProgressEvent& e : f.reporter.events()) {
    if (e.wait && e.phase == ProgressPhase::kOrdered) waits.push_back(*e.wait);
  }
  REQUIRE(waits.size() >= 3);
  CHECK(waits.size() <= 12);
  const std::string deal = f.store->Operations()->front().deal_names.front();
  CHECK(waits.front().what == "order " + deal);
  CHECK(waits.front().waited < seconds(2));
  for (size_t i = 0; i < waits.size(); ++i) {
    CAPTURE(i);
    CHECK(waits[i].limit == seconds(1800));
    if (i > 0) CHECK(waits[i].waited > waits[i - 1].waited);
  }
  // Far more polls than reports.
  CHECK(f.fake.Calls("DescribeOrders") > 3 * static_cast<int>(waits.size()));
}

TEST_CASE("deadline: an order that delivers after its deadline is followed to running by the next apply") {
  EngineFixture f;
  f.fake.never_deliver = true;
  auto desired = f.Load(ReplicaYaml("reports", 2, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  ExecutorOptions options;
  options.order_deadline = seconds(120);
  REQUIRE(f.Apply(f.MakePlan(desired), options).changes.at(0).outcome == Outcome::kFailed);
  const Operation failed = f.store->Operations()->front();
  REQUIRE(failed.error_code == kOrderDeadlineExceeded);
  // The cloud delivers late: two instances carrying the purchase's tag, as a create on the
  // international site leaves them.
  for (const char* id : {"pgro-late0001", "pgro-late0002"}) {
    cloud::Instance i;
    i.id = id;
    i.name = id;
    i.region = "ap-beijing";
    i.zone = "ap-beijing-4";
    i.type = "readonly";
    i.master_id = "postgres-prepaid1";
    i.status = "running";
    i.spec_code = "pg.it.small2";
    i.storage_gb = 100;
    i.pay_type = "prepaid";
    i.vpc_id = "vpc-8btfafeo";
    i.subnet_id = "subnet-1i9huswn";
    i.tags = {{cloud::kOperationTag, OperationTagValue("unit", failed.resource_key, failed.id)}};
    f.fake.AddInstance(i);
  }
  Plan plan = f.MakePlan(desired);
  CHECK(plan.failures.empty());
  std::map<Action, int> actions;
  for (const Change& c : plan.changes) ++actions[c.action];
  CHECK(actions[Action::kResume] == 1);
  CHECK(actions[Action::kCreate] == 0);
  ApplyResult r = f.Apply(plan, options);
  INFO(r.changes.front().message);
  CHECK(r.ok());
  Operation done = *f.store->GetOperation(failed.id);
  CHECK(done.phase == Phase::kDone);
  CHECK(done.error_code.empty());
  CHECK(done.instance_ids.size() == 2);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
}

}  // namespace
}  // namespace reconciler::testing
