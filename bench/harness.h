#pragma once

// What every `make bench` scenario shares: figures with their median, min and max, the
// Markdown table and bench/results.json, child processes with their peak RSS, and an
// in-process emulator with its admin counters and faults.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "emulator/world.h"

namespace reconciler::tencentcloud::emulator {
class EmulatorServer;
}

namespace reconciler::bench {

namespace emu = reconciler::tencentcloud::emulator;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d);

struct Options {
  bool quick = false;   // N <= 1,000, under a minute
  std::string bin_dir;  // where `reconciler` is
  std::string json_path;
  std::string reconciler() const { return bin_dir + "/reconciler"; }
};

// One row of the table: a figure at one size and one injected latency.
struct Figure {
  std::string name;
  std::optional<int64_t> n;           // managed instances or resources; none when it has no size
  std::optional<int> latency_ms;      // injected latency; none when no emulator is involved
  double median = 0, min = 0, max = 0;
  std::string unit;
  int runs = 0;      // 0: computed, not measured
  std::string note;
};

class Results {
 public:
  // Rewrites `path` after every figure, with `meta` and "complete": false, so a run that is
  // stopped midway keeps what it measured.
  void SaveAsYouGo(const std::string& path, const nlohmann::json& meta);
  // Records a figure from its runs' values (at least one), and prints it at once.
  void Add(const std::string& name, std::optional<int64_t> n, std::optional<int> latency_ms,
           std::vector<double> values, const std::string& unit, const std::string& note = "");
  // A figure computed rather than measured (runs 0).
  void Computed(const std::string& name, std::optional<int64_t> n, std::optional<int> latency_ms, double value,
                const std::string& unit, const std::string& note);
  std::string Markdown() const;
  // The figure recorded under this name, size and latency, if any.
  const Figure* Find(const std::string& name, std::optional<int64_t> n, std::optional<int> latency_ms) const;
  // Fails with a message on stderr and returns false when the file cannot be written.
  bool WriteJson(const std::string& path, const nlohmann::json& meta) const;

 private:
  void Print(const Figure& f) const;
  std::vector<Figure> figures_;
  std::string save_path_;
  std::unique_ptr<nlohmann::json> save_meta_;
};

// A child process that ran to its end.
struct ChildRun {
  int exit_code = -1;      // -1: killed by a signal or could not start
  double wall_s = 0;
  double max_rss_mb = 0;   // the child's own peak resident set (wait4's ru_maxrss)
  double cpu_s = 0;        // the child's user and system CPU time, all its threads
};

// Forks the process that starts every child; call first in main(), before threads start.
void StartSpawner();
// Runs `argv` with `env` added to this process's environment, stdout and stderr to `log`.
ChildRun RunChild(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& log);

// Fails the bench, with the end of `log`, unless `run` exited `code`.
void ExpectExit(const ChildRun& run, int code, const std::string& what, const std::string& log);

// A fresh directory under /tmp, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Per-action counters of GET /_admin/calls.
struct CallCounts {
  struct Action {
    int64_t total = 0, dry_run = 0, errors = 0, throttled = 0;
  };
  std::vector<std::pair<std::string, Action>> actions;
  Action Of(const std::string& action) const;
  int64_t Total() const;
  int64_t Throttled() const;
  CallCounts Minus(const CallCounts& before) const;
};

// The project's default world (emulator/worlds/default.yaml), with room to buy many replicas.
emu::World DefaultWorld();
// Adds `n` running replicas of postgres-abcdef tagged for stack `stack`, `per_resource` to a
// ReadOnlyInstance resource named r<k>, as `reconciler` names and tags its own purchases: what
// `state rebuild` recovers without buying anything.
void AddManagedReplicas(emu::World* world, const std::string& stack, int64_t n, int64_t per_resource);

// An emulator serving on a free loopback port inside this process.
class Emulator {
 public:
  explicit Emulator(emu::World world);
  ~Emulator();
  int port() const { return port_; }
  std::string url() const;
  CallCounts Calls() const;
  // Clears every fault; then, for ms > 0, delays every call by `ms` (the emulator's latency fault).
  void SetLatency(int ms);
  // Back to the world's state; calls, faults and rate budgets cleared.
  void Reset();

 private:
  std::unique_ptr<emu::EmulatorServer> server_;
  int port_ = 0;
  std::thread serving_;
};

// The environment a `reconciler` child needs for the emulator: its demo credentials.
std::vector<std::string> CredentialsEnv();

// A stack directory: reconciler.yaml naming the emulator, and `specs` as replicas.yaml.
// `site`: the project's provider.tencentcloud.site ("intl", the default, or "china").
void WriteStack(const std::string& dir, const std::string& endpoint, const std::string& specs,
                const std::string& site = "intl");
// `resources` ReadOnlyInstance documents r0, r1, ... of `per_resource` replicas each.
std::string ReplicaSpecs(int64_t resources, int64_t per_resource, const std::string& master,
                         const std::string& charge_type);

[[noreturn]] void Fail(const std::string& message);

double Median(std::vector<double> v);

}  // namespace reconciler::bench
