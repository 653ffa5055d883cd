// ReconcileOnce driven step by step on a fake clock: no threads (one worker) and no
// sleeps. The test moves time itself, by exactly what each step asked for.

#include "engine/reconcile.h"

#include <doctest/doctest.h>

#include <future>
#include <map>
#include <random>
#include <thread>

#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

StackContext ContextFor(EngineFixture& f, const specs::DesiredState& desired) {
  StackContext ctx;
  ctx.cloud = &f.cloud;
  ctx.store = f.store.get();
  ctx.clock = &f.clock;
  ctx.reporter = &f.reporter;
  ctx.stack_dir = f.dir.path().string();
  ctx.desired = &desired;
  ctx.executor_options.workers = 1;  // everything on the test's own thread
  ctx.executor_options.jitter_seed = 7;
  return ctx;
}

// Steps `ctx` until its plan has ended, moving the fake clock by what each step asked.
Result<StepResult> RunToEnd(FakeClock& clock, StackContext& ctx, Result<StepResult> r) {
  for (int steps = 0; r.ok() && !r->finished && steps < 1000; ++steps) {
    clock.Advance(r->requeue_after);
    r = ReconcileOnce(ctx, {});
  }
  return r;
}

const ResourceOutcome* Find(const StepResult& r, const std::string& resource) {
  for (const ResourceOutcome& o : r.resources) {
    if (o.resource == resource) return &o;
  }
  return nullptr;
}

TEST_CASE("reconcile step: purchases go out at once, the step returns without waiting, and one DescribeOrders "
          "per step follows every pending deal") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 8, "  chargeType: PREPAID\n", "postgres-prepaid1") + "---\n" +
                        ReplicaYaml("audit", 3, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  StackContext ctx = ContextFor(f, desired);
  const auto start = f.clock.Now();

  Result<StepResult> first = ReconcileOnce(ctx, {});
  REQUIRE(first.ok());
  CHECK(first->planned);
  CHECK_FALSE(first->finished);
  CHECK(f.clock.Now() == start);       // the step did not wait ...
  CHECK(f.clock.slept() == milliseconds(0));
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 3);  // ... yet every purchase went out: 6 + 2, and 3
  for (const char* r : {"ReadOnlyInstance/reports", "ReadOnlyInstance/audit"}) {
    const ResourceOutcome* o = Find(*first, r);
    REQUIRE(o != nullptr);
    CHECK(o->outcome.kind() == StepOutcome::kRequeueAfter);
    CHECK(o->outcome.after() > milliseconds(0));
    CHECK(o->outcome.after() <= seconds(30));
  }

  int steps = 1;
  Result<StepResult> last = first;
  while (!last->finished) {
    REQUIRE(steps < 200);
    f.clock.Advance(last->requeue_after);
    const int orders_before = f.fake.Calls("DescribeOrders");
    last = ReconcileOnce(ctx, {});
    REQUIRE(last.ok());
    CHECK(f.fake.Calls("DescribeOrders") - orders_before <= 1);  // all three deals in one call
    ++steps;
  }
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 3);
  CHECK(steps > 3);                             // orders take 10 s to list, instances 20 s to boot ...
  CHECK(f.fake.Calls("DescribeOrders") >= 1);   // ... and the steps between followed them
  CHECK(f.clock.Now() - start >= f.fake.boot_delay);
  CHECK(f.clock.slept() == milliseconds(0));  // only the test moved time
  for (const char* r : {"ReadOnlyInstance/reports", "ReadOnlyInstance/audit"}) {
    const ResourceOutcome* o = Find(*last, r);
    REQUIRE(o != nullptr);
    CHECK(o->outcome.kind() == StepOutcome::kDone);
  }
  for (const cloud::Instance& i : f.fake.Replicas()) CHECK(i.status == "running");
  CHECK(f.fake.Replicas().size() == 11);
  CHECK(f.store->InFlight()->empty());

  // The next step plans afresh and finds nothing to do.
  Result<StepResult> again = ReconcileOnce(ctx, {});
  REQUIRE(again.ok());
  CHECK(again->finished);
  CHECK(again->changes.empty());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 3);
}

TEST_CASE("reconcile step: a throttled create asks to come back after its backoff, and is sent again only then") {
  EngineFixture f;
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kThrottle);
  auto desired = f.Load(ReplicaYaml("reports", 2, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  StackContext ctx = ContextFor(f, desired);
  Result<StepResult> first = ReconcileOnce(ctx, {});
  REQUIRE(first.ok());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 0);  // the throttled call reached nothing
  REQUIRE(first->resources.size() == 1);
  CHECK(first->resources[0].outcome.kind() == StepOutcome::kRequeueAfter);
  CHECK(first->requeue_after <= ctx.executor_options.backoff_min);  // full jitter under the first ceiling
  CHECK(f.clock.slept() == milliseconds(0));

  // Nothing is sent again before the backoff has passed ...
  Result<StepResult> early = ReconcileOnce(ctx, {});
  REQUIRE(early.ok());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 0);
  // ... and once it has, the purchase goes out.
  f.clock.Advance(first->requeue_after);
  REQUIRE(ReconcileOnce(ctx, {}).ok());
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);
}

TEST_CASE("reconcile step: a refusal is terminal for its resource only; the others converge") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("good", 1, "  chargeType: PREPAID\n", "postgres-prepaid1") + "---\n" +
                        ReplicaYaml("bad", 1, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  StackContext ctx = ContextFor(f, desired);
  // The first call that would buy is refused: the plan's DryRun of one resource (which then
  // holds that resource only) or, failing that, its purchase.
  f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kRefuse);
  Result<StepResult> r = RunToEnd(f.clock, ctx, ReconcileOnce(ctx, {}));
  REQUIRE(r.ok());
  REQUIRE(r->finished);
  int terminal = 0, done = 0;
  for (const ResourceOutcome& o : r->resources) {
    if (o.outcome.kind() == StepOutcome::kTerminal) {
      ++terminal;
      const Status& s = o.outcome.status();
      CHECK((s.api_code() == "InvalidParameterValue.BadSpec" ||
             s.message().find("InvalidParameterValue.BadSpec") != std::string::npos));
    }
    done += o.outcome.kind() == StepOutcome::kDone;
  }
  CHECK(terminal == 1);
  CHECK(done == 1);
  CHECK(f.fake.Replicas().size() == 1);
}

TEST_CASE("reconcile step: a refused purchase is Terminal with the cloud's code, a throttle-only failure is Retry") {
  ChangeResult refused{"c1", "ReadOnlyInstance/a", Outcome::kFailed, "refused: not sold", "InvalidParameterValue.BadSpec"};
  CHECK(OutcomeOf(refused, seconds(1)).kind() == StepOutcome::kTerminal);
  CHECK(OutcomeOf(refused, seconds(1)).status().api_code() == "InvalidParameterValue.BadSpec");
  ChangeResult deadline{"c1", "ReadOnlyInstance/a", Outcome::kFailed, "order listed nothing", kOrderDeadlineExceeded};
  CHECK(OutcomeOf(deadline, seconds(1)).kind() == StepOutcome::kTerminal);
  ChangeResult gave_up{"c1", "ReadOnlyInstance/a", Outcome::kFailed, "gave up after 5 attempts", ""};
  CHECK(OutcomeOf(gave_up, seconds(1)).kind() == StepOutcome::kRetry);
  ChangeResult auth{"c1", "ReadOnlyInstance/a", Outcome::kFailed, "no permission", "UnauthorizedOperation"};
  CHECK(OutcomeOf(auth, seconds(1)).kind() == StepOutcome::kRetry);  // credentials may be fixed by the next run
  ChangeResult blocked{"c1", "ReadOnlyInstance/a", Outcome::kBlocked, "rerun with --allow-destroy", ""};
  CHECK(OutcomeOf(blocked, seconds(1)).kind() == StepOutcome::kTerminal);
  ChangeResult skipped{"c2", "ReadOnlyInstance/b", Outcome::kSkipped, "a change it depends on did not finish", ""};
  CHECK(OutcomeOf(skipped, seconds(1)).kind() == StepOutcome::kRetry);
  ChangeResult pending{"c3", "ReadOnlyInstance/c", Outcome::kPending, "in flight", ""};
  CHECK(OutcomeOf(pending, seconds(7)).kind() == StepOutcome::kRequeueAfter);
  CHECK(OutcomeOf(pending, seconds(7)).after() == seconds(7));
}

TEST_CASE("reconcile step: a destroy without allowDestroy is Terminal for that resource; the rest is applied") {
  EngineFixture f;
  auto both = f.Load(ReplicaYaml("keep", 1, "  chargeType: PREPAID\n", "postgres-prepaid1") + "---\n" +
                     ReplicaYaml("drop", 1, "  chargeType: PREPAID\n  deletionPolicy: Delete\n", "postgres-prepaid1"));
  REQUIRE(f.Apply(f.MakePlan(both)).ok());
  auto fewer = f.Load(ReplicaYaml("keep", 2, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  StackContext ctx = ContextFor(f, fewer);
  Result<StepResult> r = RunToEnd(f.clock, ctx, ReconcileOnce(ctx, {}));
  REQUIRE(r.ok());
  REQUIRE(r->finished);
  const ResourceOutcome* drop = Find(*r, "ReadOnlyInstance/drop");
  const ResourceOutcome* keep = Find(*r, "ReadOnlyInstance/keep");
  REQUIRE(drop != nullptr);
  REQUIRE(keep != nullptr);
  CHECK(drop->outcome.kind() == StepOutcome::kTerminal);
  CHECK(drop->outcome.status().message().find("--allow-destroy") != std::string::npos);
  CHECK(keep->outcome.kind() == StepOutcome::kDone);
  CHECK(f.fake.Replicas().size() == 3);  // keep grew to 2; drop's instance is still there
}

TEST_CASE("reconcile step: stopping one stack's token ends its step with the purchase in flight, and leaves "
          "another stack's steps alone") {
  EngineFixture a, b;
  auto desired_a = a.Load(ReplicaYaml("reports", 2, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  auto desired_b = b.Load(ReplicaYaml("reports", 2, "  chargeType: PREPAID\n", "postgres-prepaid1"));
  StackContext ctx_a = ContextFor(a, desired_a);
  StackContext ctx_b = ContextFor(b, desired_b);
  std::stop_source stop_a, stop_b;
  Result<StepResult> ra = ReconcileOnce(ctx_a, stop_a.get_token());
  Result<StepResult> rb = ReconcileOnce(ctx_b, stop_b.get_token());
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  CHECK(a.fake.Calls("CreateReadOnlyDBInstance") == 1);
  CHECK(b.fake.Calls("CreateReadOnlyDBInstance") == 1);

  stop_a.request_stop();
  ra = ReconcileOnce(ctx_a, stop_a.get_token());
  REQUIRE(ra.ok());
  CHECK(ra->finished);
  REQUIRE(ra->changes.size() == 1);
  CHECK(ra->changes[0].outcome == Outcome::kPending);
  CHECK(a.store->InFlight()->size() == 1);  // the next apply resumes it

  while (!rb->finished) {
    b.clock.Advance(rb->requeue_after);
    rb = ReconcileOnce(ctx_b, stop_b.get_token());
    REQUIRE(rb.ok());
  }
  REQUIRE(rb->resources.size() == 1);
  CHECK(rb->resources[0].outcome.kind() == StepOutcome::kDone);
  CHECK(b.fake.Replicas().size() == 2);
  CHECK(b.store->InFlight()->empty());

  // Stack a's next context resumes what it left in flight, and buys nothing more.
  StackContext again = ContextFor(a, desired_a);
  Result<StepResult> resumed = RunToEnd(a.clock, again, ReconcileOnce(again, {}));
  REQUIRE(resumed.ok());
  REQUIRE(resumed->finished);
  CHECK(a.fake.Calls("CreateReadOnlyDBInstance") == 1);
  CHECK(a.fake.Replicas().size() == 2);
}

TEST_CASE("clock: stopping one token wakes only the sleeper that holds it") {
  SystemClock clock;
  std::stop_source first, second;
  auto a = std::async(std::launch::async, [&] { return clock.SleepFor(std::chrono::minutes(5), first.get_token()); });
  auto b = std::async(std::launch::async, [&] { return clock.SleepFor(std::chrono::minutes(5), second.get_token()); });
  first.request_stop();
  REQUIRE(a.wait_for(seconds(10)) == std::future_status::ready);
  CHECK_FALSE(a.get());  // stopped
  CHECK(b.wait_for(milliseconds(0)) == std::future_status::timeout);  // still asleep: only its own stop wakes it
  second.request_stop();
  REQUIRE(b.wait_for(seconds(10)) == std::future_status::ready);
  CHECK_FALSE(b.get());
}

}  // namespace
}  // namespace reconciler::testing

namespace reconciler::testing {
namespace {

// The daemon's way: step after step, each planning afresh once the last plan ended, while
// the cloud loses answers, drops requests, fails after committing and throttles. However
// the steps fall, each resource ends with exactly its count, bought once.
TEST_CASE("reconcile step attack: steps that replan under lost answers and throttles buy each replica once") {
  size_t faulted_events = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    CAPTURE(seed);
    EngineFixture f;
    std::mt19937_64 rng(seed);
    auto desired = f.Load(ReplicaYaml("reports", 7, "  chargeType: PREPAID\n", "postgres-prepaid1") + "---\n" +
                          ReplicaYaml("audit", 2, "  chargeType: PREPAID\n", "postgres-prepaid1") + "---\n" +
                          ReplicaYaml("bi", 4, "", "postgres-abcdef"));
    const Fault faults[] = {Fault::kLoseAnswer, Fault::kDropRequest, Fault::kServerFaultAfterCommit, Fault::kThrottle,
                            Fault::kServerFault, Fault::kNotSent};
    StackContext ctx = ContextFor(f, desired);
    // The faults queue up, each taken by the next call of its action (a DryRun or a create).
    for (int k = 0; k < 8; ++k) f.cloud.Inject("CreateReadOnlyDBInstance", faults[rng() % 6]);
    int converged_steps = 0;
    for (int step = 0; step < 2000 && converged_steps < 2; ++step) {
      if (rng() % 4 == 0) f.cloud.Inject("CreateReadOnlyDBInstance", faults[rng() % 6]);
      if (rng() % 5 == 0) f.cloud.Inject("DescribeOrders", Fault::kServerFault);
      if (rng() % 7 == 0) f.cloud.Inject("DescribeDBInstances", Fault::kServerFault);
      Result<StepResult> r = ReconcileOnce(ctx, {});
      if (!r.ok()) {  // observing failed (the injected fault hit the plan's listing): nothing was sent
        CHECK(r.status().code() == Code::kRetryable);
        f.clock.Advance(std::chrono::milliseconds(60000));
        continue;
      }
      const bool idle = r->finished && r->changes.empty();
      converged_steps = idle ? converged_steps + 1 : 0;
      // Time moves as the step asked, or by a resync interval once a plan has ended.
      f.clock.Advance(r->finished ? std::chrono::milliseconds(60000) : std::max(r->requeue_after, milliseconds(1)));
    }
    CHECK(converged_steps == 2);
    CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 4);  // 6 + 1, 2 and 4: one create per purchase reached the cloud
    faulted_events += f.store->Events()->size();
    std::map<std::string, int> live;
    for (const cloud::Instance& i : f.fake.Replicas()) {
      auto t = i.tags.find(cloud::kResourceTag);
      if (i.status == "running" && t != i.tags.end()) ++live[t->second];
    }
    CHECK(live["ReadOnlyInstance/reports"] == 7);
    CHECK(live["ReadOnlyInstance/audit"] == 2);
    CHECK(live["ReadOnlyInstance/bi"] == 4);
    CHECK(f.fake.Replicas().size() == 13);
    CHECK(f.store->InFlight()->empty());
  }
  // Without faults each seed commits 23 events; the faults made many more (retries, searches).
  CHECK(faulted_events > 12 * 23 + 100);
}

}  // namespace
}  // namespace reconciler::testing

namespace reconciler::testing {
namespace {

TEST_CASE("instance states: every documented DBInstanceStatus word maps to the state the engine reasons with") {
  using S = cloud::InstanceState;
  CHECK(cloud::StateOf("running") == S::kRunning);
  for (const char* w : {"applying", "init", "initing"}) CHECK(cloud::StateOf(w) == S::kStarting);
  CHECK(cloud::StateOf("expanding") == S::kExpanding);
  CHECK(cloud::StateOf("isolating") == S::kIsolating);
  CHECK(cloud::StateOf("isolated") == S::kIsolated);
  for (const char* w : {"offlining", "offline", "recycling", "recycled", "deleting", "deleted"}) {
    CHECK(cloud::StateOf(w) == S::kGoing);
  }
  // Maintenance words, the one with a space, and words the cloud may add are none of the above.
  for (const char* w : {"limited run", "disisolating", "job running", "migrating", "waitSwitch", "restarting",
                        "network changing", "parameter modifying", "Running", ""}) {
    CHECK(cloud::StateOf(w) == S::kOther);
  }
  CHECK(cloud::IsIsolated(S::kIsolating));
  CHECK_FALSE(cloud::IsIsolated(S::kGoing));
  CHECK(cloud::GroupStateOf("ok") == cloud::GroupState::kOk);
  CHECK(cloud::GroupStateOf("deleting") == cloud::GroupState::kDeleting);
  CHECK(cloud::GroupStateOf("modifying") == cloud::GroupState::kOther);
}

}  // namespace
}  // namespace reconciler::testing
