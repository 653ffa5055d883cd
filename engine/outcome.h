#pragma once

// How a change, and a resource, stand after a reconcile step.

#include <chrono>
#include <string>

#include "base/status.h"

namespace reconciler {

// How one change of a plan ended.
enum class Outcome {
  kDone,
  kFailed,   // nothing more will happen for this change; message says why
  kSkipped,  // a change it depended on did not finish
  kPending,  // interrupted, or not yet able to tell, with work in flight; the next apply resumes it
  kBlocked,  // not attempted: the change, or another change of its resource, is blocked (Change::blocked)
};
const char* OutcomeName(Outcome o);

struct ChangeResult {
  std::string change_id;
  std::string resource;
  Outcome outcome = Outcome::kDone;
  std::string message;
  std::string code;  // kFailed: the cloud's Error.Code (or reconciler.*) that decided it; "" for a reason of ours
};

// What one resource needs after a reconcile step, as a controller would say it:
//   kDone          converged; nothing more to do until something changes;
//   kRequeueAfter  work is in flight (an order, a wait, a backoff): look again after `after`;
//   kRetry         it failed for a reason that may pass (throttled, gave up after attempts
//                  that provably bought nothing, a dependency that did not finish): try again
//                  with backoff;
//   kTerminal      it failed for a reason that will not pass by itself (a refusal with the
//                  cloud's code, a deadline, a blocked destroy): nothing is tried until the
//                  user acts.
class StepOutcome {
 public:
  enum Kind { kDone, kRequeueAfter, kRetry, kTerminal };

  static StepOutcome Done() { return StepOutcome(kDone, {}, Status::Ok()); }
  static StepOutcome RequeueAfter(std::chrono::milliseconds d) { return StepOutcome(kRequeueAfter, d, Status::Ok()); }
  static StepOutcome Retry(Status why) { return StepOutcome(kRetry, {}, std::move(why)); }
  static StepOutcome Terminal(Status why) { return StepOutcome(kTerminal, {}, std::move(why)); }

  Kind kind() const { return kind_; }
  std::chrono::milliseconds after() const { return after_; }  // kRequeueAfter
  const Status& status() const { return status_; }            // kRetry, kTerminal
  std::string ToString() const;

 private:
  StepOutcome(Kind kind, std::chrono::milliseconds after, Status status)
      : kind_(kind), after_(after), status_(std::move(status)) {}
  Kind kind_;
  std::chrono::milliseconds after_;
  Status status_;
};

struct ResourceOutcome {
  std::string resource;  // "ReadOnlyInstance/reports"
  StepOutcome outcome = StepOutcome::Done();
};

}  // namespace reconciler
