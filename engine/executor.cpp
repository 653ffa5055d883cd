// The scheduler: which change runs when. Changes run in dependency order, as many at once
// as `workers` allows; each is carried by its handler (executor/handlers.h) one call at a
// time, and a step ends when no change can move until time passes or a purchase ends.

#include "engine/executor.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "base/parallel.h"
#include "engine/executor/handlers.h"
#include "engine/executor/journal.h"
#include "engine/executor/order_tracker.h"
#include "engine/executor/purchase.h"
#include "engine/preflight.h"

namespace reconciler {

using exec::ChangeRun;
using exec::Next;
using exec::TimePoint;
using std::chrono::milliseconds;

bool ApplyResult::ok() const {
  if (interrupted || !pending.empty()) return false;
  return std::all_of(changes.begin(), changes.end(), [](const ChangeResult& c) { return c.outcome == Outcome::kDone; });
}

namespace {

// The resources a blocked change of `plan` holds, each with why. The executor checks the
// destroy gate itself rather than trusting the plan's flags.
std::map<std::string, std::string> BlockedResources(const Plan& plan) {
  std::map<std::string, std::string> out;
  for (const Change& c : plan.changes) {
    std::string why;
    if (c.blocked) {
      why = c.blocked_reason;
    } else if (c.destroys && !plan.allow_destroy) {
      why = "this destroys " + (c.instance_ids.empty() ? c.key.ToString() : exec::Join(c.instance_ids)) +
            "; rerun with --allow-destroy to allow it";
    } else {
      continue;
    }
    const std::string key = c.key.ToString();
    if (!out.count(key)) out[key] = c.id + " (" + ActionName(c.action) + ") is blocked: " + why;
  }
  return out;
}

}  // namespace

class Executor::Impl {
 public:
  Impl(cloud::Cloud* cloud, StateStore* store, Clock* clock, Reporter* reporter, std::string stack,
       ExecutorOptions options)
      : ctx_{cloud, store, clock, reporter, std::move(stack), options},
        journal_(ctx_),
        purchaser_(ctx_, &journal_),
        tracker_(ctx_, &journal_, &purchaser_),
        handlers_(ctx_, &journal_, &purchaser_, &tracker_) {}

  void Start(const Plan& plan);
  StepReport Step(std::stop_token stop);
  ApplyResult Results() const;
  Clock* clock() const { return ctx_.clock; }

  std::atomic<bool> interrupted{false};

 private:
  enum class State { kWaiting, kActive, kEnded };  // waiting: for its dependencies (or its first call)
  struct Slot {
    State state = State::kWaiting;
    bool started = false;
    ChangeRun run;
    Next next{Next::kWaitUntil, {}};  // kActive: what it waits for
    ChangeResult result;
  };

  void End(size_t i, Outcome outcome, const std::string& message, const std::string& code = "");
  int DependenciesState(size_t i) const;  // 0 not yet, 1 all done, 2 one did not finish well
  void SkipOrFree(bool stopping);
  bool Runnable(const Slot& s, TimePoint now) const;
  void RunAll(const std::vector<size_t>& which, bool stopping);

  exec::Context ctx_;
  exec::Journal journal_;
  exec::Purchaser purchaser_;
  exec::OrderTracker tracker_;
  exec::Handlers handlers_;

  const Plan* plan_ = nullptr;
  std::map<std::string, size_t> index_;
  std::vector<Slot> slots_;
  bool refused_ = false;  // the state could not be read: nothing was sent
};

void Executor::Impl::Start(const Plan& plan) {
  plan_ = &plan;
  slots_.assign(plan.changes.size(), Slot{});
  index_.clear();
  for (size_t i = 0; i < plan.changes.size(); ++i) {
    index_[plan.changes[i].id] = i;
    slots_[i].run.change = &plan.changes[i];
    slots_[i].result = {plan.changes[i].id, plan.changes[i].key.ToString(), Outcome::kPending, "not started", ""};
  }
  std::set<std::string> seen;
  for (const auto& [id, digest] : plan.observed) seen.insert(id);
  for (const Change& c : plan.changes) seen.insert(c.instance_ids.begin(), c.instance_ids.end());
  purchaser_.SetSeenAtPlan(std::move(seen));
  // The plan's DryRuns stand for this apply's while the plan is young: the cloud they
  // judged has had little time to change.
  const std::optional<int64_t> made = ParseUtcText(plan.created_at);
  const int64_t age = made ? ctx_.clock->NowUnixSeconds() - *made : -1;
  if (made && age >= 0 && age <= ctx_.options.preflight_max_age.count() && ctx_.options.preflight_max_age.count() > 0) {
    purchaser_.SetProvenShapes(ProvenShapes(plan));
  }
  // Groups the state already knows, for replicas that join them. A state that cannot be
  // read stops the apply before anything is sent.
  Result<std::vector<ResourceRecord>> resources = ctx_.store->Resources();
  if (!resources.ok()) {
    refused_ = true;
    for (size_t i = 0; i < slots_.size(); ++i) {
      slots_[i].state = State::kEnded;
      slots_[i].result.outcome = Outcome::kFailed;
      slots_[i].result.message = "nothing was sent: " + resources.status().message();
    }
    return;
  }
  std::map<std::string, std::string> groups;
  for (const ResourceRecord& r : *resources) {
    if (!r.group_id.empty()) groups[r.key] = r.group_id;
  }
  handlers_.SetGroupIds(std::move(groups));
  // A blocked change holds its whole resource: nothing of it is done by halves. A purchase
  // already in flight is still followed: its money has moved.
  const std::map<std::string, std::string> blocked = BlockedResources(plan);
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Change& c = plan.changes[i];
    auto it = blocked.find(c.key.ToString());
    if (it == blocked.end() || (c.action == Action::kResume && !c.blocked)) continue;
    slots_[i].state = State::kEnded;
    slots_[i].result.outcome = Outcome::kBlocked;
    slots_[i].result.message = it->second;
    journal_.Report(c.id, it->first, ProgressPhase::kBlocked, it->second, true);
  }
}

void Executor::Impl::End(size_t i, Outcome outcome, const std::string& message, const std::string& code) {
  Slot& s = slots_[i];
  const Change& c = plan_->changes[i];
  s.state = State::kEnded;
  s.result.outcome = outcome;
  s.result.message = message;
  s.result.code = code;
  journal_.Report(c.id, c.key.ToString(), exec::ProgressOf(outcome), message, true);
}

int Executor::Impl::DependenciesState(size_t i) const {
  for (const std::string& dep : plan_->changes[i].after) {
    auto it = index_.find(dep);
    if (it == index_.end()) continue;
    const Slot& d = slots_[it->second];
    if (d.state != State::kEnded) return 0;
    if (d.result.outcome != Outcome::kDone) return 2;
  }
  return 1;
}

// Skips what can never run (a dependency did not finish, or stopping), and frees what may.
void Executor::Impl::SkipOrFree(bool stopping) {
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.state != State::kWaiting || s.started) continue;
      const int d = DependenciesState(i);
      if (d == 2 || stopping) {
        End(i, Outcome::kSkipped, stopping ? "interrupted before it started" : "a change it depends on did not finish");
        changed = true;
      } else if (d == 1) {
        s.state = State::kActive;
        s.next = {Next::kWaitUntil, {}};  // due at once
      }
    }
  }
}

bool Executor::Impl::Runnable(const Slot& s, TimePoint now) const {
  if (s.state != State::kActive) return false;
  if (s.next.kind == Next::kWaitUntil) return s.next.at <= now;
  for (const std::string& id : s.run.wait_ops) {  // kWaitOps
    std::optional<Operation> op = tracker_.Get(id);
    if (!op || !IsTerminal(op->phase)) return false;
  }
  return true;
}

// Calls each change's handler once, `workers` at a time.
void Executor::Impl::RunAll(const std::vector<size_t>& which, bool stopping) {
  auto call = [&](size_t i) {
    Slot& s = slots_[i];
    const Change& c = plan_->changes[i];
    if (!s.started) {
      s.started = true;
      journal_.Report(c.id, c.key.ToString(), ProgressPhase::kStarted, std::string(ActionName(c.action)));
    }
    s.next = handlers_.Run(s.run, stopping);
  };
  const size_t workers = std::min<size_t>(std::max(1, ctx_.options.workers), which.size());
  ParallelFor(which.size(), workers, [&](size_t k) { call(which[k]); });
  for (size_t i : which) {
    if (slots_[i].next.kind == Next::kFinished) End(i, slots_[i].run.outcome, slots_[i].run.message, slots_[i].run.code);
  }
}

StepReport Executor::Impl::Step(std::stop_token stop) {
  StepReport report;
  if (plan_ == nullptr) {
    report.finished = true;
    return report;
  }
  handlers_.SetStopCheck([this, stop] { return stop.stop_requested() || interrupted.load(); });
  for (;;) {
    const bool stopping = stop.stop_requested() || interrupted.load();
    SkipOrFree(stopping);
    const TimePoint now = ctx_.clock->Now();
    std::vector<size_t> runnable;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == State::kActive && (stopping || Runnable(slots_[i], now))) runnable.push_back(i);
    }
    if (runnable.empty()) {
      if (tracker_.PollIfDue()) continue;  // a round may have ended what changes wait for
      break;
    }
    // The tracker's round (orders, tags, statuses) goes on beside the handlers, so that
    // neither holds up the other: purchases keep going out while bought instances are tagged.
    std::jthread round([this] { tracker_.PollIfDue(); });
    RunAll(runnable, stopping);
  }
  // When to step again: the earliest of each waiting change's time and the tracker's round.
  const TimePoint now = ctx_.clock->Now();
  std::optional<TimePoint> due;
  auto consider = [&](TimePoint t) { due = due ? std::min(*due, t) : t; };
  bool active = false;
  for (const Slot& s : slots_) {
    if (s.state == State::kEnded) continue;
    active = true;
    if (s.state == State::kActive && s.next.kind == Next::kWaitUntil) consider(s.next.at);
  }
  if (tracker_.HasOpen()) consider(tracker_.NextRound());
  report.finished = !active;
  if (active) {
    report.requeue_after =
        due ? std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(*due - now)) : ctx_.options.poll_min;
  }
  return report;
}

ApplyResult Executor::Impl::Results() const {
  ApplyResult result;
  for (const Slot& s : slots_) result.changes.push_back(s.result);
  result.interrupted = interrupted.load();
  if (refused_) return result;
  if (Result<std::vector<Operation>> pending = ctx_.store->InFlight(); pending.ok()) {
    result.pending = std::move(pending).value();
  } else {  // the changes' own outcomes stand; what is in flight cannot be listed
    result.changes.push_back(
        {"", "state", Outcome::kFailed, "cannot list the purchases in flight: " + pending.status().message(), ""});
  }
  return result;
}

Executor::Executor(cloud::Cloud* cloud, StateStore* store, Clock* clock, Reporter* reporter, std::string stack,
                   ExecutorOptions options)
    : impl_(std::make_unique<Impl>(cloud, store, clock, reporter, std::move(stack), options)) {}

Executor::~Executor() = default;

void Executor::Start(const Plan& plan) { impl_->Start(plan); }

StepReport Executor::Step(std::stop_token stop) { return impl_->Step(stop); }

ApplyResult Executor::Results() const { return impl_->Results(); }

ApplyResult Executor::Apply(const Plan& plan, std::stop_token stop) {
  Start(plan);
  // Interrupt() wakes the sleep between steps as a stop of the caller's token does.
  std::stop_source interrupt;
  std::stop_callback forward(stop, [&] { interrupt.request_stop(); });
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_ = &interrupt;
  }
  for (;;) {
    if (impl_->interrupted.load()) interrupt.request_stop();
    StepReport r = Step(interrupt.get_token());
    if (r.finished) break;
    impl_->clock()->SleepFor(std::max(r.requeue_after, milliseconds(1)), interrupt.get_token());
  }
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_ = nullptr;
  }
  ApplyResult result = Results();
  result.interrupted = result.interrupted || interrupt.stop_requested();
  return result;
}

void Executor::Interrupt() {
  impl_->interrupted = true;
  std::lock_guard<std::mutex> lock(watch_mu_);
  if (watch_ != nullptr) watch_->request_stop();
}

bool Executor::interrupted() const { return impl_->interrupted.load(); }

}  // namespace reconciler
