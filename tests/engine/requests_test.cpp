// The one spec -> request mapping (engine/requests.h), and the JSON form a group request keeps
// in plan files and in operation records written by earlier versions.

#include "engine/requests.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "engine/plan.h"
#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

const char* kGroup =
    "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: reports-group}\n"
    "spec:\n  masterInstanceId: postgres-abcdef\n  groupName: reports-ro\n  vpcId: vpc-8btfafeo\n"
    "  subnetId: subnet-1i9huswn\n  replayLagEliminate: true\n  maxReplayLagSeconds: 30\n"
    "  maxReplayLatencyMB: 512\n  minDelayEliminateReserve: 2\n";

TEST_CASE("requests: a group's in-place config is exactly the settings its purchase would ask for") {
  EngineFixture f;
  specs::DesiredState desired = f.Load(kGroup);
  const specs::Resource& r = *desired.Find({specs::Kind::kReadOnlyGroup, "reports-group"});
  cloud::GroupRequest q = GroupRequestFor(r);
  cloud::GroupConfig config = GroupConfigFor(r);
  CHECK(config.name == "reports-ro");
  CHECK(config.name == q.name);
  CHECK(config.replay_lag_eliminate);
  CHECK(config.replay_lag_eliminate == q.replay_lag_eliminate);
  CHECK(config.replay_latency_eliminate == q.replay_latency_eliminate);
  CHECK(config.max_replay_lag_seconds == 30);
  CHECK(config.max_replay_lag_seconds == q.max_replay_lag_seconds);
  CHECK(config.max_replay_latency_mb == 512);
  CHECK(config.max_replay_latency_mb == q.max_replay_latency_mb);
  CHECK(config.min_delay_eliminate_reserve == 2);
  CHECK(config.min_delay_eliminate_reserve == q.min_delay_eliminate_reserve);
}

TEST_CASE("requests: a group request's JSON keeps its keys and round-trips") {
  EngineFixture f;
  specs::DesiredState desired = f.Load(kGroup);
  cloud::GroupRequest q = GroupRequestFor(*desired.Find({specs::Kind::kReadOnlyGroup, "reports-group"}));
  json j = GroupRequestJson(q);
  CHECK(j == json::parse(R"({"region": "ap-beijing", "masterInstanceId": "postgres-abcdef", "groupName": "reports-ro",
                             "projectId": 0, "vpcId": "vpc-8btfafeo", "subnetId": "subnet-1i9huswn",
                             "replayLagEliminate": true, "replayLatencyEliminate": true,
                             "maxReplayLagSeconds": 30, "maxReplayLatencyMB": 512,
                             "minDelayEliminateReserve": 2, "securityGroupIds": []})"));
  CHECK(GroupRequestJson(GroupRequestFromJson(j)) == j);
  json missing = j;
  missing.erase("maxReplayLatencyMB");
  CHECK_THROWS_AS(GroupRequestFromJson(missing), json::exception);
}

TEST_CASE("requests: an instance is marked with the stack and resource tags, and the spec's own tags") {
  EngineFixture f;
  specs::DesiredState desired = f.Load(ReplicaYaml("reports", 1, "  tags: {team: data}\n"));
  const specs::Resource& r = *desired.Find({specs::Kind::kReadOnlyInstance, "reports"});
  cloud::Tags expected = {{cloud::kStackTag, "unit"}, {cloud::kResourceTag, "ReadOnlyInstance/reports"}};
  CHECK(StackTags("unit", r.key) == expected);
  expected["team"] = "data";
  CHECK(ReplicaRequestFor(r, "unit").tags == expected);
  ResourceRecord rec = RecordFor(r);
  CHECK(rec.key == "ReadOnlyInstance/reports");
  CHECK(rec.region == "ap-beijing");
  CHECK(rec.deletion_policy == "Orphan");
  CHECK(rec.spec_json == SpecJson(r));
  CHECK(rec.group_id.empty());
}

}  // namespace
}  // namespace reconciler::testing
