#include "engine/executor/journal.h"


namespace reconciler::exec {

void Journal::Report(const std::string& change, const std::string& resource, ProgressPhase phase,
                     const std::string& detail, bool final) {
  ctx_.reporter->Progress({change, resource, phase, detail, final});
}

void Journal::ReportWait(const std::string& change, const std::string& resource, ProgressPhase phase,
                         ProgressEvent::Wait wait) {
  ProgressEvent e{change, resource, phase, "", false};
  e.wait = std::move(wait);
  ctx_.reporter->Progress(e);
}

bool Journal::Persist(const Operation& op, const std::string& detail, const std::string& change_id) {
  Status s = ctx_.store->PutOperation(op, detail);
  const std::string change = ChangeOf(op.id, change_id);
  Report(change, op.resource_key, ProgressOf(op.phase), detail);
  if (!s.ok()) Report(change, op.resource_key, ProgressPhase::kFailed, "cannot record the operation: " + s.message(), true);
  return s.ok();
}

std::string Journal::ChangeOf(const std::string& op_id, const std::string& change_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!change_id.empty()) change_of_[op_id] = change_id;
  auto it = change_of_.find(op_id);
  return it == change_of_.end() ? op_id : it->second;
}

void Journal::RecordInstances(const Operation& op) {
  if (op.kind == OperationKind::kCreateGroup || op.kind == OperationKind::kModifySpec) return;
  std::vector<InstanceRecord> records;
  for (const std::string& id : op.instance_ids) records.push_back({id, op.resource_key, op.region, op.id, ""});
  if (!records.empty()) ctx_.store->PutInstances(records);
}

ProgressPhase ProgressOf(Phase phase) {
  switch (phase) {
    case Phase::kIntent: return ProgressPhase::kIntent;
    case Phase::kUnknown: return ProgressPhase::kUnknown;
    case Phase::kOrdered: return ProgressPhase::kOrdered;
    case Phase::kDelivered: return ProgressPhase::kDelivered;
    case Phase::kDone: return ProgressPhase::kDone;
    case Phase::kFailed: return ProgressPhase::kFailed;
  }
  return ProgressPhase::kUnknown;
}

ProgressPhase ProgressOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kDone: return ProgressPhase::kComplete;
    case Outcome::kFailed: return ProgressPhase::kFailed;
    case Outcome::kSkipped: return ProgressPhase::kSkipped;
    case Outcome::kPending: return ProgressPhase::kPending;
    case Outcome::kBlocked: return ProgressPhase::kBlocked;
  }
  return ProgressPhase::kFailed;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string Described(const Operation& op) { return op.error_code.empty() ? op.error : op.error_code + ": " + op.error; }

std::string FormatSeconds(int64_t seconds) { return FormatDuration(std::chrono::seconds(seconds)); }

std::string Refusal(const Status& s) {
  if (s.api_code().empty()) return s.ToString();
  return s.message() + (s.request_id().empty() ? "" : " (RequestId " + s.request_id() + ")");
}

std::chrono::seconds NextReport(std::chrono::seconds waited) {
  for (int64_t mark : {30, 60, 120, 300}) {
    if (waited.count() < mark) return std::chrono::seconds(mark);
  }
  return std::chrono::seconds((waited.count() / 300 + 1) * 300);
}

}  // namespace reconciler::exec
