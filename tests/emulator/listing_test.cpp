// Listings are cached between changes (emulator/cloud.h, CacheListing). These check that the
// pages of a listing put together are the whole listing in its order, and that no kind of
// change (a purchase, a tag, a name, a status, a removal, a reset) leaves a listing stale.

#include <doctest/doctest.h>

#include <algorithm>

#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

const json kByStack = {{{"Name", "db-tag-key"}, {"Values", {"reconciler/stack"}}}};

EmulatorFixture RoomyEmulator() {
  return EmulatorFixture([](emu::World& w) { w.catalogue.replica_quota_per_master = 100; });
}

// Buys `count` postpaid replicas of postgres-abcdef, tagged for a stack when `tagged`, and
// returns their IDs in the order the purchase created them. They are left applying.
std::vector<std::string> Buy(EmulatorFixture& emu, int count, bool tagged) {
  json req = SeedCreateReadOnlyRequest();
  req["InstanceCount"] = count;
  if (tagged) req["TagList"] = {{"TagKey", "reconciler/stack"}, {"TagValue", "demo"}};
  auto r = emu.Call("CreateReadOnlyDBInstance", req);
  REQUIRE(r.ok());
  return (*r)["DBInstanceIdSet"].get<std::vector<std::string>>();
}

struct Listing {
  std::vector<std::string> ids;
  std::vector<std::string> statuses;  // by position, as ids
  std::vector<int64_t> totals;        // the TotalCount of every page
};

// Every page of DescribeDBInstances with `params`, `limit` at a time.
Listing PageThrough(EmulatorFixture& emu, json params, int limit) {
  Listing out;
  for (int offset = 0;; offset += limit) {
    params["Limit"] = limit;
    params["Offset"] = offset;
    auto r = emu.Call("DescribeDBInstances", params);
    REQUIRE(r.ok());
    out.totals.push_back((*r)["TotalCount"].get<int64_t>());
    for (const json& i : (*r)["DBInstanceSet"]) {
      out.ids.push_back(i["DBInstanceId"]);
      out.statuses.push_back(i["DBInstanceStatus"]);
    }
    if ((*r)["DBInstanceSet"].size() < static_cast<size_t>(limit)) return out;
  }
}

std::vector<std::string> Ids(EmulatorFixture& emu, const json& params = {{"Filters", kByStack}}) {
  return PageThrough(emu, params, 100).ids;
}

std::string StatusIn(EmulatorFixture& emu, const std::string& id) {
  const Listing all = PageThrough(emu, {{"Filters", {{{"Name", "db-instance-id"}, {"Values", {id}}}}}}, 100);
  return all.ids.size() == 1 ? all.statuses[0] : "not listed";
}

bool Contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::string ResourceName(const std::string& id) {
  return "qcs::postgres:ap-beijing:uin/100000000001:DBInstanceId/" + id;
}

TEST_CASE("emulator listing: pages put together are the whole filtered listing, in creation order") {
  EmulatorFixture emu = RoomyEmulator();
  std::vector<std::string> tagged, everything;
  for (int batch = 0; batch < 4; ++batch) {
    for (const std::string& id : Buy(emu, 5, true)) tagged.push_back(id);
    for (const std::string& id : Buy(emu, 2, false)) everything.push_back(id);
  }
  emu.Advance(80);
  REQUIRE(tagged.size() == 20);

  for (int limit : {1, 3, 7, 20, 100}) {
    CAPTURE(limit);
    const Listing asc = PageThrough(emu, {{"Filters", kByStack}}, limit);
    CHECK(asc.ids == tagged);
    CHECK(std::all_of(asc.totals.begin(), asc.totals.end(), [](int64_t t) { return t == 20; }));
    const Listing desc = PageThrough(emu, {{"Filters", kByStack}, {"OrderByType", "desc"}}, limit);
    CHECK(std::equal(desc.ids.begin(), desc.ids.end(), tagged.rbegin(), tagged.rend()));
  }
  std::vector<std::string> by_id = tagged;
  std::sort(by_id.begin(), by_id.end());
  CHECK(PageThrough(emu, {{"Filters", kByStack}, {"OrderBy", "DBInstanceId"}}, 3).ids == by_id);
  CHECK(PageThrough(emu, {{"Filters", kByStack}, {"OrderBy", "DBInstanceId"}, {"OrderByType", "desc"}}, 6).ids ==
        std::vector<std::string>(by_id.rbegin(), by_id.rend()));
  // Unfiltered: the world's three ap-beijing primaries, then all 28 purchases.
  const Listing all = PageThrough(emu, json::object(), 4);
  CHECK(all.ids.size() == 31);
  CHECK(all.totals.front() == 31);
  // An offset past the end is an empty page that still counts the whole listing.
  auto past = emu.Call("DescribeDBInstances", {{"Filters", kByStack}, {"Offset", 500}, {"Limit", 10}});
  REQUIRE(past.ok());
  CHECK((*past)["TotalCount"] == 20);
  CHECK((*past)["DBInstanceSet"].empty());
}

TEST_CASE("emulator listing: purchases, tags, names, statuses and removals show at once") {
  EmulatorFixture emu = RoomyEmulator();
  std::vector<std::string> first = Buy(emu, 3, true);
  const std::string plain = Buy(emu, 1, false)[0];
  REQUIRE(Ids(emu) == first);  // cached from here on

  // A purchase: listed at once, in its first status; time moves the status on.
  const std::string bought = Buy(emu, 1, true)[0];
  std::vector<std::string> expected = first;
  expected.push_back(bought);
  CHECK(Ids(emu) == expected);
  CHECK(StatusIn(emu, bought) == "applying");
  emu.Advance(30);
  CHECK(StatusIn(emu, bought) == "initing");
  emu.Advance(60);
  CHECK(StatusIn(emu, bought) == "running");

  // Tags through the Tag service add to and take from a tag-key listing.
  REQUIRE(emu.Call("TagResources", {{"ResourceList", {ResourceName(plain)}},
                                    {"Tags", {{{"TagKey", "reconciler/stack"}, {"TagValue", "demo"}}}}},
                   "", "tag")
              .ok());
  CHECK(Contains(Ids(emu), plain));
  REQUIRE(emu.Call("UnTagResources", {{"ResourceList", {ResourceName(first[0])}}, {"TagKeys", {"reconciler/stack"}}},
                   "", "tag")
              .ok());
  CHECK_FALSE(Contains(Ids(emu), first[0]));
  CHECK(Ids(emu).size() == 4);

  // A rename moves an instance in a listing by name and into a name filter.
  const json by_name = {{"Filters", kByStack}, {"OrderBy", "Name"}};
  REQUIRE(Ids(emu, by_name).size() == 4);
  REQUIRE(emu.Call("ModifyDBInstanceName", {{"DBInstanceId", first[2]}, {"InstanceName", "aaa-first"}}).ok());
  CHECK(Ids(emu, by_name).front() == first[2]);
  CHECK(Ids(emu, {{"Filters", {{{"Name", "db-instance-name"}, {"Values", {"aaa-first"}}}}}}) ==
        std::vector<std::string>{first[2]});

  // Isolation and destruction: each status as it comes, then gone from the listing.
  REQUIRE(StatusIn(emu, first[1]) == "running");
  REQUIRE(emu.Call("IsolateDBInstances", {{"DBInstanceIdSet", {first[1]}}}).ok());
  CHECK(StatusIn(emu, first[1]) == "isolating");
  emu.Advance(10);
  CHECK(StatusIn(emu, first[1]) == "isolated");
  REQUIRE(emu.Call("DestroyDBInstance", {{"DBInstanceId", first[1]}}).ok());
  CHECK(StatusIn(emu, first[1]) == "offlining");
  REQUIRE(Contains(Ids(emu), first[1]));
  emu.Advance(10);
  CHECK(StatusIn(emu, first[1]) == "not listed");
  const Listing after = PageThrough(emu, {{"Filters", kByStack}}, 2);
  CHECK(after.ids == std::vector<std::string>{first[2], plain, bought});
  CHECK(after.totals.front() == 3);

  // A reset brings back the world's own listing.
  emu.AdminPost("/_admin/reset");
  CHECK(Ids(emu).empty());
  CHECK(PageThrough(emu, json::object(), 100).ids.size() == 3);
}

TEST_CASE("emulator listing: serverless listings see creations and deletions") {
  EmulatorFixture emu;
  auto listed = [&] {
    auto r = emu.Call("DescribeServerlessDBInstances", {{"Limit", 100}});
    REQUIRE(r.ok());
    std::vector<std::string> ids;
    for (const json& i : (*r)["DBInstanceSet"]) ids.push_back(i["DBInstanceId"]);
    CHECK((*r)["TotalCount"] == ids.size());
    return ids;
  };
  const std::vector<std::string> before = listed();
  const json req = {{"Zone", "ap-beijing-1"}, {"DBInstanceName", "sls-listing"}, {"DBVersion", "10.4"},
                    {"DBCharset", "UTF8"}};
  auto created = emu.Call("CreateServerlessDBInstance", req);
  REQUIRE(created.ok());
  const std::string id = (*created)["DBInstanceId"];
  std::vector<std::string> expected = before;
  expected.push_back(id);
  CHECK(listed() == expected);
  REQUIRE(emu.Call("DeleteServerlessDBInstance", {{"DBInstanceId", id}}).ok());
  CHECK(listed() == before);
}

}  // namespace
}  // namespace reconciler::testing
