// Apply throughput and order tracking: the real `reconciler apply --auto-approve` as a child
// process buying replicas from an empty account, with the emulator's documented rate limits
// enforced (CreateReadOnlyDBInstance 100/s) on the real-time clock. The world's lifecycle
// durations are scaled (clock.timeScale of the default world), the rate limits are not.
//
// A watcher polls /_admin/calls every few milliseconds, to time the first and the last create
// and to split the calls made while creating from those made while waiting afterwards.

#include <atomic>
#include <filesystem>
#include <map>
#include <set>

#include "bench/scenarios.h"

namespace reconciler::bench {

namespace {

constexpr int kRuns = 5;
constexpr int64_t kPerResource = 100;
constexpr const char* kCreate = "CreateReadOnlyDBInstance";
constexpr double kTagLimit = 20;  // TagResources, requests per second (the tag service's limit)

// What the watcher saw of one apply.
struct Timeline {
  std::optional<Clock::time_point> first_create, last_create;
  CallCounts at_last_create;  // the counters when the last create had been counted
};

class CallWatcher {
 public:
  explicit CallWatcher(const Emulator& emulator) : emulator_(emulator) {
    thread_ = std::thread([this] { Watch(); });
  }
  ~CallWatcher() { Stop(); }
  Timeline Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return timeline_;
  }

 private:
  void Watch() {
    int64_t creates = 0;
    while (!stop_) {
      const CallCounts now = emulator_.Calls();
      const auto at = Clock::now();
      const CallCounts::Action c = now.Of(kCreate);
      const int64_t real = c.total - c.dry_run;
      if (real > creates) {
        if (!timeline_.first_create) timeline_.first_create = at;
        timeline_.last_create = at;
        timeline_.at_last_create = now;
        creates = real;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the watcher's resolution
    }
  }
  const Emulator& emulator_;
  std::atomic<bool> stop_{false};
  Timeline timeline_;
  std::thread thread_;
};

// One apply from an empty account; returns the counters of its calls and what the watcher saw.
struct ApplyRun {
  ChildRun child;
  Clock::time_point ended;
  CallCounts calls;
  Timeline timeline;
};

ApplyRun ApplyOnce(const Options& options, Emulator* emulator, int latency, const std::string& specs,
                   emu::Site site = emu::Site::kIntl) {
  emulator->Reset();
  emulator->SetLatency(latency);
  TempDir dir("reconciler-bench-apply");
  const std::string stack = dir.path() + "/stack", log = dir.path() + "/out.log";
  std::filesystem::create_directories(stack);
  WriteStack(stack, emulator->url(), specs, emu::SiteName(site));
  ApplyRun run;
  const CallCounts before = emulator->Calls();
  {
    CallWatcher watcher(*emulator);
    run.child = RunChild({options.reconciler(), "apply", stack, "--auto-approve"}, CredentialsEnv(), log);
    run.ended = Clock::now();
    run.timeline = watcher.Stop();
  }
  ExpectExit(run.child, 0, "reconciler apply --auto-approve", log);
  run.calls = emulator->Calls().Minus(before);
  run.timeline.at_last_create = run.timeline.at_last_create.Minus(before);
  return run;
}

// The world the applies buy in: the default one, its lifecycle scaled, limits as documented,
// standing in for `site`. The sites differ in what a create carries: the China site's takes
// every tag, the international site's one, so there the rest go on through TagResources
// (20/s, ten instances a call), which then bounds the apply as well as the creates do.
// The quick run halves the world's durations (the bounds scale with them) to stay under a
// minute.
emu::World ApplyWorld(const Options& options, emu::Site site = emu::Site::kIntl) {
  emu::World world = DefaultWorld();
  world.catalogue.site = site;
  if (options.quick) world.catalogue.clock.time_scale /= 2;
  return world;
}

// Creating to running for one replica, in real seconds.
double LifecycleSeconds(const emu::World& world) {
  const emu::Timings& t = world.catalogue.timings;
  return (t.applying + t.initing) * world.catalogue.clock.time_scale;
}

int CreateLimit(const emu::World& world) {
  auto it = world.catalogue.rate_limits.find(kCreate);
  return it == world.catalogue.rate_limits.end() ? 100 : it->second;  // the API page's limit
}

void ApplyAtSize(const Options& options, int64_t n, emu::Site site, Results* results) {
  const emu::World world = ApplyWorld(options, site);
  const std::string label = std::string("apply (") + emu::SiteName(site) + " site): ";
  const double lifecycle = LifecycleSeconds(world);
  const double limit = CreateLimit(world);
  Emulator emulator(world);
  const std::string specs = ReplicaSpecs(n / kPerResource, kPerResource, "postgres-abcdef", "POSTPAID_BY_HOUR");
  for (int latency : {0, 30}) {
    std::vector<double> wall, bound, ratio, rate, creates, dry_runs, throttled, rss, tag_ratio;
    std::set<std::string> throttled_actions;
    std::map<std::string, std::vector<double>> other_calls;  // by action: what else the apply spent budgets on
    for (int i = 0; i < kRuns; ++i) {
      const ApplyRun run = ApplyOnce(options, &emulator, latency, specs, site);
      const CallCounts::Action c = run.calls.Of(kCreate);
      const double real = static_cast<double>(c.total - c.dry_run);
      const double lower = real / limit + lifecycle;
      wall.push_back(run.child.wall_s);
      bound.push_back(lower);
      ratio.push_back(run.child.wall_s / lower);
      // With the tags the creates could not carry: TagResources calls at its 20/s, overlapped
      // with the creates; the larger of the two, then the lifecycle.
      const double tag_calls = static_cast<double>(run.calls.Of("TagResources").total);
      tag_ratio.push_back(run.child.wall_s / (std::max(real / limit, tag_calls / kTagLimit) + lifecycle));
      const double span = run.timeline.first_create && run.timeline.last_create
                              ? Seconds(*run.timeline.last_create - *run.timeline.first_create)
                              : 0;
      // creates / (first to last create) / limit; a span inside the watcher's 5 ms is no rate.
      rate.push_back(span > 0.005 ? real / span / limit : 0);
      creates.push_back(real);
      dry_runs.push_back(static_cast<double>(c.dry_run));
      throttled.push_back(static_cast<double>(run.calls.Throttled()));
      for (const auto& [action, counts] : run.calls.actions) {
        if (counts.throttled > 0) throttled_actions.insert(action);
      }
      for (const char* action : {"TagResources", "DescribeDBInstances", "DescribeOrders"}) {
        other_calls[action].push_back(static_cast<double>(run.calls.Of(action).total));
      }
      rss.push_back(run.child.max_rss_mb);
    }
    results->Add(label + "wall time", n, latency, wall, "s");
    results->Add(label + "lower bound, creates / 100 per s + lifecycle", n, latency, bound, "s",
                 "lifecycle " + std::to_string(lifecycle).substr(0, 4) + " s");
    results->Add(label + "wall time / lower bound", n, latency, ratio, "x");
    if (site == emu::Site::kIntl) {
      results->Add(label + "wall time / lower bound with tags, max(creates / 100, tag calls / 20) + lifecycle", n,
                   latency, tag_ratio, "x");
    }
    results->Add(label + "create rate / limit (first to last create)", n, latency, rate, "of 100/s");
    results->Add(label + "create calls (not DryRun)", n, latency, creates, "calls");
    results->Add(label + "DryRun create calls", n, latency, dry_runs, "calls");
    std::string on;
    for (const std::string& action : throttled_actions) on += (on.empty() ? "on " : ", ") + action;
    results->Add(label + "RequestLimitExceeded answers", n, latency, throttled, "answers", on);
    results->Add(label + "peak RSS of reconciler", n, latency, rss, "MB");
    for (const auto& [action, calls] : other_calls) {
      results->Add(label + action + " calls", n, latency, calls, "calls");
    }
  }
}

}  // namespace

void BenchApply(const Options& options, Results* results) {
  // Quick: one resource of 100 (17 creates), to stay under a minute. The full run buys 600
  // on both sites, and 10,000 on the China site only: on the international site 10,000
  // take 1,000 TagResources calls, at least 50 s a run, which the 600 already show.
  if (options.quick) {
    ApplyAtSize(options, 100, emu::Site::kIntl, results);
    return;
  }
  ApplyAtSize(options, 600, emu::Site::kIntl, results);
  ApplyAtSize(options, 600, emu::Site::kChina, results);
  ApplyAtSize(options, 10000, emu::Site::kChina, results);
}

// Prepaid replicas, whose orders deliver only after a while (the world's order delivery time,
// scaled): the calls after the last create are the tracking of the orders until they deliver
// and the replicas run.
void BenchOrderTracking(const Options& options, Results* results) {
  const int64_t resources = 2, replicas = options.quick ? 6 : 60;
  Emulator emulator(ApplyWorld(options));
  const std::string specs = ReplicaSpecs(resources, replicas, "postgres-prepaid1", "PREPAID");
  for (int latency : {0, 30}) {
    std::vector<double> orders, listings, waiting;
    for (int i = 0; i < kRuns; ++i) {
      const ApplyRun run = ApplyOnce(options, &emulator, latency, specs);
      const CallCounts::Action c = run.calls.Of(kCreate);
      const double purchases = static_cast<double>(c.total - c.dry_run);
      if (purchases == 0 || !run.timeline.last_create) Fail("the prepaid apply bought nothing");
      const CallCounts& at = run.timeline.at_last_create;
      orders.push_back(static_cast<double>(run.calls.Of("DescribeOrders").total - at.Of("DescribeOrders").total) /
                       purchases);
      listings.push_back(static_cast<double>(run.calls.Of("DescribeDBInstances").total -
                                             at.Of("DescribeDBInstances").total) /
                         purchases);
      waiting.push_back(Seconds(run.ended - *run.timeline.last_create));
    }
    const int64_t n = resources * replicas;
    results->Add("order tracking: DescribeOrders per purchase while waiting", n, latency, orders, "calls/purchase");
    results->Add("order tracking: DescribeDBInstances per purchase while waiting", n, latency, listings,
                 "calls/purchase");
    results->Add("order tracking: last create to apply's end", n, latency, waiting, "s");
  }
}

}  // namespace reconciler::bench
