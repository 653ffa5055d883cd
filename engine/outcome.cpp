#include "engine/outcome.h"

namespace reconciler {

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

std::string StepOutcome::ToString() const {
  switch (kind_) {
    case kDone: return "done";
    case kRequeueAfter: return "requeue after " + std::to_string(after_.count()) + "ms";
    case kRetry: return "retry: " + status_.ToString();
    case kTerminal: return "terminal: " + status_.ToString();
  }
  return "?";
}

}  // namespace reconciler
