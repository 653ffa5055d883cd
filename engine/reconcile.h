#pragma once

// One reconcile step for one stack: the unit a daemon drives and `apply` loops over.
//
// ReconcileOnce loads what the stack has recorded, observes the cloud, diffs the stack's
// specs against both (MakePlan), starts what must start and polls what is pending: every
// purchase in flight, of every resource, is followed by one DescribeOrders call per region
// and one instance lookup per 100 instances. It returns promptly, without waiting for any
// instance to run, with each resource's outcome (outcome.h): Done, RequeueAfter(d),
// Retry(status) or Terminal(status).
//
// A plan, once started, is carried out to its end across steps before another is made:
// the executor's progress lives in the StackContext. A step that starts no plan (nothing
// to do) costs one observation.
//
// Stopping is per stack: the std::stop_token given to each step (and the one the stack's
// cloud session was opened with) belongs to this stack alone.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "engine/engine.h"
#include "engine/executor.h"
#include "engine/outcome.h"
#include "engine/plan.h"
#include "engine/reporter.h"
#include "providers/provider.h"
#include "specs/desired_state.h"
#include "state/state_store.h"

namespace reconciler {

// Everything one stack's steps share. The pointers must outlive the context.
struct StackContext {
  cloud::Cloud* cloud = nullptr;
  StateStore* store = nullptr;
  Clock* clock = nullptr;
  Reporter* reporter = nullptr;
  std::string stack_dir;
  const specs::DesiredState* desired = nullptr;  // the specs a step plans from (the caller reloads them)
  PlanOptions plan_options;
  ExecutorOptions executor_options;

  // Set to carry out exactly this plan (apply, after the user confirmed it) instead of
  // making one at the next step.
  std::optional<Plan> plan;
  // false: once the plan given is carried out, steps make no new plan (apply); true: each
  // step after the last plan ended makes a new one (the daemon).
  bool replan = true;

  // The daemon's holds: resource key -> why it must not be acted on now ("paused", "in
  // backoff until ...", "failed: ..."). A plan made by a step blocks every change of a held
  // resource with that reason, so the executor leaves it alone and the step reports it.
  std::map<std::string, std::string> hold;
  // daemon.drift: report. A plan made by a step blocks its drift changes (Change::drift)
  // instead of correcting them.
  bool report_drift = false;

  // Kept between steps.
  std::unique_ptr<Executor> executor;  // the plan being carried out
  bool running = false;                // `plan` has been started and has not ended
};

struct StepResult {
  std::vector<ResourceOutcome> resources;  // every resource the step planned for, in plan order
  std::vector<ChangeResult> changes;       // the plan's changes as they stand
  bool planned = false;                    // this step made (or was given) a plan and started it
  bool finished = true;                    // the plan carried out has ended (or there was none)
  std::chrono::milliseconds requeue_after{0};  // !finished: step again after this
};

// One step. Fails (with nothing sent) only when observing or planning fails; a change's
// failure is its resource's outcome.
Result<StepResult> ReconcileOnce(StackContext& ctx, std::stop_token stop);

// What a change's result means for its resource: kDone -> Done, kPending (in flight) ->
// RequeueAfter(requeue), kSkipped -> Retry, kFailed with the cloud's code -> Terminal and
// without one (a reason of ours that may pass) -> Retry, kBlocked -> Terminal.
StepOutcome OutcomeOf(const ChangeResult& result, std::chrono::milliseconds requeue);

}  // namespace reconciler
