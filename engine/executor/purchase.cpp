#include "engine/executor/purchase.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/json_input.h"
#include "engine/identity.h"
#include "engine/plan.h"
#include "engine/preflight.h"

namespace reconciler::exec {

using nlohmann::json;

namespace {

bool HasDryRun(const Operation& op) {
  return op.kind == OperationKind::kCreateReplicas || op.kind == OperationKind::kCreateServerless;
}

}  // namespace

namespace {
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;
}  // namespace

std::string EncodeRequest(const PurchaseRequest& request) {
  return std::visit(Overloaded{
                        [](const cloud::ReplicaRequest& q) { return ReplicaRequestJson(q).dump(); },
                        [](const cloud::ServerlessRequest& q) { return ServerlessRequestJson(q).dump(); },
                        [](const cloud::GroupRequest& q) { return GroupRequestJson(q).dump(); },
                        [](const SpecChange& q) {
                          return json{{"instanceId", q.instance_id}, {"specCode", q.spec_code},
                                      {"memoryGB", q.memory_gb}, {"cpu", q.cpu}, {"storageGB", q.storage_gb}}
                              .dump();
                        },
                    },
                    request);
}

Result<PurchaseRequest> DecodeRequest(OperationKind kind, const std::string& text) {
  try {
    json j = json::parse(text);
    // Out of an integer field's range, its conversion would be undefined.
    if (HoldsFraction(j)) return Status(Code::kInternal, "operation record is damaged: it holds a fractional number");
    switch (kind) {
      case OperationKind::kCreateReplicas: return PurchaseRequest(ReplicaRequestFromJson(j));
      case OperationKind::kCreateServerless: return PurchaseRequest(ServerlessRequestFromJson(j));
      case OperationKind::kCreateGroup: return PurchaseRequest(GroupRequestFromJson(j));
      case OperationKind::kModifySpec: {
        SpecChange q;
        q.instance_id = j.at("instanceId");
        q.spec_code = j.at("specCode");
        q.memory_gb = j.at("memoryGB");
        q.cpu = j.at("cpu");
        q.storage_gb = j.at("storageGB");
        return PurchaseRequest(q);
      }
    }
  } catch (const json::exception& e) {
    return Status(Code::kInternal, std::string("operation record is damaged: ") + e.what());
  }
  return Status(Code::kInternal, "operation record is damaged: unknown kind");
}

void Purchaser::Remember(const std::string& op_id, PurchaseRequest request) {
  std::lock_guard<std::mutex> lock(requests_mu_);
  requests_.insert_or_assign(op_id, std::move(request));
}

Result<PurchaseRequest> Purchaser::RequestOf(const Operation& op) {
  {
    std::lock_guard<std::mutex> lock(requests_mu_);
    if (auto it = requests_.find(op.id); it != requests_.end()) return it->second;
  }
  Result<PurchaseRequest> decoded = DecodeRequest(op.kind, op.request_json);
  if (decoded.ok()) Remember(op.id, *decoded);
  return decoded;
}

Purchaser::Memo& Purchaser::MemoOf(const std::string& id) {
  std::lock_guard<std::mutex> lock(memo_mu_);
  auto it = memos_.find(id);
  if (it == memos_.end()) {
    it = memos_.emplace(id, Memo{Backoff(ctx_.options.backoff_min, ctx_.options.backoff_max, ctx_.options.jitter_seed)})
             .first;
  }
  return it->second;  // std::map: stays valid while others are added
}

Advance Purchaser::Fail(Operation& op, const std::string& code, const std::string& error, const std::string& change_id) {
  op.phase = Phase::kFailed;
  op.error_code = code;
  op.error = error;
  journal_->Persist(op, Described(op), change_id);
  return {Advance::kFailed, {}, Described(op)};
}

Advance Purchaser::WaitFor(milliseconds d) const {
  return {Advance::kWaitUntil, ctx_.clock->Now() + std::max(d, milliseconds(1)), ""};
}

void Purchaser::BeginWait(Operation* op) const {
  op->waiting_since = ctx_.clock->NowUnixSeconds();
  const std::chrono::seconds limit =
      op->phase == Phase::kOrdered ? ctx_.options.order_deadline : ctx_.options.running_deadline;
  op->deadline_at = op->waiting_since + limit.count();
}

Advance Purchaser::Step(Operation& op, const std::string& change_id, bool stopping) {
  Memo& memo = MemoOf(op.id);
  for (;;) {
    if (op.phase == Phase::kIntent && op.attempts > op.settled) {
      op.phase = Phase::kUnknown;
      if (!journal_->Persist(op, "an earlier attempt may have gone out: searching before any retry", change_id)) {
        return {Advance::kFailed, {}, "cannot record the operation"};
      }
    }
    if (op.phase == Phase::kUnknown) {
      Advance a = ResolveStep(op, change_id, memo);
      if (a.kind != Advance::kSent) return a;
      continue;  // found what it bought (delivered), or proved it bought nothing (intent)
    }
    if (op.phase != Phase::kIntent) return {};  // ordered, delivered, done or failed
    if (stopping) return Fail(op, "", "interrupted before anything was sent", change_id);
    if (op.attempts >= ctx_.options.max_send_attempts) {
      return Fail(op, "", "gave up after " + std::to_string(op.attempts) +
                              " attempts, each of which provably bought nothing; the next apply tries again",
                  change_id);
    }
    if (HasDryRun(op)) {
      Status dry = DryRunOnce(op);
      if (!dry.ok() && Decide(dry, Effect::kRead) == Verdict::kRetry) {
        if (++memo.dry_run_failures >= ctx_.options.max_send_attempts) {
          return Fail(op, "", "DryRun failed " + std::to_string(memo.dry_run_failures) + " times (last: " +
                                  dry.ToString() + "); nothing was sent, and the next apply tries again",
                      change_id);
        }
        return WaitFor(memo.backoff.Next());
      }
      if (!dry.ok()) return Fail(op, dry.api_code(), "DryRun refused: " + Refusal(dry), change_id);
    }
    if (Status buyer = CheckSoleBuyer(op); !buyer.ok()) return Fail(op, "", buyer.message(), change_id);
    ++op.attempts;
    op.sent_at = ctx_.clock->NowUnixSeconds();
    if (!journal_->Persist(op, "sending attempt " + std::to_string(op.attempts), change_id)) {
      --op.attempts;
      return {Advance::kFailed, {}, "cannot record the intent; nothing was sent"};
    }
    Sent sent = Send(op, cloud::DryRun::kNo);
    if (sent.status.ok()) {
      Ordered(op, sent.purchase, change_id);
      return {};
    }
    const Status& s = sent.status;
    switch (Decide(s, Effect::kPurchase)) {
      case Verdict::kRetry:  // throttled or not sent: nothing was bought
        op.settled = op.attempts;
        journal_->Persist(op, s.ToString() + ": nothing was bought; retrying", change_id);
        return WaitFor(memo.backoff.Next());
      case Verdict::kTerminal:  // refused: nothing was bought, and nothing will be as it is
        op.settled = op.attempts;
        return Fail(op, s.api_code(), "refused: " + Refusal(s), change_id);
      case Verdict::kOutcomeUnknown:
        op.phase = Phase::kUnknown;
        if (!journal_->Persist(op, s.ToString() + ": the outcome is unknown; searching before any retry", change_id)) {
          return {Advance::kFailed, {}, "cannot record the operation"};
        }
        continue;
    }
  }
}

// One search of an operation whose create may or may not have bought. It is settled as
// "bought nothing" only by a search that began after the visibility window, counted from
// the send (which the state keeps, so a restart does not shorten it).
Advance Purchaser::ResolveStep(Operation& op, const std::string& change_id, Memo& memo) {
  if (!memo.has_resolve_start) {
    memo.has_resolve_start = true;
    memo.resolve_start = ctx_.clock->Now();
    memo.rounds = 0;
  }
  const TimePoint sent = op.sent_at > 0 ? TimePoint(std::chrono::seconds(op.sent_at)) : memo.resolve_start;
  const TimePoint settled_after = sent + ctx_.options.search_window;
  const TimePoint began = ctx_.clock->Now();
  Result<std::vector<std::string>> found = Search(op);
  if (!found.ok()) {
    memo.has_resolve_start = false;
    return {Advance::kPending, {},
            "cannot tell whether " + op.id + " bought anything (" + found.status().ToString() +
                "); the next apply resumes it"};
  }
  if (!found->empty()) {
    memo.has_resolve_start = false;
    op.instance_ids = *found;
    op.phase = Phase::kDelivered;
    op.tags_pending = op.kind == OperationKind::kCreateReplicas;  // found by the one tag it surely carries
    BeginWait(&op);
    journal_->Persist(op, "found " + Join(op.instance_ids) + " tagged with this operation: the lost create did buy",
                      change_id);
    journal_->RecordInstances(op);
    return {};
  }
  if (began >= settled_after) {
    memo.has_resolve_start = false;
    op.settled = op.attempts;
    op.phase = Phase::kIntent;
    journal_->Persist(op, "nothing carries this operation's tag " + std::to_string(ctx_.options.search_window.count()) +
                              "s after it was sent, past the time the cloud could still have accepted it: nothing "
                              "was bought; sending again",
                      change_id);
    return {};
  }
  const auto left = std::chrono::duration_cast<milliseconds>(settled_after - began);
  const auto waited = std::chrono::duration_cast<std::chrono::seconds>(began - sent);
  const std::string change = journal_->ChangeOf(op.id, change_id);
  if (memo.rounds++ == 0) {
    journal_->Report(change, op.resource_key, ProgressPhase::kSearching,
                     "outcome unknown: nothing carries " + op.id + " yet; searching for " +
                         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(left).count()) +
                         "s more before anything is sent again");
    memo.next_report = NextReport(waited);
  } else if (waited >= memo.next_report) {
    memo.next_report = NextReport(waited);
    journal_->ReportWait(change, op.resource_key, ProgressPhase::kSearching,
                         {"the visibility window of " + op.id + " to pass (nothing carries its tag yet)", waited,
                          ctx_.options.search_window});
  }
  return {Advance::kWaitUntil, began + std::min(left, ctx_.options.search_spacing), ""};
}

void Purchaser::Ordered(Operation& op, const cloud::Purchase& purchase, const std::string& change_id) {
  op.deal_names = purchase.deal_names;
  op.bill_id = purchase.bill_id;
  if (op.kind == OperationKind::kCreateReplicas) op.tags_pending = !purchase.tags_complete;
  // A spec change keeps the instance it was made for; a purchase learns its instances here.
  if (!purchase.instance_ids.empty()) op.instance_ids = purchase.instance_ids;
  const bool ids_complete = op.kind == OperationKind::kCreateGroup || op.kind == OperationKind::kCreateServerless
                                ? !op.instance_ids.empty()
                                : static_cast<int64_t>(op.instance_ids.size()) >= op.expected && op.expected > 0;
  op.phase = ids_complete ? Phase::kDelivered : Phase::kOrdered;
  BeginWait(&op);
  std::string detail;
  if (!op.deal_names.empty()) {
    detail = "deal(s) " + Join(op.deal_names) + (op.bill_id.empty() ? "" : ", bill " + op.bill_id);
  }
  if (!op.instance_ids.empty()) detail += (detail.empty() ? "" : "; ") + std::string("instance(s) ") + Join(op.instance_ids);
  journal_->Persist(op, detail, change_id);
  journal_->RecordInstances(op);
}

Result<std::vector<std::string>> Purchaser::Search(const Operation& op) {
  std::vector<std::string> found;
  if (op.kind == OperationKind::kCreateGroup || op.kind == OperationKind::kModifySpec) {
    Result<PurchaseRequest> request = RequestOf(op);
    if (!request.ok()) return request.status();
    if (const auto* group = std::get_if<cloud::GroupRequest>(&*request)) {
      Result<std::vector<cloud::Group>> groups = ctx_.cloud->ListGroups(op.region, group->master_id);
      if (!groups.ok()) return groups.status();
      for (const cloud::Group& g : *groups) {
        if (g.name == group->name) found.push_back(g.id);
      }
      return found;
    }
    const SpecChange& change = std::get<SpecChange>(*request);
    Result<cloud::Instance> i = ctx_.cloud->DescribeInstance(op.region, change.instance_id);
    if (!i.ok()) return i.status();
    if (i->state() == cloud::InstanceState::kExpanding || i->spec_code == change.spec_code) found.push_back(i->id);
    return found;
  }
  // The replica listing finds instances that carry only the tag they were bought with.
  Result<std::vector<cloud::Instance>> all = op.kind == OperationKind::kCreateServerless
                                                 ? ListStackServerless(ctx_.cloud, op.region, ctx_.stack)
                                                 : ListStackInstances(ctx_.cloud, op.region, ctx_.stack);
  if (!all.ok()) return all.status();
  for (const cloud::Instance& i : *all) {
    auto t = i.tags.find(cloud::kOperationTag);
    if (t != i.tags.end() && t->second == op.id) found.push_back(i.id);
  }
  return found;
}

void Purchaser::SetProvenShapes(std::map<std::string, bool> shapes) {
  std::lock_guard<std::mutex> lock(shapes_mu_);
  proven_ = std::move(shapes);
}

Status Purchaser::DryRunOnce(const Operation& op) {
  Result<PurchaseRequest> request = RequestOf(op);
  if (!request.ok()) return request.status();
  std::string shape;
  if (const auto* q = std::get_if<cloud::ReplicaRequest>(&*request)) {
    cloud::ReplicaRequest sized = *q;
    sized.count = static_cast<uint64_t>(op.expected);
    shape = DryRunShape(sized);
  } else if (const auto* q = std::get_if<cloud::ServerlessRequest>(&*request)) {
    shape = DryRunShape(*q);
  }
  {
    std::unique_lock<std::mutex> lock(shapes_mu_);
    shapes_cv_.wait(lock, [&] { return !proving_.count(shape); });
    if (proven_.count(shape)) return Status::Ok();
    proving_.insert(shape);
  }
  Sent dry = Send(op, cloud::DryRun::kYes);
  const bool no_dry_run = !dry.status.ok() && RefusesDryRun(dry.status);  // an endpoint without DryRun goes on
  {
    std::lock_guard<std::mutex> lock(shapes_mu_);
    proving_.erase(shape);
    if (dry.status.ok() || no_dry_run) proven_[shape] = no_dry_run;
  }
  shapes_cv_.notify_all();
  return no_dry_run ? Status::Ok() : dry.status;
}

Purchaser::Sent Purchaser::Send(const Operation& op, cloud::DryRun dry_run) {
  Sent out;
  Result<PurchaseRequest> request = RequestOf(op);
  if (!request.ok()) {
    out.status = request.status();
    return out;
  }
  switch (op.kind) {
    case OperationKind::kCreateReplicas: {
      cloud::ReplicaRequest q = std::get<cloud::ReplicaRequest>(*request);
      q.count = static_cast<uint64_t>(op.expected);
      q.tags[cloud::kOperationTag] = OperationTagValue(ctx_.stack, op.resource_key, op.id);
      Result<cloud::Purchase> r = ctx_.cloud->CreateReplicas(q, dry_run);
      if (r.ok()) out.purchase = *r;
      else out.status = r.status();
      break;
    }
    case OperationKind::kCreateServerless: {
      cloud::ServerlessRequest q = std::get<cloud::ServerlessRequest>(*request);
      q.tags[cloud::kOperationTag] = OperationTagValue(ctx_.stack, op.resource_key, op.id);
      Result<std::string> r = ctx_.cloud->CreateServerless(q, dry_run);
      if (!r.ok()) out.status = r.status();
      else if (!r->empty()) out.purchase.instance_ids = {*r};
      break;
    }
    case OperationKind::kCreateGroup: {
      Result<std::string> r = ctx_.cloud->CreateGroup(std::get<cloud::GroupRequest>(*request));
      if (r.ok()) out.purchase.instance_ids = {*r};
      else out.status = r.status();
      break;
    }
    case OperationKind::kModifySpec: {
      const SpecChange& q = std::get<SpecChange>(*request);
      Result<std::string> r = ctx_.cloud->ModifySpec(op.region, q.instance_id, q.memory_gb, q.cpu, q.storage_gb);
      if (r.ok()) out.purchase.deal_names = {*r};
      else out.status = r.status();
      break;
    }
  }
  return out;
}

// Before each purchase: every instance of this stack in the region must be one this apply
// accounts for (seen by its plan, recorded in this state, or bought by an operation this
// state holds). Any other was bought by another state file of the stack, a copy of the
// checkout, say, since the plan was made; buying too would double the count. Concurrent
// purchases share one listing: one begun after they asked, or less than
// buyer_check_reuse before (the listing's own lag makes a fresher one no wiser).
Status Purchaser::CheckSoleBuyer(const Operation& op) {
  const bool serverless = op.kind == OperationKind::kCreateServerless;
  if (!serverless && op.kind != OperationKind::kCreateReplicas) return Status::Ok();
  const uint64_t ask = ++buyer_asks_;
  std::lock_guard<std::mutex> lock(buyer_mu_);
  BuyerCheck& last = buyer_checks_[op.region + (serverless ? " serverless" : " replicas")];
  const TimePoint now = ctx_.clock->Now();
  if (last.covers >= ask || (last.covers > 0 && now - last.began < ctx_.options.buyer_check_reuse)) return last.status;
  last.covers = buyer_asks_.load();
  last.began = now;
  last.status = FindOtherBuyer(op.region, serverless);
  return last.status;
}

Status Purchaser::FindOtherBuyer(const std::string& region, bool serverless) {
  const char* what = "cannot make sure no other state file buys for this stack";
  Result<std::vector<cloud::Instance>> listed = serverless ? ListStackServerless(ctx_.cloud, region, ctx_.stack)
                                                           : ListStackInstances(ctx_.cloud, region, ctx_.stack);
  if (!listed.ok()) return Status(listed.status().code(), std::string(what) + ": " + listed.status().message());
  Result<std::vector<InstanceRecord>> recorded = ctx_.store->Instances();
  Result<std::vector<Operation>> operations = ctx_.store->Operations();
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
                "another state file is buying for stack " + ctx_.stack + " in " + region + ": it bought " +
                    Join(others) + ", which this state does not know. Nothing was sent. Stop the other apply "
                    "(another checkout of this stack, or a copy of its state) and plan again here: the plan adopts "
                    "what it bought");
}

bool Purchaser::Revive(Operation* op, const std::string& change_id, std::string* message) {
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
    op->tags_pending = op->kind == OperationKind::kCreateReplicas;  // found by the one tag it surely carries
  }
  const std::string was = Described(*op);
  op->phase = Phase::kDelivered;
  op->error_code.clear();
  op->error = static_cast<int64_t>(op->instance_ids.size()) < op->expected
                  ? "delivered " + std::to_string(op->instance_ids.size()) + " of " + std::to_string(op->expected)
                  : "";
  BeginWait(op);
  journal_->Persist(*op, "followed again after " + was + ": " + Join(op->instance_ids), change_id);
  journal_->RecordInstances(*op);
  return true;
}

}  // namespace reconciler::exec
