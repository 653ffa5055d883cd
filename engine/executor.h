#pragma once

// The executor carries out a plan, change by change, concurrently where the plan allows.
//
// Every purchase (a chunk of at most 6 replicas, a serverless instance, a group, a spec
// change) is an Operation in the state store, and every step is committed before the next:
//   1. the intent, with the exact request and the attempt counter raised before sending;
//   2. DryRun, once per request shape per apply, and none for a shape the plan's preflight
//      proved (ExecutorOptions::preflight_max_age);
//   3. the create call, carrying reconciler/stack, reconciler/resource and
//      reconciler/operation (the operation id) as tags;
//   4. DealNames, BillId and DBInstanceIdSet as the cloud answered them;
//   5. DescribeOrders, with every pending deal of every change batched into one call,
//      until each deal lists its instances;
//   6. DescribeDBInstances, batched the same way and polled adaptively, until every
//      instance is running.
// Every failed call is decided by the retry table (retry_policy.h), with the purchase effect.
// When a create's outcome is unknown (timeout, reset, lost answer, a server fault such as
// InternalError, or an intent found after a crash), the executor searches the cloud for
// instances tagged with that operation id, and sends again only when a search begun after
// the visibility window (search_window, counted from the send) finds nothing. An answer that
// proves nothing happened (RequestLimitExceeded, not sent) is retried after a full-jitter
// backoff; a refusal fails the operation with the cloud's code, and it then holds its
// resource (diff.h).
//
// Waits are bounded. An order has order_deadline to list its instances and they have
// running_deadline to run; both deadlines are kept with the operation in the state, so a
// later apply waits only for what is left. Past its deadline the operation fails
// (reconciler.OrderDeadlineExceeded, reconciler.RunningDeadlineExceeded) naming its deals or
// instances; instances already delivered stay recorded, and nothing is bought again until the
// user acts. While it waits, the reporter hears what it waits for and for how long: when the
// wait starts (or resumes) and then at growing intervals, not at every poll.
//
// The executor never waits inside a step. Start(plan) then Step(stop) carries out what can
// be done now and returns how long until there is more (a poll due, a backoff or search
// window ending); Apply() is Start and a loop of steps, sleeping on the clock between them.
// The parts are in engine/executor/: scheduler (this file's .cpp), the purchase state
// machine (purchase.h), the order tracker (order_tracker.h) and the per-action handlers
// (handlers.h).
//
// Stopping (a std::stop_token per stack, or Interrupt()) starts no new work. Purchases
// already sent stay in the store as in flight, are returned in ApplyResult::pending, and
// the next apply resumes them.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "providers/provider.h"
#include "base/clock.h"
#include "engine/outcome.h"
#include "engine/plan.h"
#include "engine/reporter.h"
#include "state/state_store.h"

namespace reconciler {

struct ExecutorOptions {
  // Changes carried out at once (default 32). Each holds at most one call in flight, so this
  // is what hides the round trip and the state's commit: 32 hold the create limit of 100/s up
  // to a round trip of about 300 ms. The rate budget, not this, paces the calls.
  int workers = 32;
  // How long an order may take to list its instances (default 30 min; the project file's
  // provider.tencentcloud.orderDeadline), and its instances to run after that (default
  // 60 min; runningDeadline). Each is fixed in the state when its wait begins.
  std::chrono::seconds order_deadline{1800};
  std::chrono::seconds running_deadline{3600};
  std::chrono::milliseconds poll_min{1000};          // first poll interval; grows x1.5 ...
  std::chrono::milliseconds poll_max{30000};         // ... to this while nothing changes
  // After a create whose outcome is unknown, nothing is sent again until a search that
  // starts at least this long after the send finds nothing. The cloud refuses a request
  // signed more than 5 minutes earlier (AuthFailure.SignatureExpire), so a request that a
  // proxy held, or an answer the client gave up on, can take effect no later than 5 minutes
  // after it was signed; the sixth minute covers the listing's lag and clock skew.
  // Default 360 s; lowering it below 300 s gives up that proof.
  std::chrono::seconds search_window{360};
  std::chrono::milliseconds search_spacing{15000};  // between searches within the window
  // Before each purchase the stack's instances in the region are listed, to stop when
  // another state file bought for the stack. Purchases asking within this long of a listing
  // share it.
  std::chrono::milliseconds buyer_check_reuse{3000};
  // A create whose shape the plan's preflight proved with a DryRun sends none of its own,
  // unless the plan is older than this (default 15 min; the project file's
  // provider.tencentcloud.preflightMaxAge). 0: every shape is proven again, once per apply.
  std::chrono::seconds preflight_max_age{900};
  int max_send_attempts = 5;                         // create calls per purchase, when each provably bought nothing
                                                     // (and DryRuns that failed transiently)
  std::chrono::milliseconds backoff_min{500};         // the first retry's backoff ceiling; doubles ...
  std::chrono::milliseconds backoff_max{10000};       // ... to this; each wait is uniform below it
  uint64_t jitter_seed = 0;                          // 0: random (default); tests fix it
};

struct ApplyResult {
  std::vector<ChangeResult> changes;
  bool interrupted = false;
  std::vector<Operation> pending;  // purchases still in flight when apply returned
  bool ok() const;
};

// Where an apply stands after one step.
struct StepReport {
  bool finished = false;                    // every change has ended
  std::chrono::milliseconds requeue_after{0};  // !finished: step again after this (a poll, a backoff)
};

class Executor {
 public:
  // Everything passed must outlive the executor.
  Executor(cloud::Cloud* cloud, StateStore* store, Clock* clock, Reporter* reporter, std::string stack,
           ExecutorOptions options = {});
  ~Executor();

  // A blocked change (Change::blocked, or one that destroys without plan.allow_destroy) is
  // not carried out, nor is any other change of its resource but the resume of a purchase in
  // flight: each ends kBlocked, those that depend on them kSkipped, and the rest of the plan
  // is applied.
  // REQUIRES: no change's preflight failed.
  //
  // Start, then steps until finished, sleeping on the clock between steps. Returns when every
  // change has ended, or promptly once `stop` is requested (or Interrupt() called).
  ApplyResult Apply(const Plan& plan, std::stop_token stop = {});

  // Begins carrying out `plan` (which must outlive the executor's use of it); nothing is
  // sent until Step().
  void Start(const Plan& plan);
  // Does everything that can be done now, without waiting: polls the purchases in flight
  // when a poll is due (one DescribeOrders per region for all of them), advances every
  // change whose turn has come, and starts those now free to start. With `stop` requested
  // (or after Interrupt()), starts nothing, ends every change, and reports finished.
  StepReport Step(std::stop_token stop = {});
  // Every change's result, in plan order (a change not yet ended is kPending), with what
  // is still in flight in the store.
  ApplyResult Results() const;

  // Safe from any thread (a signal-handling thread, a reporter): stop starting work.
  void Interrupt();
  bool interrupted() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex watch_mu_;
  std::stop_source* watch_ = nullptr;  // Apply's own stop source, while it runs
};

}  // namespace reconciler
