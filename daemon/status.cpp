#include "daemon/status.h"

namespace reconciler::daemon {

const char* ConditionName(Condition c) {
  switch (c) {
    case Condition::kUnknown: return "Unknown";
    case Condition::kReady: return "Ready";
    case Condition::kProgressing: return "Progressing";
    case Condition::kDrifted: return "Drifted";
    case Condition::kRetrying: return "Retrying";
    case Condition::kFailed: return "Failed";
    case Condition::kBlocked: return "Blocked";
    case Condition::kPaused: return "Paused";
  }
  return "Unknown";
}

}  // namespace reconciler::daemon
