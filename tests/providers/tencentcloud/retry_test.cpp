// The provider's retries follow the retry table: reads are repeated after throttling, a lost
// answer or a server fault; writes only when throttled or not sent; purchases never (the
// executor does that, having recorded the attempt). Waits are full-jitter backoffs.

#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "base/clock.h"
#include "base/retry_policy.h"

namespace reconciler::tencentcloud {
namespace {

using nlohmann::json;

// Answers each action from its script, in order; the last answer repeats. No sockets.
class ScriptedTransport : public HttpTransport {
 public:
  void Script(const std::string& action, std::vector<Result<HttpResponse>> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    scripts_[action] = std::deque<Result<HttpResponse>>(answers.begin(), answers.end());
  }
  int Sent(const std::string& action) {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_[action];
  }
  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::string action;
    for (const auto& [name, value] : request.headers) {
      if (name == "X-TC-Action") action = value;
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++sent_[action];
    auto& script = scripts_[action];
    REQUIRE_FALSE(script.empty());
    Result<HttpResponse> answer = script.front();
    if (script.size() > 1) script.pop_front();
    return answer;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::deque<Result<HttpResponse>>> scripts_;
  std::map<std::string, int> sent_;
};

Result<HttpResponse> Answer(const json& response, long status = 200) {
  json body = response;
  body["RequestId"] = "req-1";
  return HttpResponse{status, json{{"Response", body}}.dump()};
}

Result<HttpResponse> CloudError(const std::string& code) {
  return Answer({{"Error", {{"Code", code}, {"Message", code + " happened"}}}});
}

struct Provider {
  explicit Provider(TencentCloudOptions options = {}) : cloud(&client, &budget, &clock, WithSeed(options)) {}
  static TencentCloudOptions WithSeed(TencentCloudOptions o) {
    o.jitter_seed = 99;
    return o;
  }
  static CloudConfig Config() {
    CloudConfig config;
    config.credentials.secret_id = "AKIDretry";
    config.credentials.secret_key = Secret("retry-secret");
    config.endpoints.SetOverride("http://127.0.0.1:1");
    return config;
  }
  FakeClock clock;
  ScriptedTransport transport;
  ApiClient client{Config(), &transport, &clock};
  RateBudget budget{&clock, &DocumentedRateLimit};
  TencentCloud cloud;
};

cloud::ReplicaRequest Replica() {
  cloud::ReplicaRequest q;
  q.region = "ap-beijing";
  q.zone = "ap-beijing-4";
  q.master_id = "postgres-abcdef";
  q.spec_code = "pg.it.small2";
  q.storage_gb = 100;
  q.prepaid = true;
  return q;
}

const json kPurchase = {{"DealNames", {"d1"}}, {"BillId", "b1"}, {"DBInstanceIdSet", json::array()}};

TEST_CASE("tencent cloud: InternalError on a read is retried and on a purchase it is an unknown outcome") {
  Provider p;
  p.transport.Script("DescribeOrders", {CloudError("InternalError"), Answer({{"TotalCount", 0}, {"Deals", json::array()}})});
  CHECK(p.cloud.DescribeOrders("ap-beijing", {"d1"}).ok());
  CHECK(p.transport.Sent("DescribeOrders") == 2);

  p.transport.Script("CreateReadOnlyDBInstance", {CloudError("InternalError"), Answer(kPurchase)});
  Result<cloud::Purchase> bought = p.cloud.CreateReplicas(Replica(), cloud::DryRun::kNo);
  REQUIRE_FALSE(bought.ok());
  CHECK(p.transport.Sent("CreateReadOnlyDBInstance") == 1);  // never sent twice here
  CHECK(bought.status().api_code() == "InternalError");
  CHECK(Decide(bought.status(), Effect::kPurchase) == Verdict::kOutcomeUnknown);
}

TEST_CASE("tencent cloud: a throttled purchase is not repeated inside the provider") {
  Provider p;
  p.transport.Script("CreateReadOnlyDBInstance", {CloudError("RequestLimitExceeded"), Answer(kPurchase)});
  Result<cloud::Purchase> bought = p.cloud.CreateReplicas(Replica(), cloud::DryRun::kNo);
  REQUIRE_FALSE(bought.ok());
  CHECK(p.transport.Sent("CreateReadOnlyDBInstance") == 1);
  CHECK(bought.status().code() == Code::kThrottled);
  CHECK(Decide(bought.status(), Effect::kPurchase) == Verdict::kRetry);  // the executor's to repeat
}

TEST_CASE("tencent cloud: a write is retried when throttled and not after a server fault") {
  Provider p;
  p.transport.Script("ModifyDBInstanceName", {CloudError("RequestLimitExceeded.UinLimitExceeded"), Answer(json::object())});
  CHECK(p.cloud.ModifyName("ap-beijing", "pgro-1", "n").ok());
  CHECK(p.transport.Sent("ModifyDBInstanceName") == 2);

  Provider q;
  q.transport.Script("ModifyDBInstanceName", {CloudError("InternalError.DBError"), Answer(json::object())});
  Status s = q.cloud.ModifyName("ap-beijing", "pgro-1", "n");
  CHECK(s.code() == Code::kRetryable);
  CHECK(q.transport.Sent("ModifyDBInstanceName") == 1);
  CHECK(Decide(s, Effect::kMutate) == Verdict::kOutcomeUnknown);
}

TEST_CASE("tencent cloud: a purchase answered 403 by something in between is an unknown outcome") {
  Provider p;
  p.transport.Script("CreateReadOnlyDBInstance", {Result<HttpResponse>(HttpResponse{403, "Forbidden"})});
  Result<cloud::Purchase> bought = p.cloud.CreateReplicas(Replica(), cloud::DryRun::kNo);
  REQUIRE_FALSE(bought.ok());
  CHECK(bought.status().code() == Code::kOutcomeUnknown);
  CHECK(Decide(bought.status(), Effect::kPurchase) == Verdict::kOutcomeUnknown);
  CHECK(p.transport.Sent("CreateReadOnlyDBInstance") == 1);
}

TEST_CASE("tencent cloud: a refused read is not repeated") {
  Provider p;
  p.transport.Script("DescribeOrders", {CloudError("InvalidParameterValue.NullDealNames")});
  Result<std::vector<cloud::Deal>> r = p.cloud.DescribeOrders("ap-beijing", {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kPermanent);
  CHECK(p.transport.Sent("DescribeOrders") == 1);
}

TEST_CASE("tencent cloud: a failing read stops after its attempts having waited full-jitter backoffs") {
  TencentCloudOptions options;
  options.read_attempts = 6;
  options.backoff = std::chrono::milliseconds(200);
  options.backoff_cap = std::chrono::milliseconds(1000);
  Provider p(options);
  p.transport.Script("DescribeOrders", {Result<HttpResponse>(Status(Code::kOutcomeUnknown, "timed out"))});
  Result<std::vector<cloud::Deal>> r = p.cloud.DescribeOrders("ap-beijing", {"d1"});
  REQUIRE_FALSE(r.ok());
  CHECK(p.transport.Sent("DescribeOrders") == 6);
  // Five waits, each uniform below 200, 400, 800, 1000 and 1000 ms. The rate budget may add a
  // little of its own, never a full second here.
  CHECK(p.clock.slept() <= std::chrono::milliseconds(200 + 400 + 800 + 1000 + 1000 + 100));
}

TEST_CASE("tencent cloud: a purchase answered success without its proof is an unknown outcome") {
  Provider p;
  p.transport.Script("CreateReadOnlyDBInstance", {Answer({{"DealNames", json::array()}, {"BillId", ""}})});
  p.transport.Script("CreateServerlessDBInstance", {Answer(json::object())});
  p.transport.Script("CreateReadOnlyGroup", {Answer({{"FlowId", 1}})});
  p.transport.Script("ModifyDBInstanceSpec", {Answer(json::object())});
  cloud::ServerlessRequest serverless;
  serverless.region = "ap-beijing";
  cloud::GroupRequest group;
  group.region = "ap-beijing";
  const Status answers[] = {
      p.cloud.CreateReplicas(Replica(), cloud::DryRun::kNo).status(),
      p.cloud.CreateServerless(serverless, cloud::DryRun::kNo).status(),
      p.cloud.CreateGroup(group).status(),
      p.cloud.ModifySpec("ap-beijing", "pgro-1", 4, 2, 100).status(),
  };
  for (const Status& s : answers) {
    CAPTURE(s.ToString());
    CHECK(s.code() == Code::kOutcomeUnknown);
    CHECK(s.request_id() == "req-1");
  }
  // A DryRun answers without them by design.
  CHECK(p.cloud.CreateServerless(serverless, cloud::DryRun::kYes).ok());
}

}  // namespace
}  // namespace reconciler::tencentcloud
