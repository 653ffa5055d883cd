#pragma once

// The daemon's loop: level-based reconciliation of one stack, pass after pass.
//
// Each pass is the reconcile step (engine/reconcile.h) under the project's daemon policy:
// creates and updates apply by themselves, destroys only with daemon.allowDestroy, and drift
// is corrected or, under `drift: report`, only reported. A pass starts when
//   - the loop starts;
//   - a spec file changed (Wake(kSpecChange), debounced);
//   - the resync interval passed since the last pass;
//   - a webhook arrived, or the post-receive hook or SIGHUP asked (Wake);
//   - git polling found a new commit (the source's Poll());
//   - a plan in progress asked to be stepped again (its RequeueAfter), or a resource's
//     backoff ended.
//
// Each resource has its own backoff (1 s doubling to 5 min, full jitter) after a failure
// that may pass; a terminal failure holds that resource, and only it, until its spec changes
// (or a reload). Held resources are handed to the step as holds, so their changes are
// blocked with the reason, which /status shows. While the stack is paused (kept in the state
// store, so `reconciler pause` from another process works and a restart keeps it), passes
// observe and report and send nothing.
//
// RunOnce() is a plain function of the injected clock: tests call it with a FakeClock and
// need neither threads nor sleeps. Run() is the thin driver that waits for the next due time
// or a Wake().

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "daemon/status.h"
#include "engine/reconcile.h"
#include "specs/spec_loader.h"

namespace reconciler::daemon {

class Metrics;
class Notifier;
class Logger;

// The specs one pass reads.
struct Snapshot {
  specs::LoadedStack stack;  // may hold errors: then it is not applied
  std::string commit;        // git: the commit read; "" for a directory
  std::string subject;       // git: its first line
  // git: the stack's files by name (the project file included), to check out once applied.
  std::vector<std::pair<std::string, std::string>> files;
};

// Where the specs come from: a directory, or a git branch (daemon/sources.h).
class SpecSource {
 public:
  virtual ~SpecSource() = default;
  // The newest specs. Fails only when they cannot be read at all (a remote unreachable);
  // specs that do not validate come back with their diagnostics.
  virtual Result<Snapshot> Load() = 0;
  // A cheap look for something new: git's head commit id. "" for a source without one.
  virtual Result<std::string> Poll() { return std::string(); }
  virtual bool Polls() const { return false; }  // Poll() has something to say
  // The snapshot a pass is applying, once it validated (git keeps its checkout and commit).
  virtual void Applied(const Snapshot&) {}
  // The specs last applied, when the newest do not validate and nothing is in force yet
  // (git: the checkout of the last good commit, after a restart).
  virtual std::optional<Snapshot> LastGood() { return std::nullopt; }
  virtual std::string Describe() const = 0;
};

enum class Trigger { kStart, kInterval, kSpecChange, kWebhook, kGitCommit, kRequeue, kBackoff, kReload, kManual };
const char* TriggerName(Trigger t);  // "start", "interval", "spec change", ...

struct LoopOptions {
  std::chrono::milliseconds interval{0};  // 0: the project's daemon.interval
  std::chrono::milliseconds poll{0};      // git polling; 0: the project's daemon.gitPoll
  std::chrono::milliseconds debounce{100};
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{300000};
  uint64_t jitter_seed = 0;  // 0: random
  int executor_workers = 0;  // 0: the project's; tests use 1 (no threads)
  bool insecure_endpoint = false;
};

// What the loop works with; every pointer outlives the loop. Metrics, notifier and log may
// be null.
struct LoopDeps {
  SpecSource* source = nullptr;
  cloud::Cloud* cloud = nullptr;
  StateStore* store = nullptr;
  Clock* clock = nullptr;
  Reporter* reporter = nullptr;
  std::string stack_dir;  // where the state's relative paths start
  Metrics* metrics = nullptr;
  Notifier* notifier = nullptr;
  Logger* log = nullptr;
};

struct PassReport {
  bool ran = false;
  std::string trigger;  // what started it
  std::string result;   // "success", "progressing", "error", "invalid", "paused"
  std::optional<StepResult> step;
  std::chrono::system_clock::time_point next_due;  // when RunOnce next has work
};

class Loop {
 public:
  Loop(LoopDeps deps, LoopOptions options);
  ~Loop();

  // Thread-safe. Asks for a pass: at once, or after the debounce for kSpecChange.
  void Wake(Trigger trigger, const std::string& detail = "");

  // Makes one pass if one is due at the clock's now, else returns at once with `ran` false.
  PassReport RunOnce(std::stop_token stop = {});

  // Runs passes until `stop`, waiting for the next due time or a Wake() in between.
  void Run(std::stop_token stop);

  // Thread-safe snapshots.
  StackStatus Status() const;
  bool Alive() const;  // the last pass, or the wait, is not overdue by more than 2 intervals

  // The project of the specs in force (the last that validated); nullptr before the first.
  const specs::Project* project() const;

 private:
  struct Backoff {
    int attempts = 0;
    std::chrono::system_clock::time_point until;
    std::string error, code;
  };
  struct Terminal {
    std::string spec_json;  // the spec it failed under: a new spec lets it try again
    std::string error, code;
    int64_t since = 0;
  };

  std::chrono::milliseconds Interval() const;
  std::chrono::milliseconds PollEvery() const;
  std::optional<std::pair<Trigger, std::string>> Due(std::chrono::system_clock::time_point now);
  std::chrono::system_clock::time_point NextDue() const;
  void LoadSpecs(PassReport* report);
  void Hold(std::chrono::system_clock::time_point now, bool paused, const std::string& paused_reason);
  void Absorb(const StepResult& step, std::chrono::system_clock::time_point now);
  void Describe(const StepResult* step, bool paused, const std::string& paused_reason, int64_t now_s);
  void Notify(const StepResult* step, const PassReport& report);
  void Measure(const PassReport& report, double seconds);
  void Log(const std::string& level, const std::string& message,
           std::vector<std::pair<std::string, std::string>> fields = {});

  LoopDeps deps_;
  LoopOptions options_;
  std::mt19937_64 rng_;

  // The specs in force and the step's context.
  std::optional<Snapshot> good_;
  StackContext ctx_;
  std::string plan_trigger_;  // what started the plan in progress

  std::map<std::string, Backoff> backoff_;
  std::map<std::string, Terminal> terminal_;
  std::map<std::string, bool> drifted_;  // resources whose drift is being reported

  // Scheduling; guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  std::vector<std::pair<Trigger, std::string>> asked_;     // Wake()s not yet served
  std::vector<std::pair<Trigger, std::string>> deferred_;  // asked while a plan ran: served once it ends
  std::optional<std::chrono::system_clock::time_point> spec_change_at_;  // debounce deadline
  std::optional<std::chrono::system_clock::time_point> last_pass_;
  std::optional<std::chrono::system_clock::time_point> requeue_at_;
  std::chrono::system_clock::time_point next_poll_{};
  std::string last_head_;  // the head commit the last poll or load saw
  StackStatus status_;
  std::chrono::steady_clock::time_point heartbeat_;
};

}  // namespace reconciler::daemon
