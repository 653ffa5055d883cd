// The provider reads every field of an answer for its type: a number of the wrong kind or
// out of range reads as 0, never converts with undefined behaviour.

#include "providers/tencentcloud/tencent_cloud.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/rate_budget.h"
#include "tests/support/loopback_server.h"

namespace reconciler::tencentcloud {
namespace {

using nlohmann::json;
using testing::LoopbackServer;

struct Provider {
  explicit Provider(const std::string& answer) {
    srv.server().Post("/", [answer](const httplib::Request&, httplib::Response& res) {
      res.set_content(answer, "application/json");
    });
    srv.Start();
    CloudConfig config;
    config.credentials.secret_id = "AKIDtest";
    config.credentials.secret_key = Secret("key");
    config.endpoints.SetOverride(srv.url());
    client = std::make_unique<ApiClient>(config, transport.get(), &clock);
    cloud = std::make_unique<TencentCloud>(client.get(), &budget, &clock, TencentCloudOptions{});
  }
  LoopbackServer srv;
  FakeClock clock;
  std::unique_ptr<HttpTransport> transport = NewCurlTransport({});
  RateBudget budget{&clock, &DocumentedRateLimit};
  std::unique_ptr<ApiClient> client;
  std::unique_ptr<TencentCloud> cloud;
};

TEST_CASE("tencent cloud: numbers out of range or of the wrong kind read as zero") {
  Provider p(R"({"Response":{"RequestId":"r","TotalCount":1,"DBInstanceSet":[{"DBInstanceId":"pgro-1",
      "DBInstanceStorage":1e300,"DBInstanceMemory":-2.5,"DBInstanceCpu":4.0,"ProjectId":"7",
      "DeletionProtection":0.5,"AutoRenew":1}]}})");
  Result<std::vector<cloud::Instance>> listed = p.cloud->ListInstances("ap-beijing", {});
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  const cloud::Instance& i = listed->front();
  CHECK(i.storage_gb == 0);
  CHECK(i.memory_gb == 0);
  CHECK(i.cpu == 4);
  CHECK(i.project_id == 0);
  CHECK(i.deletion_protection);
  CHECK(i.auto_renew);
}

TEST_CASE("tencent cloud: a group's replay lag of any number kind is read within range") {
  Provider p(R"({"Response":{"RequestId":"r","ReadOnlyGroupList":[
      {"ReadOnlyGroupId":"pgrogrp-1","MaxReplayLag":-5.5},
      {"ReadOnlyGroupId":"pgrogrp-2","MaxReplayLag":1e300},
      {"ReadOnlyGroupId":"pgrogrp-3","MaxReplayLag":30.7},
      {"ReadOnlyGroupId":"pgrogrp-4","MaxReplayLag":45}]}})");
  Result<std::vector<cloud::Group>> groups = p.cloud->ListGroups("ap-beijing", "postgres-1");
  REQUIRE(groups.ok());
  REQUIRE(groups->size() == 4);
  CHECK((*groups)[0].max_replay_lag_seconds == 0);
  CHECK((*groups)[1].max_replay_lag_seconds == 0);
  CHECK((*groups)[2].max_replay_lag_seconds == 30);
  CHECK((*groups)[3].max_replay_lag_seconds == 45);
}

}  // namespace
}  // namespace reconciler::tencentcloud
