// DryRuns are spent once per request shape: the plan sends one per shape for all its
// changes, and the apply of a young plan sends none; an old plan's apply proves each shape
// again, once. A shape the cloud now refuses still stops its purchase before anything is sent.

#include <doctest/doctest.h>

#include "engine/executor.h"
#include "engine/preflight.h"
#include "tests/support/engine_fixture.h"

namespace reconciler {
namespace {

using testing::EngineFixture;
using testing::ReplicaYaml;

constexpr const char* kDryRuns = "CreateReadOnlyDBInstance/DryRun";

// Three resources alike, 13 replicas each: calls of 6, 6 and 1, so two shapes in all.
specs::DesiredState ThreeAlike(EngineFixture& f) {
  return f.Load(ReplicaYaml("a", 13) + "---\n" + ReplicaYaml("b", 13) + "---\n" + ReplicaYaml("c", 13));
}

int Creates(EngineFixture& f) { return f.fake.Calls("CreateReadOnlyDBInstance"); }  // DryRuns count apart

}  // namespace

TEST_CASE("dry runs: a request shape ignores the name and the reconciler tags' values, not the count or the spec") {
  cloud::ReplicaRequest a;
  a.region = "ap-beijing";
  a.zone = "ap-beijing-4";
  a.spec_code = "pg.it.small2";
  a.count = 6;
  a.name = "a";
  a.tags = {{cloud::kResourceTag, "ReadOnlyInstance/a"}, {cloud::kOperationTag, "op-1"}, {"team", "data"}};
  cloud::ReplicaRequest b = a;
  b.name = "b";
  b.tags[cloud::kResourceTag] = "ReadOnlyInstance/b";
  b.tags[cloud::kOperationTag] = "op-2";
  CHECK(DryRunShape(a) == DryRunShape(b));
  for (auto change : std::vector<std::function<void(cloud::ReplicaRequest&)>>{
           [](cloud::ReplicaRequest& q) { q.count = 5; }, [](cloud::ReplicaRequest& q) { q.spec_code = "pg.it.medium4"; },
           [](cloud::ReplicaRequest& q) { q.tags["team"] = "web"; }, [](cloud::ReplicaRequest& q) { q.zone = "ap-beijing-3"; },
           [](cloud::ReplicaRequest& q) { q.tags.erase(cloud::kOperationTag); }}) {
    cloud::ReplicaRequest c = a;
    change(c);
    CHECK(DryRunShape(c) != DryRunShape(a));
  }
  cloud::ServerlessRequest s1, s2;
  s1.name = "one";
  s2.name = "two";
  CHECK(DryRunShape(s1) != DryRunShape(s2));  // a serverless name must be unique: the DryRun judges it
}

TEST_CASE("dry runs: the plan sends one per shape for all its changes, and the apply of that plan sends none") {
  EngineFixture f;
  auto desired = ThreeAlike(f);
  Plan plan = f.MakePlan(desired);
  CHECK(f.fake.Calls(kDryRuns) == 2);  // shapes of 6 and of 1, for 9 calls
  for (const Change& c : plan.changes) CHECK(c.preflight.state == PreflightState::kPassed);
  ApplyResult r = f.Apply(plan);
  CHECK(r.ok());
  CHECK(f.fake.Calls(kDryRuns) == 2);
  CHECK(Creates(f) == 9);
  CHECK(f.fake.Replicas().size() == 39);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("dry runs: an old plan's apply proves each shape again, once, however many purchases share it") {
  EngineFixture f;
  auto desired = ThreeAlike(f);
  Plan plan = f.MakePlan(desired);
  REQUIRE(f.fake.Calls(kDryRuns) == 2);
  f.clock.Advance(std::chrono::minutes(16));  // past preflight_max_age (15 min)
  ExecutorOptions options;
  ApplyResult r = f.Apply(plan, options);
  CHECK(r.ok());
  CHECK(f.fake.Calls(kDryRuns) == 4);
  CHECK(Creates(f) == 9);

  EngineFixture g;
  auto more = ThreeAlike(g);
  Plan fresh = g.MakePlan(more);
  options.preflight_max_age = std::chrono::seconds(0);  // never trust the plan's DryRuns
  CHECK(g.Apply(fresh, options).ok());
  CHECK(g.fake.Calls(kDryRuns) == 4);
}

TEST_CASE("dry runs: when the cloud changed since an old plan, the apply's DryRun stops the purchase before it is sent") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("a", 6));
  Plan plan = f.MakePlan(desired);
  f.clock.Advance(std::chrono::minutes(16));
  f.fake.sold_out.insert("ap-beijing-4");
  ApplyResult r = f.Apply(plan);
  CHECK_FALSE(r.ok());
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(r.changes[0].message.find("DryRun refused") != std::string::npos);
  CHECK(Creates(f) == 0);
  CHECK(f.fake.Replicas().empty());
}

TEST_CASE("dry runs: a young plan's create the cloud now refuses is refused all the same, and nothing is bought") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("a", 6));
  Plan plan = f.MakePlan(desired);
  f.fake.sold_out.insert("ap-beijing-4");
  ApplyResult r = f.Apply(plan);
  CHECK_FALSE(r.ok());
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].outcome == Outcome::kFailed);
  CHECK(f.fake.Calls(kDryRuns) == 1);  // the plan's only
  CHECK(Creates(f) == 1);              // sent once, refused: nothing was bought
  CHECK(f.fake.Replicas().empty());
  REQUIRE(f.store->InFlight().ok());
  CHECK(f.store->InFlight()->empty());
}

}  // namespace reconciler
