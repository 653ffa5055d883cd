#include "engine/reconcile.h"

#include <map>

#include "base/retry_policy.h"

namespace reconciler {

StepOutcome OutcomeOf(const ChangeResult& r, std::chrono::milliseconds requeue) {
  switch (r.outcome) {
    case Outcome::kDone: return StepOutcome::Done();
    case Outcome::kPending: return StepOutcome::RequeueAfter(requeue);
    case Outcome::kSkipped: return StepOutcome::Retry(Status(Code::kRetryable, r.message));
    case Outcome::kBlocked: return StepOutcome::Terminal(Status(Code::kPermanent, r.message));
    case Outcome::kFailed:
      if (r.code.empty()) return StepOutcome::Retry(Status(Code::kRetryable, r.message));
      {
        // A code the retry table retries (throttled, a server fault) may pass by itself; so
        // may one about the caller's credentials, which the next run may have fixed.
        const Code code = r.code.rfind("reconciler.", 0) == 0 ? Code::kPermanent : ClassifyCloudError(r.code);
        Status s(code, r.message, r.code);
        if (code == Code::kThrottled || code == Code::kRetryable || code == Code::kNotSent ||
            !HoldsResource(r.code)) {
          return StepOutcome::Retry(std::move(s));
        }
        return StepOutcome::Terminal(std::move(s));
      }
  }
  return StepOutcome::Retry(Status(Code::kInternal, r.message));
}

namespace {

// Each resource's outcome: the worst of its changes' (terminal, then retry, then requeue).
std::vector<ResourceOutcome> ByResource(const std::vector<ChangeResult>& changes, bool finished,
                                        std::chrono::milliseconds requeue) {
  auto rank = [](StepOutcome::Kind k) {
    switch (k) {
      case StepOutcome::kDone: return 0;
      case StepOutcome::kRequeueAfter: return 1;
      case StepOutcome::kRetry: return 2;
      case StepOutcome::kTerminal: return 3;
    }
    return 0;
  };
  std::vector<ResourceOutcome> out;
  std::map<std::string, size_t> at;
  for (const ChangeResult& r : changes) {
    if (r.resource.empty() || r.change_id.empty()) continue;
    // A change not ended yet reads kPending in the executor's results.
    StepOutcome o = !finished && r.outcome == Outcome::kPending ? StepOutcome::RequeueAfter(requeue)
                                                                 : OutcomeOf(r, requeue);
    auto it = at.find(r.resource);
    if (it == at.end()) {
      at[r.resource] = out.size();
      out.push_back({r.resource, o});
    } else if (rank(o.kind()) > rank(out[it->second].outcome.kind())) {
      out[it->second].outcome = o;
    }
  }
  return out;
}

}  // namespace

Result<StepResult> ReconcileOnce(StackContext& ctx, std::stop_token stop) {
  StepResult result;
  if (!ctx.running) {
    if (!ctx.replan && ctx.executor) return result;  // apply: the plan given has been carried out
    if (ctx.replan) {
      if (ctx.desired == nullptr) return Status(Code::kInvalidInput, "no specs to reconcile");
      ctx.executor.reset();  // it points into the plan replaced here
      Result<Plan> made = MakePlan(ctx.cloud, ctx.store, ctx.clock, *ctx.desired, ctx.stack_dir, ctx.plan_options);
      if (!made.ok()) return made.status();
      ctx.plan = std::move(made).value();
      // The daemon's holds and drift mode, then failed preflights: each blocks only its own
      // resource's changes.
      for (Change& c : ctx.plan->changes) {
        if (c.blocked) continue;
        auto held = ctx.hold.find(c.key.ToString());
        if (held != ctx.hold.end()) {
          c.blocked = true;
          c.blocked_reason = held->second;
        } else if (ctx.report_drift && c.drift) {
          c.blocked = true;
          c.blocked_reason = "drift is reported, not corrected (daemon.drift: report)";
        }
      }
      for (Change& c : ctx.plan->changes) {
        if (c.preflight.state != PreflightState::kFailed || c.blocked) continue;
        c.blocked = true;
        c.blocked_reason = "its DryRun was refused" + (c.preflight.code.empty() ? "" : " (" + c.preflight.code + ")") +
                           ": " + c.preflight.message;
      }
    }
    if (!ctx.plan) return Status(Code::kInvalidInput, "no plan to carry out");
    // Held resources (a terminal failure the plan leaves alone) report as terminal.
    for (const Failure& f : ctx.plan->failures) {
      if (f.retrying) continue;
      result.resources.push_back({f.key.ToString(), StepOutcome::Terminal(Status(Code::kPermanent, f.message, f.code))});
    }
    ctx.executor = std::make_unique<Executor>(ctx.cloud, ctx.store, ctx.clock, ctx.reporter, ctx.plan->stack,
                                              ctx.executor_options);
    ctx.executor->Start(*ctx.plan);
    ctx.running = true;
    result.planned = true;
  }
  StepReport report = ctx.executor->Step(stop);
  ApplyResult now = ctx.executor->Results();
  result.changes = now.changes;
  result.finished = report.finished;
  result.requeue_after = report.requeue_after;
  for (ResourceOutcome& r : ByResource(now.changes, report.finished, report.requeue_after)) {
    result.resources.push_back(std::move(r));
  }
  if (report.finished) ctx.running = false;  // the daemon's next step plans afresh
  return result;
}

}  // namespace reconciler
