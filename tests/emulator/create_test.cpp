// CreateReadOnlyDBInstance and CreateServerlessDBInstance: the seed examples, DryRun, and
// every validation error a local world can cause.

#include <doctest/doctest.h>

#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

// The seed request with `changes` merged in (null removes a field).
json Seed(const json& changes = json::object()) {
  json req = SeedCreateReadOnlyRequest();
  req.merge_patch(changes);
  return req;
}

json Serverless(const json& changes = json::object()) {
  json req = {{"Zone", "ap-beijing-1"}, {"DBInstanceName", "sandbox"}, {"DBVersion", "10.4"}, {"DBCharset", "UTF8"}};
  req.merge_patch(changes);
  return req;
}

TEST_CASE("emulator: the seed's first example works verbatim and buys one replica") {
  EmulatorFixture emu;
  auto r = emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest());
  REQUIRE(r.ok());
  CHECK((*r)["DealNames"].size() == 1);
  CHECK((*r)["DealNames"][0].get<std::string>().size() == 23);
  CHECK_FALSE((*r)["BillId"].get<std::string>().empty());
  // Postpaid: the instance ID comes back at once.
  REQUIRE((*r)["DBInstanceIdSet"].size() == 1);
  auto replicas = emu.ReadOnlyInstances();
  REQUIRE(replicas.size() == 1);
  CHECK(replicas[0]["DBInstanceId"] == (*r)["DBInstanceIdSet"][0]);
  CHECK(replicas[0]["MasterDBInstanceId"] == "postgres-abcdef");
  CHECK(replicas[0]["DBInstanceStatus"] == "applying");
  CHECK(replicas[0]["PayType"] == "postpaid");
}

TEST_CASE("emulator: the seed's second example (DryRun) validates and buys nothing") {
  EmulatorFixture emu;
  int64_t balance = emu.State()["balanceCents"];
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed({{"DryRun", true}}));
  REQUIRE(r.ok());
  CHECK((*r)["DealNames"] == json::array());
  CHECK((*r)["BillId"] == "");
  CHECK((*r)["DBInstanceIdSet"] == json::array());
  CHECK(emu.ReadOnlyInstances().empty());
  CHECK(emu.State()["orders"].empty());
  CHECK(emu.State()["balanceCents"] == balance);
  CHECK(emu.Calls("CreateReadOnlyDBInstance")["dryRun"] == 1);
  // DryRun still runs every validation.
  auto bad = emu.Call("CreateReadOnlyDBInstance", Seed({{"DryRun", true}, {"Storage", 105}}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().api_code() == "InvalidParameterValue.InvalidParameterValueError");
}

TEST_CASE("emulator: a prepaid purchase charges the balance and lists IDs only after delivery") {
  EmulatorFixture emu;
  int64_t before = emu.State()["balanceCents"];
  auto r = emu.Call("CreateReadOnlyDBInstance",
                    Seed({{"MasterDBInstanceId", "postgres-prepaid1"}, {"InstanceChargeType", "PREPAID"},
                          {"Period", 2}, {"InstanceCount", 2}, {"ProjectId", 0}}));
  REQUIRE(r.ok());
  CHECK((*r)["DBInstanceIdSet"] == json::array());
  REQUIRE((*r)["DealNames"].size() == 2);  // one order per instance
  // pg.it.small2 is 180.00 + 100 GB * 0.80 = 260.00 a month; two for two months.
  CHECK(before - emu.State()["balanceCents"].get<int64_t>() == 26000 * 2 * 2);

  auto orders = emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}});
  REQUIRE(orders.ok());
  CHECK((*orders)["TotalCount"] == 2);
  CHECK((*orders)["Deals"][0]["DBInstanceIdSet"] == json::array());
  CHECK((*orders)["Deals"][0]["PayMode"] == 1);
  emu.Advance(30);  // the world's order delivery delay
  orders = emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}});
  REQUIRE(orders.ok());
  CHECK((*orders)["Deals"][0]["DBInstanceIdSet"].size() == 1);
  CHECK((*orders)["Deals"][1]["DBInstanceIdSet"].size() == 1);
}

TEST_CASE("emulator: instances go applying, initing, running under the manual clock") {
  EmulatorFixture emu;
  auto r = emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest());
  REQUIRE(r.ok());
  const std::string id = (*r)["DBInstanceIdSet"][0];
  auto status = [&] {
    auto a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
    return a.ok() ? (*a)["DBInstance"]["DBInstanceStatus"].get<std::string>() : a.status().api_code();
  };
  CHECK(status() == "applying");
  emu.Advance(19);
  CHECK(status() == "applying");
  emu.Advance(1);
  CHECK(status() == "initing");
  emu.Advance(60);
  CHECK(status() == "running");
}

TEST_CASE("emulator: one test per CreateReadOnlyDBInstance validation error") {
  EmulatorFixture emu([](emu::World& w) { w.catalogue.replica_quota_per_master = 3; });
  struct Case {
    const char* why;
    json changes;
    const char* code;
  };
  const Case cases[] = {
      {"zone not in the region", {{"Zone", "ap-guangzhou-3"}}, "InvalidParameterValue.IllegalZone"},
      {"zone unavailable", {{"Zone", "ap-beijing-6"}}, "InvalidParameterValue.IllegalZone"},
      {"unknown master", {{"MasterDBInstanceId", "postgres-nothere"}}, "ResourceNotFound.InstanceNotFoundError"},
      {"master not running", {{"MasterDBInstanceId", "postgres-isolat01"}}, "OperationDenied.InstanceStatusLimitOpError"},
      {"spec not sold in the zone", {{"SpecCode", "cdb.pg.sh1.128g"}}, "InvalidParameterValue.BadSpec"},
      {"unknown spec", {{"SpecCode", "pg.nope"}}, "InvalidParameterValue.BadSpec"},
      {"storage not a multiple of 10", {{"Storage", 105}}, "InvalidParameterValue.InvalidParameterValueError"},
      {"storage above the class range", {{"Storage", 3010}}, "InvalidParameterValue.InvalidParameterValueError"},
      {"period outside the set", {{"InstanceChargeType", "PREPAID"}, {"MasterDBInstanceId", "postgres-prepaid1"},
                                  {"ProjectId", 0}, {"Period", 13}},
       "InvalidParameterValue.InvalidParameterValueError"},
      {"postpaid period not 1", {{"Period", 2}}, "InvalidParameterValue.InvalidParameterValueError"},
      {"InstanceCount 0", {{"InstanceCount", 0}}, "InvalidParameterValue.InvalidInstanceNum"},
      {"InstanceCount 7", {{"InstanceCount", 7}}, "InvalidParameterValue.InvalidInstanceNum"},
      {"prepaid replica on a postpaid master", {{"InstanceChargeType", "PREPAID"}}, "OperationDenied.PayModeError"},
      {"unknown charge type", {{"InstanceChargeType", "SPOT"}}, "InvalidParameterValue.IllegalInstanceChargeType"},
      {"unknown VPC", {{"VpcId", "vpc-missing1"}}, "InvalidParameter.VpcNotFoundError"},
      {"subnet not in the VPC", {{"SubnetId", "subnet-gz3demo1"}}, "FailedOperation.GetSubnetError"},
      {"no network at all", {{"VpcId", nullptr}, {"SubnetId", nullptr}}, "FailedOperation.CreateBasicNetworkDeniedError"},
      {"unknown read-only group", {{"ReadOnlyGroupId", "pgrogrp-missing1"}}, "FailedOperation.ROGroupNotFoundError"},
      {"too many replicas", {{"InstanceCount", 4}}, "OperationDenied.RoInstanceCountExeedError"},
      {"zone sold out", {{"Zone", "ap-beijing-5"}}, "ResourceInsufficient.ResourceNotEnough"},
      {"bad name characters", {{"Name", "reports db!"}}, "InvalidParameterValue.ParameterCharacterError"},
      {"name of 60 characters", {{"Name", std::string(60, 'a')}}, "InvalidParameterValue.ParameterLengthLimitError"},
      {"unknown project", {{"ProjectId", 4242}}, "InvalidParameterValue.IllegalProjectId"},
      {"unknown security group", {{"SecurityGroupIds", {"sg-nothere1"}}}, "InvalidParameterValue.InvalidParameterValueError"},
      {"two vouchers", {{"VoucherIds", {"v1", "v2"}}}, "InvalidParameterValue.InvalidParameterValueError"},
      {"unknown dedicated cluster", {{"DedicatedClusterId", "cluster-nope"}}, "InvalidParameterValue.InvalidParameterValueError"},
      {"reserved tag prefix", {{"TagList", {{"TagKey", "qcloud:x"}, {"TagValue", "1"}}}}, "InvalidParameterValue.TagKeyCharacterIllegal"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.why);
    auto r = emu.Call("CreateReadOnlyDBInstance", Seed(c.changes));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().api_code() == c.code);
    CHECK_FALSE(r.status().message().empty());
  }
  CHECK(emu.ReadOnlyInstances().empty());
}

TEST_CASE("emulator: the name may hold Chinese characters and must stay under 60") {
  EmulatorFixture emu;
  CHECK(emu.Call("CreateReadOnlyDBInstance", Seed({{"Name", "\xe6\x8a\xa5\xe8\xa1\xa8-ro_1"}, {"DryRun", true}})).ok());
  CHECK(emu.Call("CreateReadOnlyDBInstance", Seed({{"Name", std::string(59, 'a')}, {"DryRun", true}})).ok());
}

TEST_CASE("emulator: the balance limits prepaid purchases (InsufficientBalanceError)") {
  EmulatorFixture emu([](emu::World& w) { w.initial.balance_cents = 10000; });
  auto r = emu.Call("CreateReadOnlyDBInstance",
                    Seed({{"MasterDBInstanceId", "postgres-prepaid1"}, {"InstanceChargeType", "PREPAID"}, {"ProjectId", 0}}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "OperationDenied.InsufficientBalanceError");
  CHECK(emu.State()["balanceCents"] == 10000);
}

TEST_CASE("emulator: replicas join an existing read-only group of their master") {
  EmulatorFixture emu;
  auto g = emu.Call("CreateReadOnlyGroup", {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "reports"},
                                            {"VpcId", "vpc-8btfafeo"}, {"SubnetId", "subnet-1i9huswn"}});
  REQUIRE(g.ok());
  CHECK((*g)["FlowId"] == (*g)["TaskId"]);
  auto r = emu.Call("CreateReadOnlyDBInstance", Seed({{"ReadOnlyGroupId", (*g)["ReadOnlyGroupId"]}}));
  REQUIRE(r.ok());
  auto groups = emu.Call("DescribeReadOnlyGroups",
                         {{"Filters", {{{"Name", "db-master-instance-id"}, {"Values", {"postgres-abcdef"}}}}}});
  REQUIRE(groups.ok());
  REQUIRE((*groups)["ReadOnlyGroupList"].size() == 1);
  CHECK((*groups)["ReadOnlyGroupList"][0]["Status"] == "creating");
  CHECK((*groups)["ReadOnlyGroupList"][0]["ReadOnlyDBInstanceList"][0]["DBInstanceId"] == (*r)["DBInstanceIdSet"][0]);
  emu.Advance(5);
  groups = emu.Call("DescribeReadOnlyGroups",
                    {{"Filters", {{{"Name", "db-master-instance-id"}, {"Values", {"postgres-abcdef"}}}}}});
  CHECK((*groups)["ReadOnlyGroupList"][0]["Status"] == "ok");
}

TEST_CASE("emulator: serverless create, DryRun and its three special errors") {
  EmulatorFixture emu;
  auto dry = emu.Call("CreateServerlessDBInstance", Serverless({{"DryRun", true}}));
  REQUIRE(dry.ok());
  CHECK((*dry)["DBInstanceId"] == "");
  CHECK(emu.Calls("CreateServerlessDBInstance")["dryRun"] == 1);

  auto r = emu.Call("CreateServerlessDBInstance",
                    Serverless({{"TagList", {{{"TagKey", "team"}, {"TagValue", "data"}}}}}));
  REQUIRE(r.ok());
  CHECK((*r)["DBInstanceId"].get<std::string>().rfind("postgres-", 0) == 0);

  auto exists = emu.Call("CreateServerlessDBInstance", Serverless());
  REQUIRE_FALSE(exists.ok());
  CHECK(exists.status().api_code() == "InvalidParameter.InstanceNameExist");
  auto zone = emu.Call("CreateServerlessDBInstance", Serverless({{"Zone", "ap-beijing-4"}, {"DBInstanceName", "b"}}));
  REQUIRE_FALSE(zone.ok());
  CHECK(zone.status().api_code() == "OperationDenied.NotSupportZoneError");
  auto version = emu.Call("CreateServerlessDBInstance", Serverless({{"DBVersion", "12.4"}, {"DBInstanceName", "c"}}));
  REQUIRE_FALSE(version.ok());
  CHECK(version.status().api_code() == "OperationDenied.VersionNotSupportError");
  auto charset = emu.Call("CreateServerlessDBInstance", Serverless({{"DBCharset", "LATIN1"}, {"DBInstanceName", "d"}}));
  REQUIRE_FALSE(charset.ok());
  CHECK(charset.status().api_code() == "InvalidParameterValue.InvalidCharset");
  auto illegal = emu.Call("CreateServerlessDBInstance", Serverless({{"Zone", "ap-shanghai-2"}, {"DBInstanceName", "e"}}));
  REQUIRE_FALSE(illegal.ok());
  CHECK(illegal.status().api_code() == "InvalidParameterValue.IllegalZone");

  auto listed = emu.Call("DescribeServerlessDBInstances", {{"Filter", {{{"Name", "db-tag-key"}, {"Values", {"team"}}}}}});
  REQUIRE(listed.ok());
  CHECK((*listed)["TotalCount"] == 1);
  CHECK((*listed)["DBInstanceSet"][0]["DBInstanceStatus"] == "initing");
  CHECK((*listed)["DBInstanceSet"][0]["DBAccountSet"][0].contains("DBPassword"));
  emu.Advance(30);
  listed = emu.Call("DescribeServerlessDBInstances");
  CHECK((*listed)["DBInstanceSet"][0]["DBInstanceStatus"] == "running");
  // Serverless instances are not in the DescribeDBInstances listing.
  auto all = emu.Call("DescribeDBInstances", {{"Filters", {{{"Name", "db-tag-key"}, {"Values", {"team"}}}}}});
  CHECK((*all)["TotalCount"] == 0);

  CHECK(emu.Call("DeleteServerlessDBInstance", {{"DBInstanceName", "sandbox"}}).ok());
  listed = emu.Call("DescribeServerlessDBInstances");
  CHECK((*listed)["TotalCount"] == 0);
  auto gone = emu.Call("DeleteServerlessDBInstance", {{"DBInstanceName", "sandbox"}});
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.status().api_code() == "ResourceNotFound.InstanceNotFoundError");
}

TEST_CASE("emulator: read-only group validation") {
  EmulatorFixture emu([](emu::World& w) { w.catalogue.group_quota_per_master = 1; });
  json base = {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "g1"}, {"VpcId", "vpc-8btfafeo"},
               {"SubnetId", "subnet-1i9huswn"}};
  json unequal = base;
  unequal["ReplayLagEliminate"] = 1;
  unequal["ReplayLatencyEliminate"] = 0;
  auto r = emu.Call("CreateReadOnlyGroup", unequal);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "InvalidParameterValue.InvalidParameterValueError");
  REQUIRE(emu.Call("CreateReadOnlyGroup", base).ok());
  base["Name"] = "g2";
  auto quota = emu.Call("CreateReadOnlyGroup", base);
  REQUIRE_FALSE(quota.ok());
  CHECK(quota.status().api_code() == "FailedOperation.ROGroupNumExceedError");
  auto no_dry_run = emu.Call("CreateReadOnlyGroup", {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "g3"}, {"DryRun", true}});
  REQUIRE_FALSE(no_dry_run.ok());
  CHECK(no_dry_run.status().api_code() == "UnknownParameter");
}

TEST_CASE("emulator: InquiryPriceCreateDBInstances prices prepaid periods and postpaid hours") {
  EmulatorFixture emu([](emu::World& w) { w.catalogue.discount_percent = 20; });
  json req = {{"Zone", "ap-beijing-4"}, {"SpecCode", "pg.it.small2"}, {"Storage", 100}, {"InstanceCount", 2},
              {"Period", 3}, {"InstanceType", "readonly"}};
  auto prepaid = emu.Call("InquiryPriceCreateDBInstances", req);
  REQUIRE(prepaid.ok());
  CHECK((*prepaid)["OriginalPrice"] == 26000 * 2 * 3);
  CHECK((*prepaid)["Price"] == 26000 * 2 * 3 * 80 / 100);
  CHECK((*prepaid)["Currency"] == "CNY");
  req["InstanceChargeType"] = "POSTPAID";
  req["Period"] = 1;
  auto hourly = emu.Call("InquiryPriceCreateDBInstances", req);
  REQUIRE(hourly.ok());
  CHECK((*hourly)["OriginalPrice"] == (26000 * 2 + 719) / 720);
  req["InstanceChargeType"] = "POSTPAID_BY_HOUR";  // the create actions' spelling is not accepted here
  auto wrong = emu.Call("InquiryPriceCreateDBInstances", req);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().api_code() == "InvalidParameterValue.IllegalInstanceChargeType");
}

TEST_CASE("emulator: zones, classes and regions describe the world") {
  EmulatorFixture emu;
  auto zones = emu.Call("DescribeZones");
  REQUIRE(zones.ok());
  CHECK((*zones)["TotalCount"] == 5);
  CHECK((*zones)["ZoneSet"][3]["ZoneState"] == "SELLOUT");
  auto classes = emu.Call("DescribeClasses", {{"Zone", "ap-beijing-4"}, {"DBEngine", "postgresql"}, {"DBMajorVersion", "12"}});
  REQUIRE(classes.ok());
  CHECK((*classes)["ClassInfoSet"].size() == 3);  // the 128g class is not sold there
  CHECK((*classes)["ClassInfoSet"][0]["Memory"] == 2048);
  auto regions = emu.Call("DescribeRegions", json::object(), "");
  REQUIRE(regions.ok());
  CHECK((*regions)["RegionSet"][0]["Region"] == "ap-beijing");
}

}  // namespace
}  // namespace reconciler::testing
