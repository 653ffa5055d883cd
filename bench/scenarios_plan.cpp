// No-op plan: the real `reconciler plan --detailed-exitcode` as a child process over a stack of
// N/100 ReadOnlyInstance resources of 100 replicas of one master, whose state already knows all
// N. The replicas are placed in the emulator's world as `reconciler` tags its own purchases, and
// `reconciler state rebuild` records them: nothing is bought. The documented rate limits apply.

#include <cstdio>
#include <filesystem>

#include "bench/scenarios.h"

#include <cstdlib>

namespace reconciler::bench {

namespace {

constexpr int kRuns = 5;
constexpr int64_t kPerResource = 100;
// The Terraform provider's refresh of one replica (DescribeDBInstanceAttribute, the read-only
// group, security groups and tags), from its code; computed, not measured.
constexpr int kTerraformCallsPerReplica = 4;

void PlanAtSize(const Options& options, int64_t n, Results* results) {
  emu::World world = DefaultWorld();
  AddManagedReplicas(&world, "bench", n, kPerResource);
  Emulator emulator(std::move(world));
  TempDir dir("reconciler-bench-plan");
  const std::string stack = dir.path() + "/stack", log = dir.path() + "/out.log";
  std::filesystem::create_directories(stack);
  WriteStack(stack, emulator.url(), ReplicaSpecs(n / kPerResource, kPerResource, "postgres-abcdef", "POSTPAID_BY_HOUR"));
  ExpectExit(RunChild({options.reconciler(), "state", "rebuild", "--stack", stack}, CredentialsEnv(), log), 0,
             "reconciler state rebuild", log);

  for (int latency : {0, 30}) {
    emulator.SetLatency(latency);
    std::vector<double> calls, per_instance, wall, cpu, rss, throttled;
    for (int run = 0; run < kRuns; ++run) {
      const CallCounts before = emulator.Calls();
      const ChildRun plan =
          RunChild({options.reconciler(), "plan", stack, "--detailed-exitcode"}, CredentialsEnv(), log);
      ExpectExit(plan, 0, "reconciler plan --detailed-exitcode (the plan must be a no-op)", log);
      const CallCounts made = emulator.Calls().Minus(before);
      calls.push_back(static_cast<double>(made.Total()));
      per_instance.push_back(static_cast<double>(made.Total()) / static_cast<double>(n));
      wall.push_back(plan.wall_s);
      cpu.push_back(plan.cpu_s);
      rss.push_back(plan.max_rss_mb);
      throttled.push_back(static_cast<double>(made.Throttled()));
    }
    results->Add("no-op plan: API calls", n, latency, calls, "calls");
    results->Add("no-op plan: API calls per managed instance", n, latency, per_instance, "calls/instance");
    results->Add("no-op plan: wall time", n, latency, wall, "s");
    // The emulator shares the machine: what the plan itself spends shows apart from its wait.
    results->Add("no-op plan: CPU time of reconciler", n, latency, cpu, "s");
    results->Add("no-op plan: peak RSS of reconciler", n, latency, rss, "MB");
    results->Add("no-op plan: RequestLimitExceeded answers", n, latency, throttled, "answers");
  }
  emulator.SetLatency(0);
  results->Computed("no-op refresh: Terraform provider calls", n, std::nullopt,
                    static_cast<double>(kTerraformCallsPerReplica * n), "calls",
                    "computed, not measured: 4 per replica");
}

}  // namespace

std::string NoopPlanSummary(const Results& results) {
  std::string out =
      "| N | latency | calls | calls/instance | wall time, s | peak RSS, MB | Terraform calls (computed, not measured) |\n"
      "|---:|---:|---:|---:|---:|---:|---:|\n";
  bool any = false;
  for (int64_t n : {100, 1000, 10000, 100000}) {
    const Figure* terraform = results.Find("no-op refresh: Terraform provider calls", n, std::nullopt);
    for (int latency : {0, 30}) {
      const Figure* calls = results.Find("no-op plan: API calls", n, latency);
      const Figure* per = results.Find("no-op plan: API calls per managed instance", n, latency);
      const Figure* wall = results.Find("no-op plan: wall time", n, latency);
      const Figure* rss = results.Find("no-op plan: peak RSS of reconciler", n, latency);
      if (!calls || !per || !wall || !rss || !terraform) continue;
      char row[256];
      std::snprintf(row, sizeof row, "| %lld | %d ms | %.0f | %.4f | %.3f [%.3f..%.3f] | %.1f | %.0f |\n",
                    static_cast<long long>(n), latency, calls->median, per->median, wall->median, wall->min,
                    wall->max, rss->median, terraform->median);
      out += row;
      any = true;
    }
  }
  return any ? out : "";
}

// RECONCILER_BENCH_MAX_N caps the worlds (e.g. 10000 leaves out the 100,000 one, the slowest:
// its ten plans took about 10 minutes while the emulator filtered every instance for every
// page, and take under 2 minutes now that it keeps its listings between changes).
void BenchNoopPlan(const Options& options, Results* results) {
  const std::vector<int64_t> sizes =
      options.quick ? std::vector<int64_t>{100, 1000} : std::vector<int64_t>{100, 1000, 10000, 100000};
  const char* cap = std::getenv("RECONCILER_BENCH_MAX_N");
  const int64_t max_n = cap ? std::atoll(cap) : 0;
  for (int64_t n : sizes) {
    if (max_n <= 0 || n <= max_n) PlanAtSize(options, n, results);
  }
}

}  // namespace reconciler::bench
