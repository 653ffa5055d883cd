// The daemon's loop driven by RunOnce on a fake clock: no threads (one worker), no sleeps.
// The test moves time to each due time the loop names.

#include "daemon/loop.h"

#include <doctest/doctest.h>

#include "daemon/metrics.h"
#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using daemon::Condition;

// Specs held in memory, changed by the test.
class MemorySource final : public daemon::SpecSource {
 public:
  explicit MemorySource(std::string yaml, std::string daemon = "") : yaml_(std::move(yaml)), daemon_(std::move(daemon)) {}
  Result<daemon::Snapshot> Load() override {
    ++loads;
    specs::StackSource source;
    source.dir = ".";
    source.project = specs::StackFile{"reconciler.yaml", "stack: unit\nprovider: {tencentcloud: {region: ap-beijing}}\n" +
                                                              (daemon_.empty() ? "" : "daemon: {" + daemon_ + "}\n")};
    source.files.push_back({"specs.yaml", yaml_});
    daemon::Snapshot snap;
    snap.stack = specs::LoadStack(source);
    return snap;
  }
  std::string Describe() const override { return "memory"; }
  std::string yaml_, daemon_;
  int loads = 0;
};

struct LoopRig {
  explicit LoopRig(const std::string& yaml, const std::string& daemon = "") : source(yaml, daemon) {
    deps.source = &source;
    deps.cloud = &f.cloud;
    deps.store = f.store.get();
    deps.clock = &f.clock;
    deps.reporter = &f.reporter;
    deps.stack_dir = f.dir.str();
    deps.metrics = &metrics;
    options.executor_workers = 1;
    options.jitter_seed = 11;
    loop = std::make_unique<daemon::Loop>(deps, options);
  }

  // Runs passes, moving the clock to each due time, until a pass ends its plan (or `max`).
  daemon::PassReport Settle(int max = 400) {
    daemon::PassReport last = loop->RunOnce();
    for (int i = 0; i < max && (!last.ran || last.result == "progressing"); ++i) {
      const auto now = f.clock.Now();
      if (last.next_due > now) f.clock.Advance(std::chrono::duration_cast<milliseconds>(last.next_due - now));
      last = loop->RunOnce();
    }
    return last;
  }

  const daemon::ResourceStatus* Resource(const std::string& key) {
    status = loop->Status();
    for (const daemon::ResourceStatus& r : status.resources) {
      if (r.key == key) return &r;
    }
    return nullptr;
  }

  EngineFixture f;
  MemorySource source;
  daemon::Metrics metrics;
  daemon::LoopDeps deps;
  daemon::LoopOptions options;
  std::unique_ptr<daemon::Loop> loop;
  daemon::StackStatus status;
};

int ReplicasTagged(FakeCloud& fake, const std::string& key, const std::string& value) {
  int n = 0;
  for (const cloud::Instance& i : fake.Replicas()) {
    auto it = i.tags.find(key);
    n += it != i.tags.end() && it->second == value;
  }
  return n;
}

TEST_CASE("daemon loop: the first pass starts at once, follows its purchases on requeues, and then waits for the "
          "interval") {
  LoopRig rig(ReplicaYaml("reports", 3), "interval: 5m");
  daemon::PassReport first = rig.loop->RunOnce();
  CHECK(first.ran);
  CHECK(first.trigger == "start");
  CHECK(first.result == "progressing");
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  CHECK(first.next_due > rig.f.clock.Now());  // a requeue, not a busy loop
  CHECK(first.next_due - rig.f.clock.Now() <= seconds(30));
  const daemon::ResourceStatus* r = rig.Resource("ReadOnlyInstance/reports");
  REQUIRE(r != nullptr);
  CHECK(r->condition == Condition::kProgressing);
  CHECK(r->desired == 3);
  CHECK_FALSE(r->pending_orders.empty());

  daemon::PassReport done = rig.Settle();
  CHECK(done.result == "success");
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 1);  // followed, never bought again
  r = rig.Resource("ReadOnlyInstance/reports");
  REQUIRE(r != nullptr);
  CHECK(r->condition == Condition::kReady);
  CHECK(rig.status.orders_pending == 0);
  CHECK(rig.status.ready);

  // The next pass sees nothing to do; after it, nothing is due until the interval.
  daemon::PassReport idle = rig.Settle();
  CHECK(idle.result == "success");
  r = rig.Resource("ReadOnlyInstance/reports");
  REQUIRE(r != nullptr);
  CHECK(r->observed == 3);
  daemon::PassReport early = rig.loop->RunOnce();
  CHECK_FALSE(early.ran);
  CHECK(early.next_due - rig.f.clock.Now() == std::chrono::minutes(5));
  rig.f.clock.Advance(std::chrono::minutes(5));
  daemon::PassReport resync = rig.loop->RunOnce();
  CHECK(resync.ran);
  CHECK(resync.trigger == "interval");
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  CHECK(rig.metrics.Render().find("reconciler_reconcile_total{result=\"success\"}") != std::string::npos);
}

TEST_CASE("daemon loop: a spec change is debounced, a webhook starts a pass at once") {
  LoopRig rig(ReplicaYaml("reports", 1));
  rig.Settle();
  rig.Settle();
  REQUIRE_FALSE(rig.loop->RunOnce().ran);

  rig.source.yaml_ = ReplicaYaml("reports", 2);
  rig.loop->Wake(daemon::Trigger::kSpecChange, "specs.yaml");
  rig.f.clock.Advance(milliseconds(80));
  CHECK_FALSE(rig.loop->RunOnce().ran);  // within the 100 ms debounce
  rig.loop->Wake(daemon::Trigger::kSpecChange, "specs.yaml");  // a second write pushes it back
  rig.f.clock.Advance(milliseconds(80));
  CHECK_FALSE(rig.loop->RunOnce().ran);  // 160 ms after the first, 80 ms after the last
  rig.f.clock.Advance(milliseconds(20));
  daemon::PassReport pass = rig.loop->RunOnce();
  CHECK(pass.ran);
  CHECK(pass.trigger == "spec change");
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 2);
  rig.Settle();

  rig.loop->Wake(daemon::Trigger::kWebhook, "github");
  daemon::PassReport hooked = rig.loop->RunOnce();
  CHECK(hooked.ran);
  CHECK(hooked.trigger == "webhook github");
}

TEST_CASE("daemon loop: a paused stack observes and sends nothing; resumed, it applies") {
  LoopRig rig(ReplicaYaml("reports", 1));
  rig.Settle();
  rig.Settle();
  REQUIRE(rig.f.store->PutDaemonValue("daemon.paused", "by test: maintenance").ok());
  rig.source.yaml_ = ReplicaYaml("reports", 3);
  rig.loop->Wake(daemon::Trigger::kManual);
  daemon::PassReport paused = rig.Settle();
  CHECK(paused.result == "paused");
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  const daemon::ResourceStatus* r = rig.Resource("ReadOnlyInstance/reports");
  REQUIRE(r != nullptr);
  CHECK(r->condition == Condition::kPaused);
  CHECK(r->waiting.find("maintenance") != std::string::npos);
  CHECK(rig.status.paused);
  CHECK(rig.metrics.Render().find("reconciler_paused 1") != std::string::npos);

  REQUIRE(rig.f.store->PutDaemonValue("daemon.paused", "").ok());
  rig.loop->Wake(daemon::Trigger::kManual);
  daemon::PassReport resumed = rig.Settle();
  CHECK(resumed.result == "success");
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 2);
  CHECK(rig.f.fake.Replicas().size() == 3);
  CHECK_FALSE(rig.loop->Status().paused);
}

TEST_CASE("daemon loop: drift is corrected within one resync, or under drift: report only reported") {
  for (const bool report : {false, true}) {
    CAPTURE(report);
    LoopRig rig(ReplicaYaml("reports", 2, "  tags: {team: data}\n"),
                std::string("interval: 1m") + (report ? ", drift: report" : ""));
    rig.Settle();
    rig.Settle();
    REQUIRE(ReplicasTagged(rig.f.fake, "team", "data") == 2);
    // Behind its back: one instance's tag changes in the cloud.
    const std::string id = rig.f.fake.Replicas().front().id;
    REQUIRE(rig.f.fake.ModifyTags("ap-beijing", id, {{"team", "ops"}}, {}).ok());
    const int modifies = rig.f.fake.Calls("ModifyTags") + rig.f.fake.Calls("ModifyResourceTags");

    rig.f.clock.Advance(std::chrono::minutes(1));
    daemon::PassReport pass = rig.Settle();
    CHECK(pass.trigger == "interval");
    const daemon::ResourceStatus* r = rig.Resource("ReadOnlyInstance/reports");
    REQUIRE(r != nullptr);
    if (report) {
      CHECK(ReplicasTagged(rig.f.fake, "team", "ops") == 1);  // left as it is
      CHECK(rig.f.fake.Calls("ModifyTags") + rig.f.fake.Calls("ModifyResourceTags") == modifies);
      INFO(r->waiting << " / " << r->message);
      CHECK(r->condition == Condition::kDrifted);
      CHECK(r->waiting.find("drift: report") != std::string::npos);
    } else {
      CHECK(ReplicasTagged(rig.f.fake, "team", "data") == 2);  // corrected
      CHECK(r->condition == Condition::kReady);
    }
    CHECK(rig.metrics.Render().find("reconciler_drift_detected_total 1") != std::string::npos);
  }
}

TEST_CASE("daemon loop: a refused purchase holds its resource only; the others converge and nothing is bought again") {
  LoopRig rig(ReplicaYaml("reports", 1) + "---\n" + ReplicaYaml("audit", 1));
  rig.f.cloud.Inject("CreateReadOnlyDBInstance", Fault::kRefuse);
  rig.Settle();
  const int creates = rig.f.fake.Calls("CreateReadOnlyDBInstance");
  REQUIRE(rig.Resource("ReadOnlyInstance/reports") != nullptr);
  const daemon::ResourceStatus reports_now = *rig.Resource("ReadOnlyInstance/reports");
  REQUIRE(rig.Resource("ReadOnlyInstance/audit") != nullptr);
  const daemon::ResourceStatus audit_now = *rig.Resource("ReadOnlyInstance/audit");
  const daemon::ResourceStatus* reports = &reports_now;
  const daemon::ResourceStatus* audit = &audit_now;
  // One of the two was refused; the other converged.
  const daemon::ResourceStatus failed = reports->condition == Condition::kFailed ? *reports : *audit;
  const daemon::ResourceStatus fine = failed.key == reports->key ? *audit : *reports;
  CHECK(failed.condition == Condition::kFailed);
  CHECK_FALSE(failed.last_error_code.empty());
  CHECK(fine.condition != Condition::kFailed);
  const std::string held = failed.key;

  // Passes go on; the refused resource is not tried again.
  for (int i = 0; i < 3; ++i) {
    rig.f.clock.Advance(std::chrono::minutes(1));
    rig.Settle();
  }
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == creates);
  const daemon::ResourceStatus* again = rig.Resource(held);
  REQUIRE(again != nullptr);
  CHECK(again->condition == Condition::kFailed);
  CHECK_FALSE(again->waiting.empty());
  const daemon::ResourceStatus* other_now = rig.Resource(fine.key);
  REQUIRE(other_now != nullptr);
  CHECK(other_now->condition == Condition::kReady);

  // A reload does not buy again either: the failed purchase is in the state, and only the
  // user's `apply --retry-failed` (the remedy the status names) lifts it.
  rig.loop->Wake(daemon::Trigger::kReload);
  rig.Settle();
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == creates);
  const daemon::ResourceStatus* after = rig.Resource(held);
  REQUIRE(after != nullptr);
  CHECK(after->condition == Condition::kFailed);
  CHECK(after->waiting.find("retry-failed") != std::string::npos);
}

TEST_CASE("daemon loop: specs that do not validate are not applied; the last good ones stay in force") {
  LoopRig rig(ReplicaYaml("reports", 1));
  rig.Settle();
  rig.Settle();
  rig.source.yaml_ = ReplicaYaml("reports", 4) + "  notAField: 1\n";
  rig.loop->Wake(daemon::Trigger::kManual);
  daemon::PassReport pass = rig.Settle();
  CHECK(pass.ran);
  daemon::StackStatus s = rig.loop->Status();
  CHECK(s.spec_error.find("notAField") != std::string::npos);
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  CHECK(rig.f.fake.Replicas().size() == 1);
  const daemon::ResourceStatus* r = rig.Resource("ReadOnlyInstance/reports");
  REQUIRE(r != nullptr);
  CHECK(r->condition == Condition::kReady);  // the last good specs, converged

  rig.source.yaml_ = ReplicaYaml("reports", 2);
  rig.loop->Wake(daemon::Trigger::kManual);
  rig.Settle();
  CHECK(rig.loop->Status().spec_error.empty());
  CHECK(rig.f.fake.Replicas().size() == 2);
}

}  // namespace
}  // namespace reconciler::testing

namespace reconciler::testing {
namespace {

TEST_CASE("daemon loop: a spec change that arrives while a plan runs is served as soon as that plan ends") {
  LoopRig rig(ReplicaYaml("reports", 1));
  daemon::PassReport first = rig.loop->RunOnce();
  REQUIRE(first.result == "progressing");
  rig.source.yaml_ = ReplicaYaml("reports", 2);
  rig.loop->Wake(daemon::Trigger::kSpecChange, "specs.yaml");
  rig.loop->Wake(daemon::Trigger::kWebhook, "github");
  const int loads = rig.source.loads;
  daemon::PassReport ended = rig.Settle();  // the first plan, stepped only by its requeues
  CHECK(ended.result == "success");
  CHECK(rig.source.loads == loads);  // the specs were not read in the middle of the plan
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 1);
  daemon::PassReport next = rig.loop->RunOnce();  // due at once, not at the interval
  CHECK(next.ran);
  CHECK((next.trigger == "spec change" || next.trigger == "webhook github"));
  CHECK(rig.f.fake.Calls("CreateReadOnlyDBInstance") == 2);
}

}  // namespace
}  // namespace reconciler::testing
