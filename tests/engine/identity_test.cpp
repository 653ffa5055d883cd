// Identity on a site whose replica create carries one tag: the operation tag proves the
// purchase, and the other tags go on afterwards as a recorded step (reconciler/identity.h).

#include "engine/identity.h"
#include "ui/plan_render.h"

#include <doctest/doctest.h>

#include "engine/executor.h"
#include <nlohmann/json.hpp>

#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

std::vector<cloud::Instance> Of(const std::vector<cloud::Instance>& all, const std::string& resource) {
  std::vector<cloud::Instance> out;
  for (const cloud::Instance& i : all) {
    auto t = i.tags.find(cloud::kResourceTag);
    if (t != i.tags.end() && t->second == resource) out.push_back(i);
  }
  return out;
}

// A purchase as the product makes it on the international site, left where a crash between
// the purchase and the tagging leaves it: in the cloud with its operation tag only.
std::vector<std::string> BuyUntagged(EngineFixture& f, const specs::DesiredState& desired, const std::string& op_id,
                                     uint64_t count) {
  cloud::ReplicaRequest q = ReplicaRequestFor(*desired.Find({specs::Kind::kReadOnlyInstance, "reports"}), "unit");
  q.count = count;
  q.tags[cloud::kOperationTag] = OperationTagValue("unit", "ReadOnlyInstance/reports", op_id);
  Result<cloud::Purchase> bought = f.fake.CreateReplicas(q, cloud::DryRun::kNo);
  REQUIRE(bought.ok());
  CHECK_FALSE(bought->tags_complete);
  return bought->instance_ids;
}

TEST_CASE("identity: the operation tag names stack, resource and operation, and parses back") {
  std::string value = OperationTagValue("orders", "ReadOnlyInstance/reports", "op-3kq9x1c0a7zz");
  CHECK(value == "orders/ReadOnlyInstance/reports/op-3kq9x1c0a7zz");
  CHECK(value.size() <= 255);  // the tag service's limit on a value
  OperationTag parsed = ParseOperationTag(value);
  CHECK(parsed.stack == "orders");
  CHECK(parsed.resource_key == "ReadOnlyInstance/reports");
  CHECK(parsed.operation_id == "op-3kq9x1c0a7zz");
  // A plain id (a value written before this scheme) names no stack.
  OperationTag plain = ParseOperationTag("op-3kq9x1c0a7zz");
  CHECK(plain.stack.empty());
  CHECK(plain.operation_id == "op-3kq9x1c0a7zz");
  // Malformed values are not claims.
  CHECK(ParseOperationTag("a//b/c").stack.empty());
  CHECK(ParseOperationTag("a/b/c/d/e").stack.empty());
}

TEST_CASE("identity: an instance with only its purchase tag is normalized and belongs to its stack") {
  cloud::Instance i;
  i.tags[cloud::kOperationTag] = "orders/ReadOnlyInstance/reports/op-1";
  Normalize(&i);
  CHECK(i.tagging_incomplete);
  CHECK(i.tags.at(cloud::kStackTag) == "orders");
  CHECK(i.tags.at(cloud::kResourceTag) == "ReadOnlyInstance/reports");
  CHECK(i.tags.at(cloud::kOperationTag) == "op-1");
  CHECK(BelongsTo(i, "orders"));
  CHECK_FALSE(BelongsTo(i, "other"));

  cloud::Instance full;
  full.tags = {{cloud::kStackTag, "orders"},
               {cloud::kResourceTag, "ReadOnlyInstance/reports"},
               {cloud::kOperationTag, "orders/ReadOnlyInstance/reports/op-1"}};
  Normalize(&full);
  CHECK_FALSE(full.tagging_incomplete);
  CHECK(full.tags.at(cloud::kOperationTag) == "op-1");
}

TEST_CASE("identity: on a one-tag site apply tags every bought instance in full before it is done") {
  EngineFixture f;
  REQUIRE(f.fake.one_create_tag);
  auto desired = f.Load(ReplicaYaml("reports", 8, "  tags: {team: data}\n"));
  ApplyResult r = f.Apply(f.MakePlan(desired));
  CHECK(r.ok());
  std::vector<cloud::Instance> mine = Of(f.fake.Replicas(), "ReadOnlyInstance/reports");
  CHECK(mine.size() == 8);
  for (const cloud::Instance& i : mine) {
    CHECK(i.tags.at(cloud::kStackTag) == "unit");
    CHECK(i.tags.at("team") == "data");
    CHECK(ParseOperationTag(i.tags.at(cloud::kOperationTag)).stack == "unit");
  }
  // 8 instances in two purchases (6 + 2) of one resource carry the same tags: one
  // TagResources call of ten resources at most tags both purchases.
  CHECK(f.fake.Calls("TagResources") == 1);
  CHECK(f.store->InFlight()->empty());
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("identity: a site whose create carries every tag needs no tagging step") {
  EngineFixture f;
  f.fake.one_create_tag = false;
  auto desired = f.Load(ReplicaYaml("reports", 3, "  tags: {team: data}\n"));
  CHECK(f.Apply(f.MakePlan(desired)).ok());
  CHECK(Of(f.fake.Replicas(), "ReadOnlyInstance/reports").size() == 3);
  CHECK(f.fake.Calls("TagResources") == 0);
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("identity: a crash between purchase and tagging resumes the tagging and buys nothing") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 2, "  tags: {team: data}\n"));
  std::vector<std::string> ids = BuyUntagged(f, desired, "op-crashtag0001", 2);
  // The dead process had recorded the purchase as delivered, tagging still to do.
  Operation op = RecordedPurchase(desired, "reports", "op-crashtag0001", 2);
  op.phase = Phase::kDelivered;
  op.instance_ids = ids;
  op.tags_pending = true;
  REQUIRE(f.store->PutOperation(op, "delivered").ok());

  Plan plan = f.MakePlan(desired);
  for (const Change& c : plan.changes) CHECK(c.action != Action::kCreate);
  CHECK(f.Apply(plan).ok());
  std::vector<cloud::Instance> mine = Of(f.fake.Replicas(), "ReadOnlyInstance/reports");
  CHECK(mine.size() == 2);
  for (const cloud::Instance& i : mine) CHECK(i.tags.count(cloud::kStackTag) == 1);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);  // the one made above, nothing since
  CHECK(f.store->InFlight()->empty());
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("identity: with the state lost the plan finds purchase-tagged instances and finishes their tags") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 2, "  tags: {team: data}\n"));
  BuyUntagged(f, desired, "op-losttag00001", 2);
  f.clock.Advance(std::chrono::seconds(60));  // running by now
  Plan plan = f.MakePlan(desired);
  int creates = 0, adopts = 0, tag_updates = 0;
  for (const Change& c : plan.changes) {
    creates += c.action == Action::kCreate;
    adopts += c.action == Action::kAdopt;
    tag_updates += c.action == Action::kUpdate && c.update.tags_set.count(cloud::kStackTag) == 1;
  }
  CHECK(creates == 0);
  CHECK(adopts == 1);
  CHECK(tag_updates == 2);
  CHECK(f.Apply(plan).ok());
  for (const cloud::Instance& i : Of(f.fake.Replicas(), "ReadOnlyInstance/reports")) {
    CHECK(i.tags.at(cloud::kStackTag) == "unit");
    CHECK(i.tags.at("team") == "data");
  }
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == 1);  // the one made above, nothing since
  CHECK_FALSE(f.MakePlan(desired).HasChanges());
}

TEST_CASE("identity: another stack's purchase-tagged instances are not ours") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 1));
  cloud::ReplicaRequest q = ReplicaRequestFor(*desired.Find({specs::Kind::kReadOnlyInstance, "reports"}), "other");
  q.count = 1;
  q.tags = {{cloud::kOperationTag, OperationTagValue("other", "ReadOnlyInstance/reports", "op-other0000001")}};
  REQUIRE(f.fake.CreateReplicas(q, cloud::DryRun::kNo).ok());
  Plan plan = f.MakePlan(desired);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].action == Action::kCreate);
  CHECK(plan.changes[0].count == 1);
}

}  // namespace
}  // namespace reconciler::testing

namespace reconciler::testing {
namespace {

TEST_CASE("identity: where the site has no deletion-protection action the plan warns instead of updating") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 1));
  REQUIRE(f.Apply(f.MakePlan(desired)).ok());
  auto protected_spec = f.Load(ReplicaYaml("reports", 1, "  deletionProtection: true\n"));
  Plan china = f.MakePlan(protected_spec);
  REQUIRE(china.changes.size() == 1);
  CHECK(china.changes[0].update.deletion_protection == true);

  f.fake.has_deletion_protection_action = false;
  Plan intl = f.MakePlan(protected_spec);
  CHECK_FALSE(intl.HasChanges());
  REQUIRE(intl.warnings.size() == 1);
  CHECK(intl.warnings[0].find("no ModifyDBInstanceDeletionProtection") != std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing

namespace reconciler::testing {
namespace {

TEST_CASE("observe: a listing that omits a recorded instance stops the plan; a lookup by id decides") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 2));
  REQUIRE(f.Apply(f.MakePlan(desired)).ok());
  std::vector<cloud::Instance> mine = Of(f.fake.Replicas(), "ReadOnlyInstance/reports");
  REQUIRE(mine.size() == 2);
  const int creates = f.fake.Calls("CreateReadOnlyDBInstance");

  // The listing lags: the instance exists, so nothing may be bought in its place.
  f.fake.unlisted.insert(mine[0].id);
  Result<Plan> stale = reconciler::MakePlan(&f.cloud, f.store.get(), &f.clock, desired, f.dir.str(), {});
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.status().code() == Code::kRetryable);
  CHECK(stale.status().message().find("lags behind") != std::string::npos);
  CHECK(stale.status().message().find(mine[0].id) != std::string::npos);
  CHECK(f.fake.Calls("DescribeDBInstanceAttribute") >= 1);

  // Gone for real: the lookup by id does not find it, and the plan replaces it.
  f.fake.unlisted.clear();
  f.fake.SetStatus(mine[0].id, "recycled");
  Plan plan = f.MakePlan(desired);
  REQUIRE(plan.changes.size() >= 1);
  CHECK(plan.changes[0].action == Action::kCreate);
  CHECK(plan.changes[0].count == 1);
  CHECK(f.fake.Calls("CreateReadOnlyDBInstance") == creates);
}

TEST_CASE("observe: a recorded instance that lost our tags stops the plan instead of buying again") {
  EngineFixture f;
  auto desired = f.Load(ReplicaYaml("reports", 1));
  REQUIRE(f.Apply(f.MakePlan(desired)).ok());
  std::vector<cloud::Instance> mine = Of(f.fake.Replicas(), "ReadOnlyInstance/reports");
  REQUIRE(mine.size() == 1);
  REQUIRE(f.fake.ModifyTags("ap-beijing", mine[0].id, {},
                            {cloud::kStackTag, cloud::kResourceTag, cloud::kOperationTag}).ok());
  Result<Plan> plan = reconciler::MakePlan(&f.cloud, f.store.get(), &f.clock, desired, f.dir.str(), {});
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().message().find("carries none of stack unit's tags") != std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing
