// The executor against the in-memory cloud: exactly-once purchases under every fault.

#include "engine/identity.h"
#include "engine/executor.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

size_t Count(const std::vector<cloud::Instance>& all, const std::string& resource) {
  return std::count_if(all.begin(), all.end(), [&](const cloud::Instance& i) {
    auto t = i.tags.find(cloud::kResourceTag);
    return t != i.tags.end() && t->second == resource;
  });
}

bool AnyEvent(StateStore* store, const std::string& needle) {
  std::vector<Event> events = *store->Events();
  for (const Event& e : events) {
    if (e.detail.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("executor: a create buys exactly the count, in calls of at most 6, and waits until running") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 8, "  chargeType: PREPAID\n  periodMonths: 2\n", "postgres-prepaid1"));
  Plan plan = f.MakePlan(desired);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].action == Action::kCreate);
  CHECK(plan.changes[0].count == 8);
  CHECK(plan.changes[0].preflight.state == PreflightState::kPassed);
  ApplyResult r = f.Apply(plan);
  CHECK(r.ok());
  std::vector<cloud::Instance> replicas = f.fake.Replicas();
  CHECK(Count(replicas, "ReadOnlyInstance/reports") == 8);
  for (const cloud::Instance& i : replicas) CHECK(i.status == "running");
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 2);  // 6 + 2
  // Both purchases' deals were polled together: far fewer DescribeOrders calls than deals.
  CHECK(f.fake.Calls("DescribeOrders") < 8);
  CHECK(f.store->InFlight()->empty());
  CHECK(f.store->Instances()->size() == 8);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("executor: every transition of a purchase is committed, intent first") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 1, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  REQUIRE(f.Apply(f.MakePlan(desired)).ok());
  std::vector<std::string> phases;
  std::vector<Event> events = *f.store->Events();
  for (const Event& e : events) phases.push_back(e.phase);
  REQUIRE(phases.size() >= 4);
  CHECK(phases.front() == "intent");
  CHECK(std::find(phases.begin(), phases.end(), "ordered") != phases.end());
  CHECK(std::find(phases.begin(), phases.end(), "delivered") != phases.end());
  CHECK(phases.back() == "done");
  Operation op = f.store->Operations()->front();
  CHECK(op.deal_names.size() == 1);
  CHECK_FALSE(op.bill_id.empty());
  CHECK(op.instance_ids.size() == 1);
}

TEST_CASE("executor: an answer lost after buying is found by tag, not bought again") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kLoseAnswer);
  auto desired = f.Load(ReplicaYaml("reports", 3));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  CHECK(r.ok());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 3);
  CHECK(AnyEvent(f.store.get(), "the lost create did buy"));
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("executor: a request lost before the cloud is sent again only after the search finds nothing") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kDropRequest);
  auto desired = f.Load(ReplicaYaml("reports", 2));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  CHECK(r.ok());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);  // the dropped one never arrived
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 2);
  CHECK(AnyEvent(f.store.get(), "nothing was bought; sending again"));
  // Not before the cloud could no longer accept the lost request: the whole window passed.
  CHECK(f.clock.slept() >= std::chrono::seconds(360));
  Operation op = f.store->Operations()->front();
  CHECK(op.attempts == 2);
  CHECK(op.sent_at > 0);
}

TEST_CASE("executor: throttled and refused connections are retried without a search") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kThrottle, 2);
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kNotSent, 1);
  auto desired = f.Load(ReplicaYaml("reports", 1));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  CHECK(r.ok());
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 1);
  CHECK(AnyEvent(f.store.get(), "nothing was bought; retrying"));
  CHECK_FALSE(AnyEvent(f.store.get(), "searching"));
  CHECK(f.store->Operations()->front().attempts == 4);
}

TEST_CASE("executor: InternalError on a create is an unknown outcome: it searches through the window before sending again") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kServerFault);
  auto desired = f.Load(ReplicaYaml("reports", 2));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  CHECK(r.ok());
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 2);
  CHECK(AnyEvent(f.store.get(), "InternalError"));
  CHECK(AnyEvent(f.store.get(), "searching before any retry"));
  CHECK(AnyEvent(f.store.get(), "nothing was bought; sending again"));
  CHECK(f.clock.slept() >= std::chrono::seconds(360));  // not a quick retry
  CHECK(f.store->Operations()->front().attempts == 2);
}

TEST_CASE("executor: InternalError after a create took effect is found by tag and not bought again") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kServerFaultAfterCommit);
  auto desired = f.Load(ReplicaYaml("reports", 3));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  CHECK(r.ok());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 3);
  CHECK(AnyEvent(f.store.get(), "the lost create did buy"));
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("executor: a refusal fails the change and buys nothing") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kRefuse);
  auto desired = f.Load(ReplicaYaml("reports", 2));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  CHECK_FALSE(r.ok());
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find("InvalidParameterValue.BadSpec") != std::string::npos);
  CHECK(f.fake.Replicas().empty());
  CHECK(f.store->InFlight()->empty());
}

TEST_CASE("executor: a crash after the intent is resumed by searching first") {
  for (bool was_sent : {true, false}) {
    CAPTURE(was_sent);
    EngineFixture f;
    auto desired = f.Load(ReplicaYaml("reports", 2));
    // The previous process recorded its intent, raised the attempt counter and died.
    Operation op = RecordedPurchase(desired, "reports", "op-crashed00001", 2);
    REQUIRE(f.store->PutOperation(op, "intent").ok());
    if (was_sent) {
      // As the product sends it: on the international site the create carries this tag only.
      cloud::ReplicaRequest q = ReplicaRequestFromJson(nlohmann::json::parse(op.request_json));
      q.count = 2;
      q.tags[cloud::kOperationTag] = OperationTagValue("unit", op.resource_key, op.id);
      REQUIRE(f.fake.CreateReplicas(q, cloud::DryRun::kNo).ok());
    }
    Plan plan = f.MakePlan(desired);
    // Nothing new to buy: the purchase in flight covers the count. What it bought, if
    // anything, is the resume's to record: it is not adopted as well.
    std::map<Action, int> actions;
    for (const Change& c : plan.changes) ++actions[c.action];
    CHECK(actions[Action::kResume] == 1);
    CHECK(actions[Action::kCreate] == 0);
    CHECK(actions[Action::kAdopt] == 0);
    CHECK(plan.changes.size() == 1);
    ApplyResult r = f.Apply(plan);
    CHECK(r.ok());
    CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 2);
    CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
    CHECK(AnyEvent(f.store.get(), "searching before any retry"));
    CHECK_FALSE(f.MakePlan(desired).HasChanges());
  }
}

TEST_CASE("executor: an order that never delivers fails at its deadline and is not bought again on its own") {
  EngineFixture f;
  f.fake.never_deliver = true;
  auto desired = f.Load(ReplicaYaml("reports", 2, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  ExecutorOptions options;
  options.order_deadline = std::chrono::seconds(120);
  const auto start = f.clock.Now();
  ApplyResult r = f.Apply(f.MakePlan(desired), options);
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find(kOrderDeadlineExceeded) != std::string::npos);
  CHECK(r.changes[0].message.find("listed no instances within 2m") != std::string::npos);
  // The configured deadline, not the default half hour (polls are at most 30 s apart).
  CHECK(f.clock.Now() - start < std::chrono::seconds(120 + 31));
  CHECK(f.store->InFlight()->empty());
  Operation op = f.store->Operations()->front();
  CHECK(op.phase == Phase::kFailed);
  CHECK(op.error_code == kOrderDeadlineExceeded);
  CHECK(op.error.find(op.deal_names.front()) != std::string::npos);
  // The order may yet deliver: the next plan shows the failure instead of buying again.
  Plan again = f.MakePlan(desired);
  CHECK_FALSE(again.HasChanges());
  REQUIRE(again.failures.size() == 1);
  CHECK(again.failures[0].code == kOrderDeadlineExceeded);
  CHECK(again.failures[0].withheld == 2);
  CHECK(again.HasHeldFailures());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  // Told to (--retry-failed), it buys again.
  PlanOptions retry;
  retry.retry_failed = true;
  Plan retried = f.MakePlan(desired, retry);
  REQUIRE(retried.changes.size() == 1);
  CHECK(retried.changes[0].action == Action::kCreate);
  CHECK(retried.changes[0].count == 2);
  CHECK_FALSE(retried.HasHeldFailures());
  CHECK(f.Apply(retried).ok());
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 2);
  Plan after = f.MakePlan(desired);
  CHECK_FALSE(after.HasChanges());
  CHECK(after.failures.empty());
}

TEST_CASE("executor: an order delivered short is reported, and the next plan buys the rest") {
  EngineFixture f;
  f.fake.deliver_short = true;
  auto desired = f.Load(ReplicaYaml("reports", 3, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  ExecutorOptions options;
  options.order_deadline = std::chrono::seconds(120);
  ApplyResult r = f.Apply(f.MakePlan(desired), options);
  CHECK_FALSE(r.ok());
  CHECK(r.changes[0].message.find("delivered 2 of 3") != std::string::npos);
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 2);
  Plan again = f.MakePlan(desired);
  REQUIRE(again.changes.size() == 1);
  CHECK(again.changes[0].count == 1);
  CHECK(f.Apply(again).ok());
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 3);
}

TEST_CASE("executor: an instance stuck in initing fails at its running deadline and is never bought again") {
  EngineFixture f;
  f.fake.stuck_initing = true;
  auto desired = f.Load(ReplicaYaml("reports", 1));
  ExecutorOptions options;
  options.running_deadline = std::chrono::seconds(300);
  ApplyResult r = f.Apply(f.MakePlan(desired), options);
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.pending.empty());  // not waited on forever
  const std::string id = f.fake.Replicas().front().id;
  CHECK(r.changes[0].message.find(kRunningDeadlineExceeded) != std::string::npos);
  CHECK(r.changes[0].message.find(id + " (initing)") != std::string::npos);
  CHECK(f.store->Instances()->size() == 1);  // delivered, so ours, and kept
  Plan again = f.MakePlan(desired);
  CHECK_FALSE(again.HasChanges());  // no resume, no second purchase
  REQUIRE(again.failures.size() == 1);
  CHECK(again.failures[0].code == kRunningDeadlineExceeded);
  CHECK(again.failures[0].instance_ids == std::vector<std::string>{id});
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  // Once it runs after all, the next plan finishes the purchase instead of showing the failure.
  f.fake.SetStatus(id, "running");
  Plan resolved = f.MakePlan(desired);
  REQUIRE(resolved.changes.size() == 1);
  CHECK(resolved.changes[0].action == Action::kResume);
  CHECK(resolved.failures.empty());
  CHECK(f.Apply(resolved, options).ok());
  CHECK(f.store->Operations()->front().phase == Phase::kDone);
  Plan after = f.MakePlan(desired);
  CHECK_FALSE(after.HasChanges());
  CHECK(after.failures.empty());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
}

// Interrupts the executor the moment a purchase is ordered, as Ctrl-C would.
class InterruptOnOrder : public Reporter {
 public:
  Executor* executor = nullptr;
  void Progress(const ProgressEvent& e) override {
    if (e.phase == ProgressPhase::kOrdered && executor) executor->Interrupt();
  }
  void Note(const std::string&) override {}
};

// Applies `plan`, interrupted the moment its first purchase is ordered.
ApplyResult ApplyInterruptedAtFirstOrder(EngineFixture& f, const Plan& plan) {
  InterruptOnOrder stop;
  Executor executor(&f.cloud, f.store.get(), &f.clock, &stop, plan.stack);
  stop.executor = &executor;
  return executor.Apply(plan);
}

TEST_CASE("executor: an interrupt leaves sent purchases in flight, and the next apply ends with exactly the count") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 8, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  ApplyResult r = ApplyInterruptedAtFirstOrder(f, f.MakePlan(desired));
  CHECK(r.interrupted);
  CHECK_FALSE(r.ok());
  // Both chunks (6 and 2) are begun at once; the interrupt lands when the first is ordered,
  // and the other is sent only if it had left already. Whatever was sent is left in flight.
  const int sent = f.fake.Calls("CreateReadOnlyDBInstance");
  CHECK((sent == 1 || sent == 2));
  CHECK(r.pending.size() == static_cast<size_t>(sent));
  Plan again = f.MakePlan(desired);
  std::map<Action, int> actions;
  for (const Change& c : again.changes) ++actions[c.action];
  CHECK(actions[Action::kResume] == sent);
  CHECK(actions[Action::kCreate] == 2 - sent);
  ApplyResult second = f.Apply(again);
  CHECK(second.ok());
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/reports") == 8);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 2);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("executor: one resource sends eight purchases at once, and an interrupt begins no more") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("big", 60, "  chargeType: PREPAID\n", "postgres-prepaid1"));  // 10 chunks of 6
  ApplyResult r = ApplyInterruptedAtFirstOrder(f, f.MakePlan(desired));
  CHECK(r.interrupted);
  // The first eight are begun together; the interrupt lands when the first is ordered, so
  // those that had not left yet are not sent, and the last two never begin.
  const int sent = f.fake.Calls("CreateReadOnlyDBInstance");
  CHECK(sent >= 1);
  CHECK(sent <= 8);
  CHECK(r.pending.size() == static_cast<size_t>(sent));
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].message.find("interrupted") != std::string::npos);
  Plan again = f.MakePlan(desired);
  std::map<Action, int> actions;
  uint64_t to_buy = 0;
  for (const Change& c : again.changes) {
    ++actions[c.action];
    if (c.action == Action::kCreate) to_buy += c.count;
  }
  CHECK(actions[Action::kResume] == sent);
  CHECK(actions[Action::kCreate] == 1);
  CHECK(to_buy == 60 - 6 * static_cast<uint64_t>(sent));
  CHECK(f.Apply(again).ok());
  CHECK(Count(f.fake.Replicas(), "ReadOnlyInstance/big") == 60);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 10);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

}  // namespace
}  // namespace reconciler::testing
