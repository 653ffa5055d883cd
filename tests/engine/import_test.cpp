// ImportInstance against the emulator: what it records and tags when the instance matches its
// spec, and the exact refusal when it does not. The CLI's side is in cli_apply_test.cpp.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "engine/import.h"
#include "engine/requests.h"
#include "tests/support/emulator_rig.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

// A ReadOnlyInstance "reports" that the seed request's replica matches, with `master` and
// `region` (and the zone and network of that region's master) as given.
std::string ReportsYaml(const std::string& master = "postgres-abcdef", const std::string& region = "ap-beijing") {
  const bool beijing = region == "ap-beijing";
  return "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: reports}\nspec:\n"
         "  region: " + region + "\n  zone: " + (beijing ? "ap-beijing-4" : "ap-guangzhou-3") +
         "\n  masterInstanceId: " + master + "\n  specCode: pg.it.small2\n  storageGB: 100\n  count: 1\n"
         "  chargeType: POSTPAID_BY_HOUR\n  vpcId: " + (beijing ? "vpc-8btfafeo" : "vpc-gz7demo1") +
         "\n  subnetId: " + (beijing ? "subnet-1i9huswn" : "subnet-gz3demo1") + "\n";
}

std::string GroupYaml(const std::string& master) {
  return "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: reports-group}\n"
         "spec: {masterInstanceId: " + master + ", groupName: reports, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n";
}

// A running replica of postgres-abcdef bought outside the reconciler, as the seed page buys it.
std::string BuyReplica(EmulatorRig& rig) {
  auto bought = rig.emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest());
  REQUIRE(bought.ok());
  rig.emu.Advance(3600);
  return (*bought)["DBInstanceIdSet"][0];
}

std::string BuyGroup(EmulatorRig& rig) {
  auto g = rig.emu.Call("CreateReadOnlyGroup", {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "reports"},
                                                {"VpcId", "vpc-8btfafeo"}, {"SubnetId", "subnet-1i9huswn"}});
  REQUIRE(g.ok());
  rig.emu.Advance(3600);
  return (*g)["ReadOnlyGroupId"];
}

json Tags(EmulatorRig& rig, const std::string& id) {
  json tags = json::object();
  json attr = *rig.emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  for (const json& t : attr["DBInstance"]["TagList"]) tags[t["TagKey"].get<std::string>()] = t["TagValue"];
  return tags;
}

// Nothing recorded in the state and no tag call made: the refusal changed nothing.
void CheckNothingChanged(EmulatorRig& rig) {
  CHECK(rig.store->Resources()->empty());
  CHECK(rig.store->Instances()->empty());
  CHECK(rig.emu.Calls("TagResources")["total"] == 0);
  CHECK(rig.emu.Calls("ModifyResourceTags")["total"] == 0);
}

const specs::ResourceKey kReports{specs::Kind::kReadOnlyInstance, "reports"};
const specs::ResourceKey kReportsGroup{specs::Kind::kReadOnlyGroup, "reports-group"};

TEST_CASE("import: a replica that matches its spec is tagged for the stack and recorded with the spec") {
  EmulatorRig rig;
  const std::string id = BuyReplica(rig);
  specs::DesiredState desired = rig.LoadText(ReportsYaml());
  Result<ImportSummary> imported = ImportInstance(desired, kReports, id, rig.store.get(), &rig.cloud);
  REQUIRE_MESSAGE(imported.ok(), imported.status().ToString());
  CHECK(imported->id == id);
  CHECK(imported->key.ToString() == "ReadOnlyInstance/reports");
  CHECK(imported->what == Imported::kInstance);
  std::vector<InstanceRecord> instances = *rig.store->Instances();
  REQUIRE(instances.size() == 1);
  CHECK(instances[0].id == id);
  CHECK(instances[0].resource_key == "ReadOnlyInstance/reports");
  CHECK(instances[0].region == "ap-beijing");
  std::vector<ResourceRecord> resources = *rig.store->Resources();
  REQUIRE(resources.size() == 1);
  CHECK(resources[0].key == "ReadOnlyInstance/reports");
  CHECK(resources[0].deletion_policy == "Orphan");
  CHECK(resources[0].spec_json == SpecJson(*desired.Find(kReports)));
  json tags = Tags(rig, id);
  CHECK(tags[cloud::kStackTag] == "it");
  CHECK(tags[cloud::kResourceTag] == "ReadOnlyInstance/reports");
}

TEST_CASE("import: an instance another resource already holds is refused, and keeps its tags") {
  EmulatorRig rig;
  const std::string id = BuyReplica(rig);
  std::string twin = ReportsYaml();
  twin.replace(twin.find("name: reports}"), 14, "name: reports2}");
  specs::DesiredState desired = rig.LoadText(ReportsYaml() + twin);
  REQUIRE(ImportInstance(desired, kReports, id, rig.store.get(), &rig.cloud).ok());
  Result<ImportSummary> again =
      ImportInstance(desired, {specs::Kind::kReadOnlyInstance, "reports2"}, id, rig.store.get(), &rig.cloud);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kConflict);
  CHECK(again.status().message() ==
        id + " already belongs to stack it as ReadOnlyInstance/reports; refusing to take it over");
  CHECK(Tags(rig, id)[cloud::kResourceTag] == "ReadOnlyInstance/reports");
  CHECK(rig.store->Instances()->size() == 1);
}

TEST_CASE("import: a replica of another master is refused, naming the field, and nothing changes") {
  EmulatorRig rig;
  const std::string id = BuyReplica(rig);
  specs::DesiredState desired = rig.LoadText(ReportsYaml("postgres-prepaid1"));
  Result<ImportSummary> imported = ImportInstance(desired, kReports, id, rig.store.get(), &rig.cloud);
  REQUIRE_FALSE(imported.ok());
  CHECK(imported.status().code() == Code::kPermanent);
  CHECK(imported.status().message() ==
        id + " does not match the spec of ReadOnlyInstance/reports; these cannot change in place, so the next plan "
             "would replace it and orphan or destroy it. Nothing was changed:\n"
             "  masterInstanceId: spec postgres-prepaid1, instance postgres-abcdef\n"
             "fix the spec (or import the instance that matches it)");
  CheckNothingChanged(rig);
  CHECK_FALSE(Tags(rig, id).contains(cloud::kStackTag));
}

TEST_CASE("import: a replica of another region is not found in the spec's region, and nothing changes") {
  EmulatorRig rig;
  const std::string id = BuyReplica(rig);
  specs::DesiredState desired = rig.LoadText(ReportsYaml("postgres-gz000001", "ap-guangzhou"));
  Result<ImportSummary> imported = ImportInstance(desired, kReports, id, rig.store.get(), &rig.cloud);
  REQUIRE_FALSE(imported.ok());
  CHECK(imported.status().code() == Code::kNotFound);
  CHECK(imported.status().message() == "no instance " + id +
                                           " in ap-guangzhou (the spec's region); an instance of another region "
                                           "cannot be imported into this spec. Nothing was changed");
  CheckNothingChanged(rig);
}

TEST_CASE("import: a group is recorded under its spec; one of another master is refused") {
  EmulatorRig rig;
  const std::string gid = BuyGroup(rig);
  SUBCASE("the spec's master") {
    specs::DesiredState desired = rig.LoadText(GroupYaml("postgres-abcdef"));
    Result<ImportSummary> imported = ImportInstance(desired, kReportsGroup, gid, rig.store.get(), &rig.cloud);
    REQUIRE_MESSAGE(imported.ok(), imported.status().ToString());
    CHECK(imported->what == Imported::kGroup);
    std::vector<ResourceRecord> resources = *rig.store->Resources();
    REQUIRE(resources.size() == 1);
    CHECK(resources[0].key == "ReadOnlyGroup/reports-group");
    CHECK(resources[0].group_id == gid);
    CHECK(rig.store->Instances()->empty());
  }
  SUBCASE("another master") {
    specs::DesiredState desired = rig.LoadText(GroupYaml("postgres-prepaid1"));
    Result<ImportSummary> imported = ImportInstance(desired, kReportsGroup, gid, rig.store.get(), &rig.cloud);
    REQUIRE_FALSE(imported.ok());
    CHECK(imported.status().code() == Code::kNotFound);
    CHECK(imported.status().message() ==
          "no group " + gid +
              " on postgres-prepaid1 in ap-beijing (the spec's masterInstanceId and region); a group of another "
              "master or region cannot be imported into this spec. Nothing was changed");
    CheckNothingChanged(rig);
  }
}

TEST_CASE("import: a resource the specs do not hold is invalid input, and no call is made") {
  EmulatorRig rig;
  specs::DesiredState desired = rig.LoadText(ReportsYaml());
  Result<ImportSummary> imported = ImportInstance(desired, {specs::Kind::kReadOnlyInstance, "nope"}, "pgro-00000001",
                                                  rig.store.get(), &rig.cloud);
  REQUIRE_FALSE(imported.ok());
  CHECK(imported.status().code() == Code::kInvalidInput);
  CHECK(imported.status().message() ==
        "ReadOnlyInstance/nope is not in the specs of stack it; write its spec first, then import");
  CHECK(rig.emu.Calls("DescribeDBInstanceAttribute")["total"] == 0);
  CheckNothingChanged(rig);
}

}  // namespace
}  // namespace reconciler::testing
