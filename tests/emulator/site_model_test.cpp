// The site models: requests are held to what the official SDKs of the emulated site define
// (UnknownParameter, InvalidParameter), DryRun is the project's addition, and the tags a
// create carries are stored whichever way the site takes them.

#include "emulator/site_model.h"

#include <doctest/doctest.h>

#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

json Seed(const json& changes = json::object()) {
  json req = SeedCreateReadOnlyRequest();
  req.merge_patch(changes);
  return req;
}

json Serverless(const json& changes = json::object()) {
  json req = {{"Zone", "ap-beijing-1"},
              {"DBInstanceName", "sandbox"},
              {"DBVersion", "10.4"},
              {"DBCharset", "UTF8"}};
  req.merge_patch(changes);
  return req;
}

json Tag(const std::string& key, const std::string& value) {
  return {{"TagKey", key}, {"TagValue", value}};
}

void OnSite(emu::Site site, emu::World& w) { w.catalogue.site = site; }

TEST_CASE("emulator site: the official SDK models are compiled in and shown by the admin API") {
  EmulatorFixture emu;
  json model = emu.AdminGet("/_admin/model");
  CHECK(model["site"] == "intl");
  CHECK(model["dryRun"] == "supported");
  const json& create = model["actions"]["postgres"]["CreateReadOnlyDBInstance"];
  CHECK(create["from"].get<std::string>().find("tencentcloud-sdk-nodejs-intl-en@") == 0);
  CHECK(create["params"]["TagList"] == "Tag");
  CHECK_FALSE(create["params"].contains("Tags"));
  CHECK(create["params"]["DryRun"] == "boolean");
  CHECK(model["actions"]["postgres"]["CreateServerlessDBInstance"]["params"]["TagList"] == "Tag[]");
  CHECK(model["structs"]["Tag"]["TagKey"] == "string");
  CHECK(model["actions"]["tag"].contains("TagResources"));
  EmulatorFixture china([](emu::World& w) { OnSite(emu::Site::kChina, w); });
  json cn = china.AdminGet("/_admin/model");
  CHECK(cn["site"] == "china");
  CHECK(cn["actions"]["postgres"]["CreateReadOnlyDBInstance"]["params"]["Tags"] == "Tag[]");
  CHECK(cn["actions"]["postgres"]["CreateReadOnlyDBInstance"]["from"].get<std::string>().find(
            "tencentcloud-sdk-nodejs@") == 0);
}

TEST_CASE("emulator site: intl CreateReadOnlyDBInstance has no Tags and takes TagList as one Tag") {
  EmulatorFixture emu;
  auto tags = emu.Call("CreateReadOnlyDBInstance", Seed({{"Tags", {Tag("team", "data")}}}));
  REQUIRE_FALSE(tags.ok());
  CHECK(tags.status().api_code() == "UnknownParameter");
  CHECK(tags.status().message() == "The parameter `Tags` is not recognized.");
  auto list = emu.Call("CreateReadOnlyDBInstance", Seed({{"TagList", {Tag("team", "data")}}}));
  REQUIRE_FALSE(list.ok());
  CHECK(list.status().api_code() == "InvalidParameter");
  CHECK(list.status().message().find("`TagList` should be Tag, got Array") != std::string::npos);
  auto one = emu.Call("CreateReadOnlyDBInstance", Seed({{"TagList", Tag("team", "data")}}));
  REQUIRE(one.ok());
  auto replicas = emu.ReadOnlyInstances();
  REQUIRE(replicas.size() == 1);
  CHECK(replicas[0]["TagList"] == json::array({Tag("team", "data")}));
}

TEST_CASE(
    "emulator site: china CreateReadOnlyDBInstance stores the Tags array and the TagList object") {
  EmulatorFixture emu([](emu::World& w) { OnSite(emu::Site::kChina, w); });
  auto r = emu.Call("CreateReadOnlyDBInstance",
                    Seed({{"Tags", {Tag("team", "data"), Tag("env", "prod")}},
                          {"TagList", Tag("owner", "ana")}}));
  REQUIRE(r.ok());
  auto replicas = emu.ReadOnlyInstances();
  REQUIRE(replicas.size() == 1);
  CHECK(replicas[0]["TagList"] ==
        json::array({Tag("team", "data"), Tag("env", "prod"), Tag("owner", "ana")}));
  auto object = emu.Call("CreateReadOnlyDBInstance", Seed({{"Tags", Tag("team", "data")}}));
  REQUIRE_FALSE(object.ok());
  CHECK(object.status().api_code() == "InvalidParameter");
}

TEST_CASE("emulator site: CreateServerlessDBInstance takes TagList as an array on both sites") {
  for (emu::Site site : {emu::Site::kIntl, emu::Site::kChina}) {
    CAPTURE(emu::SiteName(site));
    EmulatorFixture emu([site](emu::World& w) { OnSite(site, w); });
    auto bad =
        emu.Call("CreateServerlessDBInstance", Serverless({{"TagList", Tag("team", "data")}}));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().api_code() == "InvalidParameter");
    auto r = emu.Call("CreateServerlessDBInstance",
                      Serverless({{"TagList", {Tag("team", "data"), Tag("env", "dev")}}}));
    REQUIRE(r.ok());
    auto listed = emu.Call("DescribeServerlessDBInstances");
    REQUIRE(listed.ok());
    CHECK((*listed)["DBInstanceSet"][0]["TagList"] ==
          json::array({Tag("team", "data"), Tag("env", "dev")}));
  }
}

TEST_CASE(
    "emulator site: a value of the wrong JSON type is InvalidParameter naming its path and type") {
  EmulatorFixture emu;
  struct Case {
    const char* action;
    json params;
    const char* says;
  };
  const Case cases[] = {
      {"DescribeDBInstances",
       {{"Filters", {{{"Name", "db-tag-key"}, {"Values", "x"}}}}},
       "`Filters.0.Values` should be Array of String, got String"},
      {"DescribeDBInstances",
       {{"Filters", {{{"Name", 7}, {"Values", {"x"}}}}}},
       "`Filters.0.Name` should be String, got Number"},
      {"DescribeDBInstances",
       {{"Filters", {{"Name", "db-tag-key"}}}},
       "`Filters` should be Array of Filter, got Object"},
      {"DescribeDBInstances",
       {{"Filters", {{{"Name", "db-tag-key"}, {"Values", {"x", 1}}}}}},
       "`Filters.0.Values.1` should be String, got Number"},
      {"CreateReadOnlyDBInstance", Seed({{"TagList", {{"TagKey", 1}, {"TagValue", "v"}}}}),
       "`TagList.TagKey` should be String, got Number"},
      {"CreateReadOnlyDBInstance", Seed({{"DeletionProtection", "true"}}),
       "`DeletionProtection` should be Boolean, got String"},
      {"CreateReadOnlyDBInstance", Seed({{"Storage", "100"}}),
       "`Storage` should be Number, got String"},
      {"CreateReadOnlyDBInstance", Seed({{"SecurityGroupIds", "sg-iwnfp51z"}}),
       "`SecurityGroupIds` should be Array of String"},
      {"CreateReadOnlyDBInstance", Seed({{"Zone", nullptr}}),
       nullptr},  // null removes the field: MissingParameter
  };
  for (const Case& c : cases) {
    CAPTURE(c.params.dump());
    auto r = emu.Call(c.action, c.params);
    REQUIRE_FALSE(r.ok());
    if (!c.says) {
      CHECK(r.status().api_code() == "MissingParameter");
      continue;
    }
    CHECK(r.status().api_code() == "InvalidParameter");
    CHECK(r.status().message().find(c.says) != std::string::npos);
  }
  auto field = emu.Call("CreateReadOnlyDBInstance",
                        Seed({{"TagList", {{"TagKey", "k"}, {"Colour", "red"}}}}));
  REQUIRE_FALSE(field.ok());
  CHECK(field.status().api_code() == "UnknownParameter");
  CHECK(field.status().message().find("`TagList.Colour`") != std::string::npos);
  CHECK(emu.ReadOnlyInstances().empty());
}

TEST_CASE(
    "emulator site: DryRun is a parameter of the two creates unless the world says unsupported") {
  EmulatorFixture emu;
  auto dry = emu.Call("CreateReadOnlyDBInstance", Seed({{"DryRun", true}}));
  REQUIRE(dry.ok());
  CHECK((*dry)["DealNames"].empty());
  auto typed = emu.Call("CreateReadOnlyDBInstance", Seed({{"DryRun", "yes"}}));
  REQUIRE_FALSE(typed.ok());
  CHECK(typed.status().api_code() == "InvalidParameter");
  auto group =
      emu.Call("CreateReadOnlyGroup",
               {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "g"}, {"DryRun", true}});
  REQUIRE_FALSE(group.ok());
  CHECK(group.status().api_code() == "UnknownParameter");

  EmulatorFixture off(
      [](emu::World& w) { w.catalogue.dry_run = emu::DryRunSupport::kUnsupported; });
  for (const char* action : {"CreateReadOnlyDBInstance", "CreateServerlessDBInstance"}) {
    CAPTURE(action);
    json params = std::string(action) == "CreateReadOnlyDBInstance"
                      ? Seed({{"DryRun", true}})
                      : Serverless({{"DryRun", true}});
    auto r = off.Call(action, params);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().api_code() == "UnknownParameter");
    CHECK(r.status().message().find("`DryRun`") != std::string::npos);
  }
  json model = off.AdminGet("/_admin/model");
  CHECK(model["dryRun"] == "unsupported");
  CHECK_FALSE(
      model["actions"]["postgres"]["CreateReadOnlyDBInstance"]["params"].contains("DryRun"));
  CHECK(off.ReadOnlyInstances().empty());
}

TEST_CASE("emulator site: the world file sets the site and DryRun support") {
  const std::string base = "account: {credentials: [{secretId: a, secretKey: b}]}\nregions: []\n";
  auto china = emu::LoadWorldText("site: china\ndryRun: unsupported\n" + base, "w.yaml");
  REQUIRE(china.ok());
  CHECK(china->catalogue.site == emu::Site::kChina);
  CHECK(china->catalogue.dry_run == emu::DryRunSupport::kUnsupported);
  auto fallback = emu::LoadWorldText(base, "w.yaml");
  REQUIRE(fallback.ok());
  CHECK(fallback->catalogue.site == emu::Site::kIntl);
  CHECK(fallback->catalogue.dry_run == emu::DryRunSupport::kSupported);
  auto mars = emu::LoadWorldText("site: mars\n" + base, "w.yaml");
  REQUIRE_FALSE(mars.ok());
  CHECK(mars.status().message() == "w.yaml:1:7: site: must be intl or china");
}

// A model document as tools/sdk-conformance/models.json writes it, for the unit tests.
json Models() {
  return json::parse(R"({
    "sites": {"intl": {"postgres": {
      "Described": {"from": "sdk@1", "params": {"Limit": "number", "On": "boolean", "Filters": "Filter[]", "TagList": "Tag"}},
      "Dropped": {"from": "sdk@1", "params": null}}}},
    "structs": {"intl": {"Filter": {"Name": "string", "Values": "string[]"}, "Tag": {"TagKey": "string", "TagValue": "string"}}}
  })");
}

std::vector<emu::ServedAction> Served() {
  return {{"postgres", "Described", {{"Limit", "number"}}},
          {"postgres", "Dropped", {{"Name", "string"}}},
          {"postgres", "Absent", {{"Id", "string"}}},
          {"postgres", "CreateReadOnlyDBInstance", {{"Zone", "string"}}}};
}

TEST_CASE(
    "emulator site: actions no SDK of the site describes fall back to the emulator's own list") {
  emu::SiteModel model(emu::Site::kIntl, emu::DryRunSupport::kSupported, Models(), Served());
  json j = model.ToJson();
  CHECK(j["actions"]["postgres"]["Described"]["from"] == "sdk@1");
  CHECK(j["actions"]["postgres"]["Dropped"]["from"].get<std::string>().rfind("emulator", 0) == 0);
  CHECK(j["actions"]["postgres"]["Dropped"]["params"] == json{{"Name", "string"}});
  CHECK(j["actions"]["postgres"]["Absent"]["params"] == json{{"Id", "string"}});
  CHECK(j["actions"]["postgres"]["CreateReadOnlyDBInstance"]["params"]["DryRun"] == "boolean");
  CHECK_FALSE(model.Check("postgres", "Dropped", {{"Name", "x"}}));
  CHECK(model.Check("postgres", "Described", {{"Name", "x"}})->code == "UnknownParameter");
  // Without any document every action is the emulator's own.
  emu::SiteModel bare(emu::Site::kChina, emu::DryRunSupport::kUnsupported, json(), Served());
  CHECK(bare.ToJson()["actions"]["postgres"]["Described"]["params"] == json{{"Limit", "number"}});
  CHECK_FALSE(bare.ToJson()["actions"]["postgres"]["CreateReadOnlyDBInstance"]["params"].contains(
      "DryRun"));
}

TEST_CASE("emulator site: GET pairs become typed JSON") {
  emu::SiteModel model(emu::Site::kIntl, emu::DryRunSupport::kSupported, Models(), Served());
  auto ok = model.FromForm("postgres", "Described",
                           {{"Limit", "-3"},
                            {"On", "FALSE"},
                            {"Filters.0.Values.10", "b"},
                            {"Filters.0.Values.2", "a"},
                            {"Filters.0.Name", "n"},
                            {"TagList.TagKey", "k"},
                            {"Action", "Described"}});
  REQUIRE(std::holds_alternative<json>(ok));
  CHECK(std::get<json>(ok) ==
        json::parse(R"({"Limit":-3,"On":false,"Filters":[{"Name":"n","Values":["a","b"]}],
                                             "TagList":{"TagKey":"k"}})"));
  auto fraction = model.FromForm("postgres", "Described", {{"Limit", "2.5"}});
  CHECK(std::get<json>(fraction)["Limit"] == 2.5);
  auto twice = model.FromForm("postgres", "Described", {{"Limit", "1"}, {"Limit", "2"}});
  CHECK(std::get<emu::ModelError>(twice).code == "InvalidParameter");
  auto index = model.FromForm("postgres", "Described", {{"Filters.x.Name", "n"}});
  CHECK(std::get<emu::ModelError>(index).message.find("Filters.x") != std::string::npos);
  auto boolean = model.FromForm("postgres", "Described", {{"On", "yes"}});
  CHECK(std::get<emu::ModelError>(boolean).code == "InvalidParameter");
  auto nested = model.FromForm("postgres", "Described", {{"TagList.Colour", "red"}});
  CHECK(std::get<emu::ModelError>(nested).code == "UnknownParameter");
}

}  // namespace
}  // namespace reconciler::testing
