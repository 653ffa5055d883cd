#include "state/state_store.h"

namespace reconciler {

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kIntent: return "intent";
    case Phase::kUnknown: return "unknown";
    case Phase::kOrdered: return "ordered";
    case Phase::kDelivered: return "delivered";
    case Phase::kDone: return "done";
    case Phase::kFailed: return "failed";
  }
  return "?";
}

Result<Phase> ParsePhase(const std::string& name) {
  for (Phase p : {Phase::kIntent, Phase::kUnknown, Phase::kOrdered, Phase::kDelivered, Phase::kDone, Phase::kFailed}) {
    if (name == PhaseName(p)) return p;
  }
  return Status(Code::kInvalidInput, "unknown operation phase '" + name + "'");
}

const char* OperationKindName(OperationKind k) {
  switch (k) {
    case OperationKind::kCreateReplicas: return "create-replicas";
    case OperationKind::kCreateServerless: return "create-serverless";
    case OperationKind::kCreateGroup: return "create-group";
    case OperationKind::kModifySpec: return "modify-spec";
  }
  return "?";
}

Result<OperationKind> ParseOperationKind(const std::string& name) {
  for (OperationKind k : {OperationKind::kCreateReplicas, OperationKind::kCreateServerless, OperationKind::kCreateGroup,
                          OperationKind::kModifySpec}) {
    if (name == OperationKindName(k)) return k;
  }
  return Status(Code::kInvalidInput, "unknown operation kind '" + name + "'");
}

bool IsTerminal(Phase p) { return p == Phase::kDone || p == Phase::kFailed; }

}  // namespace reconciler
