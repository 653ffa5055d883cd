// `make bench`: the figures issue 12 (and issue 11, the daemon's) name, each the median of its
// runs with min and max, printed as they are measured, then as one Markdown table, and written
// to bench/results.json. A benchmark, not a test: it exits 0 unless something is broken.
//
//   reconciler-bench [--quick] [--json PATH] [--only LIST]
//     --quick     N <= 1,000 and no daemon figures: under a minute (also QUICK=1)
//     --json      where the figures go (default: bench/results.json in the source tree)
//     --only      a comma-separated subset of: plan, apply, orders, specs, emulator, client,
//                 daemon (also RECONCILER_BENCH_ONLY)

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/scenarios.h"

namespace {

using namespace reconciler::bench;
using nlohmann::json;

struct Scenario {
  const char* name;
  std::function<void(const Options&, Results*)> run;
  bool in_quick;
};

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario> all = {
      {"plan", BenchNoopPlan, true},      {"apply", BenchApply, true},      {"orders", BenchOrderTracking, true},
      {"specs", BenchSpecLoad, true},     {"emulator", BenchEmulator, true}, {"client", BenchClient, true},
      {"daemon", BenchDaemon, false},  // its idle window alone is 65 s
  };
  return all;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

std::string UtcNow() {
  char buf[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

bool Selected(const std::string& only, const std::string& name) {
  if (only.empty()) return true;
  std::stringstream list(only);
  for (std::string item; std::getline(list, item, ',');) {
    if (item == name) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  StartSpawner();  // while this process is small: see RunChild
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as it is measured
  Options options;
  const std::string self = argv[0];
  options.bin_dir = self.find('/') == std::string::npos ? "." : self.substr(0, self.rfind('/'));
  options.json_path = std::string(RECONCILER_SOURCE_DIR) + "/bench/results.json";
  const char* quick_env = std::getenv("QUICK");
  options.quick = quick_env != nullptr && std::string(quick_env) == "1";
  const char* only_env = std::getenv("RECONCILER_BENCH_ONLY");
  std::string only = only_env == nullptr ? "" : only_env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      options.quick = true;
    } else if ((arg == "--json" || arg == "--only") && i + 1 < argc) {
      (arg == "--json" ? options.json_path : only) = argv[++i];
    } else {
      std::fprintf(stderr, "usage: reconciler-bench [--quick] [--json PATH] [--only plan,apply,orders,specs,emulator,client,daemon]\n");
      return 3;
    }
  }
  for (std::stringstream list(only); !list.eof();) {
    std::string item;
    std::getline(list, item, ',');
    bool known = only.empty();
    for (const Scenario& s : Scenarios()) known = known || item == s.name;
    if (!known) Fail("--only: unknown scenario '" + item + "'");
  }

  const std::string load_before = LoadAverage();
  const std::string started_at = UtcNow();
  std::printf("reconciler-bench%s; load average %s; %ld cores\n", options.quick ? " (quick)" : "",
              load_before.c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("%-52s %7s %6s %10s [min..max] unit\n", "figure", "N", "lat.", "median");
  Results results;
  results.SaveAsYouGo(options.json_path, {{"startedAt", started_at}, {"quick", options.quick}, {"only", only},
                                          {"loadAverageBefore", load_before}});
  const auto start = Clock::now();
  std::vector<std::string> ran;
  for (const Scenario& s : Scenarios()) {
    if (!Selected(only, s.name) || (options.quick && !s.in_quick && only.empty())) continue;
    s.run(options, &results);
    ran.push_back(s.name);
  }
  const double total = Seconds(Clock::now() - start);

  std::printf("\n%s\n", results.Markdown().c_str());
  const std::string plan = NoopPlanSummary(results);
  if (!plan.empty()) std::printf("No-op plan at a glance:\n\n%s\n", plan.c_str());
  std::printf("Total %.0f s; load average before %s, after %s.\n", total, load_before.c_str(), LoadAverage().c_str());
  const json meta = {{"startedAt", started_at},
                     {"complete", true},
                     {"quick", options.quick},
                     {"scenarios", ran},
                     {"totalSeconds", total},
                     {"cores", sysconf(_SC_NPROCESSORS_ONLN)},
                     {"loadAverageBefore", load_before},
                     {"loadAverageAfter", LoadAverage()}};
  if (!results.WriteJson(options.json_path, meta)) return 1;
  std::printf("Wrote %s\n", options.json_path.c_str());
  return 0;
}
