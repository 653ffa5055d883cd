#pragma once

// The per-action handlers. Each change is carried out as a short list of tasks (a replace
// of replicas: create, then delete), and each task as numbered stages, so that a handler
// never waits: when it must (for a purchase to run, for an instance to become isolated, for
// a backoff), it records what it waits for in the ChangeRun and returns, and the scheduler
// calls it again once that has happened or that time has come.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/executor/journal.h"
#include "engine/executor/order_tracker.h"
#include "engine/executor/purchase.h"
#include "engine/outcome.h"
#include "engine/plan.h"

namespace reconciler::exec {

// What a handler asks of the scheduler after one call.
struct Next {
  enum Kind {
    kFinished,   // the change has ended: ChangeRun::outcome and message say how
    kWaitOps,    // call again once every purchase in ChangeRun::wait_ops has ended
    kWaitUntil,  // call again at `at`
  };
  Kind kind = kFinished;
  TimePoint at{};
};

// One change being carried out, and everything it remembers between calls.
struct ChangeRun {
  const Change* change = nullptr;
  size_t task = 0;  // which of the change's tasks
  int stage = 0;    // where that task stands
  bool owned_checked = false;

  std::optional<Operation> op;          // a purchase still being sent
  std::vector<std::string> wait_ops;    // purchases the tracker follows for this task
  std::vector<Operation> ended_ops;     // purchases of this task that have ended, as they ended
  std::vector<uint64_t> chunks;         // create-replicas: the purchases to make ...
  size_t next_chunk = 0;                // ... the next to begin ...
  std::vector<Operation> sending;       // ... those begun and still being sent, at once ...
  std::vector<TimePoint> sending_due;   // ... and when each may take its next step
  std::string batch;                    // the batch they share (Operation::batch)
  std::vector<std::string> bought;      // instances this change's purchases delivered

  // A wait for instances to reach a status (isolated, running), polled by the handler.
  std::vector<std::string> status_ids;
  cloud::InstanceState status_want = cloud::InstanceState::kRunning;
  std::string status_word;  // the same, as the reader sees it
  TimePoint status_started{};
  milliseconds status_interval{0};
  std::chrono::seconds status_next_report{-1};

  // How it ends: the worst outcome of its parts, with every reason that is not success.
  Outcome outcome = Outcome::kDone;
  std::vector<std::string> notes;
  std::string code;     // the cloud's (or reconciler's) error code that failed it
  std::string message;  // set when it finishes
};

class Handlers {
 public:
  Handlers(const Context& ctx, Journal* journal, Purchaser* purchaser, OrderTracker* tracker)
      : ctx_(ctx), journal_(journal), purchaser_(purchaser), tracker_(tracker) {}

  // Asked between calls to the cloud within a handler: once it says stop, nothing new is
  // sent (a stop that lands mid-step is seen before the next purchase, not after the step).
  void SetStopCheck(std::function<bool()> check) { stop_check_ = std::move(check); }

  // Groups the state knows (key -> id), for replicas that join them.
  void SetGroupIds(std::map<std::string, std::string> ids);

  // Carries `run` as far as it can go now. With `stopping`, nothing new is sent and it
  // always finishes: what is in flight ends kPending for the next apply to resume.
  Next Run(ChangeRun& run, bool stopping);

 private:
  enum class Task { kCreateReplicas, kCreateServerless, kCreateGroup, kUpdate, kRestore, kDelete, kOrphan, kAdopt,
                    kResume };
  static std::vector<Task> TasksOf(const Change& c);
  Next RunTask(Task task, ChangeRun& run, bool stopping);

  Next CreateReplicas(ChangeRun& run, bool stopping);
  Next CreateServerless(ChangeRun& run, bool stopping);
  Next CreateGroup(ChangeRun& run, bool stopping);
  Next Update(ChangeRun& run, bool stopping);
  Next RecordPolicy(ChangeRun& run);
  Next UpdateGroup(ChangeRun& run);
  Next Restore(ChangeRun& run, bool stopping);
  Next Delete(ChangeRun& run, bool stopping);
  Next Orphan(ChangeRun& run);
  Next Adopt(ChangeRun& run);
  Next Resume(ChangeRun& run, bool stopping);

  // The purchase machinery every purchasing task shares.
  std::optional<Next> SendPurchase(ChangeRun& run, bool stopping);
  // Sends run.sending, and begins more of run.chunks, up to kPurchasesInFlight at once.
  // nullopt once every chunk has left the sender; otherwise when to call again.
  std::optional<Next> SendChunks(ChangeRun& run, bool stopping);
  // Folds what one purchase's sending noted (in `part`) into `run`.
  void Merge(ChangeRun& run, ChangeRun& part);
  std::optional<Next> AwaitPurchases(ChangeRun& run, bool stopping);
  Operation NewOperation(OperationKind kind, const Change& c, PurchaseRequest request, int64_t expected);
  // Commits `op`'s intent, saying `detail`, and makes it run's purchase to send. False when
  // the intent cannot be recorded: then nothing may be sent.
  bool Begin(ChangeRun& run, Operation op, const std::string& detail);
  // Starts a wait for `ids` to reach `want`, polled by PollStatus.
  void BeginStatusWait(ChangeRun& run, std::vector<std::string> ids, cloud::InstanceState want, std::string word);
  std::optional<Next> PollStatus(ChangeRun& run, bool stopping);

  Status CheckOwned(const Change& c);
  void RecordResource(const Change& c, const std::string& group_id = "");
  std::string GroupIdOf(const std::string& key);
  void SetGroupId(const std::string& key, const std::string& id);

  // Ends `run` as `outcome` with `message`; `code` is the error code, when one decided it.
  Next Finish(ChangeRun& run, Outcome outcome, std::string message, std::string code = "");
  void Note(ChangeRun& run, Outcome outcome, const std::string& why, const std::string& code = "");

  bool Stopping(bool stopping) const { return stopping || (stop_check_ && stop_check_()); }

  const Context& ctx_;
  Journal* journal_;
  Purchaser* purchaser_;
  OrderTracker* tracker_;
  std::function<bool()> stop_check_;

  // Purchases being sent, across all changes, at most ctx_.options.workers at once: one
  // change may send several, but together they keep no more calls open than the workers did.
  std::mutex sending_mu_;
  std::condition_variable sending_cv_;
  int sending_ = 0;

  std::mutex record_mu_;  // a resource record's read-modify-write (RecordPolicy) against its writes
  std::mutex groups_mu_;
  std::map<std::string, std::string> group_ids_;  // group key -> id, from state and from this apply
};

}  // namespace reconciler::exec
