// Tags as the product uses them: listing by several tag keys at once, and the Tag
// service's limits and one-value-per-key rule.

#include <doctest/doctest.h>

#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

json Tag(const std::string& key, const std::string& value) {
  return {{"TagKey", key}, {"TagValue", value}};
}

// Buys one running postpaid replica of postgres-abcdef carrying `tag` (none when null).
std::string BuyOne(EmulatorFixture& emu, const json& tag = nullptr) {
  json req = SeedCreateReadOnlyRequest();
  if (!tag.is_null()) req["TagList"] = tag;
  auto r = emu.Call("CreateReadOnlyDBInstance", req);
  REQUIRE(r.ok());
  emu.Advance(80);
  return (*r)["DBInstanceIdSet"][0];
}

std::string ResourceName(const std::string& id) {
  return "qcs::postgres:ap-beijing:uin/100000000001:DBInstanceId/" + id;
}

json TagsOf(EmulatorFixture& emu, const std::string& id) {
  auto a = emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  REQUIRE(a.ok());
  return (*a)["DBInstance"]["TagList"];
}

std::vector<std::string> Listed(EmulatorFixture& emu, const json& filters) {
  auto r = emu.Call("DescribeDBInstances", {{"Filters", filters}, {"Limit", 100}});
  REQUIRE(r.ok());
  std::vector<std::string> ids;
  for (const json& i : (*r)["DBInstanceSet"]) ids.push_back(i["DBInstanceId"]);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST_CASE("emulator tags: db-tag-key ORs its Values and ANDs with other filters") {
  EmulatorFixture emu;
  std::string stack = BuyOne(emu, Tag("reconciler/stack", "demo"));
  std::string operation = BuyOne(emu, Tag("reconciler/operation", "op-1"));
  BuyOne(emu);
  BuyOne(emu, Tag("team", "data"));
  std::vector<std::string> both = {stack, operation};
  std::sort(both.begin(), both.end());
  const json by_keys = {
      {{"Name", "db-tag-key"}, {"Values", {"reconciler/stack", "reconciler/operation"}}}};
  CHECK(Listed(emu, by_keys) == both);
  json narrowed = by_keys;
  narrowed.push_back({{"Name", "db-instance-id"}, {"Values", {operation}}});
  CHECK(Listed(emu, narrowed) == std::vector<std::string>{operation});
  CHECK(Listed(emu, {{{"Name", "db-tag-key"}, {"Values", {"absent"}}}}).empty());
}

TEST_CASE("emulator tags: TagResources takes at most 10 resources and 10 tags per call") {
  EmulatorFixture emu;
  std::string id = BuyOne(emu);
  json ten = json::array({ResourceName(id)});
  for (int i = 1; i < 10; ++i) ten.push_back(ResourceName("pgro-absent0" + std::to_string(i)));
  auto ok =
      emu.Call("TagResources", {{"ResourceList", ten}, {"Tags", {Tag("team", "data")}}}, "", "tag");
  REQUIRE(ok.ok());
  CHECK((*ok)["FailedResources"].size() == 9);
  CHECK(TagsOf(emu, id) == json::array({Tag("team", "data")}));
  json eleven = ten;
  eleven.push_back(ResourceName("pgro-absent10"));
  auto over = emu.Call("TagResources", {{"ResourceList", eleven}, {"Tags", {Tag("env", "prod")}}},
                       "", "tag");
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().api_code() == "LimitExceeded.ResourceNumPerRequest");
  json tags = json::array();
  for (int i = 0; i < 11; ++i) tags.push_back(Tag(std::string(1, 'k').append(std::to_string(i)), "v"));
  auto many =
      emu.Call("TagResources", {{"ResourceList", {ResourceName(id)}}, {"Tags", tags}}, "", "tag");
  REQUIRE_FALSE(many.ok());
  CHECK(many.status().api_code() == "LimitExceeded.TagNumPerRequest");
  CHECK(TagsOf(emu, id) == json::array({Tag("team", "data")}));
}

TEST_CASE("emulator tags: a tag key has one value per resource") {
  EmulatorFixture emu;
  std::string id = BuyOne(emu, Tag("env", "prod"));
  // TagResources on a key the resource has updates its value.
  REQUIRE(emu.Call("TagResources",
                   {{"ResourceList", {ResourceName(id)}}, {"Tags", {Tag("env", "dev")}}}, "", "tag")
              .ok());
  CHECK(TagsOf(emu, id) == json::array({Tag("env", "dev")}));
  auto twice =
      emu.Call("TagResources",
               {{"ResourceList", {ResourceName(id)}}, {"Tags", {Tag("env", "a"), Tag("env", "b")}}},
               "", "tag");
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.status().api_code() == "InvalidParameterValue.TagKeyDuplicate");
  // ModifyResourceTags ReplaceTags replaces the value of a key the resource has.
  REQUIRE(emu.Call("ModifyResourceTags",
                   {{"Resource", ResourceName(id)}, {"ReplaceTags", {Tag("env", "staging")}}}, "",
                   "tag")
              .ok());
  CHECK(TagsOf(emu, id) == json::array({Tag("env", "staging")}));
  REQUIRE(emu.Call("ModifyResourceTags",
                   {{"Resource", ResourceName(id)},
                    {"ReplaceTags", {Tag("env", "prod"), Tag("team", "data")}}},
                   "", "tag")
              .ok());
  CHECK(TagsOf(emu, id) == json::array({Tag("env", "prod"), Tag("team", "data")}));
}

}  // namespace
}  // namespace reconciler::testing
