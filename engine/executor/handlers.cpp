#include "engine/executor/handlers.h"

#include <algorithm>
#include <random>
#include <nlohmann/json.hpp>

#include "base/parallel.h"
#include "engine/diff.h"
#include "engine/identity.h"
#include "engine/preflight.h"

namespace reconciler::exec {

using nlohmann::json;

namespace {

std::string NewOperationId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id = "op-";
  uint64_t x = rng();
  for (int i = 0; i < 12; ++i, x /= 36) id.push_back(kAlphabet[x % 36]);
  return id;
}

Next Again() { return {Next::kWaitOps, {}}; }

// At most this many purchases of one change are sent at once: enough for one resource to
// hold the create rate limit (100/s) at round trips up to about 50 ms.
constexpr size_t kPurchasesInFlight = 8;

}  // namespace

void Handlers::SetGroupIds(std::map<std::string, std::string> ids) {
  std::lock_guard<std::mutex> lock(groups_mu_);
  group_ids_ = std::move(ids);
}

std::string Handlers::GroupIdOf(const std::string& key) {
  std::lock_guard<std::mutex> lock(groups_mu_);
  auto it = group_ids_.find(key);
  return it == group_ids_.end() ? "" : it->second;
}

void Handlers::SetGroupId(const std::string& key, const std::string& id) {
  std::lock_guard<std::mutex> lock(groups_mu_);
  group_ids_[key] = id;
}

void Handlers::RecordResource(const Change& c, const std::string& group_id) {
  if (c.spec_json.empty()) return;
  std::string gid = group_id;
  if (gid.empty() && c.key.kind == specs::Kind::kReadOnlyGroup) gid = GroupIdOf(c.key.ToString());
  std::lock_guard<std::mutex> lock(record_mu_);
  ctx_.store->PutResource({c.key.ToString(), c.region, c.deletion_policy, c.spec_json, gid, ""});
}

Next Handlers::Finish(ChangeRun& run, Outcome outcome, std::string message, std::string code) {
  run.outcome = outcome;
  run.message = std::move(message);
  if (!code.empty()) run.code = std::move(code);
  return {Next::kFinished, {}};
}

void Handlers::Note(ChangeRun& run, Outcome outcome, const std::string& why, const std::string& code) {
  if (outcome == Outcome::kPending) run.outcome = Outcome::kPending;
  else if (outcome == Outcome::kFailed && run.outcome == Outcome::kDone) run.outcome = Outcome::kFailed;
  if (!why.empty()) run.notes.push_back(why);
  if (!code.empty() && run.code.empty()) run.code = code;
}

Operation Handlers::NewOperation(OperationKind kind, const Change& c, PurchaseRequest request, int64_t expected) {
  Operation op;
  op.id = NewOperationId();
  op.resource_key = c.key.ToString();
  op.kind = kind;
  op.region = c.region;
  op.request_json = EncodeRequest(request);  // for the state; this process keeps it typed
  op.expected = expected;
  purchaser_->Remember(op.id, std::move(request));
  // Until a create answers that it carried every tag, assume it carried only the operation
  // tag: an outcome found by search is tagged in full, which is safe to repeat.
  op.tags_pending = kind == OperationKind::kCreateReplicas;
  return op;
}

bool Handlers::Begin(ChangeRun& run, Operation op, const std::string& detail) {
  if (!journal_->Persist(op, detail, run.change->id)) return false;  // nothing goes out without its intent
  run.op = std::move(op);
  return true;
}

// ------------------------------------------------------------------ dispatch

std::vector<Handlers::Task> Handlers::TasksOf(const Change& c) {
  switch (c.action) {
    case Action::kCreate:
      if (c.group) return {Task::kCreateGroup};
      if (c.serverless) return {Task::kCreateServerless};
      return {Task::kCreateReplicas};
    case Action::kReplace:
      if (c.serverless) return {Task::kDelete, Task::kCreateServerless};
      return {Task::kCreateReplicas, Task::kDelete};  // create before destroy
    case Action::kUpdate: return {Task::kUpdate};
    case Action::kRestore: return {Task::kRestore};
    case Action::kDelete: return {Task::kDelete};
    case Action::kOrphan: return {Task::kOrphan};
    case Action::kAdopt: return {Task::kAdopt};
    case Action::kResume: return {Task::kResume};
  }
  return {};
}

Next Handlers::Run(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  if (!run.owned_checked) {
    run.owned_checked = true;
    const bool touches_existing = c.action == Action::kDelete || c.action == Action::kOrphan ||
                                  c.action == Action::kReplace || c.action == Action::kRestore;
    if (touches_existing && !c.instance_ids.empty()) {
      if (Status owned = CheckOwned(c); !owned.ok()) return Finish(run, Outcome::kFailed, owned.message());
    }
  }
  const std::vector<Task> tasks = TasksOf(c);
  while (run.task < tasks.size()) {
    Next next = RunTask(tasks[run.task], run, stopping);
    if (next.kind != Next::kFinished) return next;
    if (run.outcome != Outcome::kDone || run.task + 1 == tasks.size()) return next;
    ++run.task;  // the next task starts afresh
    run.stage = 0;
    run.wait_ops.clear();
    run.ended_ops.clear();
    run.notes.clear();
  }
  return Finish(run, Outcome::kFailed, "nothing to do for this action");
}

Next Handlers::RunTask(Task task, ChangeRun& run, bool stopping) {
  switch (task) {
    case Task::kCreateReplicas: return CreateReplicas(run, stopping);
    case Task::kCreateServerless: return CreateServerless(run, stopping);
    case Task::kCreateGroup: return CreateGroup(run, stopping);
    case Task::kUpdate: return Update(run, stopping);
    case Task::kRestore: return Restore(run, stopping);
    case Task::kDelete: return Delete(run, stopping);
    case Task::kOrphan: return Orphan(run);
    case Task::kAdopt: return Adopt(run);
    case Task::kResume: return Resume(run, stopping);
  }
  return Finish(run, Outcome::kFailed, "unknown task");
}

// ------------------------------------------------------------------ purchases

// Sends run.op as far as it goes now. nullopt: it has left the sender (followed by the
// tracker, ended, or left pending, each noted in `run`); otherwise when to call again.
std::optional<Next> Handlers::SendPurchase(ChangeRun& run, bool stopping) {
  if (!run.op) return std::nullopt;
  stopping = Stopping(stopping);
  Operation& op = *run.op;
  const std::string& change_id = run.change->id;
  if (stopping && op.phase == Phase::kUnknown) {
    Note(run, Outcome::kPending,
         "interrupted while checking whether " + op.id + " bought anything; the next apply resumes it");
    run.op.reset();
    return std::nullopt;
  }
  Advance a = purchaser_->Step(op, change_id, stopping);
  switch (a.kind) {
    case Advance::kWaitUntil:
      return Next{Next::kWaitUntil, a.at};
    case Advance::kPending:
      Note(run, Outcome::kPending, a.message);
      break;
    case Advance::kFailed:
      Note(run, Outcome::kFailed, a.message, op.error_code);
      break;
    case Advance::kSent:
      if (op.phase == Phase::kFailed) {
        Note(run, Outcome::kFailed, Described(op), op.error_code);
      } else if (op.phase == Phase::kDone) {
        run.ended_ops.push_back(op);
      } else if (op.kind == OperationKind::kCreateGroup) {  // a group is there once created
        op.phase = Phase::kDone;
        journal_->Persist(op, "group " + Join(op.instance_ids), change_id);
        run.ended_ops.push_back(op);
      } else {
        tracker_->Track(op);
        run.wait_ops.push_back(op.id);
      }
      break;
  }
  run.op.reset();
  return std::nullopt;
}

// Waits for every purchase in run.wait_ops to end, then moves them to run.ended_ops.
// nullopt: all have ended (or, stopping, are left in flight and noted pending).
std::optional<Next> Handlers::AwaitPurchases(ChangeRun& run, bool stopping) {
  std::vector<std::string> open;
  for (const std::string& id : run.wait_ops) {
    std::optional<Operation> op = tracker_->Get(id);
    if (op && IsTerminal(op->phase)) run.ended_ops.push_back(*op);
    else open.push_back(id);
  }
  run.wait_ops = open;
  if (open.empty()) return std::nullopt;
  if (!stopping) return Again();
  for (const std::string& id : open) {
    Note(run, Outcome::kPending, "interrupted; " + id + " is still in flight and the next apply resumes it");
  }
  run.wait_ops.clear();
  return std::nullopt;
}

// ------------------------------------------------------------------ creates

Next Handlers::CreateReplicas(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  if (run.stage == 0) {
    cloud::ReplicaRequest q = *c.replica;
    if (q.group_id.empty() && !c.group_ref.empty() && GroupIdOf(c.group_ref).empty()) {
      return Finish(run, Outcome::kFailed, c.group_ref + " was not created, so its replicas cannot join it");
    }
    RecordResource(c);
    run.chunks = SplitCount(c.count);
    run.next_chunk = 0;
    run.batch = NewOperationId();  // any id unique to this attempt
    run.stage = 1;
  }
  if (run.stage == 1) {  // send every purchase first, then follow them all: their deals are tracked together
    if (std::optional<Next> wait = SendChunks(run, stopping)) return *wait;
    run.stage = 2;
  }
  if (std::optional<Next> wait = AwaitPurchases(run, stopping)) return *wait;
  for (const Operation& op : run.ended_ops) {
    run.bought.insert(run.bought.end(), op.instance_ids.begin(), op.instance_ids.end());
    if (op.phase == Phase::kFailed) Note(run, Outcome::kFailed, Described(op), op.error_code);
    else if (!op.error.empty()) Note(run, Outcome::kFailed, op.error);  // delivered short: the count is short
  }
  return Finish(run, run.outcome, run.notes.empty() ? "running: " + Join(run.bought) : Join(run.notes));
}

void Handlers::Merge(ChangeRun& run, ChangeRun& part) {
  Note(run, part.outcome, "", part.code);  // the worse outcome, and the first code
  run.notes.insert(run.notes.end(), part.notes.begin(), part.notes.end());
  run.wait_ops.insert(run.wait_ops.end(), part.wait_ops.begin(), part.wait_ops.end());
  run.ended_ops.insert(run.ended_ops.end(), part.ended_ops.begin(), part.ended_ops.end());
}

// One resource's purchases go out several at once, so that a single large resource holds
// the create rate limit at any round trip (the rate budget paces them). Each has its own
// intent, committed before it is sent, exactly as when they went one after another. After a
// refusal no new one begins; those already begun are carried to their end. The cloud decides
// which of the purchases in flight a quota refuses.
std::optional<Next> Handlers::SendChunks(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  const TimePoint now = ctx_.clock->Now();
  // The parts to step now: those begun whose time has come, then new ones.
  std::vector<ChangeRun> parts;
  std::vector<uint64_t> fresh;  // each new part's count
  std::vector<Operation> waiting;
  std::vector<TimePoint> waiting_due;
  for (size_t i = 0; i < run.sending.size(); ++i) {
    if (!stopping && run.sending_due[i] > now) {
      waiting.push_back(std::move(run.sending[i]));
      waiting_due.push_back(run.sending_due[i]);
      continue;
    }
    parts.emplace_back().change = &c;
    parts.back().op = std::move(run.sending[i]);
    fresh.push_back(0);
  }
  const size_t begun = parts.size();
  if (run.next_chunk < run.chunks.size() && run.outcome == Outcome::kDone) {
    if (Stopping(stopping)) {  // nothing new once stopping
      uint64_t left = 0;
      for (size_t k = run.next_chunk; k < run.chunks.size(); ++k) left += run.chunks[k];
      Note(run, Outcome::kFailed, "interrupted before buying " + std::to_string(left) + " more replica(s)");
      run.next_chunk = run.chunks.size();
    } else {
      while (parts.size() + waiting.size() < kPurchasesInFlight && run.next_chunk < run.chunks.size()) {
        parts.emplace_back().change = &c;
        fresh.push_back(run.chunks[run.next_chunk++]);
      }
    }
  }
  std::vector<std::optional<Next>> waits(parts.size());
  const int most = std::max(1, ctx_.options.workers);
  ParallelFor(parts.size(), parts.size(), [&](size_t i) {
    {
      std::unique_lock<std::mutex> lock(sending_mu_);
      sending_cv_.wait(lock, [&] { return sending_ < most; });
      ++sending_;
    }
    struct Release {
      Handlers* h;
      ~Release() {
        {
          std::lock_guard<std::mutex> lock(h->sending_mu_);
          --h->sending_;
        }
        h->sending_cv_.notify_one();
      }
    } release{this};
    ChangeRun& part = parts[i];
    if (i >= begun) {
      cloud::ReplicaRequest chunk = *c.replica;
      if (chunk.group_id.empty() && !c.group_ref.empty()) chunk.group_id = GroupIdOf(c.group_ref);
      const uint64_t n = fresh[i];
      chunk.count = n;
      Operation op = NewOperation(OperationKind::kCreateReplicas, c, chunk, static_cast<int64_t>(n));
      op.batch = run.batch;
      if (!Begin(part, std::move(op), "buy " + std::to_string(n) + " replica(s)")) {
        Note(part, Outcome::kFailed, "cannot record the purchase of " + std::to_string(n) + " replica(s)");
        return;
      }
    }
    waits[i] = SendPurchase(part, stopping);
  });
  run.sending = std::move(waiting);
  run.sending_due = std::move(waiting_due);
  for (size_t i = 0; i < parts.size(); ++i) {
    Merge(run, parts[i]);
    if (parts[i].op) {  // it waits (a backoff, or a search for its outcome)
      run.sending.push_back(std::move(*parts[i].op));
      run.sending_due.push_back(waits[i] ? waits[i]->at : now);
    }
  }
  const bool more = run.next_chunk < run.chunks.size() && run.outcome == Outcome::kDone;
  // More to begin while there is room: called again at once, after the scheduler has given
  // the tracker its round (tags and statuses of what is already bought).
  if (more && run.sending.size() < kPurchasesInFlight) return Next{Next::kWaitUntil, now};
  if (!run.sending.empty()) {
    return Next{Next::kWaitUntil, *std::min_element(run.sending_due.begin(), run.sending_due.end())};
  }
  return std::nullopt;
}

Next Handlers::CreateServerless(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  if (run.stage == 0) {
    RecordResource(c);
    if (!Begin(run, NewOperation(OperationKind::kCreateServerless, c, *c.serverless, 1),
               "create serverless instance " + c.serverless->name)) {
      return Finish(run, Outcome::kFailed, "cannot record the purchase");
    }
    run.stage = 1;
  }
  if (std::optional<Next> wait = SendPurchase(run, stopping)) return *wait;
  if (std::optional<Next> wait = AwaitPurchases(run, stopping)) return *wait;
  std::vector<std::string> ids;
  for (const Operation& op : run.ended_ops) {
    ids.insert(ids.end(), op.instance_ids.begin(), op.instance_ids.end());
    if (op.phase == Phase::kFailed) Note(run, Outcome::kFailed, Described(op), op.error_code);
  }
  return Finish(run, run.outcome, run.outcome == Outcome::kDone ? "running: " + Join(ids) : Join(run.notes));
}

Next Handlers::CreateGroup(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  if (run.stage == 0) {
    if (!Begin(run, NewOperation(OperationKind::kCreateGroup, c, *c.group, 1),
               "create read-only group " + c.group->name)) {
      return Finish(run, Outcome::kFailed, "cannot record the purchase");
    }
    run.stage = 1;
  }
  if (std::optional<Next> wait = SendPurchase(run, stopping)) return *wait;
  if (run.outcome != Outcome::kDone) return Finish(run, run.outcome, Join(run.notes));
  if (run.ended_ops.empty() || run.ended_ops.front().instance_ids.empty()) {
    return Finish(run, Outcome::kFailed, "the group's create answered no group id");
  }
  const std::string id = run.ended_ops.front().instance_ids.front();
  SetGroupId(c.key.ToString(), id);
  RecordResource(c, id);
  return Finish(run, Outcome::kDone, "group " + id);
}

// ------------------------------------------------------------------ updates

Next Handlers::Update(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  if (run.stage == 0) {
    if (c.instance_ids.empty() && c.update.empty()) return RecordPolicy(run);
    if (c.update.group_config) return UpdateGroup(run);
    const std::string& id = c.instance_ids.front();
    const UpdateCalls& u = c.update;
    auto failed = [&](const Status& s, const char* what) {
      return Finish(run, Outcome::kFailed, std::string(what) + " on " + id + ": " + s.ToString(), s.api_code());
    };
    if (u.name) {
      if (Status s = ctx_.cloud->ModifyName(c.region, id, *u.name); !s.ok()) return failed(s, "ModifyDBInstanceName");
    }
    if (u.deletion_protection) {
      if (Status s = ctx_.cloud->ModifyDeletionProtection(c.region, id, *u.deletion_protection); !s.ok()) {
        return failed(s, "ModifyDBInstanceDeletionProtection");
      }
    }
    if (u.security_groups) {
      if (Status s = ctx_.cloud->ModifySecurityGroups(c.region, id, *u.security_groups); !s.ok()) {
        return failed(s, "ModifyDBInstanceSecurityGroups");
      }
    }
    if (u.group) {
      const std::string to = u.group->to_id.empty() ? GroupIdOf(u.group->to_key) : u.group->to_id;
      if (to.empty()) return Finish(run, Outcome::kFailed, u.group->to_key + " was not created, so " + id + " cannot join it");
      if (Status s = ctx_.cloud->MoveToGroup(c.region, id, u.group->from, to); !s.ok()) {
        return failed(s, "ModifyDBInstanceReadOnlyGroup");
      }
    }
    if (!u.tags_set.empty() || !u.tags_remove.empty()) {
      if (Status s = ctx_.cloud->ModifyTags(c.region, id, u.tags_set, u.tags_remove); !s.ok()) {
        return failed(s, "ModifyResourceTags");
      }
    }
    if (u.spec) {
      Operation op = NewOperation(OperationKind::kModifySpec, c,
                                  SpecChange{id, u.spec->spec_code, u.spec->memory_gb, u.spec->cpu, u.spec->storage_gb},
                                  0);
      op.instance_ids = {id};
      if (!Begin(run, std::move(op),
                 "change " + id + " to " + u.spec->spec_code + ", " + std::to_string(u.spec->storage_gb) + " GB")) {
        return Finish(run, Outcome::kFailed, "cannot record the spec change");
      }
    }
    run.stage = 1;
  }
  if (std::optional<Next> wait = SendPurchase(run, stopping)) return *wait;
  if (std::optional<Next> wait = AwaitPurchases(run, stopping)) return *wait;
  for (const Operation& op : run.ended_ops) {
    if (op.phase == Phase::kFailed) Note(run, Outcome::kFailed, Described(op), op.error_code);
  }
  if (run.outcome != Outcome::kDone) return Finish(run, run.outcome, Join(run.notes));
  RecordResource(c);
  return Finish(run, Outcome::kDone, "updated " + c.instance_ids.front());
}

// A deletionPolicy change: only the policy is written, into the record as it stands, so that
// a spec field whose own change has not been applied yet (security groups, say) is not
// recorded as applied with it.
Next Handlers::RecordPolicy(ChangeRun& run) {
  const Change& c = *run.change;
  const std::string key = c.key.ToString();
  std::lock_guard<std::mutex> lock(record_mu_);
  Result<std::vector<ResourceRecord>> resources = ctx_.store->Resources();
  if (!resources.ok()) return Finish(run, Outcome::kFailed, "cannot read the state: " + resources.status().message());
  auto rec = std::find_if(resources->begin(), resources->end(), [&](const ResourceRecord& r) { return r.key == key; });
  if (rec == resources->end()) {
    return Finish(run, Outcome::kFailed, key + " is not in the state any more; the next plan looks again");
  }
  ResourceRecord updated = *rec;
  updated.deletion_policy = c.deletion_policy;
  json spec = json::parse(updated.spec_json, nullptr, false);
  if (spec.is_object()) {
    spec["deletionPolicy"] = c.deletion_policy;
    updated.spec_json = spec.dump();
  }
  if (Status s = ctx_.store->PutResource(updated); !s.ok()) {
    return Finish(run, Outcome::kFailed, "cannot record deletionPolicy " + c.deletion_policy + ": " + s.message());
  }
  return Finish(run, Outcome::kDone, "recorded deletionPolicy " + c.deletion_policy + " (nothing was called in the cloud)");
}

// ModifyReadOnlyGroupConfig costs nothing and sets the whole config, so it is safe to repeat;
// an answer that is lost leaves the change failed, and the next plan sees what took effect.
Next Handlers::UpdateGroup(ChangeRun& run) {
  const Change& c = *run.change;
  const std::string& id = c.instance_ids.front();
  Status s = ctx_.cloud->ModifyGroupConfig(c.region, id, *c.update.group_config);
  if (!s.ok()) {
    return Finish(run, Outcome::kFailed,
                  "ModifyReadOnlyGroupConfig on " + id + ": " + s.ToString() +
                      (s.code() == Code::kOutcomeUnknown ? " (it may have taken effect; the next plan shows what did)" : ""),
                  s.api_code());
  }
  RecordResource(c, id);
  return Finish(run, Outcome::kDone, "updated group " + id);
}

// ------------------------------------------------------------------ status waits

void Handlers::BeginStatusWait(ChangeRun& run, std::vector<std::string> ids, cloud::InstanceState want,
                               std::string word) {
  run.status_ids = std::move(ids);
  run.status_want = want;
  run.status_word = std::move(word);
  run.status_started = ctx_.clock->Now();
  run.status_interval = ctx_.options.poll_min;
  run.status_next_report = std::chrono::seconds(-1);
}

// One look at whether every instance of the wait has its status. nullopt: they have; a
// Next: call again then (or, past the deadline or stopping, the change has ended pending).
std::optional<Next> Handlers::PollStatus(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  const std::string what = Join(run.status_ids);
  if (stopping) {
    return Finish(run, Outcome::kPending, "interrupted while waiting for " + what + " to become " + run.status_word);
  }
  cloud::ListFilter f;
  f.instance_ids = run.status_ids;
  Result<std::vector<cloud::Instance>> r = ctx_.cloud->ListInstances(c.region, f);
  if (r.ok()) {
    size_t matched = 0;
    for (const cloud::Instance& i : *r) matched += i.state() == run.status_want;
    if (matched == run.status_ids.size()) return std::nullopt;
  }
  const TimePoint now = ctx_.clock->Now();
  const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - run.status_started);
  if (waited >= run.status_next_report) {
    run.status_next_report = NextReport(waited);
    journal_->ReportWait(c.id, c.key.ToString(), ProgressPhase::kWaiting,
                         {what + " to become " + run.status_word, waited, ctx_.options.running_deadline});
  }
  if (now > run.status_started + ctx_.options.running_deadline) {
    return Finish(run, Outcome::kPending, what + " did not become " + run.status_word + " in time; the next apply looks again");
  }
  const milliseconds interval = run.status_interval;
  run.status_interval =
      std::min(ctx_.options.poll_max, milliseconds(static_cast<int64_t>(run.status_interval.count() * 1.5)));
  return Next{Next::kWaitUntil, now + interval};
}

Next Handlers::Restore(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  if (run.stage == 0) {
    for (const std::string& id : c.instance_ids) {
      if (Status s = ctx_.cloud->Restore(c.region, id); !s.ok()) {
        return Finish(run, Outcome::kFailed, "DisIsolateDBInstances on " + id + ": " + s.ToString(), s.api_code());
      }
      journal_->Report(c.id, c.key.ToString(), ProgressPhase::kRestoring, id);
    }
    BeginStatusWait(run, c.instance_ids, cloud::InstanceState::kRunning, "running");
    run.stage = 1;
  }
  if (std::optional<Next> wait = PollStatus(run, stopping)) return *wait;
  for (const std::string& id : c.instance_ids) ctx_.store->PutInstance({id, c.key.ToString(), c.region, "", ""});
  RecordResource(c);
  return Finish(run, Outcome::kDone, "restored " + Join(c.instance_ids));
}

Next Handlers::Delete(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  const std::vector<std::string>& ids = c.instance_ids;
  if (c.key.kind == specs::Kind::kReadOnlyGroup) {
    if (Status s = ctx_.cloud->DeleteGroup(c.region, ids.front()); !s.ok()) {
      return Finish(run, Outcome::kFailed, "DeleteReadOnlyGroup " + ids.front() + ": " + s.ToString(), s.api_code());
    }
    ctx_.store->DeleteResource(c.key.ToString());
    return Finish(run, Outcome::kDone, "deleted group " + ids.front());
  }
  if (c.key.kind == specs::Kind::kServerlessInstance) {
    for (const std::string& id : ids) {
      if (Status s = ctx_.cloud->DeleteServerless(c.region, id); !s.ok()) {
        return Finish(run, Outcome::kFailed, "DeleteServerlessDBInstance " + id + ": " + s.ToString(), s.api_code());
      }
      ctx_.store->DeleteInstance(id);
    }
  } else {
    // Isolate, wait until isolated, then destroy.
    if (run.stage == 0) {
      for (const std::string& id : ids) {
        Status s = ctx_.cloud->Isolate(c.region, id);
        if (!s.ok()) {  // refused because it is isolated already is fine; anything else is not
          Result<cloud::Instance> now = ctx_.cloud->DescribeInstance(c.region, id);
          if (!now.ok() || !cloud::IsIsolated(now->state())) {
            return Finish(run, Outcome::kFailed, "IsolateDBInstances " + id + ": " + s.ToString(), s.api_code());
          }
        }
        journal_->Report(c.id, c.key.ToString(), ProgressPhase::kIsolating, id);
      }
      BeginStatusWait(run, ids, cloud::InstanceState::kIsolated, "isolated");
      run.stage = 1;
    }
    if (std::optional<Next> wait = PollStatus(run, stopping)) return *wait;
    for (const std::string& id : ids) {
      if (Status s = ctx_.cloud->Destroy(c.region, id); !s.ok()) {
        return Finish(run, Outcome::kFailed, "DestroyDBInstance " + id + ": " + s.ToString(), s.api_code());
      }
      ctx_.store->DeleteInstance(id);
      journal_->Report(c.id, c.key.ToString(), ProgressPhase::kDestroying, id);
    }
  }
  if (c.spec_json.empty() && c.action == Action::kDelete) ctx_.store->DeleteResource(c.key.ToString());
  return Finish(run, Outcome::kDone, "deleted " + Join(ids));
}

// ------------------------------------------------------------------ records only

Next Handlers::Orphan(ChangeRun& run) {
  const Change& c = *run.change;
  if (c.key.kind != specs::Kind::kReadOnlyGroup) {
    for (const std::string& id : c.instance_ids) {
      Status s = ctx_.cloud->ModifyTags(c.region, id, {}, {cloud::kStackTag, cloud::kResourceTag, cloud::kOperationTag});
      if (!s.ok()) return Finish(run, Outcome::kFailed, "removing our tags from " + id + ": " + s.ToString(), s.api_code());
      ctx_.store->DeleteInstance(id);
    }
  }
  if (c.spec_json.empty()) ctx_.store->DeleteResource(c.key.ToString());
  return Finish(run, Outcome::kDone,
                c.instance_ids.empty() ? "forgotten" : "untagged and forgotten: " + Join(c.instance_ids));
}

Next Handlers::Adopt(ChangeRun& run) {
  const Change& c = *run.change;
  if (c.key.kind == specs::Kind::kReadOnlyGroup) {
    SetGroupId(c.key.ToString(), c.instance_ids.front());
    RecordResource(c, c.instance_ids.front());
  } else {
    for (const std::string& id : c.instance_ids) ctx_.store->PutInstance({id, c.key.ToString(), c.region, "", ""});
    RecordResource(c);
  }
  return Finish(run, Outcome::kDone, "recorded " + Join(c.instance_ids));
}

Next Handlers::Resume(ChangeRun& run, bool stopping) {
  const Change& c = *run.change;
  if (run.stage == 0) {
    Result<Operation> op = ctx_.store->GetOperation(c.operation_id);
    if (!op.ok()) return Finish(run, Outcome::kFailed, op.status().message());
    std::string why;
    if (IsTerminal(op->phase) && !purchaser_->Revive(&*op, c.id, &why)) {
      if (why.empty()) why = std::string("already ") + PhaseName(op->phase);
      return Finish(run, op->phase == Phase::kDone ? Outcome::kDone : Outcome::kFailed, why, op->error_code);
    }
    journal_->Report(c.id, c.key.ToString(), ProgressPhase::kResuming, std::string(PhaseName(op->phase)) + " " + op->id);
    run.op = *op;
    run.stage = 1;
  }
  if (std::optional<Next> wait = SendPurchase(run, stopping)) return *wait;
  if (std::optional<Next> wait = AwaitPurchases(run, stopping)) return *wait;
  if (run.outcome != Outcome::kDone) return Finish(run, run.outcome, Join(run.notes));
  if (run.ended_ops.empty()) return Finish(run, Outcome::kFailed, "the purchase ended without a record");
  const Operation& final_op = run.ended_ops.front();
  if (final_op.phase == Phase::kFailed) return Finish(run, Outcome::kFailed, Described(final_op), final_op.error_code);
  // The plan adopts no instance of a resumed purchase (diff.h), so the purchase records its
  // own again: the process that died may have recorded the delivery but not the instances.
  journal_->RecordInstances(final_op);
  if (final_op.kind == OperationKind::kCreateGroup && !final_op.instance_ids.empty()) {
    SetGroupId(c.key.ToString(), final_op.instance_ids.front());
    RecordResource(c, final_op.instance_ids.front());  // the group is the resource: record it, not adopt it later
  }
  return Finish(run, Outcome::kDone,
                final_op.error.empty() ? "finished " + final_op.id + ": " + Join(final_op.instance_ids) : final_op.error);
}

// ------------------------------------------------------------------ ownership

// Whether every instance (or group) `c` would destroy, untag or restore is this stack's,
// under c's resource: recorded so in the state, or carrying the stack's tags in the cloud
// now. The plan only names such instances; this holds whatever the plan says.
Status Handlers::CheckOwned(const Change& c) {
  const std::string key = c.key.ToString();
  Result<std::vector<InstanceRecord>> recorded = ctx_.store->Instances();
  Result<std::vector<ResourceRecord>> resources = ctx_.store->Resources();
  if (!recorded.ok()) return recorded.status();
  if (!resources.ok()) return resources.status();
  std::optional<std::vector<cloud::Instance>> serverless;
  for (const std::string& id : c.instance_ids) {
    bool owned = false;
    for (const InstanceRecord& r : *recorded) owned |= r.id == id && r.resource_key == key;
    for (const ResourceRecord& r : *resources) owned |= r.key == key && !r.group_id.empty() && r.group_id == id;
    if (!owned && c.key.kind == specs::Kind::kReadOnlyInstance) {
      Result<cloud::Instance> now = ctx_.cloud->DescribeInstance(c.region, id);
      if (!now.ok() && now.status().code() != Code::kNotFound) return now.status();
      if (now.ok()) {
        Normalize(&*now);
        auto resource = now->tags.find(cloud::kResourceTag);
        owned = BelongsTo(*now, ctx_.stack) && resource != now->tags.end() && resource->second == key;
      }
    } else if (!owned && c.key.kind == specs::Kind::kServerlessInstance) {
      if (!serverless) {
        Result<std::vector<cloud::Instance>> listed = ListStackServerless(ctx_.cloud, c.region, ctx_.stack);
        if (!listed.ok()) return listed.status();
        serverless = std::move(listed).value();
      }
      for (const cloud::Instance& i : *serverless) {
        auto resource = i.tags.find(cloud::kResourceTag);
        owned |= i.id == id && resource != i.tags.end() && resource->second == key;
      }
    }
    if (!owned) {
      return Status(Code::kPermanent, id + " in " + c.region + " does not belong to " + key + " of stack " + ctx_.stack +
                                          " (neither the state nor its tags say so); nothing was done to it");
    }
  }
  return Status::Ok();
}

}  // namespace reconciler::exec
