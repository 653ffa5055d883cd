#include "engine/executor/order_tracker.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include "base/parallel.h"
#include "engine/diff.h"
#include "engine/identity.h"

namespace reconciler::exec {

namespace {

// Status lookups of one round sent at once: 10,000 instances are 100 lookups, which the
// Describe budget (1,000/s) allows at once; at most this many threads send them.
constexpr size_t kLookupsAtOnce = 16;

// "order 2026...", "pgro-1 (initing), pgro-2 (applying) to run"
std::string WaitingFor(const Operation& op, const std::map<std::string, std::string>& statuses) {
  if (op.phase == Phase::kOrdered) {
    return std::string(op.deal_names.size() == 1 ? "order " : "orders ") + Join(op.deal_names);
  }
  std::vector<std::string> parts;
  for (const std::string& id : op.instance_ids) {
    auto it = statuses.find(id);
    parts.push_back(it == statuses.end() ? id : id + " (" + it->second + ")");
  }
  return Join(parts) + (op.kind == OperationKind::kModifySpec ? " to run with the new spec" : " to run");
}

}  // namespace

void OrderTracker::Track(Operation op) {
  if ((op.phase == Phase::kOrdered || op.phase == Phase::kDelivered) && op.deadline_at == 0) {
    // Recorded before deadlines were kept (schema 5): its wait starts now.
    purchaser_->BeginWait(&op);
    journal_->Persist(op, "waiting until " + UtcText(op.deadline_at));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Tracked& t = tracked_[op.id];
  t.op = std::move(op);
  t.next_report = std::chrono::seconds(-1);
  next_round_ = ctx_.clock->Now();
  interval_ = ctx_.options.poll_min;
}

std::optional<Operation> OrderTracker::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tracked_.find(id);
  if (it == tracked_.end()) return std::nullopt;
  return it->second.op;
}

bool OrderTracker::HasOpen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::any_of(tracked_.begin(), tracked_.end(), [](const auto& kv) { return !IsTerminal(kv.second.op.phase); });
}

TimePoint OrderTracker::NextRound() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_round_;
}

bool OrderTracker::PollIfDue() {
  if (!HasOpen() || ctx_.clock->Now() < NextRound()) return false;
  const bool progress = Round();
  std::lock_guard<std::mutex> lock(mu_);
  interval_ = progress ? ctx_.options.poll_min
                       : std::min(ctx_.options.poll_max, milliseconds(static_cast<int64_t>(interval_.count() * 1.5)));
  const int64_t now = ctx_.clock->NowUnixSeconds();
  int64_t nearest = std::numeric_limits<int64_t>::max();
  for (const auto& [id, t] : tracked_) {
    if (!IsTerminal(t.op.phase) && t.op.deadline_at > 0) nearest = std::min(nearest, t.op.deadline_at);
  }
  milliseconds until_deadline = nearest == std::numeric_limits<int64_t>::max()
                                    ? ctx_.options.poll_max
                                    : milliseconds(std::chrono::seconds(std::max<int64_t>(1, nearest - now)));
  next_round_ = ctx_.clock->Now() + std::min(interval_, until_deadline);
  return true;
}

bool OrderTracker::Round() {
  std::vector<Operation> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, t] : tracked_) {
      if (!IsTerminal(t.op.phase)) open.push_back(t.op);
    }
  }
  bool progress = DeliverOrders(open);
  progress |= FinishTagging(open);
  progress |= PollStatuses(open);
  progress |= CheckDeadlines();
  ReportWaits();
  return progress;
}

// DescribeOrders for all pending deals of a region in one call: the API takes a list of
// deal names and documents no bound on it, so a round costs one call however many orders
// are pending.
bool OrderTracker::DeliverOrders(std::vector<Operation>& open) {
  std::map<std::string, std::vector<std::string>> deals_by_region;
  for (const Operation& op : open) {
    if (op.phase != Phase::kOrdered) continue;
    for (const std::string& d : op.deal_names) deals_by_region[op.region].push_back(d);
  }
  std::map<std::string, std::vector<std::string>> delivered;  // deal -> ids
  for (auto& [region, deals] : deals_by_region) {
    std::sort(deals.begin(), deals.end());
    deals.erase(std::unique(deals.begin(), deals.end()), deals.end());
    Result<std::vector<cloud::Deal>> r = ctx_.cloud->DescribeOrders(region, deals);
    if (!r.ok()) continue;  // tried again next round
    for (const cloud::Deal& d : *r) delivered[d.deal_name] = d.instance_ids;
  }
  bool progress = false;
  for (Operation& op : open) {
    if (op.phase != Phase::kOrdered) continue;
    std::set<std::string> ids(op.instance_ids.begin(), op.instance_ids.end());
    bool all_listed = !op.deal_names.empty();
    for (const std::string& d : op.deal_names) {
      auto it = delivered.find(d);
      if (it == delivered.end() || it->second.empty()) all_listed = false;
      else ids.insert(it->second.begin(), it->second.end());
    }
    if (all_listed || (op.expected > 0 && static_cast<int64_t>(ids.size()) >= op.expected)) {
      op.instance_ids.assign(ids.begin(), ids.end());
      op.phase = Phase::kDelivered;
      purchaser_->BeginWait(&op);
      if (static_cast<int64_t>(ids.size()) < op.expected) {
        op.error = "delivered " + std::to_string(ids.size()) + " of " + std::to_string(op.expected);
      }
      Update(op, "delivered: " + Join(op.instance_ids));
      journal_->RecordInstances(op);
      progress = true;
    }
  }
  return progress;
}

// The tags a purchase's create could not carry (identity.h), as soon as its instances' ids
// are known. The create carried the operation tag; the rest (stack, resource, the user's) is
// the same for every purchase of a resource, so purchases alike are tagged together, ten
// instances to a TagResources call. A round makes at most kTagCallsPerRound calls, all at
// once (the action's documented limit is 20/s, the rate budget paces them, and a round must
// not hold up the purchases still being sent); what is left waits for the next round, as does
// a failure.
bool OrderTracker::FinishTagging(std::vector<Operation>& open) {
  constexpr size_t kTagCallsPerRound = 20;
  constexpr size_t kIdsPerCall = 10;
  struct Call {  // one TagResources call
    std::string region;
    const cloud::Tags* tags = nullptr;
    std::vector<std::string> ids;
    Status result;
  };
  std::map<std::string, cloud::Tags> tags_of;  // by region and tags
  std::map<std::string, std::vector<Operation*>> alike;
  for (Operation& op : open) {
    if (!op.tags_pending || op.phase != Phase::kDelivered || op.instance_ids.empty()) continue;
    Result<PurchaseRequest> request = purchaser_->RequestOf(op);
    const auto* replicas = request.ok() ? std::get_if<cloud::ReplicaRequest>(&*request) : nullptr;
    if (replicas == nullptr) continue;  // a damaged record: its wait ends at the deadline
    cloud::Tags tags = replicas->tags;
    tags.erase(cloud::kOperationTag);
    tags[cloud::kStackTag] = ctx_.stack;
    tags[cloud::kResourceTag] = op.resource_key;
    std::string key = op.region;
    for (const auto& [k, v] : tags) key += '\n' + k + '=' + v;
    tags_of[key] = std::move(tags);
    alike[key].push_back(&op);
  }
  // Whole purchases only, their instances packed ten to a call across purchases alike (a
  // purchase of six and one of four share a call), as many calls as the round allows.
  std::vector<Call> calls;
  std::vector<std::pair<Operation*, std::vector<size_t>>> covered;  // each purchase, by the calls that tag it
  size_t budget = kTagCallsPerRound;
  for (auto& [key, ops] : alike) {
    const size_t first = calls.size();  // this key's calls start here
    for (Operation* op : ops) {
      const size_t room = calls.size() > first ? kIdsPerCall - calls.back().ids.size() : 0;
      const size_t n = op->instance_ids.size();
      const size_t more = n > room ? (n - room + kIdsPerCall - 1) / kIdsPerCall : 0;
      if (more > budget) break;
      budget -= more;
      std::vector<size_t> mine;
      for (const std::string& id : op->instance_ids) {
        if (calls.size() == first || calls.back().ids.size() == kIdsPerCall) {
          calls.push_back(Call{op->region, &tags_of[key], {}, Status::Ok()});
        }
        calls.back().ids.push_back(id);
        if (mine.empty() || mine.back() != calls.size() - 1) mine.push_back(calls.size() - 1);
      }
      covered.emplace_back(op, std::move(mine));
    }
    if (budget == 0) break;
  }
  ParallelFor(calls.size(), calls.size(), [&](size_t i) {
    calls[i].result = ctx_.cloud->TagInstances(calls[i].region, calls[i].ids, *calls[i].tags);
  });
  bool progress = false;
  for (auto& [op, mine] : covered) {
    const auto failed = std::find_if(mine.begin(), mine.end(), [&](size_t i) { return !calls[i].result.ok(); });
    if (failed != mine.end()) {
      journal_->Report(journal_->ChangeOf(op->id), op->resource_key, ProgressPhase::kTagging,
                       "tagging " + Join(op->instance_ids) + " failed (" + calls[*failed].result.ToString() +
                           "); trying again");
      continue;
    }
    op->tags_pending = false;
    Update(*op, "tagged " + Join(op->instance_ids) + " with the stack, resource and user tags");
    progress = true;
  }
  return progress;
}

// Instances of a purchase that will never run: isolated or going before they ever ran (an
// order refunded), or, once the visibility window since the send has passed, not found by
// a lookup by id (an order that failed). They leave the operation, which fails when none
// is left, so the next plan can buy what is missing. Returns true when it changed `op`.
bool OrderTracker::PruneLost(Operation* op, const std::map<std::string, cloud::Instance>& seen) {
  const TimePoint now = ctx_.clock->Now();
  const bool window_passed =
      op->sent_at > 0 && now >= TimePoint(std::chrono::seconds(op->sent_at)) + ctx_.options.search_window;
  std::vector<std::string> kept, lost;
  for (const std::string& id : op->instance_ids) {
    std::optional<cloud::Instance> now_seen;
    bool never_appeared = false;
    if (auto it = seen.find(id); it != seen.end()) {
      now_seen = it->second;
    } else if (window_passed) {
      // The listing is no proof of absence; a lookup by id is.
      Result<cloud::Instance> found = ctx_.cloud->DescribeInstance(op->region, id);
      if (found.ok()) now_seen = *found;
      else never_appeared = found.status().code() == Code::kNotFound;
    }
    const bool gone = now_seen && (now_seen->state() == cloud::InstanceState::kGoing || cloud::IsIsolated(now_seen->state()));
    if (never_appeared || gone) {
      lost.push_back(id + " (" + (never_appeared ? std::string("never appeared") : now_seen->status) + ")");
      // Recorded when the order named it; the state holds only what the stack owns.
      ctx_.store->DeleteInstance(id);
    } else {
      kept.push_back(id);
    }
  }
  if (lost.empty()) return false;
  op->instance_ids = kept;
  op->error = "lost before running: " + Join(lost) + "; the order failed or was refunded";
  if (kept.empty()) {
    op->phase = Phase::kFailed;
    op->tags_pending = false;
  }
  Update(*op, op->error);
  return true;
}

bool OrderTracker::PollStatuses(std::vector<Operation>& open) {
  std::map<std::string, std::vector<std::string>> ids_by_region, serverless_regions;
  for (const Operation& op : open) {
    if (op.phase != Phase::kDelivered) continue;
    auto& target = op.kind == OperationKind::kCreateServerless ? serverless_regions : ids_by_region;
    target[op.region].insert(target[op.region].end(), op.instance_ids.begin(), op.instance_ids.end());
  }
  std::map<std::string, cloud::Instance> seen;
  // 100 ids to a lookup, all at once (the rate budget paces them).
  std::vector<std::pair<std::string, cloud::ListFilter>> lookups;
  for (auto& [region, ids] : ids_by_region) {
    for (size_t i = 0; i < ids.size(); i += 100) {
      cloud::ListFilter& f = lookups.emplace_back(region, cloud::ListFilter{}).second;
      f.instance_ids.assign(ids.begin() + static_cast<long>(i),
                            ids.begin() + static_cast<long>(std::min(ids.size(), i + 100)));
    }
  }
  std::vector<Result<std::vector<cloud::Instance>>> found(lookups.size(), std::vector<cloud::Instance>{});
  ParallelFor(lookups.size(), kLookupsAtOnce, [&](size_t i) {
    found[i] = ctx_.cloud->ListInstances(lookups[i].first, lookups[i].second);
  });
  for (Result<std::vector<cloud::Instance>>& r : found) {
    if (!r.ok()) continue;  // looked up again next round
    for (cloud::Instance& inst : *r) seen[inst.id] = std::move(inst);
  }
  for (auto& [region, ids] : serverless_regions) {
    Result<std::vector<cloud::Instance>> r = ctx_.cloud->ListServerless(region, cloud::kStackTag);
    if (!r.ok()) continue;
    for (cloud::Instance& inst : *r) seen[inst.id] = std::move(inst);
  }
  bool progress = false;
  for (Operation op : open) {
    if (op.phase != Phase::kDelivered) continue;
    std::string target_spec;
    if (op.kind == OperationKind::kModifySpec) {
      Result<PurchaseRequest> request = purchaser_->RequestOf(op);
      if (request.ok()) target_spec = std::get<SpecChange>(*request).spec_code;
    }
    if (op.kind == OperationKind::kCreateReplicas && PruneLost(&op, seen)) {
      progress = true;
      if (op.phase == Phase::kFailed) continue;
    }
    bool all_running = !op.instance_ids.empty();
    std::map<std::string, std::string> statuses;
    for (const std::string& id : op.instance_ids) {
      auto it = seen.find(id);
      const bool ready = it != seen.end() && it->second.state() == cloud::InstanceState::kRunning &&
                         (target_spec.empty() || it->second.spec_code == target_spec);
      statuses[id] = it == seen.end() ? "not listed" : it->second.status;
      if (it != seen.end() && !target_spec.empty() && it->second.spec_code != target_spec) {
        statuses[id] += ", " + it->second.spec_code;
      }
      all_running = all_running && ready;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      tracked_[op.id].statuses = statuses;
    }
    if (all_running && !op.tags_pending) {
      op.phase = Phase::kDone;
      Update(op, "running: " + Join(op.instance_ids) + (op.error.empty() ? "" : " (" + op.error + ")"));
      progress = true;
    }
  }
  return progress;
}

// Ends every wait past its deadline. The deadline is the one in the state, so it is the
// same across applies. An order is searched for by its tag once more, and what that finds
// is followed to running; otherwise the purchase ends terminal and holds its resource
// (diff.h): nothing is bought again until the user acts, and delivered instances stay ours.
bool OrderTracker::CheckDeadlines() {
  std::vector<Tracked> overdue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = ctx_.clock->NowUnixSeconds();
    for (const auto& [id, t] : tracked_) {
      if (!IsTerminal(t.op.phase) && t.op.deadline_at > 0 && now >= t.op.deadline_at) overdue.push_back(t);
    }
  }
  for (const Tracked& t : overdue) {
    if (t.op.phase == Phase::kOrdered) OrderOverdue(t.op);
    else RunningOverdue(t.op, t.statuses);
  }
  return !overdue.empty();
}

// The order never listed (all) its instances. Its tag decides what was bought.
void OrderTracker::OrderOverdue(Operation op) {
  const int64_t limit = op.deadline_at - op.waiting_since;
  Result<std::vector<std::string>> found = purchaser_->Search(op);
  if (found.ok() && !found->empty()) {
    op.instance_ids = *found;
    op.phase = Phase::kDelivered;
    op.tags_pending = op.kind == OperationKind::kCreateReplicas;  // found by the one tag it surely carries
    purchaser_->BeginWait(&op);
    if (static_cast<int64_t>(found->size()) < op.expected) {
      op.error = "delivered " + std::to_string(found->size()) + " of " + std::to_string(op.expected);
    }
    Update(op, "the order listed nothing in " + FormatSeconds(limit) + ", but these carry its tag: " +
                   Join(op.instance_ids));
    journal_->RecordInstances(op);
    return;
  }
  op.phase = Phase::kFailed;
  op.error_code = kOrderDeadlineExceeded;
  op.tags_pending = false;
  op.error = std::string(op.deal_names.size() == 1 ? "order " : "orders ") + Join(op.deal_names) +
             " listed no instances within " + FormatSeconds(limit) +
             (found.ok() ? ", and nothing carries operation " + op.id + "'s tag"
                         : ", and searching for operation " + op.id + "'s tag failed (" + found.status().ToString() +
                               ")") +
             "; nothing is bought again until you act";
  Update(op, Described(op));
}

// Delivered instances that do not run in time. They stay ours and are not bought again.
void OrderTracker::RunningOverdue(Operation op, const std::map<std::string, std::string>& statuses) {
  const int64_t limit = op.deadline_at - op.waiting_since;
  std::vector<std::string> stuck;
  for (const std::string& id : op.instance_ids) {
    auto it = statuses.find(id);
    stuck.push_back(id + " (" + (it == statuses.end() ? std::string("not listed") : it->second) + ")");
  }
  op.phase = Phase::kFailed;
  op.error_code = kRunningDeadlineExceeded;
  op.error = Join(stuck) + (op.kind == OperationKind::kModifySpec ? " did not run with the new spec" : " did not run") +
             (op.tags_pending ? " with its tags" : "") + " within " + FormatSeconds(limit) +
             " of delivery; kept, and not bought again";
  Update(op, Described(op));
}

// Reports each open wait that has reached its next mark (NextReport).
void OrderTracker::ReportWaits() {
  struct Due {
    Operation op;
    std::map<std::string, std::string> statuses;
  };
  std::vector<Due> due;
  const int64_t now = ctx_.clock->NowUnixSeconds();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, t] : tracked_) {
      if (IsTerminal(t.op.phase) || t.op.deadline_at == 0) continue;
      const std::chrono::seconds waited(std::max<int64_t>(0, now - t.op.waiting_since));
      if (waited < t.next_report) continue;
      t.next_report = NextReport(waited);
      due.push_back({t.op, t.statuses});
    }
  }
  for (const Due& d : due) {
    ProgressEvent::Wait w;
    w.what = WaitingFor(d.op, d.statuses);
    w.waited = std::chrono::seconds(std::max<int64_t>(0, now - d.op.waiting_since));
    w.limit = std::chrono::seconds(d.op.deadline_at - d.op.waiting_since);
    journal_->ReportWait(journal_->ChangeOf(d.op.id), d.op.resource_key, ProgressOf(d.op.phase), std::move(w));
  }
}

// Writes a tracked operation's new phase through to the store and the table.
void OrderTracker::Update(const Operation& op, const std::string& detail) {
  journal_->Persist(op, detail);
  std::lock_guard<std::mutex> lock(mu_);
  Tracked& t = tracked_[op.id];
  if (t.op.phase != op.phase) t.next_report = std::chrono::seconds(-1);  // a new wait, reported afresh
  t.op = op;
}

}  // namespace reconciler::exec
