#pragma once

// Injected faults. Each rule may target one action and fires a number of times (default
// once; -1 forever). Rules come from the world file or POST /_admin/faults, as JSON:
//   {"type": "latency", "ms": 200}                 delay the answer
//   {"type": "httpError", "status": 503}           answer 500/502/503 instead of processing
//   {"type": "resetBeforeProcessing"}              reset the connection, process nothing
//   {"type": "dropAfterCommit"}                    process (buy), then close without answering
//   {"type": "throttle"}                           answer RequestLimitExceeded
//   {"type": "orderNeverDelivered"}                the purchase's orders never deliver
//   {"type": "orderShort", "missing": 1}           the last `missing` orders never deliver
//   {"type": "stuckIniting"}                       the bought instances never leave initing
// Every rule also takes "action" (default: any) and "times".

#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/status.h"

namespace reconciler::tencentcloud::emulator {

enum class FaultType {
  kLatency,
  kHttpError,
  kResetBeforeProcessing,
  kDropAfterCommit,
  kThrottle,
  kOrderNeverDelivered,
  kOrderShort,
  kStuckIniting,
};

struct FaultRule {
  FaultType type = FaultType::kLatency;
  std::string action;      // empty: every action
  int64_t remaining = 1;   // -1: forever
  int64_t ms = 0;          // latency
  int64_t status = 503;    // httpError
  int64_t missing = 1;     // orderShort
};

class Faults {
 public:
  // Adds one rule (a JSON object) or several (an array). On error adds nothing and says
  // which rule and field is wrong.
  Status Add(const nlohmann::json& rules);
  void Clear();
  // Consumes one firing of the first live rule of `type` that matches `action`.
  std::optional<FaultRule> Take(FaultType type, const std::string& action);
  nlohmann::json ToJson() const;

 private:
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
};

}  // namespace reconciler::tencentcloud::emulator
