#pragma once

// Follows every purchase that has gone out until its instances run, across all changes
// and regions, in rounds that never wait: one round makes one DescribeOrders call per
// region for every pending deal, finishes the tags the creates could not carry (purchases
// alike together, ten instances to a call), and looks up the status of every delivered
// instance 100 to a call. Rounds are
// spaced adaptively (poll_min, growing x1.5 to poll_max while nothing changes, never past
// the nearest deadline); the scheduler asks when the next one is due.
//
// Waits are bounded. An order has order_deadline to list its instances and they have
// running_deadline to run; both are kept with the operation in the state, so a later apply
// waits only for what is left. Past its deadline the operation fails
// (reconciler.OrderDeadlineExceeded, reconciler.RunningDeadlineExceeded) naming its deals or
// instances; instances already delivered stay recorded, and nothing is bought again until
// the user acts.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/executor/journal.h"
#include "engine/executor/purchase.h"

namespace reconciler::exec {

class OrderTracker {
 public:
  OrderTracker(const Context& ctx, Journal* journal, Purchaser* purchaser)
      : ctx_(ctx), journal_(journal), purchaser_(purchaser) {}

  // Follows `op` (ordered or delivered) from now; the next round is due at once.
  void Track(Operation op);

  // The operation as last seen; nullopt when it is not tracked.
  std::optional<Operation> Get(const std::string& id) const;

  // Whether any tracked operation is not done or failed.
  bool HasOpen() const;
  // When the next round is due (meaningful while HasOpen()).
  TimePoint NextRound() const;

  // One round, when due; returns whether one ran.
  bool PollIfDue();

 private:
  struct Tracked {
    Operation op;
    std::map<std::string, std::string> statuses;  // each instance's status at the last round
    std::chrono::seconds next_report{-1};         // report the wait once it has lasted this long
  };

  bool Round();
  bool DeliverOrders(std::vector<Operation>& open);
  bool FinishTagging(std::vector<Operation>& open);
  bool PollStatuses(std::vector<Operation>& open);
  bool PruneLost(Operation* op, const std::map<std::string, cloud::Instance>& seen);
  bool CheckDeadlines();
  void OrderOverdue(Operation op);
  void RunningOverdue(Operation op, const std::map<std::string, std::string>& statuses);
  void ReportWaits();
  void Update(const Operation& op, const std::string& detail);

  const Context& ctx_;
  Journal* journal_;
  Purchaser* purchaser_;

  mutable std::mutex mu_;
  std::map<std::string, Tracked> tracked_;
  milliseconds interval_{0};
  TimePoint next_round_{};
};

}  // namespace reconciler::exec
