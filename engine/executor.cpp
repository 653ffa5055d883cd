#include "engine/executor.h"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "engine/identity.h"
#include "base/json_input.h"
#include "engine/preflight.h"
#include "base/retry_policy.h"

namespace reconciler {

using nlohmann::json;
using std::chrono::milliseconds;
using TimePoint = std::chrono::system_clock::time_point;

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kDone: return "done";
    case Outcome::kFailed: return "failed";
    case Outcome::kSkipped: return "skipped";
    case Outcome::kPending: return "pending";
    case Outcome::kBlocked: return "blocked";
  }
  return "?";
}

bool ApplyResult::ok() const {
  if (interrupted || !pending.empty()) return false;
  return std::all_of(changes.begin(), changes.end(), [](const ChangeResult& c) { return c.outcome == Outcome::kDone; });
}

namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string NewOperationId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id = "op-";
  uint64_t x = rng();
  for (int i = 0; i < 12; ++i, x /= 36) id.push_back(kAlphabet[x % 36]);
  return id;
}

// A failed operation's reason, with the code that ended it when there is one.
std::string Described(const Operation& op) { return op.error_code.empty() ? op.error : op.error_code + ": " + op.error; }

std::string FormatSeconds(int64_t seconds) { return FormatDuration(std::chrono::seconds(seconds)); }

std::string UtcText(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A string field of a recorded request; a missing or mistyped one reads as empty.
std::string TextField(const nlohmann::json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The cloud's answer to a refused call, without the code (kept apart in error_code).
std::string Refusal(const Status& s) {
  if (s.api_code().empty()) return s.ToString();
  return s.message() + (s.request_id().empty() ? "" : " (RequestId " + s.request_id() + ")");
}

}  // namespace

class Executor::Impl {
 public:
  Impl(cloud::Cloud* cloud, StateStore* store, Clock* clock, Reporter* reporter, std::string stack,
       ExecutorOptions options, std::atomic<bool>* interrupted)
      : cloud_(cloud), store_(store), clock_(clock), reporter_(reporter), stack_(std::move(stack)),
        options_(options), interrupted_(interrupted) {}

  ApplyResult Apply(const Plan& plan);

  // Wakes every wait: the tracker, the workers, and sleeps on the clock.
  void Wake() {
    { std::lock_guard<std::mutex> lock(track_mu_); }
    track_cv_.notify_all();
    { std::lock_guard<std::mutex> lock(sched_mu_); }
    sched_cv_.notify_all();
    clock_->Interrupt();
  }

 private:
  // ---------------------------------------------------------------- reporting and state

  void Report(const std::string& change, const std::string& resource, const std::string& phase,
              const std::string& detail, bool final = false) {
    reporter_->Progress({change, resource, phase, detail, final});
  }

  // Commits a transition of `op`. A purchase must never go out without a durable intent, so
  // a failed write stops the operation.
  bool Persist(const Operation& op, const std::string& detail, const std::string& change_id = "") {
    Status s = store_->PutOperation(op, detail);
    Report(ChangeOf(op.id, change_id), op.resource_key, PhaseName(op.phase), detail);
    if (!s.ok()) Report(change_id, op.resource_key, "failed", "cannot record the operation: " + s.message(), true);
    return s.ok();
  }

  // The change an operation belongs to, so its progress shows on that change's line. The
  // first caller that knows says so; later ones (the tracker) look it up.
  std::string ChangeOf(const std::string& op_id, const std::string& change_id) {
    std::lock_guard<std::mutex> lock(change_mu_);
    if (!change_id.empty()) change_of_[op_id] = change_id;
    auto it = change_of_.find(op_id);
    return it == change_of_.end() ? op_id : it->second;
  }

  void RecordInstances(const Operation& op) {
    for (const std::string& id : op.instance_ids) {
      if (op.kind == "create-group" || op.kind == "modify-spec") continue;
      store_->PutInstance({id, op.resource_key, op.region, op.id, ""});
    }
  }

  bool Interrupted() const { return interrupted_->load(); }

  // Sleeps in slices so a stop or interrupt that lands just before a sleep is seen within
  // one slice. On a fake clock each slice only moves time.
  bool Sleep(milliseconds d) {
    constexpr milliseconds kSlice{200};
    while (d.count() > 0) {
      if (Interrupted() || stop_tracker_) return false;
      milliseconds step = std::min(d, kSlice);
      if (!clock_->SleepFor(step)) return false;
      d -= step;
    }
    return !Interrupted();
  }

  // ---------------------------------------------------------------- one buyer per stack

  // Before each purchase: every instance of this stack in the region must be one this apply
  // accounts for (seen by its plan, recorded in this state, or bought by an operation this
  // state holds). Any other was bought by another state file of the stack, a copy of the
  // checkout, say, since the plan was made; buying too would double the count. Concurrent
  // purchases share one listing: one begun after they asked, or less than
  // buyer_check_reuse before (the listing's own lag makes a fresher one no wiser).
  Status CheckSoleBuyer(const Operation& op) {
    const bool serverless = op.kind == "create-serverless";
    if (!serverless && op.kind != "create-replicas") return Status::Ok();
    const uint64_t ask = ++buyer_asks_;
    std::lock_guard<std::mutex> lock(buyer_mu_);
    BuyerCheck& last = buyer_checks_[op.region + (serverless ? " serverless" : " replicas")];
    const TimePoint now = clock_->Now();
    if (last.covers >= ask || (last.covers > 0 && now - last.began < options_.buyer_check_reuse)) return last.status;
    last.covers = buyer_asks_.load();
    last.began = now;
    last.status = FindOtherBuyer(op.region, serverless);
    return last.status;
  }

  Status FindOtherBuyer(const std::string& region, bool serverless) {
    const char* what = "cannot make sure no other state file buys for this stack";
    Result<std::vector<cloud::Instance>> listed =
        serverless ? ListStackServerless(cloud_, region, stack_) : ListStackInstances(cloud_, region, stack_);
    if (!listed.ok()) return Status(listed.status().code(), std::string(what) + ": " + listed.status().message());
    Result<std::vector<InstanceRecord>> recorded = store_->Instances();
    Result<std::vector<Operation>> operations = store_->Operations();
    if (!recorded.ok()) return Status(Code::kInternal, std::string(what) + ": " + recorded.status().message());
    if (!operations.ok()) return Status(Code::kInternal, std::string(what) + ": " + operations.status().message());
    std::set<std::string> known(seen_at_plan_.begin(), seen_at_plan_.end());
    for (const InstanceRecord& r : *recorded) known.insert(r.id);
    std::set<std::string> ours;
    for (const Operation& o : *operations) ours.insert(o.id);
    std::vector<std::string> others;
    for (const cloud::Instance& i : *listed) {
      if (known.count(i.id)) continue;
      auto op = i.tags.find(cloud::kOperationTag);
      const std::string op_id = op == i.tags.end() ? "" : op->second;
      if (!op_id.empty() && ours.count(op_id)) continue;
      auto resource = i.tags.find(cloud::kResourceTag);
      others.push_back(i.id + " (" + (resource == i.tags.end() ? "no resource tag" : resource->second) +
                       ", operation " + (op_id.empty() ? "unknown" : op_id) + ")");
    }
    if (others.empty()) return Status::Ok();
    return Status(Code::kConflict,
                  "another state file is buying for stack " + stack_ + " in " + region + ": it bought " +
                      Join(others) + ", which this state does not know. Nothing was sent. Stop the other apply "
                      "(another checkout of this stack, or a copy of its state) and plan again here: the plan adopts "
                      "what it bought");
  }

  struct BuyerCheck {
    uint64_t covers = 0;  // the check began after every ask numbered up to this
    TimePoint began;
    Status status;
  };
  std::set<std::string> seen_at_plan_;  // every instance the plan observed or acts on
  std::atomic<uint64_t> buyer_asks_{0};
  std::mutex buyer_mu_;
  std::map<std::string, BuyerCheck> buyer_checks_;  // by region and kind of purchase

  // ---------------------------------------------------------------- waiting

  // How long the wait of `phase` may last: for the order to list its instances, or for
  // them to run.
  std::chrono::seconds Limit(Phase phase) const {
    return phase == Phase::kOrdered ? options_.order_deadline : options_.running_deadline;
  }

  // Starts the wait of `op`'s phase now. The deadline goes into the state with the next
  // write, so a later apply waits only for what is left of it.
  void BeginWait(Operation* op) const {
    op->waiting_since = clock_->NowUnixSeconds();
    op->deadline_at = op->waiting_since + Limit(op->phase).count();
  }

  // A wait is reported when it starts (or resumes after a restart), then after 30 s, 1, 2
  // and 5 minutes, then every 5 minutes: a log gets a line per stage, not one per poll.
  static std::chrono::seconds NextReport(std::chrono::seconds waited) {
    for (int64_t mark : {30, 60, 120, 300}) {
      if (waited.count() < mark) return std::chrono::seconds(mark);
    }
    return std::chrono::seconds((waited.count() / 300 + 1) * 300);
  }

  void ReportWait(const std::string& change, const std::string& resource, const std::string& phase,
                  ProgressEvent::Wait wait) {
    ProgressEvent e{change, resource, phase, "", false};
    e.wait = std::move(wait);
    reporter_->Progress(e);
  }

  // ---------------------------------------------------------------- tracking

  struct Tracked {
    Operation op;
    std::map<std::string, std::string> statuses;  // each instance's status at the last poll
    std::chrono::seconds next_report{-1};         // report the wait once it has lasted this long
  };

  void Track(Operation op) {
    if ((op.phase == Phase::kOrdered || op.phase == Phase::kDelivered) && op.deadline_at == 0) {
      // Recorded before deadlines were kept (schema 5): its wait starts now.
      BeginWait(&op);
      Persist(op, "waiting until " + UtcText(op.deadline_at));
    }
    {
      std::lock_guard<std::mutex> lock(track_mu_);
      Tracked& t = tracked_[op.id];
      t.op = op;
      t.next_report = std::chrono::seconds(-1);
    }
    track_cv_.notify_all();
  }

  // Blocks until `id` is done or failed, or apply is interrupted.
  Outcome Wait(const std::string& id, Operation* out, std::string* message) {
    std::unique_lock<std::mutex> lock(track_mu_);
    track_cv_.wait(lock, [&] { return IsTerminal(tracked_.at(id).op.phase) || Interrupted(); });
    const Tracked& t = tracked_.at(id);
    *out = t.op;
    if (t.op.phase == Phase::kDone) {
      *message = t.op.error;  // a note, e.g. delivered short
      return Outcome::kDone;
    }
    if (t.op.phase == Phase::kFailed) {
      *message = Described(t.op);
      return Outcome::kFailed;
    }
    *message = "interrupted; " + id + " is still in flight and the next apply resumes it";
    return Outcome::kPending;
  }

  void TrackerLoop() {
    milliseconds interval = options_.poll_min;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(track_mu_);
        track_cv_.wait(lock, [&] { return stop_tracker_ || Interrupted() || HasOpenLocked(); });
        if (stop_tracker_ || Interrupted()) return;
      }
      bool progress = PollOnce();
      track_cv_.notify_all();
      interval = progress ? options_.poll_min
                          : std::min(options_.poll_max, milliseconds(static_cast<int64_t>(interval.count() * 1.5)));
      if (HasOpen() && !Sleep(std::min(interval, UntilNextDeadline()))) return;
    }
  }

  bool HasOpenLocked() const {
    return std::any_of(tracked_.begin(), tracked_.end(), [](const auto& kv) { return !IsTerminal(kv.second.op.phase); });
  }

  bool HasOpen() {
    std::lock_guard<std::mutex> lock(track_mu_);
    return HasOpenLocked();
  }

  // How long until the nearest deadline of an open operation, so a slow poll interval does
  // not overshoot it by much. At least one second.
  milliseconds UntilNextDeadline() {
    std::lock_guard<std::mutex> lock(track_mu_);
    const int64_t now = clock_->NowUnixSeconds();
    int64_t nearest = std::numeric_limits<int64_t>::max();
    for (const auto& [id, t] : tracked_) {
      if (!IsTerminal(t.op.phase) && t.op.deadline_at > 0) nearest = std::min(nearest, t.op.deadline_at);
    }
    if (nearest == std::numeric_limits<int64_t>::max()) return options_.poll_max;
    return std::chrono::seconds(std::max<int64_t>(1, nearest - now));
  }

  // One round for every open operation: DescribeOrders for all pending deals of a region in
  // one call, then the status of every delivered instance, batched 100 to a call.
  bool PollOnce() {
    std::vector<Operation> open;
    {
      std::lock_guard<std::mutex> lock(track_mu_);
      for (const auto& [id, t] : tracked_) {
        if (!IsTerminal(t.op.phase)) open.push_back(t.op);
      }
    }
    bool progress = false;
    std::map<std::string, std::vector<std::string>> deals_by_region;
    for (const Operation& op : open) {
      if (op.phase == Phase::kOrdered) {
        for (const std::string& d : op.deal_names) deals_by_region[op.region].push_back(d);
      }
    }
    std::map<std::string, std::vector<std::string>> delivered;  // deal -> ids
    for (auto& [region, deals] : deals_by_region) {
      std::sort(deals.begin(), deals.end());
      deals.erase(std::unique(deals.begin(), deals.end()), deals.end());
      for (size_t i = 0; i < deals.size(); i += 100) {
        std::vector<std::string> chunk(deals.begin() + static_cast<long>(i),
                                       deals.begin() + static_cast<long>(std::min(deals.size(), i + 100)));
        Result<std::vector<cloud::Deal>> r = cloud_->DescribeOrders(region, chunk);
        if (!r.ok()) continue;  // tried again next round
        for (const cloud::Deal& d : *r) delivered[d.deal_name] = d.instance_ids;
      }
    }
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
        BeginWait(&op);
        if (static_cast<int64_t>(ids.size()) < op.expected) {
          op.error = "delivered " + std::to_string(ids.size()) + " of " + std::to_string(op.expected);
        }
        Update(op, "delivered: " + Join(op.instance_ids));
        RecordInstances(op);
        progress = true;
      }
    }
    progress |= FinishTagging(&open);
    progress |= PollStatuses(open);
    progress |= CheckDeadlines();
    ReportWaits();
    return progress;
  }

  // The tags a purchase's create could not carry (identity.h): one TagResources call per ten
  // instances, as soon as their ids are known. A failure is tried again next round.
  bool FinishTagging(std::vector<Operation>* open) {
    bool progress = false;
    for (Operation& op : *open) {
      if (!op.tags_pending || op.phase != Phase::kDelivered || op.instance_ids.empty()) continue;
      json req = json::parse(op.request_json, nullptr, false);
      if (!req.is_object() || !req.contains("tags") || !req["tags"].is_object()) continue;
      cloud::Tags tags;
      for (const auto& [k, v] : req["tags"].items()) {
        if (v.is_string()) tags[k] = v.get<std::string>();
      }
      tags[cloud::kStackTag] = stack_;
      tags[cloud::kResourceTag] = op.resource_key;
      tags[cloud::kOperationTag] = OperationTagValue(stack_, op.resource_key, op.id);
      Status s = cloud_->TagInstances(op.region, op.instance_ids, tags);
      if (!s.ok()) {
        Report(ChangeOf(op.id, ""), op.resource_key, "tagging", "tagging " + Join(op.instance_ids) + " failed (" +
                                                                     s.ToString() + "); trying again");
        continue;
      }
      op.tags_pending = false;
      Update(op, "tagged " + Join(op.instance_ids) + " with the stack, resource and user tags");
      progress = true;
    }
    return progress;
  }

  // Instances of a purchase that will never run: isolated or going before they ever ran (an
  // order refunded), or, once the visibility window since the send has passed, not found by
  // a lookup by id (an order that failed). They leave the operation, which fails when none
  // is left, so the next plan can buy what is missing. Returns true when it changed `op`.
  bool PruneLost(Operation* op, const std::map<std::string, cloud::Instance>& seen) {
    const TimePoint now = clock_->Now();
    const bool window_passed = op->sent_at > 0 &&
                               now >= TimePoint(std::chrono::seconds(op->sent_at)) + options_.search_window;
    std::vector<std::string> kept, lost;
    for (const std::string& id : op->instance_ids) {
      std::string status;
      if (auto it = seen.find(id); it != seen.end()) {
        status = it->second.status;
      } else if (window_passed) {
        // The listing is no proof of absence; a lookup by id is.
        Result<cloud::Instance> found = cloud_->DescribeInstance(op->region, id);
        if (found.ok()) status = found->status;
        else if (found.status().code() == Code::kNotFound) status = "never appeared";
      }
      if (status == "never appeared" || IsGoing(status) || IsIsolated(status)) {
        lost.push_back(id + " (" + status + ")");
        // Recorded when the order named it; the state holds only what the stack owns.
        store_->DeleteInstance(id);
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

  bool PollStatuses(const std::vector<Operation>& open) {
    std::map<std::string, std::vector<std::string>> ids_by_region, serverless_regions;
    for (const Operation& op : open) {
      if (op.phase != Phase::kDelivered) continue;
      auto& target = op.kind == "create-serverless" ? serverless_regions : ids_by_region;
      target[op.region].insert(target[op.region].end(), op.instance_ids.begin(), op.instance_ids.end());
    }
    std::map<std::string, cloud::Instance> seen;
    for (auto& [region, ids] : ids_by_region) {
      for (size_t i = 0; i < ids.size(); i += 100) {
        cloud::ListFilter f;
        f.instance_ids.assign(ids.begin() + static_cast<long>(i), ids.begin() + static_cast<long>(std::min(ids.size(), i + 100)));
        Result<std::vector<cloud::Instance>> r = cloud_->ListInstances(region, f);
        if (!r.ok()) continue;
        for (cloud::Instance& inst : *r) seen[inst.id] = std::move(inst);
      }
    }
    for (auto& [region, ids] : serverless_regions) {
      Result<std::vector<cloud::Instance>> r = cloud_->ListServerless(region, cloud::kStackTag);
      if (!r.ok()) continue;
      for (cloud::Instance& inst : *r) seen[inst.id] = std::move(inst);
    }
    bool progress = false;
    for (Operation op : open) {
      if (op.phase != Phase::kDelivered) continue;
      std::string target_spec;
      if (op.kind == "modify-spec") target_spec = TextField(json::parse(op.request_json, nullptr, false), "specCode");
      if (op.kind == "create-replicas" && PruneLost(&op, seen)) {
        progress = true;
        if (op.phase == Phase::kFailed) continue;
      }
      bool all_running = !op.instance_ids.empty();
      std::map<std::string, std::string> statuses;
      for (const std::string& id : op.instance_ids) {
        auto it = seen.find(id);
        bool ready = it != seen.end() && it->second.status == "running" &&
                     (target_spec.empty() || it->second.spec_code == target_spec);
        statuses[id] = it == seen.end() ? "not listed" : it->second.status;
        if (it != seen.end() && !target_spec.empty() && it->second.spec_code != target_spec) {
          statuses[id] += ", " + it->second.spec_code;
        }
        all_running = all_running && ready;
      }
      {
        std::lock_guard<std::mutex> lock(track_mu_);
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
  bool CheckDeadlines() {
    std::vector<Tracked> overdue;
    {
      std::lock_guard<std::mutex> lock(track_mu_);
      const int64_t now = clock_->NowUnixSeconds();
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
  void OrderOverdue(Operation op) {
    const int64_t limit = op.deadline_at - op.waiting_since;
    Result<std::vector<std::string>> found = Search(op);
    if (found.ok() && !found->empty()) {
      op.instance_ids = *found;
      op.phase = Phase::kDelivered;
      op.tags_pending = op.kind == "create-replicas";  // found by the one tag it surely carries
      BeginWait(&op);
      if (static_cast<int64_t>(found->size()) < op.expected) {
        op.error = "delivered " + std::to_string(found->size()) + " of " + std::to_string(op.expected);
      }
      Update(op, "the order listed nothing in " + FormatSeconds(limit) + ", but these carry its tag: " +
                     Join(op.instance_ids));
      RecordInstances(op);
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
  void RunningOverdue(Operation op, const std::map<std::string, std::string>& statuses) {
    const int64_t limit = op.deadline_at - op.waiting_since;
    std::vector<std::string> stuck;
    for (const std::string& id : op.instance_ids) {
      auto it = statuses.find(id);
      stuck.push_back(id + " (" + (it == statuses.end() ? std::string("not listed") : it->second) + ")");
    }
    op.phase = Phase::kFailed;
    op.error_code = kRunningDeadlineExceeded;
    op.error = Join(stuck) + (op.kind == "modify-spec" ? " did not run with the new spec" : " did not run") +
               (op.tags_pending ? " with its tags" : "") + " within " + FormatSeconds(limit) +
               " of delivery; kept, and not bought again";
    Update(op, Described(op));
  }

  // Reports each open wait that has reached its next mark (NextReport).
  void ReportWaits() {
    struct Due {
      Operation op;
      std::map<std::string, std::string> statuses;
    };
    std::vector<Due> due;
    {
      std::lock_guard<std::mutex> lock(track_mu_);
      const int64_t now = clock_->NowUnixSeconds();
      for (auto& [id, t] : tracked_) {
        if (IsTerminal(t.op.phase) || t.op.deadline_at == 0) continue;
        const std::chrono::seconds waited(std::max<int64_t>(0, now - t.op.waiting_since));
        if (waited < t.next_report) continue;
        t.next_report = NextReport(waited);
        due.push_back({t.op, t.statuses});
      }
    }
    const int64_t now = clock_->NowUnixSeconds();
    for (const Due& d : due) {
      ProgressEvent::Wait w;
      w.what = WaitingFor(d.op, d.statuses);
      w.waited = std::chrono::seconds(std::max<int64_t>(0, now - d.op.waiting_since));
      w.limit = std::chrono::seconds(d.op.deadline_at - d.op.waiting_since);
      ReportWait(ChangeOf(d.op.id, ""), d.op.resource_key, PhaseName(d.op.phase), std::move(w));
    }
  }

  // "order 2026...", "pgro-1 (initing), pgro-2 (applying) to run"
  static std::string WaitingFor(const Operation& op, const std::map<std::string, std::string>& statuses) {
    if (op.phase == Phase::kOrdered) {
      return std::string(op.deal_names.size() == 1 ? "order " : "orders ") + Join(op.deal_names);
    }
    std::vector<std::string> parts;
    for (const std::string& id : op.instance_ids) {
      auto it = statuses.find(id);
      parts.push_back(it == statuses.end() ? id : id + " (" + it->second + ")");
    }
    return Join(parts) + (op.kind == "modify-spec" ? " to run with the new spec" : " to run");
  }

  // Writes a tracked operation's new phase through to the store and the table.
  void Update(const Operation& op, const std::string& detail) {
    Persist(op, detail);
    std::lock_guard<std::mutex> lock(track_mu_);
    Tracked& t = tracked_[op.id];
    if (t.op.phase != op.phase) t.next_report = std::chrono::seconds(-1);  // a new wait, reported afresh
    t.op = op;
  }

  // ---------------------------------------------------------------- purchases

  // Instances (or the group) the cloud holds for `op`, found by its operation tag.
  Result<std::vector<std::string>> Search(const Operation& op) {
    std::vector<std::string> found;
    json req = json::parse(op.request_json, nullptr, false);
    if (op.kind == "create-group") {
      Result<std::vector<cloud::Group>> groups = cloud_->ListGroups(op.region, TextField(req, "masterInstanceId"));
      if (!groups.ok()) return groups.status();
      for (const cloud::Group& g : *groups) {
        if (g.name == TextField(req, "groupName")) found.push_back(g.id);
      }
      return found;
    }
    if (op.kind == "modify-spec") {
      Result<cloud::Instance> i = cloud_->DescribeInstance(op.region, TextField(req, "instanceId"));
      if (!i.ok()) return i.status();
      if (i->status == "expanding" || i->spec_code == TextField(req, "specCode")) found.push_back(i->id);
      return found;
    }
    // The replica listing finds instances that carry only the tag they were bought with.
    Result<std::vector<cloud::Instance>> all = op.kind == "create-serverless"
                                                   ? ListStackServerless(cloud_, op.region, stack_)
                                                   : ListStackInstances(cloud_, op.region, stack_);
    if (!all.ok()) return all.status();
    for (const cloud::Instance& i : *all) {
      auto t = i.tags.find(cloud::kOperationTag);
      if (t != i.tags.end() && t->second == op.id) found.push_back(i.id);
    }
    return found;
  }

  struct Sent {
    Status status;
    cloud::Purchase purchase;
  };

  Sent Send(const Operation& op, cloud::DryRun dry_run) {
    Sent out;
    try {
      json req = json::parse(op.request_json);
      if (HoldsFraction(req)) {
        // Out of an integer field's range, its conversion would be undefined.
        out.status = Status(Code::kInternal, "operation record is damaged: it holds a fractional number");
      } else if (op.kind == "create-replicas") {
        cloud::ReplicaRequest q = ReplicaRequestFromJson(req);
        q.count = static_cast<uint64_t>(op.expected);
        q.tags[cloud::kOperationTag] = OperationTagValue(stack_, op.resource_key, op.id);
        Result<cloud::Purchase> r = cloud_->CreateReplicas(q, dry_run);
        if (r.ok()) out.purchase = *r;
        else out.status = r.status();
      } else if (op.kind == "create-serverless") {
        cloud::ServerlessRequest q = ServerlessRequestFromJson(req);
        q.tags[cloud::kOperationTag] = OperationTagValue(stack_, op.resource_key, op.id);
        Result<std::string> r = cloud_->CreateServerless(q, dry_run);
        if (!r.ok()) out.status = r.status();
        else if (!r->empty()) out.purchase.instance_ids = {*r};
      } else if (op.kind == "create-group") {
        Result<std::string> r = cloud_->CreateGroup(GroupRequestFromJson(req));
        if (r.ok()) out.purchase.instance_ids = {*r};
        else out.status = r.status();
      } else if (op.kind == "modify-spec") {
        Result<std::string> r = cloud_->ModifySpec(op.region, req.at("instanceId"), req.at("memoryGB"), req.at("cpu"),
                                                   req.at("storageGB"));
        if (r.ok()) out.purchase.deal_names = {*r};
        else out.status = r.status();
      }
    } catch (const json::exception& e) {
      out.status = Status(Code::kInternal, std::string("operation record is damaged: ") + e.what());
    }
    return out;
  }

  bool HasDryRun(const Operation& op) const { return op.kind == "create-replicas" || op.kind == "create-serverless"; }

  // Fails `op` for good, as `error` with the cloud's `code` ("" for a reason of ours).
  Outcome Fail(Operation& op, const std::string& code, const std::string& error, const std::string& change_id,
               std::string* message) {
    op.phase = Phase::kFailed;
    op.error_code = code;
    op.error = error;
    Persist(op, Described(op), change_id);
    *message = Described(op);
    return Outcome::kFailed;
  }

  // Takes `op` from wherever it stands to ordered (or beyond), or to failed. Each failed call
  // goes by the retry table (retry_policy.h): the DryRun as a read, the create as a purchase.
  Outcome SendUntilOrdered(Operation& op, const std::string& change_id, std::string* message) {
    Backoff backoff(options_.backoff_min, options_.backoff_max, options_.jitter_seed);
    int dry_run_failures = 0;
    for (;;) {
      if (op.phase == Phase::kIntent && op.attempts > op.settled) {
        op.phase = Phase::kUnknown;
        if (!Persist(op, "an earlier attempt may have gone out: searching before any retry", change_id)) return Outcome::kFailed;
      }
      if (op.phase == Phase::kUnknown) {
        Outcome o = Resolve(op, change_id, message);
        if (o != Outcome::kDone) return o;
        continue;
      }
      if (op.phase != Phase::kIntent) return Outcome::kDone;  // ordered, delivered, done or failed
      if (Interrupted()) return Fail(op, "", "interrupted before anything was sent", change_id, message);
      if (op.attempts >= options_.max_send_attempts) {
        return Fail(op, "", "gave up after " + std::to_string(op.attempts) +
                                " attempts, each of which provably bought nothing; the next apply tries again",
                    change_id, message);
      }
      if (HasDryRun(op)) {
        Sent dry = Send(op, cloud::DryRun::kYes);
        if (!dry.status.ok() && Decide(dry.status, Effect::kRead) == Verdict::kRetry) {
          if (++dry_run_failures >= options_.max_send_attempts) {
            return Fail(op, "", "DryRun failed " + std::to_string(dry_run_failures) + " times (last: " +
                                    dry.status.ToString() + "); nothing was sent, and the next apply tries again",
                        change_id, message);
          }
          Sleep(backoff.Next());
          continue;
        }
        if (!dry.status.ok() && !RefusesDryRun(dry.status)) {  // an endpoint without DryRun goes on
          return Fail(op, dry.status.api_code(), "DryRun refused: " + Refusal(dry.status), change_id, message);
        }
      }
      if (Status buyer = CheckSoleBuyer(op); !buyer.ok()) {
        op.phase = Phase::kFailed;
        op.error = buyer.message();
        Persist(op, op.error, change_id);
        *message = op.error;
        return Outcome::kFailed;
      }
      ++op.attempts;
      op.sent_at = std::chrono::duration_cast<std::chrono::seconds>(clock_->Now().time_since_epoch()).count();
      if (!Persist(op, "sending attempt " + std::to_string(op.attempts), change_id)) {
        --op.attempts;
        *message = "cannot record the intent; nothing was sent";
        return Outcome::kFailed;
      }
      Sent sent = Send(op, cloud::DryRun::kNo);
      if (sent.status.ok()) {
        Ordered(op, sent.purchase, change_id);
        return Outcome::kDone;
      }
      const Status& s = sent.status;
      switch (Decide(s, Effect::kPurchase)) {
        case Verdict::kRetry:  // throttled or not sent: nothing was bought
          op.settled = op.attempts;
          Persist(op, s.ToString() + ": nothing was bought; retrying", change_id);
          Sleep(backoff.Next());
          continue;
        case Verdict::kTerminal:  // refused: nothing was bought, and nothing will be as it is
          op.settled = op.attempts;
          return Fail(op, s.api_code(), "refused: " + Refusal(s), change_id, message);
        case Verdict::kOutcomeUnknown:
          op.phase = Phase::kUnknown;
          if (!Persist(op, s.ToString() + ": the outcome is unknown; searching before any retry", change_id)) {
            return Outcome::kFailed;
          }
          continue;
      }
    }
  }

  // Records what an accepted create answered, and starts the wait for its order or for its
  // instances to run.
  void Ordered(Operation& op, const cloud::Purchase& purchase, const std::string& change_id) {
    op.deal_names = purchase.deal_names;
    op.bill_id = purchase.bill_id;
    if (op.kind == "create-replicas") op.tags_pending = !purchase.tags_complete;
    // A spec change keeps the instance it was made for; a purchase learns its instances here.
    if (!purchase.instance_ids.empty()) op.instance_ids = purchase.instance_ids;
    bool ids_complete = op.kind == "create-group" || op.kind == "create-serverless"
                            ? !op.instance_ids.empty()
                            : static_cast<int64_t>(op.instance_ids.size()) >= op.expected && op.expected > 0;
    op.phase = ids_complete ? Phase::kDelivered : Phase::kOrdered;
    BeginWait(&op);
    std::string detail;
    if (!op.deal_names.empty()) {
      detail = "deal(s) " + Join(op.deal_names) + (op.bill_id.empty() ? "" : ", bill " + op.bill_id);
    }
    if (!op.instance_ids.empty()) detail += (detail.empty() ? "" : "; ") + std::string("instance(s) ") + Join(op.instance_ids);
    Persist(op, detail, change_id);
    RecordInstances(op);
  }

  // Settles an operation whose create may or may not have bought: search by its tag until a
  // search that began after the visibility window (counted from the send, which the state
  // keeps, so a restart does not shorten it) has found nothing.
  Outcome Resolve(Operation& op, const std::string& change_id, std::string* message) {
    const TimePoint sent = op.sent_at > 0 ? TimePoint(std::chrono::seconds(op.sent_at)) : clock_->Now();
    const TimePoint settled_after = sent + options_.search_window;
    std::chrono::seconds next_report{-1};
    for (int round = 0;; ++round) {
      const TimePoint began = clock_->Now();
      Result<std::vector<std::string>> found = Search(op);
      if (!found.ok()) {
        *message = "cannot tell whether " + op.id + " bought anything (" + found.status().ToString() +
                   "); the next apply resumes it";
        return Outcome::kPending;
      }
      if (!found->empty()) {
        op.instance_ids = *found;
        op.phase = Phase::kDelivered;
        op.tags_pending = op.kind == "create-replicas";  // found by the one tag it surely carries
        BeginWait(&op);
        Persist(op, "found " + Join(op.instance_ids) + " tagged with this operation: the lost create did buy", change_id);
        RecordInstances(op);
        return Outcome::kDone;
      }
      if (began >= settled_after) break;
      auto left = std::chrono::duration_cast<milliseconds>(settled_after - began);
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(began - sent);
      if (round == 0) {
        Report(ChangeOf(op.id, change_id), op.resource_key, "searching",
               "outcome unknown: nothing carries " + op.id + " yet; searching for " +
                   std::to_string(std::chrono::duration_cast<std::chrono::seconds>(left).count()) +
                   "s more before anything is sent again");
        next_report = NextReport(waited);
      } else if (waited >= next_report) {
        next_report = NextReport(waited);
        ReportWait(ChangeOf(op.id, change_id), op.resource_key, "searching",
                   {"the visibility window of " + op.id + " to pass (nothing carries its tag yet)", waited,
                    options_.search_window});
      }
      if (!Sleep(std::min(left, options_.search_spacing))) {
        *message = "interrupted while checking whether " + op.id + " bought anything; the next apply resumes it";
        return Outcome::kPending;
      }
    }
    op.settled = op.attempts;
    op.phase = Phase::kIntent;
    Persist(op, "nothing carries this operation's tag " + std::to_string(options_.search_window.count()) +
                    "s after it was sent, past the time the cloud could still have accepted it: nothing was "
                    "bought; sending again",
            change_id);
    return Outcome::kDone;
  }

  // The whole life of one operation, to done.
  Outcome RunOperation(Operation op, const std::string& change_id, std::string* message, Operation* final_op) {
    Outcome sent = SendUntilOrdered(op, change_id, message);
    *final_op = op;
    if (sent != Outcome::kDone) return sent;
    if (op.phase == Phase::kFailed) {
      *message = Described(op);
      return Outcome::kFailed;
    }
    if (op.phase == Phase::kDone) return Outcome::kDone;
    if (op.kind == "create-group") {
      op.phase = Phase::kDone;
      Persist(op, "group " + Join(op.instance_ids), change_id);
      *final_op = op;
      return Outcome::kDone;
    }
    Track(op);
    Outcome o = Wait(op.id, final_op, message);
    return o;
  }

  // A purchase that passed its deadline, which a plan found resolved since (diff.h): an order
  // that delivered late, or instances that run now. It waits again from now, for them to run.
  // Returns false, with `message` saying why, when there is nothing to follow.
  bool Revive(Operation* op, const std::string& change_id, std::string* message) {
    if (op->phase != Phase::kFailed ||
        (op->error_code != kOrderDeadlineExceeded && op->error_code != kRunningDeadlineExceeded)) {
      return false;
    }
    if (op->error_code == kOrderDeadlineExceeded) {
      Result<std::vector<std::string>> found = Search(*op);
      if (!found.ok() || found->empty()) {
        *message = Described(*op) + (found.ok() ? "" : "; searching again failed: " + found.status().ToString());
        return false;
      }
      op->instance_ids = *found;
      op->tags_pending = op->kind == "create-replicas";  // found by the one tag it surely carries
    }
    const std::string was = Described(*op);
    op->phase = Phase::kDelivered;
    op->error_code.clear();
    op->error = static_cast<int64_t>(op->instance_ids.size()) < op->expected
                    ? "delivered " + std::to_string(op->instance_ids.size()) + " of " + std::to_string(op->expected)
                    : "";
    BeginWait(op);
    Persist(*op, "followed again after " + was + ": " + Join(op->instance_ids), change_id);
    RecordInstances(*op);
    return true;
  }

  Operation NewOperation(const std::string& kind, const Change& c, const std::string& request, int64_t expected) {
    Operation op;
    op.id = NewOperationId();
    op.resource_key = c.key.ToString();
    op.kind = kind;
    op.region = c.region;
    op.request_json = request;
    op.expected = expected;
    // Until a create answers that it carried every tag, assume it carried only the operation
    // tag: an outcome found by search is tagged in full, which is safe to repeat.
    op.tags_pending = kind == "create-replicas";
    return op;
  }

  // ---------------------------------------------------------------- changes

  Status CheckOwned(const Change& c);
  Outcome RunChange(const Change& c, std::string* message);
  Outcome CreateReplicas(const Change& c, std::vector<std::string>* bought, std::string* message);
  Outcome CreateServerless(const Change& c, std::string* message);
  Outcome CreateGroup(const Change& c, std::string* message);
  Outcome UpdateInstance(const Change& c, std::string* message);
  Outcome RecordPolicy(const Change& c, std::string* message);
  Outcome UpdateGroup(const Change& c, std::string* message);
  Outcome Restore(const Change& c, std::string* message);
  Outcome Delete(const Change& c, const std::vector<std::string>& ids, std::string* message);
  Outcome Orphan(const Change& c, std::string* message);
  Outcome Adopt(const Change& c, std::string* message);
  Outcome Resume(const Change& c, std::string* message);
  Outcome WaitStatus(const Change& c, const std::vector<std::string>& ids, const std::string& want, std::string* message);

  void RecordResource(const Change& c, const std::string& group_id = "") {
    if (c.spec_json.empty()) return;
    std::string gid = group_id;
    if (gid.empty() && c.key.kind == specs::Kind::kReadOnlyGroup) {
      std::lock_guard<std::mutex> lock(sched_mu_);
      if (auto it = group_ids_.find(c.key.ToString()); it != group_ids_.end()) gid = it->second;
    }
    std::lock_guard<std::mutex> lock(record_mu_);
    store_->PutResource({c.key.ToString(), c.region, c.deletion_policy, c.spec_json, gid, ""});
  }

  std::string GroupIdOf(const std::string& key) {
    std::lock_guard<std::mutex> lock(sched_mu_);
    auto it = group_ids_.find(key);
    return it == group_ids_.end() ? "" : it->second;
  }

  cloud::Cloud* cloud_;
  StateStore* store_;
  Clock* clock_;
  Reporter* reporter_;
  std::string stack_;
  ExecutorOptions options_;
  std::atomic<bool>* interrupted_;

  std::mutex track_mu_;
  std::condition_variable track_cv_;
  std::map<std::string, Tracked> tracked_;
  std::atomic<bool> stop_tracker_{false};

  std::mutex record_mu_;  // a resource record's read-modify-write (RecordPolicy) against its writes
  std::mutex change_mu_;
  std::map<std::string, std::string> change_of_;  // operation id -> change id

  std::mutex sched_mu_;
  std::condition_variable sched_cv_;
  std::map<std::string, std::string> group_ids_;  // group key -> id, from state and from this apply
};

// ------------------------------------------------------------------ change handlers

// Whether every instance (or group) `c` would destroy, untag or restore is this stack's,
// under c's resource: recorded so in the state, or carrying the stack's tags in the cloud
// now. The plan only names such instances; this holds whatever the plan says.
Status Executor::Impl::CheckOwned(const Change& c) {
  const std::string key = c.key.ToString();
  Result<std::vector<InstanceRecord>> recorded = store_->Instances();
  Result<std::vector<ResourceRecord>> resources = store_->Resources();
  if (!recorded.ok()) return recorded.status();
  if (!resources.ok()) return resources.status();
  std::optional<std::vector<cloud::Instance>> serverless;
  for (const std::string& id : c.instance_ids) {
    bool owned = false;
    for (const InstanceRecord& r : *recorded) owned |= r.id == id && r.resource_key == key;
    for (const ResourceRecord& r : *resources) owned |= r.key == key && !r.group_id.empty() && r.group_id == id;
    if (!owned && c.key.kind == specs::Kind::kReadOnlyInstance) {
      Result<cloud::Instance> now = cloud_->DescribeInstance(c.region, id);
      if (!now.ok() && now.status().code() != Code::kNotFound) return now.status();
      if (now.ok()) {
        Normalize(&*now);
        auto resource = now->tags.find(cloud::kResourceTag);
        owned = BelongsTo(*now, stack_) && resource != now->tags.end() && resource->second == key;
      }
    } else if (!owned && c.key.kind == specs::Kind::kServerlessInstance) {
      if (!serverless) {
        Result<std::vector<cloud::Instance>> listed = ListStackServerless(cloud_, c.region, stack_);
        if (!listed.ok()) return listed.status();
        serverless = std::move(listed).value();
      }
      for (const cloud::Instance& i : *serverless) {
        auto resource = i.tags.find(cloud::kResourceTag);
        owned |= i.id == id && resource != i.tags.end() && resource->second == key;
      }
    }
    if (!owned) {
      return Status(Code::kPermanent, id + " in " + c.region + " does not belong to " + key + " of stack " + stack_ +
                                          " (neither the state nor its tags say so); nothing was done to it");
    }
  }
  return Status::Ok();
}

Outcome Executor::Impl::RunChange(const Change& c, std::string* message) {
  const bool touches_existing = c.action == Action::kDelete || c.action == Action::kOrphan ||
                                c.action == Action::kReplace || c.action == Action::kRestore;
  if (touches_existing && !c.instance_ids.empty()) {
    if (Status owned = CheckOwned(c); !owned.ok()) {
      *message = owned.message();
      return Outcome::kFailed;
    }
  }
  switch (c.action) {
    case Action::kCreate:
      if (c.group) return CreateGroup(c, message);
      if (c.serverless) return CreateServerless(c, message);
      {
        std::vector<std::string> bought;
        return CreateReplicas(c, &bought, message);
      }
    case Action::kReplace:
      if (c.serverless) {
        Outcome gone = Delete(c, c.instance_ids, message);
        if (gone != Outcome::kDone) return gone;
        return CreateServerless(c, message);
      } else {
        std::vector<std::string> bought;
        Outcome created = CreateReplicas(c, &bought, message);
        if (created != Outcome::kDone) return created;
        return Delete(c, c.instance_ids, message);  // create before destroy
      }
    case Action::kUpdate: return UpdateInstance(c, message);
    case Action::kRestore: return Restore(c, message);
    case Action::kDelete: return Delete(c, c.instance_ids, message);
    case Action::kOrphan: return Orphan(c, message);
    case Action::kAdopt: return Adopt(c, message);
    case Action::kResume: return Resume(c, message);
  }
  return Outcome::kFailed;
}

Outcome Executor::Impl::CreateReplicas(const Change& c, std::vector<std::string>* bought, std::string* message) {
  cloud::ReplicaRequest q = *c.replica;
  if (q.group_id.empty() && !c.group_ref.empty()) {
    q.group_id = GroupIdOf(c.group_ref);
    if (q.group_id.empty()) {
      *message = c.group_ref + " was not created, so its replicas cannot join it";
      return Outcome::kFailed;
    }
  }
  RecordResource(c);
  // Send every chunk first, then follow them all: their deals are tracked together.
  std::vector<Operation> ops;
  std::vector<std::string> failures;
  Outcome worst = Outcome::kDone;
  for (uint64_t n : SplitCount(c.count)) {
    cloud::ReplicaRequest chunk = q;
    chunk.count = n;
    Operation op = NewOperation("create-replicas", c, ReplicaRequestJson(chunk).dump(), static_cast<int64_t>(n));
    if (!Persist(op, "buy " + std::to_string(n) + " replica(s)", c.id)) return Outcome::kFailed;
    std::string why;
    Outcome o = SendUntilOrdered(op, c.id, &why);
    if (o != Outcome::kDone || op.phase == Phase::kFailed) {
      failures.push_back(why.empty() ? op.error : why);
      worst = o == Outcome::kPending ? Outcome::kPending : Outcome::kFailed;
      if (o == Outcome::kPending) ops.push_back(op);
      break;  // no further chunks after a refusal
    }
    ops.push_back(op);
  }
  for (Operation& op : ops) {
    if (IsTerminal(op.phase) || op.phase == Phase::kUnknown || op.phase == Phase::kIntent) continue;
    Track(op);
  }
  for (Operation& op : ops) {
    if (op.phase != Phase::kOrdered && op.phase != Phase::kDelivered) continue;
    std::string why;
    Operation final_op;
    Outcome o = Wait(op.id, &final_op, &why);
    bought->insert(bought->end(), final_op.instance_ids.begin(), final_op.instance_ids.end());
    if (o == Outcome::kFailed) {
      failures.push_back(why);
      if (worst == Outcome::kDone) worst = Outcome::kFailed;
    } else if (o == Outcome::kPending) {
      failures.push_back(why);
      worst = Outcome::kPending;
    } else if (!why.empty()) {
      failures.push_back(why);  // delivered short: done, but the count is short
      if (worst == Outcome::kDone) worst = Outcome::kFailed;
    }
  }
  *message = failures.empty() ? "running: " + Join(*bought) : Join(failures);
  return worst;
}

Outcome Executor::Impl::CreateServerless(const Change& c, std::string* message) {
  RecordResource(c);
  Operation op = NewOperation("create-serverless", c, ServerlessRequestJson(*c.serverless).dump(), 1);
  if (!Persist(op, "create serverless instance " + c.serverless->name, c.id)) return Outcome::kFailed;
  Operation final_op;
  Outcome o = RunOperation(op, c.id, message, &final_op);
  if (o == Outcome::kDone) *message = "running: " + Join(final_op.instance_ids);
  return o;
}

Outcome Executor::Impl::CreateGroup(const Change& c, std::string* message) {
  Operation op = NewOperation("create-group", c, GroupRequestJson(*c.group).dump(), 1);
  if (!Persist(op, "create read-only group " + c.group->name, c.id)) return Outcome::kFailed;
  Operation final_op;
  Outcome o = RunOperation(op, c.id, message, &final_op);
  if (o != Outcome::kDone || final_op.instance_ids.empty()) return o == Outcome::kDone ? Outcome::kFailed : o;
  const std::string id = final_op.instance_ids.front();
  {
    std::lock_guard<std::mutex> lock(sched_mu_);
    group_ids_[c.key.ToString()] = id;
  }
  RecordResource(c, id);
  *message = "group " + id;
  return Outcome::kDone;
}

Outcome Executor::Impl::UpdateInstance(const Change& c, std::string* message) {
  if (c.instance_ids.empty() && c.update.empty()) return RecordPolicy(c, message);
  if (c.update.group_config) return UpdateGroup(c, message);
  const std::string& id = c.instance_ids.front();
  const UpdateCalls& u = c.update;
  auto check = [&](const Status& s, const char* what) {
    if (!s.ok()) *message = std::string(what) + " on " + id + ": " + s.ToString();
    return s.ok();
  };
  if (u.name && !check(cloud_->ModifyName(c.region, id, *u.name), "ModifyDBInstanceName")) return Outcome::kFailed;
  if (u.deletion_protection &&
      !check(cloud_->ModifyDeletionProtection(c.region, id, *u.deletion_protection), "ModifyDBInstanceDeletionProtection")) {
    return Outcome::kFailed;
  }
  if (u.security_groups &&
      !check(cloud_->ModifySecurityGroups(c.region, id, *u.security_groups), "ModifyDBInstanceSecurityGroups")) {
    return Outcome::kFailed;
  }
  if (u.group) {
    std::string to = u.group->to_id.empty() ? GroupIdOf(u.group->to_key) : u.group->to_id;
    if (to.empty()) {
      *message = u.group->to_key + " was not created, so " + id + " cannot join it";
      return Outcome::kFailed;
    }
    if (!check(cloud_->MoveToGroup(c.region, id, u.group->from, to), "ModifyDBInstanceReadOnlyGroup")) {
      return Outcome::kFailed;
    }
  }
  if ((!u.tags_set.empty() || !u.tags_remove.empty()) &&
      !check(cloud_->ModifyTags(c.region, id, u.tags_set, u.tags_remove), "ModifyResourceTags")) {
    return Outcome::kFailed;
  }
  if (u.spec) {
    json req = {{"instanceId", id}, {"specCode", u.spec->spec_code}, {"memoryGB", u.spec->memory_gb},
                {"cpu", u.spec->cpu}, {"storageGB", u.spec->storage_gb}};
    Operation op = NewOperation("modify-spec", c, req.dump(), 0);
    op.instance_ids = {id};
    if (!Persist(op, "change " + id + " to " + u.spec->spec_code + ", " + std::to_string(u.spec->storage_gb) + " GB",
                 c.id)) {
      return Outcome::kFailed;
    }
    Operation final_op;
    Outcome o = RunOperation(op, c.id, message, &final_op);
    if (o != Outcome::kDone) return o;
  }
  RecordResource(c);
  *message = "updated " + id;
  return Outcome::kDone;
}

// A deletionPolicy change: only the policy is written, into the record as it stands, so that
// a spec field whose own change has not been applied yet (security groups, say) is not
// recorded as applied with it.
Outcome Executor::Impl::RecordPolicy(const Change& c, std::string* message) {
  const std::string key = c.key.ToString();
  std::lock_guard<std::mutex> lock(record_mu_);
  Result<std::vector<ResourceRecord>> resources = store_->Resources();
  if (!resources.ok()) {
    *message = "cannot read the state: " + resources.status().message();
    return Outcome::kFailed;
  }
  auto rec = std::find_if(resources->begin(), resources->end(), [&](const ResourceRecord& r) { return r.key == key; });
  if (rec == resources->end()) {
    *message = key + " is not in the state any more; the next plan looks again";
    return Outcome::kFailed;
  }
  ResourceRecord updated = *rec;
  updated.deletion_policy = c.deletion_policy;
  json spec = json::parse(updated.spec_json, nullptr, false);
  if (spec.is_object()) {
    spec["deletionPolicy"] = c.deletion_policy;
    updated.spec_json = spec.dump();
  }
  if (Status s = store_->PutResource(updated); !s.ok()) {
    *message = "cannot record deletionPolicy " + c.deletion_policy + ": " + s.message();
    return Outcome::kFailed;
  }
  *message = "recorded deletionPolicy " + c.deletion_policy + " (nothing was called in the cloud)";
  return Outcome::kDone;
}

// ModifyReadOnlyGroupConfig costs nothing and sets the whole config, so it is safe to repeat;
// an answer that is lost leaves the change failed, and the next plan sees what took effect.
Outcome Executor::Impl::UpdateGroup(const Change& c, std::string* message) {
  const std::string& id = c.instance_ids.front();
  Status s = cloud_->ModifyGroupConfig(c.region, id, *c.update.group_config);
  if (!s.ok()) {
    *message = "ModifyReadOnlyGroupConfig on " + id + ": " + s.ToString() +
               (s.code() == Code::kOutcomeUnknown ? " (it may have taken effect; the next plan shows what did)" : "");
    return Outcome::kFailed;
  }
  RecordResource(c, id);
  *message = "updated group " + id;
  return Outcome::kDone;
}

Outcome Executor::Impl::WaitStatus(const Change& c, const std::vector<std::string>& ids, const std::string& want,
                                   std::string* message) {
  const TimePoint started = clock_->Now();
  const TimePoint deadline = started + options_.running_deadline;
  milliseconds interval = options_.poll_min;
  std::chrono::seconds next_report{-1};
  for (;;) {
    cloud::ListFilter f;
    f.instance_ids = ids;
    Result<std::vector<cloud::Instance>> r = cloud_->ListInstances(c.region, f);
    if (r.ok()) {
      size_t matched = 0;
      for (const cloud::Instance& i : *r) matched += i.status == want;
      if (matched == ids.size()) return Outcome::kDone;
    }
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(clock_->Now() - started);
    if (waited >= next_report) {
      next_report = NextReport(waited);
      ReportWait(c.id, c.key.ToString(), "waiting", {Join(ids) + " to become " + want, waited, options_.running_deadline});
    }
    if (clock_->Now() > deadline) {
      *message = Join(ids) + " did not become " + want + " in time; the next apply looks again";
      return Outcome::kPending;
    }
    if (!Sleep(interval)) {
      *message = "interrupted while waiting for " + Join(ids) + " to become " + want;
      return Outcome::kPending;
    }
    interval = std::min(options_.poll_max, milliseconds(static_cast<int64_t>(interval.count() * 1.5)));
  }
}

Outcome Executor::Impl::Restore(const Change& c, std::string* message) {
  for (const std::string& id : c.instance_ids) {
    Status s = cloud_->Restore(c.region, id);
    if (!s.ok()) {
      *message = "DisIsolateDBInstances on " + id + ": " + s.ToString();
      return Outcome::kFailed;
    }
    Report(c.id, c.key.ToString(), "restoring", id);
  }
  Outcome o = WaitStatus(c, c.instance_ids, "running", message);
  if (o == Outcome::kDone) {
    for (const std::string& id : c.instance_ids) store_->PutInstance({id, c.key.ToString(), c.region, "", ""});
    RecordResource(c);
    *message = "restored " + Join(c.instance_ids);
  }
  return o;
}

Outcome Executor::Impl::Delete(const Change& c, const std::vector<std::string>& ids, std::string* message) {
  if (c.key.kind == specs::Kind::kReadOnlyGroup) {
    Status s = cloud_->DeleteGroup(c.region, ids.front());
    if (!s.ok()) {
      *message = "DeleteReadOnlyGroup " + ids.front() + ": " + s.ToString();
      return Outcome::kFailed;
    }
    store_->DeleteResource(c.key.ToString());
    *message = "deleted group " + ids.front();
    return Outcome::kDone;
  }
  if (c.key.kind == specs::Kind::kServerlessInstance) {
    for (const std::string& id : ids) {
      Status s = cloud_->DeleteServerless(c.region, id);
      if (!s.ok()) {
        *message = "DeleteServerlessDBInstance " + id + ": " + s.ToString();
        return Outcome::kFailed;
      }
      store_->DeleteInstance(id);
    }
  } else {
    // Isolate, wait until isolated, then destroy.
    for (const std::string& id : ids) {
      Status s = cloud_->Isolate(c.region, id);
      if (!s.ok()) {  // refused because it is isolated already is fine; anything else is not
        Result<cloud::Instance> now = cloud_->DescribeInstance(c.region, id);
        if (!now.ok() || !IsIsolated(now->status)) {
          *message = "IsolateDBInstances " + id + ": " + s.ToString();
          return Outcome::kFailed;
        }
      }
      Report(c.id, c.key.ToString(), "isolating", id);
    }
    Outcome isolated = WaitStatus(c, ids, "isolated", message);
    if (isolated != Outcome::kDone) return isolated;
    for (const std::string& id : ids) {
      Status s = cloud_->Destroy(c.region, id);
      if (!s.ok()) {
        *message = "DestroyDBInstance " + id + ": " + s.ToString();
        return Outcome::kFailed;
      }
      store_->DeleteInstance(id);
      Report(c.id, c.key.ToString(), "destroying", id);
    }
  }
  if (c.spec_json.empty() && c.action == Action::kDelete) store_->DeleteResource(c.key.ToString());
  *message = "deleted " + Join(ids);
  return Outcome::kDone;
}

Outcome Executor::Impl::Orphan(const Change& c, std::string* message) {
  if (c.key.kind != specs::Kind::kReadOnlyGroup) {
    for (const std::string& id : c.instance_ids) {
      Status s = cloud_->ModifyTags(c.region, id, {}, {cloud::kStackTag, cloud::kResourceTag, cloud::kOperationTag});
      if (!s.ok()) {
        *message = "removing our tags from " + id + ": " + s.ToString();
        return Outcome::kFailed;
      }
      store_->DeleteInstance(id);
    }
  }
  if (c.spec_json.empty()) store_->DeleteResource(c.key.ToString());
  *message = c.instance_ids.empty() ? "forgotten" : "untagged and forgotten: " + Join(c.instance_ids);
  return Outcome::kDone;
}

Outcome Executor::Impl::Adopt(const Change& c, std::string* message) {
  if (c.key.kind == specs::Kind::kReadOnlyGroup) {
    {
      std::lock_guard<std::mutex> lock(sched_mu_);
      group_ids_[c.key.ToString()] = c.instance_ids.front();
    }
    RecordResource(c, c.instance_ids.front());
  } else {
    for (const std::string& id : c.instance_ids) store_->PutInstance({id, c.key.ToString(), c.region, "", ""});
    RecordResource(c);
  }
  *message = "recorded " + Join(c.instance_ids);
  return Outcome::kDone;
}

Outcome Executor::Impl::Resume(const Change& c, std::string* message) {
  Result<Operation> op = store_->GetOperation(c.operation_id);
  if (!op.ok()) {
    *message = op.status().message();
    return Outcome::kFailed;
  }
  if (IsTerminal(op->phase) && !Revive(&*op, c.id, message)) {
    if (message->empty()) *message = std::string("already ") + PhaseName(op->phase);
    return op->phase == Phase::kDone ? Outcome::kDone : Outcome::kFailed;
  }
  Report(c.id, c.key.ToString(), "resuming", std::string(PhaseName(op->phase)) + " " + op->id);
  Operation final_op;
  Outcome o = RunOperation(*op, c.id, message, &final_op);
  // The plan adopts no instance of a resumed purchase (diff.h), so the purchase records its
  // own again: the process that died may have recorded the delivery but not the instances.
  if (o == Outcome::kDone) RecordInstances(final_op);
  if (o == Outcome::kDone && final_op.kind == "create-group" && !final_op.instance_ids.empty()) {
    {
      std::lock_guard<std::mutex> lock(sched_mu_);
      group_ids_[c.key.ToString()] = final_op.instance_ids.front();
    }
    RecordResource(c, final_op.instance_ids.front());  // the group is the resource: record it, not adopt it later
  }
  if (o == Outcome::kDone && message->empty()) *message = "finished " + final_op.id + ": " + Join(final_op.instance_ids);
  return o;
}

// ------------------------------------------------------------------ scheduling

namespace {

// The resources a blocked change of `plan` holds, each with why. The executor checks the
// destroy gate itself rather than trusting the plan's flags.
std::map<std::string, std::string> BlockedResources(const Plan& plan) {
  std::map<std::string, std::string> out;
  for (const Change& c : plan.changes) {
    std::string why;
    if (c.blocked) why = c.blocked_reason;
    else if (c.destroys && !plan.allow_destroy) why = "this destroys " + (c.instance_ids.empty() ? c.key.ToString() : Join(c.instance_ids)) + "; rerun with --allow-destroy to allow it";
    else continue;
    const std::string key = c.key.ToString();
    if (!out.count(key)) out[key] = c.id + " (" + ActionName(c.action) + ") is blocked: " + why;
  }
  return out;
}

}  // namespace

ApplyResult Executor::Impl::Apply(const Plan& plan) {
  for (const auto& [id, digest] : plan.observed) seen_at_plan_.insert(id);
  for (const Change& c : plan.changes) seen_at_plan_.insert(c.instance_ids.begin(), c.instance_ids.end());
  // Groups the state already knows, for replicas that join them. A state that cannot be
  // read stops the apply before anything is sent.
  Result<std::vector<ResourceRecord>> resources = store_->Resources();
  if (!resources.ok()) {
    ApplyResult refused;
    for (const Change& c : plan.changes) {
      refused.changes.push_back({c.id, c.key.ToString(), Outcome::kFailed,
                                 "nothing was sent: " + resources.status().message()});
    }
    return refused;
  }
  for (const ResourceRecord& r : *resources) {
    if (!r.group_id.empty()) group_ids_[r.key] = r.group_id;
  }
  std::thread tracker([this] { TrackerLoop(); });

  const size_t n = plan.changes.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index[plan.changes[i].id] = i;
  std::vector<ChangeResult> results(n);
  std::vector<int> state(n, 0);  // 0 waiting, 1 running, 2 finished
  std::deque<size_t> ready;
  size_t finished = 0;
  // A blocked change holds its whole resource: nothing of it is done by halves. A purchase
  // already in flight is still followed: its money has moved.
  std::map<std::string, std::string> blocked = BlockedResources(plan);
  for (size_t i = 0; i < n; ++i) {
    auto it = blocked.find(plan.changes[i].key.ToString());
    if (it == blocked.end() || (plan.changes[i].action == Action::kResume && !plan.changes[i].blocked)) continue;
    state[i] = 2;
    ++finished;
    results[i] = {plan.changes[i].id, it->first, Outcome::kBlocked, it->second};
    Report(plan.changes[i].id, it->first, "blocked", it->second, true);
  }

  auto deps_state = [&](size_t i) {  // 0 not yet, 1 all done, 2 one did not finish well
    for (const std::string& dep : plan.changes[i].after) {
      auto it = index.find(dep);
      if (it == index.end()) continue;
      if (state[it->second] != 2) return 0;
      if (results[it->second].outcome != Outcome::kDone) return 2;
    }
    return 1;
  };
  // Called with sched_mu_ held: queues what may run, and skips what never can.
  std::function<void()> refresh = [&] {
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < n; ++i) {
        if (state[i] != 0) continue;
        int d = deps_state(i);
        if (d == 2 || Interrupted()) {
          state[i] = 2;
          ++finished;
          results[i] = {plan.changes[i].id, plan.changes[i].key.ToString(), Outcome::kSkipped,
                        Interrupted() ? "interrupted before it started" : "a change it depends on did not finish"};
          Report(plan.changes[i].id, plan.changes[i].key.ToString(), "skipped", results[i].message, true);
          changed = true;
        } else if (d == 1) {
          state[i] = 1;
          ready.push_back(i);
        }
      }
    }
  };

  auto any_waiting = [&] { return std::find(state.begin(), state.end(), 0) != state.end(); };
  auto worker = [&] {
    std::unique_lock<std::mutex> lock(sched_mu_);
    for (;;) {
      sched_cv_.wait(lock, [&] { return !ready.empty() || finished == n || (Interrupted() && any_waiting()); });
      if (Interrupted() && any_waiting()) {
        refresh();  // skips everything not yet started
        sched_cv_.notify_all();
      }
      if (ready.empty()) {
        if (finished == n) return;
        continue;
      }
      size_t i = ready.front();
      ready.pop_front();
      lock.unlock();
      const Change& c = plan.changes[i];
      Report(c.id, c.key.ToString(), "started", std::string(ActionName(c.action)));
      std::string message;
      Outcome o = Interrupted() ? Outcome::kSkipped : RunChange(c, &message);
      if (o == Outcome::kSkipped && message.empty()) message = "interrupted before it started";
      Report(c.id, c.key.ToString(), o == Outcome::kDone ? "complete" : OutcomeName(o), message, true);
      lock.lock();
      results[i] = {c.id, c.key.ToString(), o, message};
      state[i] = 2;
      ++finished;
      refresh();
      sched_cv_.notify_all();
    }
  };

  {
    std::lock_guard<std::mutex> lock(sched_mu_);
    refresh();
  }
  const int workers = std::max(1, std::min<int>(options_.workers, static_cast<int>(std::max<size_t>(n, 1))));
  std::vector<std::thread> threads;
  for (int t = 0; t < workers; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  {
    std::lock_guard<std::mutex> lock(track_mu_);
    stop_tracker_ = true;
  }
  track_cv_.notify_all();
  clock_->Interrupt();  // the tracker may be sleeping between polls
  tracker.join();

  ApplyResult result;
  result.changes = std::move(results);
  result.interrupted = Interrupted();
  if (Result<std::vector<Operation>> pending = store_->InFlight(); pending.ok()) {
    result.pending = std::move(pending).value();
  } else {  // the changes' own outcomes stand; what is in flight cannot be listed
    result.changes.push_back({"", "state", Outcome::kFailed,
                              "cannot list the purchases in flight: " + pending.status().message()});
  }
  return result;
}

Executor::Executor(cloud::Cloud* cloud, StateStore* store, Clock* clock, Reporter* reporter, std::string stack,
                   ExecutorOptions options)
    : impl_(std::make_unique<Impl>(cloud, store, clock, reporter, std::move(stack), options, &interrupted_)) {}

Executor::~Executor() = default;

ApplyResult Executor::Apply(const Plan& plan) { return impl_->Apply(plan); }

void Executor::Interrupt() {
  interrupted_ = true;
  impl_->Wake();
}

}  // namespace reconciler
