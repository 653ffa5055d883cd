#pragma once

// The purchase state machine: takes one operation from its intent to ordered (or beyond),
// or to failed, one call at a time and never waiting. Where the protocol must wait (a
// backoff after a throttled call, the visibility window after an outcome it cannot know),
// it says until when, and the scheduler calls again then.
//
//   intent --DryRun, buyer check, attempts+1 committed, create--> ordered | delivered
//      |  throttled / not sent: settled = attempts, back off, intent again
//      |  refused: failed, with the cloud's code
//      '- timeout, reset, server fault: unknown
//   unknown --search by the operation tag--> delivered (it bought)
//      '- nothing, by a search begun after sent_at + search_window: intent (it did not)
//
// An intent whose attempts exceed its settled count (found after a crash) is unknown.

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <variant>
#include <string>
#include <vector>

#include "base/retry_policy.h"
#include "engine/executor/journal.h"

namespace reconciler::exec {

// A spec change's request (ModifyDBInstanceSpec).
struct SpecChange {
  std::string instance_id;
  std::string spec_code;
  uint64_t memory_gb = 0;
  uint64_t cpu = 0;
  uint64_t storage_gb = 0;
};

// What a purchase asks for, typed. It is JSON only in the state (Operation::request_json):
// encoded once when the intent is recorded, decoded once when a purchase is read back.
using PurchaseRequest = std::variant<cloud::ReplicaRequest, cloud::ServerlessRequest, cloud::GroupRequest, SpecChange>;
std::string EncodeRequest(const PurchaseRequest& request);
// Fails (kInternal, "operation record is damaged: ...") when the record does not hold a
// request of `kind`.
Result<PurchaseRequest> DecodeRequest(OperationKind kind, const std::string& json);

struct Advance {
  enum Kind {
    kSent,       // ordered, delivered or done: the tracker follows it from here
    kWaitUntil,  // call again at `at` (a backoff, or the next search within the window)
    kPending,    // cannot tell now whether it bought; it stays in flight for the next apply
    kFailed,     // failed for good: op.phase is kFailed
  };
  Kind kind = kSent;
  TimePoint at{};
  std::string message;  // kPending, kFailed: why
};

class Purchaser {
 public:
  Purchaser(const Context& ctx, Journal* journal) : ctx_(ctx), journal_(journal) {}

  // Instances the plan observed or acts on: the buyer check does not count them as bought
  // by another state file.
  void SetSeenAtPlan(std::set<std::string> ids) { seen_at_plan_ = std::move(ids); }

  // Create shapes (DryRunShape) already proven: by the preflight of the plan being applied,
  // when it is young enough. true: the endpoint has no DryRun. A purchase of a proven shape
  // sends no DryRun; one DryRun of this apply proves its shape for the rest. The DryRun is
  // a courtesy, not part of the exactly-once protocol: the create is judged by the cloud
  // all the same, and its refusal fails the purchase just as the DryRun's would.
  void SetProvenShapes(std::map<std::string, bool> shapes);

  // The request of a purchase made in this process, so it is never decoded again.
  void Remember(const std::string& op_id, PurchaseRequest request);
  // `op`'s request: as remembered, else decoded from its record (once).
  Result<PurchaseRequest> RequestOf(const Operation& op);

  // Moves `op` as far as it can go now. `stopping`: stop is requested; nothing new is sent.
  Advance Step(Operation& op, const std::string& change_id, bool stopping);

  // Records what an accepted create answered.
  void Ordered(Operation& op, const cloud::Purchase& purchase, const std::string& change_id);

  // Instances (or the group) the cloud holds for `op`, found by its operation tag.
  Result<std::vector<std::string>> Search(const Operation& op);

  // A purchase past its deadline that a plan found resolved since (diff.h): an order that
  // delivered late, or instances that run now. It waits again from now, for them to run.
  // Returns false, with `message` saying why, when there is nothing to follow.
  bool Revive(Operation* op, const std::string& change_id, std::string* message);

  // Starts the wait of `op`'s phase now; the deadline goes into the state with the next write.
  void BeginWait(Operation* op) const;

 private:
  struct Memo {  // what one purchase remembers between calls; lost on restart, which is safe
    Backoff backoff;
    int dry_run_failures = 0;
    bool has_resolve_start = false;
    TimePoint resolve_start{};  // when sent_at is unknown: the first search
    int rounds = 0;
    std::chrono::seconds next_report{-1};
  };
  std::mutex requests_mu_;
  std::map<std::string, PurchaseRequest> requests_;
  Memo& MemoOf(const std::string& id);

  Advance Fail(Operation& op, const std::string& code, const std::string& error, const std::string& change_id);
  Advance WaitFor(milliseconds d) const;
  Advance ResolveStep(Operation& op, const std::string& change_id, Memo& memo);

  struct Sent {
    Status status;
    cloud::Purchase purchase;
  };
  Sent Send(const Operation& op, cloud::DryRun dry_run);

  // Sends `op`'s DryRun unless its shape is proven (or being proven by another purchase,
  // whose verdict it then waits for). Returns the DryRun's status, or OK when none was sent.
  Status DryRunOnce(const Operation& op);
  Status CheckSoleBuyer(const Operation& op);
  Status FindOtherBuyer(const std::string& region, bool serverless);

  const Context& ctx_;
  Journal* journal_;

  std::mutex memo_mu_;
  std::map<std::string, Memo> memos_;

  struct BuyerCheck {
    uint64_t covers = 0;  // the check began after every ask numbered up to this
    TimePoint began;
    Status status;
  };
  std::mutex shapes_mu_;
  std::condition_variable shapes_cv_;
  std::map<std::string, bool> proven_;  // shape -> the endpoint has no DryRun
  std::set<std::string> proving_;       // shapes whose DryRun is on its way
  std::set<std::string> seen_at_plan_;
  std::atomic<uint64_t> buyer_asks_{0};
  std::mutex buyer_mu_;
  std::map<std::string, BuyerCheck> buyer_checks_;  // by region and kind of purchase
};

}  // namespace reconciler::exec
