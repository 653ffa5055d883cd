// The crash harness: `reconciler apply --auto-approve` as a real process against the
// emulator, SIGKILLed at random, seeded moments, and run again (perhaps killed again) until
// one run completes. Then the account, read through the emulator's admin API, must hold
// exactly what the specs want: no duplicate, no instance without a known operation, the
// state file equal to the cloud, and no operation left in flight (tests/support/account_audit.h).
//
// Kill moments come from a seeded PRNG, one of two ways per run:
//   time   uniformly over the measured length of an unkilled apply;
//   event  the k-th progress event of a given phase (started, intent, ordered, delivered,
//          done, searching...), plus 0-20 ms: kills land right after an intent is
//          committed, right after a create went out, right after its answer was recorded.
//
// Honesty: the emulator hides every new instance from listings for kLagSeconds (listingLag,
// "absent" or "untagged"), and the stack's purchaseSearchWindow is kWindowSeconds, longer
// than that lag plus the one second the state's whole-second send time can shave off, with
// two seconds to spare for a loaded machine. The
// emulator processes a request the moment it arrives, and nothing holds requests, so a
// create can take effect no later than the moment its sender died: the window covers every
// way a killed run's purchase can be late. (In the real cloud that bound is the 5 minutes of
// signature validity, hence the product's 6-minute default.) A control case shows the
// harness catches a window that does not cover the lag.
//
// make test runs 3 cases x RECONCILER_CRASH_TRIALS trials (default 10) from fixed seeds;
// RECONCILER_CRASH_SEED sets the first seed. A failure prints its seed and the command that
// reruns that one trial. `make soak` (scripts/soak.sh) runs many more and sums the totals
// each case prints on a line starting "crash-harness totals:".

#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>

#include "tests/support/account_audit.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr double kTimeScale = 0.01;    // orders deliver in 0.3 s, replicas run 0.8 s after that
constexpr int kLagSeconds = 1;         // listings miss (or untag) new instances for this long
constexpr int kWindowSeconds = 4;      // purchaseSearchWindow: the lag, + 1 s the state's whole seconds may shave, + 2 s spare
constexpr int kMaxKillsPerTrial = 3;
constexpr int kMaxCleanRuns = 6;       // unkilled runs a trial may take to converge
constexpr auto kRunDeadline = std::chrono::seconds(120);

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  return end && *end == '\0' ? n : fallback;
}

enum class Shape { kReplicas, kGroupAndServerless, kChina };

struct CrashCase {
  const char* name;  // the doctest case, for the rerun hint
  Shape shape;
  const char* lag_mode;
  uint64_t default_seed;
};

// A stack drawn from the seed: its files and what it must end with.
struct Stack {
  std::string project;
  std::string specs;
  StackWanted wanted;
};

std::string Replica(const std::string& name, int count, const std::string& extra = "",
                    const std::string& master = "postgres-abcdef", const std::string& charge = "POSTPAID_BY_HOUR") {
  return "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name + "}\nspec:\n" +
         "  zone: ap-beijing-4\n  masterInstanceId: " + master + "\n  specCode: pg.it.small2\n  storageGB: 100\n" +
         "  count: " + std::to_string(count) + "\n  chargeType: " + charge + "\n" + extra;
}

std::string Serverless(const std::string& name) {
  return "---\napiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: " + name + "}\n" +
         "spec: {zone: ap-beijing-1, vpcId: vpc-8btfafeo, subnetId: subnet-1bjserv1}\n";
}

Stack DrawStack(Shape shape, std::mt19937_64& rng, int window_seconds) {
  auto count = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Stack s;
  s.wanted.stack = "crash";
  s.project = "stack: crash\nprovider:\n  tencentcloud:\n    region: ap-beijing\n    purchaseSearchWindow: " +
              std::to_string(window_seconds) + "s\n" + (shape == Shape::kChina ? "    site: china\n" : "") +
              "defaults:\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n  tags: {team: data}\n";
  auto add = [&](const std::string& name, int n, const std::string& extra = "",
                 const std::string& master = "postgres-abcdef", const std::string& charge = "POSTPAID_BY_HOUR") {
    s.specs += Replica(name, n, extra, master, charge);
    s.wanted.instances["ReadOnlyInstance/" + name] = n;
  };
  switch (shape) {
    case Shape::kReplicas:
      add("a", count(1, 7));  // 7 is two calls: 6 and 1
      add("b", count(1, 4));
      add("p", count(1, 3), "", "postgres-prepaid1", "PREPAID");  // ids come from DescribeOrders
      break;
    case Shape::kGroupAndServerless:
      s.specs += "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: g}\n"
                 "spec: {masterInstanceId: postgres-abcdef}\n";
      s.wanted.groups["ReadOnlyGroup/g"] = "g";
      add("c", count(1, 4), "  readOnlyGroup: g\n");
      s.wanted.members["ReadOnlyInstance/c"] = "ReadOnlyGroup/g";
      add("d", count(1, 3));
      s.specs += Serverless("s");
      s.wanted.instances["ServerlessInstance/s"] = 1;
      break;
    case Shape::kChina:
      add("a", count(1, 7), "  tags: {purpose: reports}\n");
      add("b", count(1, 3));
      s.specs += Serverless("s");
      s.wanted.instances["ServerlessInstance/s"] = 1;
      break;
  }
  return s;
}

// One emulated account and one stack directory, for one trial.
struct Account {
  explicit Account(Shape shape)
      : emu([shape](emu::World& w) {
          w.catalogue.clock.manual = false;
          w.catalogue.clock.time_scale = kTimeScale;
          w.catalogue.replica_quota_per_master = 100;
          if (shape == Shape::kChina) w.catalogue.site = emu::Site::kChina;
        }),
        initial(InstanceIds(emu)) {}

  void Write(const Stack& s) {
    dir.Write("stack/reconciler.yaml", s.project);
    dir.Write("stack/specs.yaml", s.specs);
  }
  std::vector<std::string> Env() const {
    return {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
            "TENCENTCLOUD_ENDPOINT=" + emu.url(), "HOME=/nonexistent", "NO_COLOR=1", "-TENCENTCLOUD_SESSION_TOKEN"};
  }
  std::string stack() const { return (dir.path() / "stack").string(); }
  std::string state_db() const { return (dir.path() / "stack" / ".reconciler" / "state.db").string(); }
  std::vector<std::string> Args(std::vector<std::string> args) const {
    args.insert(args.begin(), BinaryPath("reconciler"));
    return args;
  }
  ProcessResult Run(std::vector<std::string> args) { return RunProcess(Args(std::move(args)), Env(), "", stack()); }
  int NonDryCreates(const std::string& action = "CreateReadOnlyDBInstance") {
    json c = emu.Calls(action);
    return c["total"].get<int>() - c["dryRun"].get<int>();
  }

  EmulatorFixture emu;
  std::set<std::string> initial;
  TempDir dir{"crash"};
};

// How one run is to die, drawn from the seed.
struct KillPlan {
  enum class Mode { kNone, kTime, kEvent } mode = Mode::kNone;
  milliseconds at{0};     // kTime: after the start
  std::string phase;      // kEvent: the k-th progress event of this phase ...
  int occurrence = 1;
  milliseconds delay{0};  // ... and then this much later
  std::string Describe() const {
    if (mode == Mode::kNone) return "no kill";
    if (mode == Mode::kTime) return "kill at " + std::to_string(at.count()) + " ms";
    return "kill " + std::to_string(delay.count()) + " ms after event #" + std::to_string(occurrence) + " '" + phase + "'";
  }
};

// `rerun`: an earlier run of the trial was killed, so resume and search events can come.
KillPlan DrawKill(std::mt19937_64& rng, milliseconds unkilled, bool rerun) {
  static const std::vector<std::string> kFirst = {"started", "intent", "intent", "ordered", "delivered", "done",
                                                  "complete"};
  static const std::vector<std::string> kRerun = {"started", "intent",   "ordered", "delivered", "done",
                                                  "resuming", "searching", "unknown"};
  const std::vector<std::string>& phases = rerun ? kRerun : kFirst;
  KillPlan k;
  if (std::bernoulli_distribution(0.5)(rng)) {
    k.mode = KillPlan::Mode::kTime;
    k.at = milliseconds(std::uniform_int_distribution<int64_t>(0, unkilled.count())(rng));
  } else {
    k.mode = KillPlan::Mode::kEvent;
    k.phase = phases[std::uniform_int_distribution<size_t>(0, phases.size() - 1)(rng)];
    k.occurrence = std::uniform_int_distribution<int>(1, 3)(rng);
    k.delay = milliseconds(std::uniform_int_distribution<int>(0, 20)(rng));
  }
  return k;
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

struct RunOutcome {
  ProcessResult result;
  bool killed = false;
  bool hung = false;
  milliseconds took{0};
};

// Runs apply once, killing it as `kill` says.
RunOutcome RunApply(Account& account, const KillPlan& kill) {
  RunOutcome out;
  const Clock::time_point start = Clock::now();
  Child child(account.Args({"apply", "--auto-approve", "--json-progress"}), account.Env(), account.stack());
  bool kill_now = false;
  if (kill.mode == KillPlan::Mode::kTime) {
    kill_now = !child.WaitForEnd(start + kill.at);
  } else if (kill.mode == KillPlan::Mode::kEvent) {
    const std::string needle = "\"phase\":\"" + kill.phase + "\"";
    const bool seen = child.WaitForOutput(
        [&](const std::string& out) { return CountOccurrences(out, needle) >= kill.occurrence; }, start + kRunDeadline);
    kill_now = seen && !child.WaitForEnd(Clock::now() + kill.delay);
  }
  if (!kill_now && !child.WaitForEnd(start + kRunDeadline)) {
    out.hung = true;
    kill_now = true;
  }
  if (kill_now) child.Signal(SIGKILL);
  out.result = child.Wait();
  out.took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  out.killed = kill_now && !out.hung && out.result.exit_code == 128 + SIGKILL;
  return out;
}

// The lines of `text` that are not progress events (the plan, the summary), and its last
// `lines` lines.
std::string Summary(const std::string& text, size_t lines);

std::string Tail(const std::string& text, size_t lines) {
  size_t at = text.size();
  for (size_t n = 0; n <= lines; ++n) {
    if (at == 0) return text;
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) return text;
  }
  return text.substr(at + 1);
}

std::string Summary(const std::string& text, size_t lines) {
  std::string plan;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("{\"change\"", 0) != 0 && !line.empty()) plan += line + "\n";
  }
  return plan + "  ...\n" + Tail(text, lines);
}

struct Totals {
  int trials = 0, runs = 0, kills = 0, duplicates = 0, orphans = 0, dangling = 0, mismatches = 0, failed = 0;
  std::string Line(const std::string& name) const {
    std::ostringstream s;
    s << "crash-harness totals: case=\"" << name << "\" trials=" << trials << " runs=" << runs << " kills=" << kills
      << " duplicates=" << duplicates << " orphans=" << orphans << " dangling=" << dangling
      << " mismatches=" << mismatches << " failed=" << failed;
    return s.str();
  }
};

// An unkilled apply of the case's first stack: how long an apply lives, and proof the
// stack converges at all.
milliseconds Calibrate(const CrashCase& cc, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Account account(cc.shape);
  account.emu.AddFault({{"type", "listingLag"}, {"seconds", kLagSeconds}, {"mode", cc.lag_mode}, {"times", -1}});
  Stack stack = DrawStack(cc.shape, rng, kWindowSeconds);
  account.Write(stack);
  RunOutcome run = RunApply(account, {});
  INFO(run.result.out << run.result.err);
  REQUIRE(run.result.exit_code == 0);
  Audit audit = AuditAccount(account.emu, account.initial, account.state_db(), stack.wanted);
  INFO(audit.report);
  REQUIRE(audit.ok());
  return run.took;
}

// One trial: a fresh account, a stack drawn from `seed`, applies killed as drawn until one
// completes and a plan shows no changes; then the audit.
void RunTrial(const CrashCase& cc, uint64_t seed, milliseconds unkilled, Totals* totals) {
  std::mt19937_64 rng(seed);
  Account account(cc.shape);
  account.emu.AddFault({{"type", "listingLag"}, {"seconds", kLagSeconds}, {"mode", cc.lag_mode}, {"times", -1}});
  Stack stack = DrawStack(cc.shape, rng, kWindowSeconds);
  account.Write(stack);
  const int max_kills = std::uniform_int_distribution<int>(1, kMaxKillsPerTrial)(rng);
  std::string log = "seed " + std::to_string(seed) + ": stack\n" + stack.specs + "\n";
  int kills = 0, clean_runs = 0, runs = 0;
  bool converged = false, hung = false;
  while (!converged && !hung && clean_runs < kMaxCleanRuns) {
    KillPlan kill;
    if (kills < max_kills) kill = DrawKill(rng, unkilled, kills > 0);
    RunOutcome run = RunApply(account, kill);
    ++runs;
    hung = run.hung;
    log += "run " + std::to_string(runs) + " (" + kill.Describe() + "): exit " + std::to_string(run.result.exit_code) +
           (run.killed ? ", killed" : "") + (run.hung ? ", HUNG" : "") + " after " + std::to_string(run.took.count()) +
           " ms\n" + Summary(run.result.out, 12) + Tail(run.result.err, 8);
    if (run.killed) {
      ++kills;
      continue;
    }
    ++clean_runs;
    if (run.result.exit_code != 0) {
      // A run that stops (a listing that lags behind the state, say) is run again "in a
      // moment", as the product asks: the moment passes on the emulated clock.
      account.emu.Advance(kLagSeconds);
      continue;
    }
    ProcessResult plan = account.Run({"plan", "--detailed-exitcode"});
    converged = plan.exit_code == 0;
    if (!converged) log += "plan after it: exit " + std::to_string(plan.exit_code) + "\n" + Tail(plan.out, 12) + plan.err;
  }
  Audit audit = AuditAccount(account.emu, account.initial, account.state_db(), stack.wanted);
  totals->trials += 1;
  totals->runs += runs;
  totals->kills += kills;
  totals->duplicates += audit.duplicates;
  totals->orphans += audit.orphans;
  totals->dangling += audit.dangling;
  totals->mismatches += audit.mismatches;
  const bool ok = converged && audit.ok();
  totals->failed += !ok;
  if (!ok) {
    FAIL_CHECK("crash trial failed: seed " << seed << std::string(hung ? " (an apply hung)" : "")
                                           << std::string(converged ? "" : " (never converged)") << "\nrerun it alone with: "
                                           << "RECONCILER_CRASH_SEED=" << seed << " RECONCILER_CRASH_TRIALS=1 "
                                           << BinaryPath("reconciler_tests") << " -tc='" << std::string(cc.name) << "'\n"
                                           << audit.report << log);
  }
}

void RunCase(const CrashCase& cc) {
  const int64_t trials = EnvInt("RECONCILER_CRASH_TRIALS", 10);
  const uint64_t base = static_cast<uint64_t>(EnvInt("RECONCILER_CRASH_SEED", static_cast<int64_t>(cc.default_seed)));
  REQUIRE(trials >= 1);
  const milliseconds unkilled = Calibrate(cc, base);
  Totals totals;
  for (int64_t i = 0; i < trials; ++i) RunTrial(cc, base + static_cast<uint64_t>(i), unkilled, &totals);
  std::cout << totals.Line(cc.name) << " unkilled_apply_ms=" << unkilled.count() << " first_seed=" << base
            << std::endl;
  CHECK(totals.trials == trials);
  CHECK(totals.kills >= totals.trials / 2);  // every trial's first run is drawn to die (an event may not come)
  CHECK(totals.duplicates == 0);
  CHECK(totals.orphans == 0);
  CHECK(totals.dangling == 0);
  CHECK(totals.failed == 0);
}

// The most dangerous moment, every time: the cloud has bought (the create committed) and
// holds its answer, and apply dies waiting for it. The next apply must find the purchase by
// its tag once the listing shows it, never buy again. Returns the audit after the rerun.
struct HeldAnswer {
  Audit audit;
  std::string log;
  int creates = 0;       // real CreateReadOnlyDBInstance calls
  bool searched = false;  // the rerun went through "outcome unknown, searching"
};

HeldAnswer KillWhileTheAnswerIsHeld(int lag_seconds, int window_seconds) {
  HeldAnswer h;
  Account account(Shape::kReplicas);
  account.emu.AddFault({{"type", "listingLag"}, {"seconds", lag_seconds}, {"times", -1}});
  account.emu.AddFault({{"type", "lateAnswer"}, {"ms", 600000}, {"action", "CreateReadOnlyDBInstance"},
                        {"scope", "real"}});
  Stack stack;
  stack.wanted.stack = "crash";
  stack.project = "stack: crash\nprovider:\n  tencentcloud:\n    region: ap-beijing\n    purchaseSearchWindow: " +
                  std::to_string(window_seconds) + "s\ndefaults: {vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n";
  stack.specs = Replica("a", 1);
  stack.wanted.instances["ReadOnlyInstance/a"] = 1;
  account.Write(stack);
  {
    Child child(account.Args({"apply", "--auto-approve", "--json-progress"}), account.Env(), account.stack());
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(60);
    bool bought = false;
    // Until the create has committed: the account holds an instance the world did not.
    while (!bought && Clock::now() < deadline && !child.WaitForEnd(Clock::now() + milliseconds(5))) {
      bought = InstanceIds(account.emu).size() > account.initial.size();
    }
    REQUIRE_MESSAGE(bought, "the create never reached the emulator");
    child.Signal(SIGKILL);
    ProcessResult killed = child.Wait();
    h.log += "killed run: exit " + std::to_string(killed.exit_code) + "\n" + Summary(killed.out, 6) + killed.err;
    REQUIRE(killed.exit_code == 128 + SIGKILL);
  }
  bool converged = false;
  for (int run = 0; run < kMaxCleanRuns && !converged; ++run) {
    ProcessResult r = account.Run({"apply", "--auto-approve", "--json-progress"});
    h.searched |= r.out.find("\"phase\":\"searching\"") != std::string::npos;
    h.log += "rerun: exit " + std::to_string(r.exit_code) + "\n" + Summary(r.out, 10) + Tail(r.err, 6);
    if (r.exit_code != 0) {
      account.emu.Advance(1);
      continue;
    }
    converged = account.Run({"plan", "--detailed-exitcode"}).exit_code == 0;
  }
  h.log += converged ? "converged\n" : "never converged\n";
  h.creates = account.NonDryCreates();
  h.audit = AuditAccount(account.emu, account.initial, account.state_db(), stack.wanted);
  return h;
}

TEST_CASE("crash harness: apply killed while the cloud holds a committed create's answer buys once") {
  HeldAnswer h = KillWhileTheAnswerIsHeld(/*lag_seconds=*/2, /*window_seconds=*/5);
  INFO(h.audit.report << h.log);
  CHECK(h.searched);
  CHECK(h.creates == 1);
  CHECK(h.audit.ok());
}

// The harness's own check: the same kill with a window shorter than the listing's lag is
// exactly the double buy the window exists to prevent, and the audit must see it.
TEST_CASE("crash harness: the audit catches the double buy of a search window shorter than the listing lag") {
  HeldAnswer h = KillWhileTheAnswerIsHeld(/*lag_seconds=*/6, /*window_seconds=*/1);
  INFO(h.audit.report << h.log);
  CHECK(h.creates == 2);
  CHECK(h.audit.duplicates >= 1);
  CHECK_FALSE(h.audit.ok());
}

const CrashCase kReplicas{"crash harness: random kills during apply of postpaid and prepaid replicas", Shape::kReplicas,
                          "absent", 1000};
const CrashCase kGroup{"crash harness: random kills during apply of a group with its replicas and a serverless instance",
                       Shape::kGroupAndServerless, "untagged", 2000};
const CrashCase kChina{"crash harness: random kills during apply on the China site", Shape::kChina, "absent", 3000};

TEST_CASE("crash harness: random kills during apply of postpaid and prepaid replicas") { RunCase(kReplicas); }

TEST_CASE("crash harness: random kills during apply of a group with its replicas and a serverless instance") {
  RunCase(kGroup);
}

TEST_CASE("crash harness: random kills during apply on the China site") { RunCase(kChina); }

}  // namespace
}  // namespace reconciler::testing
