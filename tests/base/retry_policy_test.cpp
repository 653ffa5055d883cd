// The retry table: every cloud error code and transport class, with every effect, has exactly
// one verdict, and the backoff is full jitter within its capped ceiling.

#include "base/retry_policy.h"

#include <doctest/doctest.h>

#include <set>

namespace reconciler::testing {
namespace {

constexpr Effect kEffects[] = {Effect::kRead, Effect::kMutate, Effect::kPurchase};

Verdict For(std::string_view api_code, Effect e) { return Decide(ClassifyCloudError(api_code), e); }

// Every code of ../shared/docs/tencent-api.md (common and per action) and of both seed pages.
const std::vector<std::string> kDocumentedCodes = {
    "ActionOffline", "AuthFailure.InvalidAuthorization", "AuthFailure.InvalidSecretId", "AuthFailure.MFAFailure",
    "AuthFailure.SecretIdNotFound", "AuthFailure.SignatureExpire", "AuthFailure.SignatureFailure",
    "AuthFailure.TokenFailure", "AuthFailure.UnauthorizedOperation", "DryRunOperation", "FailedOperation",
    "FailedOperation.AllocateQuotasError", "FailedOperation.CamAuthFailed", "FailedOperation.CamSigAndAuthError",
    "FailedOperation.CdbCgwConnectError", "FailedOperation.CreateBasicNetworkDeniedError",
    "FailedOperation.CreateOrderFailed", "FailedOperation.DatabaseAccessError", "FailedOperation.DatabaseAffectedError",
    "FailedOperation.DeleteResourcesToTagError", "FailedOperation.FailedOperationError", "FailedOperation.FlowCreateError",
    "FailedOperation.GetSubnetError", "FailedOperation.GetVpcInfoError", "FailedOperation.InvalidTradeOperate",
    "FailedOperation.OperateFrequencyLimitedError", "FailedOperation.PayOrderFailed", "FailedOperation.PreCheckError",
    "FailedOperation.QueryDealFailed", "FailedOperation.QueryPriceFailed", "FailedOperation.QuerySpecError",
    "FailedOperation.QueryVpcFailed", "FailedOperation.QueryVpcFalied", "FailedOperation.ROGroupNotFoundError",
    "FailedOperation.ROGroupNumExceedError", "FailedOperation.ServiceAccessError",
    "FailedOperation.StorageMemoryCheckError", "FailedOperation.TradeCreateError", "FailedOperation.TradePayOrdersError",
    "FailedOperation.TradeQueryOrderError", "FailedOperation.WhitelistConnectError", "FlowError", "InstanceNotExist",
    "InternalError", "InternalError.CgwError", "InternalError.CnsError", "InternalError.DBError", "InternalError.DfwError",
    "InternalError.FlowError", "InternalError.InternalHttpServerError", "InternalError.JsonParseError",
    "InternalError.SystemError", "InternalError.UnknownError", "InternalError.VpcError", "InvalidAction",
    "InvalidInstanceStatus", "InvalidParameter", "InvalidParameter.InstanceNameExist",
    "InvalidParameter.ParameterCheckError", "InvalidParameter.TradeAccessDeniedError", "InvalidParameter.VpcNotFoundError",
    "InvalidParameterValue", "InvalidParameterValue.AccountExist", "InvalidParameterValue.BadSpec",
    "InvalidParameterValue.DataConvertError", "InvalidParameterValue.IllegalInstanceChargeType",
    "InvalidParameterValue.IllegalProjectId", "InvalidParameterValue.IllegalRegion", "InvalidParameterValue.IllegalZone",
    "InvalidParameterValue.InstanceNameExist", "InvalidParameterValue.InstanceNotExist",
    "InvalidParameterValue.InterfaceNameNotFound", "InvalidParameterValue.InvalidAccountFormat",
    "InvalidParameterValue.InvalidAccountName", "InvalidParameterValue.InvalidCharset",
    "InvalidParameterValue.InvalidInstanceNum", "InvalidParameterValue.InvalidOrderNum",
    "InvalidParameterValue.InvalidParameterValueError", "InvalidParameterValue.InvalidPasswordFormat",
    "InvalidParameterValue.InvalidPid", "InvalidParameterValue.InvalidRegionIdError",
    "InvalidParameterValue.InvalidZoneIdError", "InvalidParameterValue.NullDealNames",
    "InvalidParameterValue.ParameterCharacterError", "InvalidParameterValue.ParameterHandleError",
    "InvalidParameterValue.ParameterLengthLimitError", "InvalidParameterValue.RegionNotSupported",
    "InvalidParameterValue.StructParseFailed", "InvalidPid", "InvalidRequest", "IpInBlacklist", "IpNotInWhitelist",
    "LimitExceeded", "LimitOperation", "MissingParameter", "NoSuchProduct", "NoSuchVersion",
    "OperationDenied.CamDeniedError", "OperationDenied.InstanceStatusLimitError",
    "OperationDenied.InstanceStatusLimitOpError", "OperationDenied.InsufficientBalanceError",
    "OperationDenied.NotSupportZoneError", "OperationDenied.PayModeError", "OperationDenied.ROGroupStatusError",
    "OperationDenied.RoInstanceCountExeedError", "OperationDenied.TradePermissionError",
    "OperationDenied.UserNotAuthenticatedError", "OperationDenied.VersionNotSupportError",
    "OperationDenied.VpcDeniedError", "RegionNotSupported", "RequestLimitExceeded", "RequestLimitExceeded.IPLimitExceeded",
    "RequestLimitExceeded.UinLimitExceeded", "RequestSizeLimitExceeded", "ResourceInUse", "ResourceInsufficient",
    "ResourceInsufficient.ResourceNotEnough", "ResourceNotFound", "ResourceNotFound.InstanceNotFoundError",
    "ResourceUnavailable", "ResourceUnavailable.InvalidInstanceStatus", "ResourceUnavailable.ResourceNoPermission",
    "ResourceUnavailable.VpcResourceNotFound", "ResponseSizeLimitExceeded", "ServiceUnavailable",
    "UnauthorizedOperation", "UnauthorizedOperation.UserHasNoRealnameAuthentication", "UnknownError",
    "UnknownParameter", "UnsupportedOperation", "UnsupportedProtocol", "UnsupportedRegion",
};

TEST_CASE("retry table: every documented error code has a row and one verdict per effect") {
  const std::set<Code> row_codes = {Code::kThrottled, Code::kRetryable, Code::kAuth, Code::kNotFound, Code::kPermanent};
  for (const std::string& code : kDocumentedCodes) {
    CAPTURE(code);
    const CloudErrorRule* rule = FindCloudErrorRule(code);
    REQUIRE(rule != nullptr);
    CHECK(row_codes.count(rule->code) == 1);
    CHECK(ClassifyCloudError(code) == rule->code);
  }
}

TEST_CASE("retry table: the decision matrix of code and effect") {
  struct Row {
    Code code;
    Verdict read, write, purchase;
  };
  const Verdict R = Verdict::kRetry, U = Verdict::kOutcomeUnknown, T = Verdict::kTerminal;
  const Row rows[] = {
      {Code::kThrottled, R, R, R},   {Code::kNotSent, R, R, R},     {Code::kRetryable, R, U, U},
      {Code::kOutcomeUnknown, R, U, U}, {Code::kPermanent, T, T, T}, {Code::kAuth, T, T, T},
      {Code::kNotFound, T, T, T},    {Code::kInvalidInput, T, T, T}, {Code::kConflict, T, T, T},
      {Code::kCancelled, T, T, T},   {Code::kInternal, T, T, T},
  };
  for (const Row& r : rows) {
    CAPTURE(CodeName(r.code));
    CHECK(Decide(r.code, Effect::kRead) == r.read);
    CHECK(Decide(r.code, Effect::kMutate) == r.write);
    CHECK(Decide(r.code, Effect::kPurchase) == r.purchase);
  }
}

TEST_CASE("retry table: InternalError is retried on a read and is an unknown outcome on a create") {
  for (const char* code : {"InternalError", "InternalError.SystemError", "UnknownError", "ServiceUnavailable",
                           "FailedOperation.DatabaseAccessError", "FailedOperation.TradeCreateError"}) {
    CAPTURE(code);
    CHECK(For(code, Effect::kRead) == Verdict::kRetry);
    CHECK(For(code, Effect::kMutate) == Verdict::kOutcomeUnknown);
    CHECK(For(code, Effect::kPurchase) == Verdict::kOutcomeUnknown);
  }
}

TEST_CASE("retry table: throttling proves nothing was done and is retried for every effect") {
  for (const char* code : {"RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded",
                           "RequestLimitExceeded.IPLimitExceeded", "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
                           "FailedOperation.OperateFrequencyLimitedError"}) {
    CAPTURE(code);
    CHECK(ClassifyCloudError(code) == Code::kThrottled);
    for (Effect e : kEffects) CHECK(For(code, e) == Verdict::kRetry);
  }
}

TEST_CASE("retry table: auth and parameter errors and sold out zones are terminal") {
  for (const char* code : {"AuthFailure.SignatureFailure", "AuthFailure.SignatureExpire", "AuthFailure.TokenFailure",
                           "UnauthorizedOperation", "OperationDenied.CamDeniedError", "InvalidParameter",
                           "InvalidParameterValue.BadSpec", "UnknownParameter", "UnknownParameter.DryRun",
                           "MissingParameter", "ResourceInsufficient.ResourceNotEnough",
                           "OperationDenied.InsufficientBalanceError", "LimitExceeded", "ResourceNotFound.InstanceNotFoundError",
                           "ResourceUnavailable.InvalidInstanceStatus"}) {
    CAPTURE(code);
    for (Effect e : kEffects) CHECK(For(code, e) == Verdict::kTerminal);
  }
  CHECK(ClassifyCloudError("AuthFailure.SignatureExpire") == Code::kAuth);
  CHECK(ClassifyCloudError("InvalidParameterValue.BadSpec") == Code::kPermanent);
  CHECK(ClassifyCloudError("ResourceNotFound.InstanceNotFoundError") == Code::kNotFound);
}

TEST_CASE("retry table: codes it does not know are terminal and hold the resource") {
  for (const char* code : {"SomethingNew", "FailedOperation.SomethingNew", "OperationDenied.SomethingNew", ""}) {
    CAPTURE(code);
    CHECK(ClassifyCloudError(code) == Code::kPermanent);
    CHECK(For(code, Effect::kMutate) == Verdict::kTerminal);
    CHECK(For(code, Effect::kPurchase) == Verdict::kTerminal);
  }
  CHECK(FindCloudErrorRule("FailedOperation.SomethingNew") == nullptr);
  CHECK(HoldsResource("SomethingNew"));
}

TEST_CASE("retry table: a family matches its own name and the codes under it only") {
  CHECK(ClassifyCloudError("InternalError") == Code::kRetryable);
  CHECK(ClassifyCloudError("InternalError.Anything") == Code::kRetryable);
  CHECK(ClassifyCloudError("InternalErrorish") == Code::kPermanent);
  CHECK(ClassifyCloudError("RequestLimitExceededX") == Code::kPermanent);
  // An exact row wins over its family, both ways.
  CHECK(ClassifyCloudError("ResourceUnavailable") == Code::kRetryable);
  CHECK(ClassifyCloudError("ResourceUnavailable.VpcResourceNotFound") == Code::kPermanent);
  CHECK(ClassifyCloudError("InvalidParameterValue.InstanceNotExist") == Code::kNotFound);
  CHECK(ClassifyCloudError("FailedOperation") == Code::kRetryable);
}

TEST_CASE("retry table: every row decides for the codes it names") {
  std::set<std::string> patterns;
  for (const CloudErrorRule& rule : CloudErrorTable()) {
    CAPTURE(std::string(rule.pattern));
    CHECK(patterns.insert(std::string(rule.pattern)).second);  // no row twice
    CHECK_FALSE(rule.why.empty());
    std::string code(rule.pattern);
    if (code.size() > 2 && code.substr(code.size() - 2) == ".*") code = code.substr(0, code.size() - 2) + ".AnyCode";
    const CloudErrorRule* found = FindCloudErrorRule(code);
    REQUIRE(found != nullptr);
    CHECK(found->code == rule.code);
  }
}

TEST_CASE("retry table: every transport class has one verdict per effect") {
  struct Row {
    TransportFailure failure;
    Code code;
    Verdict read, write, purchase;
  };
  const Verdict R = Verdict::kRetry, U = Verdict::kOutcomeUnknown;
  const Row rows[] = {
      {TransportFailure::kNotSent, Code::kNotSent, R, R, R},
      {TransportFailure::kHttp429, Code::kThrottled, R, R, R},
      {TransportFailure::kTimeoutAfterSend, Code::kOutcomeUnknown, R, U, U},
      {TransportFailure::kReset, Code::kOutcomeUnknown, R, U, U},
      {TransportFailure::kHttp5xx, Code::kOutcomeUnknown, R, U, U},
      {TransportFailure::kHttpOther, Code::kOutcomeUnknown, R, U, U},
      {TransportFailure::kMalformedAnswer, Code::kOutcomeUnknown, R, U, U},
  };
  for (const Row& r : rows) {
    CAPTURE(TransportFailureName(r.failure));
    CHECK(TransportCode(r.failure) == r.code);
    CHECK(Decide(TransportCode(r.failure), Effect::kRead) == r.read);
    CHECK(Decide(TransportCode(r.failure), Effect::kMutate) == r.write);
    CHECK(Decide(TransportCode(r.failure), Effect::kPurchase) == r.purchase);
  }
}

TEST_CASE("retry table: only refusals and deadlines hold a resource") {
  CHECK(HoldsResource("InvalidParameterValue.BadSpec"));
  CHECK(HoldsResource("OperationDenied.InsufficientBalanceError"));
  CHECK(HoldsResource("ResourceInsufficient.ResourceNotEnough"));
  CHECK(HoldsResource("reconciler.OrderDeadlineExceeded"));
  CHECK(HoldsResource("reconciler.RunningDeadlineExceeded"));
  CHECK_FALSE(HoldsResource(""));  // a failure of ours: interrupted, or gave up after proven-nothing attempts
  CHECK_FALSE(HoldsResource("AuthFailure.SignatureExpire"));  // the credentials, not the resource
  CHECK_FALSE(HoldsResource("UnauthorizedOperation"));
  CHECK_FALSE(HoldsResource("RequestLimitExceeded"));
  CHECK_FALSE(HoldsResource("InternalError"));
}

TEST_CASE("backoff: full jitter stays within the capped exponential ceiling") {
  using std::chrono::milliseconds;
  Backoff backoff(milliseconds(200), milliseconds(5000), /*seed=*/42);
  const milliseconds ceilings[] = {milliseconds(200),  milliseconds(400),  milliseconds(800),
                                   milliseconds(1600), milliseconds(3200), milliseconds(5000)};
  for (milliseconds ceiling : ceilings) {
    CHECK(backoff.Ceiling() == ceiling);
    milliseconds d = backoff.Next();
    CHECK(d >= milliseconds(0));
    CHECK(d <= ceiling);
  }
  // At the cap, full jitter spreads over the whole range, not just its upper half.
  milliseconds lowest(5000), highest(0);
  for (int i = 0; i < 200; ++i) {
    CHECK(backoff.Ceiling() == milliseconds(5000));
    milliseconds d = backoff.Next();
    CHECK(d <= milliseconds(5000));
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  CHECK(lowest < milliseconds(1250));
  CHECK(highest > milliseconds(3750));
  CHECK(backoff.attempts() == 206);
}

TEST_CASE("backoff: the same seed gives the same delays") {
  using std::chrono::milliseconds;
  Backoff a(milliseconds(500), milliseconds(10000), 7), b(milliseconds(500), milliseconds(10000), 7);
  Backoff c(milliseconds(500), milliseconds(10000), 8);
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    milliseconds x = a.Next(), y = b.Next(), z = c.Next();
    CHECK(x == y);
    differs = differs || x != z;
  }
  CHECK(differs);
}

}  // namespace
}  // namespace reconciler::testing
