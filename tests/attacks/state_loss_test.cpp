// The state file deleted in the middle of an apply: `reconciler apply` runs as a process,
// and as soon as its first purchase has reached the cloud the test deletes state.db with its
// -wal and -shm. Either the process is then killed, or it runs on, writing into a file that
// no longer has a name. Then `reconciler state rebuild`, and applies until a plan shows no
// changes: not one purchase more than the specs want.
//
// The emulator's listings lag 2 minutes behind every purchase, so the rebuild does not see
// what the lost run bought last; only the hold after a rebuild (purchaseSearchWindow, the
// default 6 minutes, engine.cpp HoldPurchasesAfterRebuild) keeps the next apply from buying
// it again. The first apply after the rebuild is the real binary, which must refuse at
// once; the ones after it run the same engine in process on the emulator's clock, so the
// 6 minutes pass without the test waiting for them.

#include <doctest/doctest.h>
#include <signal.h>

#include <filesystem>

#include "state/sqlite/sqlite_state_store.h"
#include "engine/engine.h"
#include "engine/executor.h"
#include "tests/support/account_audit.h"
#include "tests/support/emulator_rig.h"
#include "tests/support/process.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

// Three resources: 3 and 7 postpaid replicas (7 is two calls), 2 prepaid: four create calls.
const char* kSpecs =
    "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: a}\nspec:\n"
    "  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n  storageGB: 100\n"
    "  count: 3\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n"
    "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: b}\nspec:\n"
    "  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n  storageGB: 100\n"
    "  count: 7\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n"
    "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: p}\nspec:\n"
    "  zone: ap-beijing-4\n  masterInstanceId: postgres-prepaid1\n  specCode: pg.it.small2\n  storageGB: 100\n"
    "  count: 2\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n  chargeType: PREPAID\n";
constexpr int kCreateCalls = 4;

StackWanted Wanted() {
  StackWanted w;
  w.stack = "it";
  w.instances = {{"ReadOnlyInstance/a", 3}, {"ReadOnlyInstance/b", 7}, {"ReadOnlyInstance/p", 2}};
  return w;
}

enum class AfterDelete { kKill, kRunOn };

struct StateLoss {
  StateLoss()
      : rig({[](emu::World& w) { w.catalogue.replica_quota_per_master = 40; }}), initial(InstanceIds(rig.emu)) {
    desired = rig.LoadText(kSpecs);
    rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 120}, {"times", 100000}});
  }

  std::string stack() const { return (rig.dir.path() / "stack").string(); }
  std::string state_db() const { return (rig.dir.path() / "stack" / ".reconciler" / "state.db").string(); }
  std::vector<std::string> Env() const {
    return {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
            "TENCENTCLOUD_ENDPOINT=" + rig.emu.url(), "HOME=/nonexistent", "NO_COLOR=1", "-TENCENTCLOUD_SESSION_TOKEN"};
  }
  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("reconciler"));
    return RunProcess(args, Env(), "", stack());
  }
  int Creates() {
    json c = rig.emu.Calls("CreateReadOnlyDBInstance");
    return c["total"].get<int>() - c["dryRun"].get<int>();
  }

  // Runs apply, deletes the state once the first purchase has reached the cloud, then kills
  // the process or lets it finish (moving the emulated clock, which is manual, until it does).
  ProcessResult ApplyAndLoseTheState(AfterDelete after) {
    Child child({BinaryPath("reconciler"), "apply", "--auto-approve", "--json-progress"}, Env(), stack());
    const Steady::time_point deadline = Steady::now() + std::chrono::seconds(60);
    bool bought = false;
    while (!bought && Steady::now() < deadline && !child.WaitForEnd(Steady::now() + std::chrono::milliseconds(5))) {
      bought = InstanceIds(rig.emu).size() > initial.size();
    }
    REQUIRE_MESSAGE(bought, "the first purchase never reached the emulator");
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(state_db() + suffix);
    REQUIRE_FALSE(fs::exists(state_db()));
    if (after == AfterDelete::kKill) {
      child.Signal(SIGKILL);
    } else {
      while (Steady::now() < deadline && !child.WaitForEnd(Steady::now() + std::chrono::milliseconds(20))) {
        rig.emu.Advance(5);
      }
    }
    return child.Wait();
  }

  // Plans and applies in process on the emulator's clock until a plan shows no changes; a
  // plan that fails or holds blocked changes is made again a minute later.
  bool Converge(StateStore* store, int rounds) {
    for (int applied = 0, refused = 0; refused <= 20;) {
      Result<Plan> plan = MakePlan(&rig.cloud, store, &rig.clock, desired, stack(), {});
      if (plan.ok() && !plan->HasChanges()) return true;
      if (plan.ok()) {
        for (const Change& c : plan->changes) {
          log += std::string("plan: ") + ActionName(c.action) + " " + c.key.ToString() + " count " +
                 std::to_string(c.count) + (c.blocked ? " blocked: " + c.blocked_reason : "") + "\n";
        }
      } else {
        log += "plan failed: " + plan.status().ToString() + "\n";
      }
      if (!plan.ok() || plan->HasErrors()) {
        ++refused;
        rig.clock.SleepFor(std::chrono::seconds(60));  // moves the emulator and the engine's clock
        continue;
      }
      if (applied++ == rounds) return false;
      Executor executor(&rig.cloud, store, &rig.clock, &rig.reporter, plan->stack, {});
      ApplyResult r = executor.Apply(*plan);
      for (const ChangeResult& c : r.changes) {
        log += "apply: " + c.resource + ": " + OutcomeName(c.outcome) + ": " + c.message + "\n";
      }
    }
    return false;
  }

  EmulatorRig rig;
  std::set<std::string> initial;
  specs::DesiredState desired;
  std::string log;
};

void LoseTheStateMidApply(AfterDelete after) {
  StateLoss t;
  ProcessResult first = t.ApplyAndLoseTheState(after);
  t.log += "apply: exit " + std::to_string(first.exit_code) + "\n" + first.err;
  const int bought_before = t.Creates();
  CHECK(bought_before >= 1);

  ProcessResult rebuilt = t.Run({"state", "rebuild"});
  INFO(t.log << rebuilt.out << rebuilt.err);
  REQUIRE(rebuilt.exit_code == 0);
  // The real binary right after the rebuild: whatever it plans to buy is held.
  ProcessResult held = t.Run({"apply", "--auto-approve"});
  t.log += "apply after the rebuild: exit " + std::to_string(held.exit_code) + "\n" + held.out + held.err;
  CHECK(t.Creates() == bought_before);
  if (bought_before < kCreateCalls) {
    CHECK(held.exit_code == 1);
    CHECK(held.out.find("the state was rebuilt") != std::string::npos);
  }

  Result<std::unique_ptr<StateStore>> store = OpenSqliteStateStore(t.state_db(), &t.rig.clock);
  REQUIRE(store.ok());
  CHECK(*(*store)->RebuiltAt() > 0);
  const bool converged = t.Converge(store->get(), 3);
  store->reset();
  t.rig.emu.Advance(7200);
  AuditOptions options;
  options.state_rebuilt = true;
  Audit audit = AuditAccount(t.rig.emu, t.initial, t.state_db(), Wanted(), options);
  INFO(audit.report << t.log);
  CHECK(converged);
  CHECK(t.Creates() == kCreateCalls);  // not one purchase more than the specs want
  CHECK(audit.kept == Wanted().Total());
  CHECK(audit.ok());
}

TEST_CASE("state loss: the state deleted after the first purchase and apply killed then rebuild and apply buy nothing twice") {
  LoseTheStateMidApply(AfterDelete::kKill);
}

TEST_CASE("state loss: the state deleted after the first purchase while apply runs on then rebuild and apply buy nothing twice") {
  LoseTheStateMidApply(AfterDelete::kRunOn);
}

}  // namespace
}  // namespace reconciler::testing
