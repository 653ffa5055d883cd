// DescribeDBInstances pages are kept as text, and compressed once, until the next change
// (emulator/cached_answer.h, EmulatedCloud::InstancesPage). These check every page the real
// server sends, as the bytes a client decodes, gzip or not, against the page written afresh
// by an emulator that has kept nothing: a new EmulatedCloud loaded with the same state at
// the same time. They do so after each kind of change and lifecycle step.

#include <doctest/doctest.h>
#include <httplib.h>
#include <zlib.h>

#include <cmath>
#include <ctime>

#include "emulator/cached_answer.h"
#include "providers/tencentcloud/signer.h"
#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

void Roomy(emu::World& w) { w.catalogue.replica_quota_per_master = 100; }

// A gzip stream decoded strictly: any error, or bytes after its end, fails the test.
std::string Gunzip(const std::string& in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out;
  char buf[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  const uLong left = z.avail_in;
  inflateEnd(&z);
  CHECK(rc == Z_STREAM_END);
  CHECK(left == 0);
  return out;
}

// The Response members of an answer, {"Response":{<members>,"RequestId":"<id>"}}.
std::string Members(const std::string& body) {
  const std::string open = "{\"Response\":{", id_key = ",\"RequestId\":\"";
  REQUIRE(body.rfind(open, 0) == 0);
  const size_t id = body.rfind(id_key);
  REQUIRE(id != std::string::npos);
  CHECK(body.size() - id == id_key.size() + 36 + 3);  // a UUID, then "}}
  CHECK(body.substr(body.size() - 3) == "\"}}");
  return body.substr(open.size(), id - open.size());
}

enum class Encoding { kGzip, kIdentity };

// One signed POST through the real server, without the product's client; the body as a
// client decodes it.
std::string Send(EmulatorFixture& emu, const std::string& action, const json& params, Encoding encoding) {
  const std::string body = params.dump();
  const std::string host = emu.url().substr(std::string("http://").size());
  tencentcloud::SignInput in;
  in.headers = {{"content-type", "application/json"}, {"host", host}};
  in.payload = body;
  in.service = "postgres";
  in.timestamp = static_cast<int64_t>(std::time(nullptr));
  in.secret_id = kDemoSecretId;
  in.secret_key = kDemoSecretKey;
  httplib::Headers headers = {{"Authorization", tencentcloud::Sign(in).authorization},
                              {"X-TC-Action", action},
                              {"X-TC-Version", "2017-03-12"},
                              {"X-TC-Region", "ap-beijing"},
                              {"X-TC-Timestamp", std::to_string(in.timestamp)}};
  if (encoding == Encoding::kGzip) headers.emplace("Accept-Encoding", "gzip");
  httplib::Client client(emu.url());
  client.set_decompress(false);  // the bytes as sent
  auto res = client.Post("/", headers, body, "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const bool gzipped = res->get_header_value("Content-Encoding") == "gzip";
  const std::string decoded = gzipped ? Gunzip(res->body) : res->body;
  // Answers over 1 KiB go compressed to a client that takes gzip, smaller ones as they are.
  CHECK(gzipped == (encoding == Encoding::kGzip && decoded.size() > 1024));
  return decoded;
}

// The answer an emulator that keeps nothing gives now: a new cloud with the live one's
// state, on the same clock, with `faults`.
std::string Fresh(EmulatorFixture& emu, const std::string& action, const json& params,
                  const json& faults = json::array()) {
  emu::EmulatedCloud& live = emu.server().cloud();
  const json saved = live.SaveJson();
  const double offset = saved.at("clockOffset");
  emu::World world = DefaultWorld();
  Roomy(world);
  emu::Faults rules;
  REQUIRE(rules.Add(faults).ok());
  emu::EmulatedCloud fresh(world, &rules, [&live, offset] { return live.Now() - offset; });
  REQUIRE(fresh.LoadJson(saved).ok());
  REQUIRE(std::abs(fresh.Now() - live.Now()) < 1e-3);
  emu::Reply reply = fresh.Handle("postgres", action, "ap-beijing", params);
  REQUIRE(reply.ok);
  if (reply.cached) return reply.cached->members();
  if (!reply.raw.empty()) return reply.raw;
  std::string members = reply.body.dump();  // {...}: the members are inside the braces
  return members.substr(1, members.size() - 2);
}

const json kByStack = {{{"Name", "db-tag-key"}, {"Values", {"reconciler/stack"}}}};

// Listings in every order and with filters, as the product and other clients ask.
std::vector<json> Listings() {
  return {json::object(),
          {{"Filters", kByStack}},
          {{"OrderBy", "Name"}, {"OrderByType", "desc"}},
          {{"OrderBy", "DBInstanceId"}},
          {{"OrderBy", "EndTime"}, {"Filters", {{{"Name", "db-pay-mode"}, {"Values", {"prepaid", "postpaid"}}}}}}};
}

// Every page of every listing, `limit` at a time, each asked twice (the second time it is
// kept) with and without gzip, equals the page written afresh. Returns the pages checked.
int CheckEveryPage(EmulatorFixture& emu, const std::string& when) {
  int pages = 0;
  for (json params : Listings()) {
    for (int limit : {2, 100}) {
      for (int offset = 0;; offset += limit) {
        params["Limit"] = limit;
        params["Offset"] = offset;
        const std::string expected = Fresh(emu, "DescribeDBInstances", params);
        CAPTURE(when);
        CAPTURE(params.dump());
        for (Encoding e : {Encoding::kGzip, Encoding::kIdentity, Encoding::kGzip}) {
          CHECK(Members(Send(emu, "DescribeDBInstances", params, e)) == expected);
        }
        ++pages;
        if (json::parse("{" + expected + "}")["DBInstanceSet"].size() < static_cast<size_t>(limit)) break;
      }
    }
  }
  return pages;
}

std::string ResourceName(const std::string& id) {
  return "qcs::postgres:ap-beijing:uin/100000000001:DBInstanceId/" + id;
}

std::vector<std::string> Buy(EmulatorFixture& emu, int count, const std::string& charge) {
  json req = SeedCreateReadOnlyRequest();
  req["InstanceCount"] = count;
  req["InstanceChargeType"] = charge;
  if (charge == "PREPAID") req["MasterDBInstanceId"] = "postgres-prepaid1";  // a postpaid primary has postpaid replicas
  req["TagList"] = {{"TagKey", "reconciler/stack"}, {"TagValue", "demo"}};
  auto r = emu.Call("CreateReadOnlyDBInstance", req);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  if (charge == "PREPAID") {  // a prepaid purchase names its instances in the order only
    emu.Advance(31);
    auto orders = emu.Call("DescribeOrders", {{"DealNames", (*r)["DealNames"]}});
    REQUIRE(orders.ok());
    return (*orders)["Deals"][0]["DBInstanceIdSet"].get<std::vector<std::string>>();
  }
  return (*r)["DBInstanceIdSet"].get<std::vector<std::string>>();
}

void Ok(EmulatorFixture& emu, const std::string& action, const json& params, const std::string& service = "postgres") {
  auto r = emu.Call(action, params, service == "tag" ? "" : "ap-beijing", service);
  REQUIRE_MESSAGE(r.ok(), action, ": ", r.status().message());
}

TEST_CASE("emulator page cache: the gzip of a kept answer is its envelope, for any request ID") {
  for (size_t size : {size_t{0}, size_t{10}, size_t{70000}, size_t{300000}}) {
    std::string members = "\"TotalCount\":1,\"X\":\"";
    for (size_t i = 0; i < size; ++i) members.push_back(static_cast<char>('a' + (i * 7919 % 26)));
    members += "\"";
    const tencentcloud::emulator::CachedAnswer answer(members);
    for (const char* id : {"8e2b3c9a-1d2f-4a6b-8c0d-1e2f3a4b5c6d", "00000000-0000-4000-8000-000000000000"}) {
      CAPTURE(size);
      const std::string envelope = answer.Envelope(id);
      CHECK(envelope == "{\"Response\":{" + members + ",\"RequestId\":\"" + id + "\"}}");
      CHECK(answer.EnvelopeSize(id) == envelope.size());
      CHECK(Gunzip(answer.GzippedEnvelope(id)) == envelope);
    }
  }
}

TEST_CASE("emulator page cache: every page served equals the page written afresh, after every kind of change") {
  EmulatorFixture emu(Roomy);
  CHECK(CheckEveryPage(emu, "the world's own instances") > 0);

  // Purchases, postpaid and prepaid, then each lifecycle step.
  const std::vector<std::string> post = Buy(emu, 3, "POSTPAID_BY_HOUR");
  CheckEveryPage(emu, "bought, applying");
  const std::string pre = Buy(emu, 1, "PREPAID")[0];
  CheckEveryPage(emu, "prepaid bought");
  emu.Advance(30);
  CheckEveryPage(emu, "initing");
  emu.Advance(60);
  CheckEveryPage(emu, "running");

  // Tags through the Tag service, with quotes, backslashes, control characters and Unicode.
  Ok(emu, "TagResources",
     {{"ResourceList", {ResourceName(post[0]), ResourceName(pre)}},
      {"Tags", {{{"TagKey", "note \"quoted\" \\ back"}, {"TagValue", "数据库 — ü \"q\"\n\ttab \x01"}}}}},
     "tag");
  CheckEveryPage(emu, "tagged");
  Ok(emu, "UnTagResources", {{"ResourceList", {ResourceName(post[1])}}, {"TagKeys", {"reconciler/stack"}}}, "tag");
  CheckEveryPage(emu, "untagged");
  Ok(emu, "ModifyResourceTags",
     {{"Resource", ResourceName(post[0])}, {"ReplaceTags", {{{"TagKey", "team"}, {"TagValue", "データ"}}}},
      {"DeleteTags", {{{"TagKey", "note \"quoted\" \\ back"}}}}},
     "tag");
  CheckEveryPage(emu, "tags replaced");

  // Each modification of an instance.
  Ok(emu, "ModifyDBInstanceName", {{"DBInstanceId", post[2]}, {"InstanceName", "名字-a_1"}});
  CheckEveryPage(emu, "renamed");
  Ok(emu, "ModifyDBInstanceDeletionProtection", {{"DBInstanceId", post[1]}, {"DeletionProtection", true}});
  CheckEveryPage(emu, "protected");
  Ok(emu, "ModifyDBInstanceSpec", {{"DBInstanceId", post[0]}, {"Memory", 2}, {"Storage", 200}});
  CheckEveryPage(emu, "expanding");
  emu.Advance(60);
  CheckEveryPage(emu, "expanded");
  auto group = emu.Call("CreateReadOnlyGroup", {{"MasterDBInstanceId", "postgres-abcdef"}, {"Name", "g1"},
                                                {"VpcId", "vpc-8btfafeo"}, {"SubnetId", "subnet-1i9huswn"}});
  REQUIRE(group.ok());
  Ok(emu, "ModifyDBInstanceReadOnlyGroup",
     {{"DBInstanceId", post[2]}, {"ReadOnlyGroupId", ""}, {"NewReadOnlyGroupId", (*group)["ReadOnlyGroupId"]}});
  CheckEveryPage(emu, "in a read-only group");

  // Isolation, restoration and destruction, step by step.
  Ok(emu, "IsolateDBInstances", {{"DBInstanceIdSet", {pre, post[2]}}});
  CheckEveryPage(emu, "isolating");
  emu.Advance(10);
  CheckEveryPage(emu, "isolated");
  Ok(emu, "DisIsolateDBInstances", {{"DBInstanceIdSet", {pre}}, {"Period", 2}});
  CheckEveryPage(emu, "disisolating");
  emu.Advance(10);
  CheckEveryPage(emu, "restored");
  Ok(emu, "DestroyDBInstance", {{"DBInstanceId", post[2]}});
  CheckEveryPage(emu, "offlining");
  emu.Advance(10);
  CheckEveryPage(emu, "destroyed");

  // A serverless instance is in its own listing, not in DescribeDBInstances.
  auto sls = emu.Call("CreateServerlessDBInstance", {{"Zone", "ap-beijing-1"}, {"DBInstanceName", "sls-page"},
                                                     {"DBVersion", "10.4"}, {"DBCharset", "UTF8"}});
  REQUIRE(sls.ok());
  CheckEveryPage(emu, "serverless created");
  // Its answer is written from a JSON object (members in name order, RequestId among them).
  const json serverless = {{"Limit", 10}};
  json served = json::parse(Send(emu, "DescribeServerlessDBInstances", serverless, Encoding::kIdentity))["Response"];
  served.erase("RequestId");
  CHECK(served.dump() == "{" + Fresh(emu, "DescribeServerlessDBInstances", serverless) + "}");
  Ok(emu, "DeleteServerlessDBInstance", {{"DBInstanceId", (*sls)["DBInstanceId"]}});
  CheckEveryPage(emu, "serverless deleted");

  // Back to the world file's state.
  emu.AdminPost("/_admin/reset");
  CheckEveryPage(emu, "reset");
}

TEST_CASE("emulator page cache: a lagging listing's page is for that request alone") {
  EmulatorFixture emu(Roomy);
  Buy(emu, 2, "POSTPAID_BY_HOUR");
  emu.Advance(100);
  const json params = {{"Filters", kByStack}, {"Limit", 100}};
  const std::string full = Members(Send(emu, "DescribeDBInstances", params, Encoding::kGzip));  // kept from here
  const std::string late = Buy(emu, 1, "POSTPAID_BY_HOUR")[0];
  const std::string with_late = Members(Send(emu, "DescribeDBInstances", params, Encoding::kGzip));
  CHECK(with_late.find(late) != std::string::npos);

  for (const std::string mode : {"untagged", "absent"}) {
    CAPTURE(mode);
    const json lag = {{"type", "listingLag"}, {"seconds", 60}, {"mode", mode}, {"times", 1}};
    const std::string expected = Fresh(emu, "DescribeDBInstances", params, json::array({lag}));
    emu.AddFault(lag);
    const std::string lagging = Members(Send(emu, "DescribeDBInstances", params, Encoding::kGzip));
    CHECK(lagging == expected);
    CHECK(lagging.find(late) == std::string::npos);  // the late one is left out of a tag listing
    // The rule is spent: the whole listing again, not the lagging page.
    CHECK(Members(Send(emu, "DescribeDBInstances", params, Encoding::kGzip)) == with_late);
  }
  CHECK(with_late == Fresh(emu, "DescribeDBInstances", params));
  CHECK(full != with_late);
}

}  // namespace
}  // namespace reconciler::testing
