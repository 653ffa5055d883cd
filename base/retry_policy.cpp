#include "base/retry_policy.h"

#include <algorithm>
#include <cassert>
#include <random>

namespace reconciler {

const char* EffectName(Effect e) {
  switch (e) {
    case Effect::kRead: return "read";
    case Effect::kMutate: return "write";
    case Effect::kPurchase: return "purchase";
  }
  return "?";
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kRetry: return "retry";
    case Verdict::kOutcomeUnknown: return "outcome unknown";
    case Verdict::kTerminal: return "terminal";
  }
  return "?";
}

Verdict Decide(Code code, Effect effect) {
  assert(code != Code::kOk);
  switch (code) {
    case Code::kThrottled:
    case Code::kNotSent:
      return Verdict::kRetry;
    case Code::kRetryable:
    case Code::kOutcomeUnknown:
      return effect == Effect::kRead ? Verdict::kRetry : Verdict::kOutcomeUnknown;
    case Code::kOk:
    case Code::kInvalidInput:
    case Code::kNotFound:
    case Code::kPermanent:
    case Code::kAuth:
    case Code::kConflict:
    case Code::kCancelled:
    case Code::kInternal:
      return Verdict::kTerminal;
  }
  return Verdict::kTerminal;
}

const char* TransportFailureName(TransportFailure f) {
  switch (f) {
    case TransportFailure::kNotSent: return "not sent";
    case TransportFailure::kTimeoutAfterSend: return "timeout after send";
    case TransportFailure::kReset: return "reset after send";
    case TransportFailure::kHttp429: return "HTTP 429";
    case TransportFailure::kHttp5xx: return "HTTP 5xx";
    case TransportFailure::kHttpOther: return "other HTTP status";
    case TransportFailure::kMalformedAnswer: return "malformed answer";
  }
  return "?";
}

Code TransportCode(TransportFailure f) {
  switch (f) {
    case TransportFailure::kNotSent: return Code::kNotSent;
    case TransportFailure::kHttp429: return Code::kThrottled;
    case TransportFailure::kTimeoutAfterSend:
    case TransportFailure::kReset:
    case TransportFailure::kHttp5xx:
    case TransportFailure::kHttpOther:
    case TransportFailure::kMalformedAnswer:
      return Code::kOutcomeUnknown;
  }
  return Code::kOutcomeUnknown;
}

namespace {

// The codes of ../shared/docs/tencent-api.md (the common codes and each action's) and of the
// two seed pages. Families first, then exact codes that differ from their family.
const std::vector<CloudErrorRule> kTable = {
    // Throttling: the request was turned away before it did anything.
    {"RequestLimitExceeded.*", Code::kThrottled, "rate limit (also .IPLimitExceeded, .UinLimitExceeded)"},
    {"FailedOperation.OperateFrequencyLimitedError", Code::kThrottled, "operations on the instance too frequent"},

    // The caller's credentials or permissions: no run can succeed until someone fixes them.
    {"AuthFailure.*", Code::kAuth, "signature, key, token or MFA rejected"},
    {"UnauthorizedOperation.*", Code::kAuth, "no CAM permission, or unverified user"},
    {"OperationDenied.CamDeniedError", Code::kAuth, "CAM denied the operation"},
    {"OperationDenied.TradePermissionError", Code::kAuth, "no payment permission"},
    {"FailedOperation.CamAuthFailed", Code::kAuth, "CAM authentication failed"},
    {"FailedOperation.CamSigAndAuthError", Code::kAuth, "authentication failed"},
    {"IpInBlacklist", Code::kAuth, "the caller's IP is blocked"},
    {"IpNotInWhitelist", Code::kAuth, "the caller's IP is not allowed"},

    // Server faults: the cloud failed while handling the request, which may have acted.
    {"InternalError.*", Code::kRetryable, "internal error (CgwError, DBError, FlowError, SystemError, ...)"},
    {"UnknownError", Code::kRetryable, "unknown server error"},
    {"ServiceUnavailable", Code::kRetryable, "service unavailable"},
    {"ResourceUnavailable", Code::kRetryable, "resource temporarily unavailable (bare code only)"},
    {"FlowError", Code::kRetryable, "failed to create the task"},
    {"FailedOperation", Code::kRetryable, "operation failed (bare code only)"},
    {"FailedOperation.FailedOperationError", Code::kRetryable, "operation failed, try again later"},
    {"FailedOperation.DatabaseAccessError", Code::kRetryable, "database management service unreachable"},
    {"FailedOperation.DatabaseAffectedError", Code::kRetryable, "data operation failed"},
    {"FailedOperation.ServiceAccessError", Code::kRetryable, "internal service unreachable"},
    {"FailedOperation.CdbCgwConnectError", Code::kRetryable, "project information unavailable"},
    {"FailedOperation.FlowCreateError", Code::kRetryable, "failed to create a task"},
    {"FailedOperation.CreateOrderFailed", Code::kRetryable, "billing: creating the order failed part way"},
    {"FailedOperation.TradeCreateError", Code::kRetryable, "billing: creating the order failed part way"},
    {"FailedOperation.PayOrderFailed", Code::kRetryable, "billing: paying the order failed part way"},
    {"FailedOperation.TradePayOrdersError", Code::kRetryable, "billing: paying the order failed part way"},
    {"FailedOperation.TradeQueryOrderError", Code::kRetryable, "billing: order query failed"},
    {"FailedOperation.QueryDealFailed", Code::kRetryable, "order query failed"},
    {"FailedOperation.QueryPriceFailed", Code::kRetryable, "price query failed"},
    {"FailedOperation.QuerySpecError", Code::kRetryable, "specification query failed"},
    {"FailedOperation.QueryVpcFailed", Code::kRetryable, "VPC query failed"},
    {"FailedOperation.QueryVpcFalied", Code::kRetryable, "VPC query failed (the cloud's spelling)"},
    {"FailedOperation.GetVpcInfoError", Code::kRetryable, "VPC query failed"},
    {"FailedOperation.GetSubnetError", Code::kRetryable, "subnet query failed"},
    {"FailedOperation.WhitelistConnectError", Code::kRetryable, "allowlist query failed"},
    {"FailedOperation.AllocateQuotasError", Code::kRetryable, "tag quota request failed"},
    {"FailedOperation.DeleteResourcesToTagError", Code::kRetryable, "tag cleanup failed"},

    // The thing named does not exist.
    {"ResourceNotFound.*", Code::kNotFound, "instance, group or VPC not found"},
    {"InvalidParameterValue.InstanceNotExist", Code::kNotFound, "instance not found"},
    {"InstanceNotExist", Code::kNotFound, "instance not found"},

    // Refusals: the request is wrong for the cloud as it is. Repeating cannot help.
    {"InvalidParameter.*", Code::kPermanent, "parameter error (ParameterCheckError, InstanceNameExist, ...)"},
    {"InvalidParameterValue.*", Code::kPermanent, "bad value (BadSpec, IllegalZone, InvalidInstanceNum, ...)"},
    {"MissingParameter.*", Code::kPermanent, "a required parameter is missing"},
    {"UnknownParameter.*", Code::kPermanent, "a parameter this API does not define (e.g. DryRun)"},
    {"InvalidAction", Code::kPermanent, "no such action"},
    {"ActionOffline", Code::kPermanent, "the action was withdrawn"},
    {"NoSuchProduct", Code::kPermanent, "no such product"},
    {"NoSuchVersion", Code::kPermanent, "no such API version"},
    {"InvalidRequest", Code::kPermanent, "malformed request"},
    {"UnsupportedProtocol", Code::kPermanent, "only GET and POST"},
    {"UnsupportedRegion", Code::kPermanent, "region not supported"},
    {"RegionNotSupported", Code::kPermanent, "region not supported (IsolateDBInstances)"},
    {"LimitOperation", Code::kPermanent, "the operation is not allowed now (IsolateDBInstances)"},
    {"UnsupportedOperation.*", Code::kPermanent, "operation not supported"},
    {"RequestSizeLimitExceeded", Code::kPermanent, "request too large"},
    {"ResponseSizeLimitExceeded", Code::kPermanent, "answer too large"},
    {"DryRunOperation", Code::kPermanent, "a DryRun answered as an error"},
    {"InvalidPid", Code::kPermanent, "bad PID"},
    {"InvalidInstanceStatus", Code::kPermanent, "the instance's status forbids it"},
    {"LimitExceeded.*", Code::kPermanent, "quota reached"},
    {"ResourceInUse.*", Code::kPermanent, "resource in use"},
    {"ResourceInsufficient.*", Code::kPermanent, "sold out (ResourceNotEnough)"},
    {"ResourceUnavailable.*", Code::kPermanent, "InvalidInstanceStatus, VpcResourceNotFound, ResourceNoPermission"},
    {"OperationDenied.*", Code::kPermanent,
     "InsufficientBalanceError, RoInstanceCountExeedError, InstanceStatusLimit(Op)Error, NotSupportZoneError, ..."},
    {"FailedOperation.CreateBasicNetworkDeniedError", Code::kPermanent, "classic network unsupported"},
    {"FailedOperation.InvalidTradeOperate", Code::kPermanent, "billing forbids this for the instance"},
    {"FailedOperation.PreCheckError", Code::kPermanent, "pre-check failed"},
    {"FailedOperation.ROGroupNotFoundError", Code::kPermanent, "read-only group not found"},
    {"FailedOperation.ROGroupNumExceedError", Code::kPermanent, "too many read-only groups"},
    {"FailedOperation.StorageMemoryCheckError", Code::kPermanent, "the new spec must be larger"},
};

bool Matches(std::string_view pattern, std::string_view code, size_t* strength) {
  constexpr std::string_view kFamily = ".*";
  if (pattern.size() >= kFamily.size() && pattern.substr(pattern.size() - kFamily.size()) == kFamily) {
    std::string_view family = pattern.substr(0, pattern.size() - kFamily.size());
    bool hit = code == family || (code.size() > family.size() && code.substr(0, family.size()) == family &&
                                  code[family.size()] == '.');
    *strength = family.size();
    return hit;
  }
  *strength = std::string_view::npos;  // exact beats every family
  return code == pattern;
}

}  // namespace

const std::vector<CloudErrorRule>& CloudErrorTable() { return kTable; }

const CloudErrorRule* FindCloudErrorRule(std::string_view api_code) {
  const CloudErrorRule* best = nullptr;
  size_t best_strength = 0;
  for (const CloudErrorRule& rule : kTable) {
    size_t strength = 0;
    if (Matches(rule.pattern, api_code, &strength) && (!best || strength > best_strength)) {
      best = &rule;
      best_strength = strength;
    }
  }
  return best;
}

Code ClassifyCloudError(std::string_view api_code) {
  const CloudErrorRule* rule = FindCloudErrorRule(api_code);
  return rule ? rule->code : Code::kPermanent;
}

bool HoldsResource(std::string_view api_code) {
  if (api_code.empty()) return false;
  Code code = ClassifyCloudError(api_code);
  return code == Code::kPermanent || code == Code::kNotFound;
}

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, uint64_t seed)
    : base_(base), cap_(cap), state_(seed != 0 ? seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}

uint64_t Backoff::NextRandom() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::chrono::milliseconds Backoff::Ceiling() const {
  std::chrono::milliseconds ceiling = base_;
  for (int i = 0; i < attempts_ && ceiling < cap_; ++i) ceiling *= 2;
  return std::min(ceiling, cap_);
}

std::chrono::milliseconds Backoff::Next() {
  const int64_t ceiling = std::max<int64_t>(0, Ceiling().count());
  ++attempts_;
  // Uniform in [0, ceiling]; the modulo's bias is below 1e-12 for any ceiling we use.
  return std::chrono::milliseconds(static_cast<int64_t>(NextRandom() % static_cast<uint64_t>(ceiling + 1)));
}

}  // namespace reconciler
