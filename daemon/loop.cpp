#include "daemon/loop.h"

#include <algorithm>
#include <set>

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/notifier.h"
#include "engine/engine.h"
#include "engine/requests.h"

namespace reconciler::daemon {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

namespace {

constexpr size_t kMaxEvents = 50;
constexpr const char* kPausedKey = "daemon.paused";

int64_t UnixSeconds(TimePoint t) { return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count(); }

int64_t DesiredCount(const specs::Resource& r) {
  if (const specs::ReadOnlyInstanceSpec* s = r.replica()) return static_cast<int64_t>(s->count);
  return 1;
}

std::string KindOf(const std::string& key) { return key.substr(0, key.find('/')); }

std::string ShortCommit(const std::string& id) { return id.substr(0, 12); }

}  // namespace

const char* TriggerName(Trigger t) {
  switch (t) {
    case Trigger::kStart: return "start";
    case Trigger::kInterval: return "interval";
    case Trigger::kSpecChange: return "spec change";
    case Trigger::kWebhook: return "webhook";
    case Trigger::kGitCommit: return "new commit";
    case Trigger::kRequeue: return "requeue";
    case Trigger::kBackoff: return "backoff ended";
    case Trigger::kReload: return "reload";
    case Trigger::kManual: return "asked";
  }
  return "?";
}

Loop::Loop(LoopDeps deps, LoopOptions options)
    : deps_(std::move(deps)),
      options_(options),
      rng_(options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()),
      heartbeat_(std::chrono::steady_clock::now()) {
  ctx_.cloud = deps_.cloud;
  ctx_.store = deps_.store;
  ctx_.clock = deps_.clock;
  ctx_.reporter = deps_.reporter;
  ctx_.stack_dir = deps_.stack_dir;
  ctx_.replan = true;
  status_.source = deps_.source->Describe();
}

Loop::~Loop() = default;

void Loop::Wake(Trigger trigger, const std::string& detail) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (trigger == Trigger::kSpecChange) {
      spec_change_at_ = deps_.clock->Now() + options_.debounce;  // each change pushes it back
    } else {
      asked_.emplace_back(trigger, detail);
    }
  }
  wake_.notify_all();
}

const specs::Project* Loop::project() const { return good_ ? &good_->stack.desired.project : nullptr; }

milliseconds Loop::Interval() const {
  if (options_.interval > milliseconds(0)) return options_.interval;
  return good_ ? seconds(good_->stack.desired.project.daemon.interval_seconds) : seconds(60);
}

milliseconds Loop::PollEvery() const {
  if (options_.poll > milliseconds(0)) return options_.poll;
  return good_ ? seconds(good_->stack.desired.project.daemon.poll_seconds) : seconds(30);
}

// REQUIRES: mu_ held.
TimePoint Loop::NextDue() const {
  if (!last_pass_ || !asked_.empty() || (!ctx_.running && !deferred_.empty())) return TimePoint::min();
  TimePoint next = *last_pass_ + Interval();
  if (spec_change_at_) next = std::min(next, *spec_change_at_);
  if (requeue_at_) next = std::min(next, *requeue_at_);
  if (!ctx_.running) {
    // Only a backoff that ends after the last pass: one that ended before it (its resource
    // held since, by a pause say) would name a time already past and spin the driver.
    for (const auto& [key, b] : backoff_) {
      if (b.until > *last_pass_) next = std::min(next, b.until);
    }
  }
  if (deps_.source->Polls() && next_poll_ != TimePoint{}) next = std::min(next, next_poll_);
  return next;
}

std::optional<std::pair<Trigger, std::string>> Loop::Due(TimePoint now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!last_pass_) {
    asked_.clear();
    return std::make_pair(Trigger::kStart, std::string());
  }
  if (ctx_.running) {
    // A plan is carried out to its end before the specs are read again: what asks for a
    // pass meanwhile waits for it, and only the plan's own requeue steps it.
    deferred_.insert(deferred_.end(), asked_.begin(), asked_.end());
    asked_.clear();
    if (spec_change_at_ && now >= *spec_change_at_) {
      spec_change_at_.reset();
      deferred_.emplace_back(Trigger::kSpecChange, std::string());
    }
    if (requeue_at_ && now >= *requeue_at_) return std::make_pair(Trigger::kRequeue, std::string());
    return std::nullopt;
  }
  if (!deferred_.empty() || !asked_.empty()) {
    auto first = !deferred_.empty() ? deferred_.front() : asked_.front();
    deferred_.clear();
    asked_.clear();
    return first;
  }
  if (spec_change_at_ && now >= *spec_change_at_) {
    spec_change_at_.reset();
    return std::make_pair(Trigger::kSpecChange, std::string());
  }
  if (requeue_at_ && now >= *requeue_at_) return std::make_pair(Trigger::kRequeue, std::string());
  if (!ctx_.running) {
    for (const auto& [key, b] : backoff_) {
      if (now >= b.until && b.until > *last_pass_) return std::make_pair(Trigger::kBackoff, key);
    }
  }
  if (now >= *last_pass_ + Interval()) return std::make_pair(Trigger::kInterval, std::string());
  return std::nullopt;
}

PassReport Loop::RunOnce(std::stop_token stop) {
  PassReport report;
  TimePoint now = deps_.clock->Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    heartbeat_ = std::chrono::steady_clock::now();
  }

  // Git polling: a new head commit is a reason for a pass.
  bool poll_due = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    poll_due = deps_.source->Polls() && last_pass_ && now >= next_poll_;
  }
  if (poll_due) {
    Result<std::string> head = deps_.source->Poll();
    std::lock_guard<std::mutex> lock(mu_);
    next_poll_ = now + PollEvery();
    if (head.ok() && !head->empty() && *head != last_head_) {
      asked_.emplace_back(Trigger::kGitCommit, ShortCommit(*head));
    } else if (!head.ok()) {
      status_.last_error = head.status().message();
    }
  }

  std::optional<std::pair<Trigger, std::string>> due = Due(now);
  if (!due) {
    std::lock_guard<std::mutex> lock(mu_);
    report.next_due = NextDue();
    return report;
  }
  report.ran = true;
  if (due->first == Trigger::kReload) {  // a reload is the user acting: held resources try again
    terminal_.clear();
    backoff_.clear();
  }
  const std::string name = TriggerName(due->first);
  report.trigger = due->second.empty() ? name : due->second.rfind(name, 0) == 0 ? due->second : name + " " + due->second;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Counted by kind: "webhook github", "spec change", "interval"; a commit or file name is not a kind.
    const bool named = due->first == Trigger::kWebhook || due->first == Trigger::kManual;
    ++status_.passes_by_trigger[named ? report.trigger : TriggerName(due->first)];
  }
  const auto started = std::chrono::steady_clock::now();

  // A plan in progress is stepped without reading the specs again; a new plan starts from
  // the newest specs that validate.
  bool paused = false;
  std::string paused_reason;
  Result<std::string> pause = deps_.store->DaemonValue(kPausedKey);
  if (pause.ok()) {
    paused = !pause->empty();
    paused_reason = *pause;
  }
  if (!ctx_.running) {
    LoadSpecs(&report);
    if (report.result == "error" || (report.result == "invalid" && !good_)) {
      std::lock_guard<std::mutex> lock(mu_);
      last_pass_ = now;
      requeue_at_.reset();
      status_.passes++;
      status_.last_pass_at = UnixSeconds(now);
      status_.last_trigger = report.trigger;
      status_.last_result = report.result;
      report.next_due = NextDue();
      status_.next_pass_at = UnixSeconds(report.next_due);
      Measure(report, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      return report;
    }
    Hold(now, paused, paused_reason);
    plan_trigger_ = report.trigger;
  }

  Result<StepResult> step = ReconcileOnce(ctx_, stop);
  const TimePoint end = deps_.clock->Now();
  if (!step.ok()) {
    report.result = "error";
    Log("error", "pass failed: " + step.status().message(), {{"trigger", report.trigger}});
    std::lock_guard<std::mutex> lock(mu_);
    status_.last_error = step.status().message();
    if (!step.status().api_code().empty()) status_.last_error = step.status().api_code() + ": " + status_.last_error;
  } else {
    report.step = *step;
    Absorb(*step, end);
    report.result = paused ? "paused" : step->finished ? "success" : "progressing";
    if (report.result != "success" && report.result != "paused" && step->finished) report.result = "success";
    std::lock_guard<std::mutex> lock(mu_);
    status_.ready = true;  // the first observation succeeded
    status_.last_error.clear();
  }
  Describe(step.ok() ? &*step : nullptr, paused, paused_reason, UnixSeconds(end));
  Notify(step.ok() ? &*step : nullptr, report);
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_pass_ = end;
    if (!last_head_.empty() || good_) next_poll_ = std::max(next_poll_, end + PollEvery());
    if (step.ok() && !step->finished) requeue_at_ = end + std::max(step->requeue_after, milliseconds(1));
    else requeue_at_.reset();
    status_.passes++;
    status_.last_pass_at = UnixSeconds(end);
    if (report.result != "error") status_.last_success_at = UnixSeconds(end);
    status_.last_trigger = report.trigger;
    status_.last_result = report.result;
    report.next_due = NextDue();
    status_.next_pass_at = UnixSeconds(std::max(report.next_due, end));
  }
  Measure(report, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (report.step && (report.step->planned || report.step->finished)) {
    Log("info", "pass " + report.result,
        {{"trigger", report.trigger}, {"commit", good_ ? good_->commit : ""},
         {"changes", std::to_string(report.step->changes.size())}});
  }
  return report;
}

void Loop::LoadSpecs(PassReport* report) {
  Result<Snapshot> snap = deps_.source->Load();
  if (!snap.ok()) {
    report->result = "error";
    Log("error", "reading the specs failed: " + snap.status().message(), {{"source", status_.source}});
    std::lock_guard<std::mutex> lock(mu_);
    status_.last_error = snap.status().message();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!snap->commit.empty()) last_head_ = snap->commit;
  }
  if (!snap->stack.ok() && !good_) {
    // Nothing in force yet (a restart): the last good specs the source kept stay in force.
    if (std::optional<Snapshot> last = deps_.source->LastGood(); last && last->stack.ok()) {
      const std::string rendered = snap->stack.RenderDiagnostics(false);
      {
        std::lock_guard<std::mutex> lock(mu_);
        status_.rejected_commit = snap->commit;
        status_.rejected_error = rendered;
      }
      snap = std::move(*last);
      report->result = "invalid";
    }
  }
  if (!snap->stack.ok()) {
    report->result = "invalid";
    const std::string rendered = snap->stack.RenderDiagnostics(false);
    Log("error", "the specs do not validate; the last good ones stay in force",
        {{"commit", snap->commit}, {"errors", std::to_string(snap->stack.diags.error_count())}});
    std::lock_guard<std::mutex> lock(mu_);
    if (!snap->commit.empty()) {
      status_.rejected_commit = snap->commit;
      status_.rejected_error = rendered;
    } else {
      status_.spec_error = rendered;
    }
    return;
  }
  // A terminal failure is held until its spec changes: drop the holds whose spec did.
  for (auto it = terminal_.begin(); it != terminal_.end();) {
    const specs::Resource* r = nullptr;
    if (auto key = specs::ParseResourceKey(it->first)) r = snap->stack.desired.Find(*key);
    if (r == nullptr || SpecJson(*r) != it->second.spec_json) {
      it = terminal_.erase(it);
    } else {
      ++it;
    }
  }
  good_ = std::move(*snap);
  deps_.source->Applied(*good_);
  const specs::Project& p = good_->stack.desired.project;
  ctx_.desired = &good_->stack.desired;
  ctx_.plan_options = PlanOptions{};
  ctx_.plan_options.allow_destroy = p.daemon.allow_destroy;
  ctx_.executor_options = ExecutorOptionsFor(p);
  if (options_.executor_workers > 0) ctx_.executor_options.workers = options_.executor_workers;
  if (options_.jitter_seed != 0) ctx_.executor_options.jitter_seed = options_.jitter_seed;
  ctx_.report_drift = p.daemon.drift == "report";
  std::lock_guard<std::mutex> lock(mu_);
  status_.stack = p.stack;
  status_.commit = good_->commit;
  status_.commit_subject = good_->subject;
  if (report->result != "invalid" && (good_->commit == status_.rejected_commit || good_->commit.empty() ||
                                      good_->commit == last_head_)) {
    status_.rejected_commit.clear();
    status_.rejected_error.clear();
  }
  status_.spec_error.clear();
  status_.drift_mode = p.daemon.drift;
  status_.auto_apply = p.daemon.auto_apply;
  status_.allow_destroy = p.daemon.allow_destroy;
  status_.interval_seconds = std::chrono::duration_cast<seconds>(Interval()).count();
}

void Loop::Hold(TimePoint now, bool paused, const std::string& paused_reason) {
  ctx_.hold.clear();
  const specs::Project& p = good_->stack.desired.project;
  for (const specs::Resource& r : good_->stack.desired.resources) {
    const std::string key = r.key.ToString();
    if (paused) {
      ctx_.hold[key] = "the stack is paused" + (paused_reason.empty() ? "" : " (" + paused_reason + ")") +
                       "; `reconciler resume` lets it apply";
    } else if (!p.daemon.auto_apply) {
      ctx_.hold[key] = "planned, not applied: daemon.autoApply is false";
    } else if (auto t = terminal_.find(key); t != terminal_.end()) {
      ctx_.hold[key] = "failed" + (t->second.code.empty() ? "" : " (" + t->second.code + ")") + ": " + t->second.error +
                       "; held until its spec changes or the daemon reloads (SIGHUP)";
    } else if (auto b = backoff_.find(key); b != backoff_.end() && b->second.until > now) {
      ctx_.hold[key] = "in backoff until " + UtcText(b->second.until) + " after: " + b->second.error;
    }
  }
  // Resources only the state knows (removed from the specs): held as a whole when paused.
  if (paused || !p.daemon.auto_apply) {
    Result<std::vector<ResourceRecord>> recorded = deps_.store->Resources();
    if (recorded.ok()) {
      for (const ResourceRecord& r : *recorded) {
        if (!ctx_.hold.count(r.key)) ctx_.hold[r.key] = paused ? "the stack is paused" : "daemon.autoApply is false";
      }
    }
  }
}

// Each resource's outcome moves its backoff and terminal hold.
void Loop::Absorb(const StepResult& step, TimePoint now) {
  std::set<std::string> blocked;  // resources with a change the plan blocked: their condition says why
  if (ctx_.plan) {
    for (const Change& c : ctx_.plan->changes) {
      if (c.blocked) blocked.insert(c.key.ToString());
    }
  }
  for (const ResourceOutcome& o : step.resources) {
    // A change blocked by the daemon's own hold says nothing new about the resource.
    if (ctx_.hold.count(o.resource)) continue;
    if (o.outcome.kind() == StepOutcome::kTerminal && blocked.count(o.resource)) continue;
    switch (o.outcome.kind()) {
      case StepOutcome::kDone:
        backoff_.erase(o.resource);
        break;
      case StepOutcome::kRequeueAfter:
        break;
      case StepOutcome::kRetry: {
        if (!step.finished) break;  // counted once, when the plan ends
        Backoff& b = backoff_[o.resource];
        b.attempts = std::min(b.attempts + 1, 30);
        const milliseconds ceiling =
            std::min(options_.backoff_max, options_.backoff_min * (int64_t{1} << std::min(b.attempts - 1, 20)));
        std::uniform_int_distribution<int64_t> jitter(ceiling.count() / 2, ceiling.count());
        b.until = now + milliseconds(jitter(rng_));
        b.error = o.outcome.status().message();
        b.code = o.outcome.status().api_code();
        break;
      }
      case StepOutcome::kTerminal: {
        const specs::Resource* r = nullptr;
        if (auto key = specs::ParseResourceKey(o.resource)) r = good_ ? good_->stack.desired.Find(*key) : nullptr;
        if (r == nullptr) break;  // a resource the specs no longer hold: its blocked destroy says why
        Terminal& t = terminal_[o.resource];
        if (t.since == 0) t.since = UnixSeconds(now);
        t.spec_json = SpecJson(*r);
        t.error = o.outcome.status().message();
        t.code = o.outcome.status().api_code();
        backoff_.erase(o.resource);
        break;
      }
    }
  }
}

// The status of every resource after the pass.
void Loop::Describe(const StepResult* step, bool paused, const std::string& paused_reason, int64_t now_s) {
  std::map<std::string, ResourceStatus> by_key;
  std::vector<std::string> order;
  auto entry = [&](const std::string& key) -> ResourceStatus& {
    auto it = by_key.find(key);
    if (it != by_key.end()) return it->second;
    order.push_back(key);
    ResourceStatus& s = by_key[key];
    s.key = key;
    s.kind = KindOf(key);
    s.condition = Condition::kReady;
    return s;
  };
  if (good_) {
    for (const specs::Resource& r : good_->stack.desired.resources) entry(r.key.ToString()).desired = DesiredCount(r);
  }
  std::map<std::string, ResourceStatus> before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const ResourceStatus& s : status_.resources) before[s.key] = s;
  }
  if (ctx_.plan) {
    for (const auto& [key, n] : ctx_.plan->observed_counts) {
      if (by_key.count(key)) by_key[key].observed = n;
    }
  }
  // Purchases in flight, by resource.
  int64_t pending_orders = 0;
  Result<std::vector<Operation>> in_flight = deps_.store->InFlight();
  if (in_flight.ok()) {
    for (const Operation& op : *in_flight) {
      ResourceStatus& s = entry(op.resource_key);
      if (op.deal_names.empty()) {
        s.pending_orders.push_back(op.id);
      } else {
        s.pending_orders.insert(s.pending_orders.end(), op.deal_names.begin(), op.deal_names.end());
      }
      ++pending_orders;
    }
  }
  // Each change's result, worst first.
  std::map<std::string, const ChangeResult*> results;
  if (step) {
    for (const ChangeResult& r : step->changes) results[r.change_id] = &r;
  }
  if (ctx_.plan && step) {
    for (const Change& c : ctx_.plan->changes) {
      ResourceStatus& s = entry(c.key.ToString());
      auto found = results.find(c.id);
      const ChangeResult* r = found == results.end() ? nullptr : found->second;
      auto worse = [&](Condition cond, const std::string& message, const std::string& waiting) {
        auto rank = [](Condition k) {
          switch (k) {
            case Condition::kFailed: return 6;
            case Condition::kBlocked: return 5;
            case Condition::kRetrying: return 4;
            case Condition::kPaused: return 3;
            case Condition::kDrifted: return 2;
            case Condition::kProgressing: return 1;
            default: return 0;
          }
        };
        if (rank(cond) <= rank(s.condition) && s.condition != Condition::kReady) return;
        s.condition = cond;
        s.message = message;
        s.waiting = waiting;
      };
      const std::string what = std::string(ActionName(c.action)) + ": " + c.reason;
      if (c.blocked) {
        const bool held = ctx_.hold.count(s.key) > 0;
        if (held && paused) {
          worse(Condition::kPaused, what, "paused" + (paused_reason.empty() ? "" : ": " + paused_reason));
        } else if (held && terminal_.count(s.key)) {
          worse(Condition::kFailed, what, c.blocked_reason);
        } else if (held && backoff_.count(s.key)) {
          worse(Condition::kRetrying, what, c.blocked_reason);
        } else if (c.drift && ctx_.report_drift) {
          worse(Condition::kDrifted, what, c.blocked_reason);
        } else if (c.destroys && !ctx_.plan->allow_destroy) {
          worse(Condition::kBlocked, what, "destroy not allowed (daemon.allowDestroy is false): " + c.blocked_reason);
        } else {
          worse(Condition::kBlocked, what, c.blocked_reason);
        }
        continue;
      }
      if (r == nullptr) continue;
      switch (r->outcome) {
        case Outcome::kDone: break;
        case Outcome::kPending: worse(Condition::kProgressing, what, "purchases or waits in flight"); break;
        case Outcome::kSkipped: worse(Condition::kRetrying, what, "blocked by a dependency: " + r->message); break;
        case Outcome::kBlocked: break;  // blocked by a sibling change, which says why
        case Outcome::kFailed:
          s.last_error = r->message;
          s.last_error_code = r->code;
          worse(terminal_.count(s.key) ? Condition::kFailed : Condition::kRetrying, what, r->message);
          break;
      }
    }
  }
  for (const auto& [key, t] : terminal_) {
    if (!by_key.count(key)) continue;
    ResourceStatus& s = by_key[key];
    s.condition = Condition::kFailed;
    s.last_error = t.error;
    s.last_error_code = t.code;
    if (s.waiting.empty()) s.waiting = "held until its spec changes: " + t.error;
  }
  for (const auto& [key, b] : backoff_) {
    if (!by_key.count(key)) continue;
    ResourceStatus& s = by_key[key];
    s.backoff_until = UnixSeconds(b.until);
    if (s.last_error.empty()) {
      s.last_error = b.error;
      s.last_error_code = b.code;
    }
    if (s.condition == Condition::kReady && b.until > deps_.clock->Now()) {
      s.condition = Condition::kRetrying;
      s.waiting = "in backoff until " + UtcText(b.until);
    }
  }
  if (ctx_.plan) {
    for (const Failure& f : ctx_.plan->failures) {
      if (f.retrying || !by_key.count(f.key.ToString())) continue;
      ResourceStatus& s = by_key[f.key.ToString()];
      s.condition = Condition::kFailed;
      s.last_error = f.message;
      s.last_error_code = f.code;
      s.waiting = f.remedy;
    }
  }
  std::vector<ResourceStatus> list;
  for (const std::string& key : order) {
    ResourceStatus s = by_key[key];
    if (s.condition == Condition::kReady && paused) s.waiting = "paused";
    auto old = before.find(key);
    s.since = old != before.end() && old->second.condition == s.condition && old->second.since != 0 ? old->second.since
                                                                                                     : now_s;
    list.push_back(std::move(s));
  }
  std::lock_guard<std::mutex> lock(mu_);
  status_.resources = std::move(list);
  status_.orders_pending = pending_orders;
  status_.paused = paused;
  status_.paused_reason = paused_reason;
}

void Loop::Notify(const StepResult* step, const PassReport& report) {
  StackStatus now = Status();
  auto notice = [&](const std::string& kind, const std::string& resource, const std::string& title) {
    Notice n;
    n.kind = kind;
    n.stack = now.stack;
    n.resource = resource;
    n.title = title;
    n.commit = now.commit;
    n.trigger = report.trigger;
    n.at = deps_.clock->NowUnixSeconds();
    return n;
  };
  const std::string stack = now.stack.empty() ? status_.source : now.stack;

  // Drift: under `report`, raised per resource while it lasts; corrected drift is part of
  // the applied changes below.
  int64_t drift_found = 0;
  std::set<std::string> drifting;
  if (step && step->planned && ctx_.plan) {
    for (const Change& c : ctx_.plan->changes) {
      if (!c.drift) continue;
      drifting.insert(c.key.ToString());
      if (!ctx_.report_drift) ++drift_found;
    }
    for (const std::string& key : drifting) {
      if (!ctx_.report_drift) continue;
      Notice n = notice("drift", key, "Drift on " + key + " in stack " + stack + " (reported, not corrected)");
      for (const Change& c : ctx_.plan->changes) {
        if (c.key.ToString() != key || !c.drift) continue;
        for (const FieldDiff& f : c.fields) n.lines.push_back(f.field + ": " + f.before + " -> " + f.after);
        if (c.fields.empty()) n.lines.push_back(c.reason);
      }
      if (!drifted_.count(key)) {
        ++drift_found;
        std::lock_guard<std::mutex> lock(mu_);
        status_.events.push_back({n.at, "drift", n.title});
      }
      drifted_[key] = true;
      if (deps_.notifier) deps_.notifier->Raise("drift:" + key, n);
    }
    for (auto it = drifted_.begin(); it != drifted_.end();) {
      if (drifting.count(it->first)) {
        ++it;
        continue;
      }
      if (deps_.notifier) {
        deps_.notifier->Clear("drift:" + it->first,
                              notice("recovered", it->first, "No more drift on " + it->first + " in stack " + stack));
      }
      it = drifted_.erase(it);
    }
  }
  if (drift_found > 0) {
    if (deps_.metrics) deps_.metrics->CountDrift(drift_found);
    Log("warn", "drift detected", {{"resources", std::to_string(drifting.size())}, {"mode", now.drift_mode}});
  }

  if (!deps_.notifier) return;
  // A plan that ended having changed something: what and why.
  if (step && step->finished && ctx_.plan) {
    std::map<std::string, const ChangeResult*> results;
    for (const ChangeResult& r : step->changes) results[r.change_id] = &r;
    Notice n = notice("applied", "", "");
    n.trigger = plan_trigger_;
    for (const Change& c : ctx_.plan->changes) {
      auto r = results.find(c.id);
      if (c.blocked || r == results.end() || r->second->outcome != Outcome::kDone) continue;
      n.lines.push_back(c.key.ToString() + ": " + ActionName(c.action) + (c.drift ? " (drift)" : "") + ": " + c.reason);
    }
    if (!n.lines.empty()) {
      n.title = std::to_string(n.lines.size()) + (n.lines.size() == 1 ? " change" : " changes") + " applied to stack " +
                stack + " (" + plan_trigger_ + (now.commit.empty() ? "" : ", commit " + ShortCommit(now.commit)) + ")";
      deps_.notifier->Event(n);
      std::lock_guard<std::mutex> lock(mu_);
      status_.events.push_back({n.at, "applied", n.title});
    }
  }
  // Terminal resources, and their recovery.
  for (const ResourceStatus& s : now.resources) {
    const std::string cond = "terminal:" + s.key;
    if (s.condition == Condition::kFailed) {
      Notice n = notice("terminal", s.key, s.key + " in stack " + stack + " failed and is held");
      n.lines.push_back((s.last_error_code.empty() ? "" : s.last_error_code + ": ") + s.last_error);
      if (!s.waiting.empty()) n.lines.push_back(s.waiting);
      deps_.notifier->Raise(cond, n);
    } else {
      deps_.notifier->Clear(cond, notice("recovered", s.key, s.key + " in stack " + stack + " recovered: " +
                                                                 ConditionName(s.condition)));
    }
  }
  // The stack as a whole: paused, failing passes, a commit that does not validate.
  if (now.paused) {
    deps_.notifier->Raise("paused", notice("paused", "", "Stack " + stack + " is paused" +
                                                             (now.paused_reason.empty() ? "" : ": " + now.paused_reason)));
  } else {
    deps_.notifier->Clear("paused", notice("recovered", "", "Stack " + stack + " resumed"));
  }
  if (report.result == "error") {
    Notice n = notice("failing", "", "Passes of stack " + stack + " are failing");
    n.lines.push_back(now.last_error);
    deps_.notifier->Raise("failing", n);
  } else {
    deps_.notifier->Clear("failing", notice("recovered", "", "Passes of stack " + stack + " succeed again"));
  }
  if (!now.rejected_commit.empty() || !now.spec_error.empty()) {
    Notice n = notice("invalid-commit", "",
                      now.rejected_commit.empty()
                          ? "The specs of stack " + stack + " do not validate; the last good ones stay in force"
                          : "Commit " + ShortCommit(now.rejected_commit) + " of stack " + stack +
                                " does not validate and is not applied");
    n.lines.push_back(now.rejected_commit.empty() ? now.spec_error : now.rejected_error);
    deps_.notifier->Raise("invalid", n);
  } else {
    deps_.notifier->Clear("invalid", notice("recovered", "", "The specs of stack " + stack + " validate again"));
  }
  deps_.notifier->Remind();
}

void Loop::Measure(const PassReport& report, double seconds_taken) {
  if (!deps_.metrics) return;
  StackStatus now = Status();
  deps_.metrics->CountReconcile(report.result);
  deps_.metrics->ObserveReconcileSeconds(seconds_taken);
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  for (const ResourceStatus& s : now.resources) ++counts[{s.kind, ConditionName(s.condition)}];
  deps_.metrics->SetResources(counts);
  deps_.metrics->SetOrdersPending(now.orders_pending);
  deps_.metrics->SetPaused(now.paused);
  if (report.result != "error" && now.last_success_at != 0) {
    deps_.metrics->SetLastSuccess(static_cast<double>(now.last_success_at));
  }
}

void Loop::Log(const std::string& level, const std::string& message,
               std::vector<std::pair<std::string, std::string>> fields) {
  if (!deps_.log) return;
  if (level == "error") deps_.log->Error(message, fields);
  else if (level == "warn") deps_.log->Warn(message, fields);
  else deps_.log->Info(message, fields);
}

StackStatus Loop::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  StackStatus s = status_;
  if (s.events.size() > kMaxEvents) s.events.erase(s.events.begin(), s.events.end() - kMaxEvents);
  return s;
}

bool Loop::Alive() const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto limit = std::max<std::chrono::steady_clock::duration>(2 * Interval(), std::chrono::minutes(2));
  return std::chrono::steady_clock::now() - heartbeat_ < limit;
}

void Loop::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    RunOnce(stop);
    std::unique_lock<std::mutex> lock(mu_);
    heartbeat_ = std::chrono::steady_clock::now();
    TimePoint due = NextDue();
    if (due == TimePoint::min()) continue;
    // Wait on real time for the clock's due time, waking for Wake() and stop; a minute at
    // most, so the heartbeat stays fresh.
    const auto wait = std::clamp<std::chrono::system_clock::duration>(due - deps_.clock->Now(), milliseconds(1),
                                                                       std::chrono::minutes(1));
    const size_t asked = asked_.size();
    const auto spec_change = spec_change_at_;
    wake_.wait_for(lock, stop, wait, [&] { return asked_.size() != asked || spec_change_at_ != spec_change; });
  }
}

}  // namespace reconciler::daemon
