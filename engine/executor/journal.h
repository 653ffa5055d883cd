#pragma once

// What every part of the executor shares: the cloud, the store, the clock and the reporter
// of one stack, and the journal through which each transition is committed and reported.

#include <chrono>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "base/clock.h"
#include "engine/executor.h"
#include "engine/outcome.h"
#include "engine/reporter.h"
#include "providers/provider.h"
#include "state/state_store.h"

namespace reconciler::exec {

using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

struct Context {
  cloud::Cloud* cloud;
  StateStore* store;
  Clock* clock;
  Reporter* reporter;
  std::string stack;
  ExecutorOptions options;
};

// Commits operations and reports progress, so that each line of progress belongs to the
// change that caused it. Thread-safe.
class Journal {
 public:
  explicit Journal(const Context& ctx) : ctx_(ctx) {}

  void Report(const std::string& change, const std::string& resource, ProgressPhase phase,
              const std::string& detail, bool final = false);
  void ReportWait(const std::string& change, const std::string& resource, ProgressPhase phase,
                  ProgressEvent::Wait wait);

  // Commits a transition of `op`. A purchase must never go out without a durable intent, so
  // a failed write stops the operation: returns false, having reported why.
  bool Persist(const Operation& op, const std::string& detail, const std::string& change_id = "");

  // The change an operation belongs to. The first caller that knows says so; later ones
  // (the tracker) look it up.
  std::string ChangeOf(const std::string& op_id, const std::string& change_id = "");

  // Records the instances a purchase of replicas or a serverless instance delivered.
  void RecordInstances(const Operation& op);

 private:
  const Context& ctx_;
  std::mutex mu_;
  std::map<std::string, std::string> change_of_;  // operation id -> change id
};

// The progress phase of a purchase's phase.
ProgressPhase ProgressOf(Phase phase);
// The final progress phase of a change's outcome.
ProgressPhase ProgressOf(Outcome outcome);

// ---------------------------------------------------------------- small text helpers

std::string Join(const std::vector<std::string>& items);
// A failed operation's reason, with the code that ended it when there is one.
std::string Described(const Operation& op);
std::string FormatSeconds(int64_t seconds);
// The cloud's answer to a refused call, without the code (kept apart in error_code).
std::string Refusal(const Status& s);

// A wait is reported when it starts (or resumes after a restart), then after 30 s, 1, 2
// and 5 minutes, then every 5 minutes: a log gets a line per stage, not one per poll.
std::chrono::seconds NextReport(std::chrono::seconds waited);

inline int64_t UnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace reconciler::exec
