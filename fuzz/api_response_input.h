#pragma once

// One input of api_response_fuzz (fuzz/api_response_fuzz.cpp), shared with the regression
// test that replays every input that once crashed (tests/fuzz_regression_test.cpp).
//
// The boundary is the one the product has: HttpTransport::Send, whose answer (an HTTP
// status and body bytes) goes through ApiClient::Call (the {"Response": ...} envelope,
// Error, RequestId) and then through the provider's parsing of each action's answer
// (tencent_cloud.cpp), the identity layer (identity.cpp) and observation (observe.cpp).
// Only the transport is replaced: every call made gets the fuzzed answer.
//
// Input: byte 0 picks the call (CallOne), byte 1 the HTTP status (mostly 200), the rest is
// the body.

#include <cstddef>
#include <cstdint>
#include <string>

#include "providers/tencentcloud/api_client.h"
#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "base/clock.h"
#include "engine/identity.h"
#include "engine/observe.h"
#include "providers/tencentcloud/rate_budget.h"

namespace reconciler::fuzzing {

namespace tc = reconciler::tencentcloud;
namespace c = reconciler::cloud;

// Answers every request with the same status and body. A listing whose pages never reach
// its TotalCount would page for as long as the cloud answers; the first 64 answers stand
// for that, and the rest are "not sent", so one input ends.
class FuzzedAnswer final : public tc::HttpTransport {
 public:
  FuzzedAnswer(long status, std::string body) : status_(status), body_(std::move(body)) {}
  reconciler::Result<tc::HttpResponse> Send(const tc::HttpRequest&) override {
    if (++calls_ > 64) return reconciler::Status(reconciler::Code::kNotSent, "fuzz: call budget spent");
    return tc::HttpResponse{status_, body_};
  }

 private:
  long status_;
  std::string body_;
  int calls_ = 0;
};

inline long StatusOf(uint8_t b) {
  static const long kOthers[] = {429, 500, 502, 503, 400, 404, 204, 301};
  return b < 240 ? 200 : kOthers[b % 8];
}

inline void CallOne(uint8_t which, tc::TencentCloud& cloud) {
  const std::string region = "ap-beijing";
  switch (which % 18) {
    case 0: {
      c::ListFilter f;
      f.tag_keys = reconciler::IdentityTagKeys();
      (void)cloud.ListInstances(region, f);
      break;
    }
    case 1: (void)cloud.ListServerless(region, c::kStackTag); break;
    case 2: (void)cloud.ListGroups(region, "postgres-abcdef"); break;
    case 3: (void)cloud.DescribeInstance(region, "pgro-abcdefgh"); break;
    case 4: (void)cloud.DescribeZones(region); break;
    case 5: (void)cloud.DescribeClasses(region, "ap-beijing-4", "12"); break;
    case 6: {
      c::PriceQuery q;
      q.region = region;
      q.zone = "ap-beijing-4";
      q.spec_code = "pg.it.small2";
      q.storage_gb = 100;
      q.count = 2;
      (void)cloud.InquiryPrice(q);
      break;
    }
    case 7: (void)cloud.DescribeOrders(region, {"20240101000000000000001", "20240101000000000000002"}); break;
    case 8:
    case 9: {
      c::ReplicaRequest q;
      q.region = region;
      q.zone = "ap-beijing-4";
      q.master_id = "postgres-abcdef";
      q.spec_code = "pg.it.small2";
      q.storage_gb = 100;
      q.count = 2;
      q.vpc_id = "vpc-8btfafeo";
      q.subnet_id = "subnet-1i9huswn";
      q.tags[c::kOperationTag] = "fuzz/ReadOnlyInstance/a/op-fuzz";
      (void)cloud.CreateReplicas(q, which % 18 == 8 ? c::DryRun::kNo : c::DryRun::kYes);
      break;
    }
    case 10: {
      c::ServerlessRequest q;
      q.region = region;
      q.zone = "ap-beijing-1";
      q.name = "sandbox";
      (void)cloud.CreateServerless(q, c::DryRun::kNo);
      break;
    }
    case 11: {
      c::GroupRequest q;
      q.region = region;
      q.master_id = "postgres-abcdef";
      q.name = "g";
      (void)cloud.CreateGroup(q);
      break;
    }
    case 12: (void)cloud.ModifySpec(region, "pgro-abcdefgh", 4, 2, 200); break;
    case 13: (void)cloud.TagInstances(region, {"pgro-abcdefgh"}, {{c::kStackTag, "fuzz"}}); break;
    case 14: (void)cloud.Isolate(region, "pgro-abcdefgh"); break;
    case 15: (void)reconciler::ListStackInstances(&cloud, region, "fuzz"); break;
    case 16: (void)reconciler::ListStackServerless(&cloud, region, "fuzz"); break;
    case 17: {
      reconciler::ObserveScope scope;
      scope.regions = {region};
      scope.masters = {{region, "postgres-abcdef"}};
      scope.recorded = {{region, "pgro-abcdefgh"}};
      (void)reconciler::Observe(&cloud, "fuzz", scope);
      break;
    }
  }
}



// Runs one input. Never throws; whatever the bytes, must not crash or hang.
inline void RunApiResponseInput(const uint8_t* data, size_t size) {
  if (size < 2) return;
  FuzzedAnswer transport(StatusOf(data[1]), std::string(reinterpret_cast<const char*>(data + 2), size - 2));
  reconciler::FakeClock clock;
  tc::CloudConfig config;
  config.credentials.secret_id = "AKIDFUZZ";
  config.credentials.secret_key = tc::Secret("fuzz-secret");
  config.region = "ap-beijing";
  config.endpoints.SetOverride("http://127.0.0.1:9");
  tc::ApiClient client(config, &transport, &clock);
  reconciler::RateBudget budget(&clock, &tc::DocumentedRateLimit);
  tc::TencentCloudOptions options;
  options.read_attempts = 2;
  tc::TencentCloud cloud(&client, &budget, &clock, options);
  CallOne(data[0], cloud);
}

}  // namespace reconciler::fuzzing
