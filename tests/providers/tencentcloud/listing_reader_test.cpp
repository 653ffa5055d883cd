// ListingReader reads listing pages while they are parsed (providers/tencentcloud/listing.h).
// It must give exactly the instances the general path gives (the whole answer parsed, its
// envelope checked, each item read by InstanceOf), and must decline every answer the general
// path would refuse. These tests hold it to that over generated pages, every field given
// every kind of value, duplicate keys, and thousands of corrupted answers.

#include "providers/tencentcloud/listing.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>

#include "base/json_input.h"

namespace reconciler::tencentcloud {
namespace {

using nlohmann::json;

// Every field of an instance, one per line, so a difference shows which.
std::string Describe(const cloud::Instance& i) {
  static_assert(sizeof(cloud::Instance) == 688, "cloud::Instance changed: describe its new field here too");
  std::ostringstream out;
  out << "id=" << i.id << "\nname=" << i.name << "\nregion=" << i.region << "\nzone=" << i.zone << "\ntype=" << i.type
      << "\nmaster=" << i.master_id << "\nstatus=" << i.status << "\nspec=" << i.spec_code << "\ncpu=" << i.cpu
      << "\nmemory=" << i.memory_gb << "\nstorage=" << i.storage_gb << "\npay=" << i.pay_type
      << "\nautorenew=" << i.auto_renew << "\nproject=" << i.project_id << "\nvpc=" << i.vpc_id
      << "\nsubnet=" << i.subnet_id << "\nprotection=" << i.deletion_protection << "\nipv6=" << i.ipv6
      << "\ncluster=" << i.dedicated_cluster_id << "\nversion=" << i.db_version << "\ncharset=" << i.charset
      << "\ncreated=" << i.create_time << "\ngroup=" << i.read_only_group_id << "\naddress=" << i.private_address
      << "\nip=" << i.private_ip << "\nport=" << i.private_port << "\nincomplete=" << i.tagging_incomplete;
  for (const auto& [k, v] : i.tags) out << "\ntag " << k << "=" << v;
  return out.str();
}

struct Read {
  uint64_t total = 0;
  std::vector<std::string> instances;  // Describe()d
};

// The general path: the answer parsed whole, its envelope and list checked as ApiClient and
// TencentCloud::FetchPage check them, each item read by InstanceOf. nullopt: refused.
std::optional<Read> General(const std::string& body, bool serverless) {
  Result<json> parsed = ParseJsonInput(body);
  if (!parsed.ok() || !parsed->is_object()) return std::nullopt;
  auto response = parsed->find("Response");
  if (response == parsed->end() || !response->is_object() || response->contains("Error")) return std::nullopt;
  auto set = response->find("DBInstanceSet");
  if (set == response->end() || !set->is_array()) return std::nullopt;
  for (const json& item : *set) {
    if (!item.is_object()) return std::nullopt;
  }
  auto total = response->find("TotalCount");
  if (total == response->end() || !total->is_number_unsigned()) return std::nullopt;
  Read out;
  out.total = total->get<uint64_t>();
  for (const json& item : *set) {
    cloud::Instance i = InstanceOf(item);
    if (serverless) i.type = "serverless";
    out.instances.push_back(Describe(i));
  }
  return out;
}

std::optional<Read> Fast(const std::string& body, bool serverless) {
  ListingReader reader(serverless);
  std::string request_id;
  if (!reader.Read(body, &request_id)) {
    CHECK_FALSE(reader.taken());
    return std::nullopt;
  }
  CHECK(reader.taken());
  Read out;
  out.total = reader.total();
  for (const cloud::Instance& i : reader.TakeInstances()) out.instances.push_back(Describe(i));
  return out;
}

// What the test found for one answer. `must_take`: the answer is one the reader is meant to
// take (a well-formed success); otherwise it may decline it.
struct Outcome {
  bool taken = false;
  bool agreed = true;
};

Outcome Compare(const std::string& body, bool must_take, bool serverless = false) {
  std::optional<Read> general = General(body, serverless);
  std::optional<Read> fast = Fast(body, serverless);
  Outcome o;
  o.taken = fast.has_value();
  if (fast && !general) {
    o.agreed = false;
    FAIL_CHECK("the reader took an answer the general path refuses:\n" << body.substr(0, 400));
    return o;
  }
  if (must_take && general && !fast) {
    o.agreed = false;
    FAIL_CHECK("the reader declined a well-formed answer:\n" << body.substr(0, 400));
    return o;
  }
  if (fast && general) {
    CHECK(fast->total == general->total);
    REQUIRE(fast->instances.size() == general->instances.size());
    for (size_t k = 0; k < fast->instances.size(); ++k) {
      if (fast->instances[k] != general->instances[k]) o.agreed = false;
      CHECK_MESSAGE(fast->instances[k] == general->instances[k], "instance ", k, " of:\n", body.substr(0, 400));
    }
  }
  return o;
}

// An instance as DescribeDBInstances gives it, with the fields the product ignores too.
json RandomInstance(std::mt19937& rng, int n) {
  auto pick = [&](std::vector<json> from) { return from[rng() % from.size()]; };
  json nets = json::array();
  for (int k = 0, count = static_cast<int>(rng() % 4); k < count; ++k) {
    nets.push_back({{"Address", "a" + std::to_string(rng() % 100) + ".pg.tencentcdb.com"},
                    {"Ip", "10.0." + std::to_string(rng() % 256) + "." + std::to_string(rng() % 256)},
                    {"NetType", pick({"private", "inner", "public", "", 5})},
                    {"Port", pick({5432, 5433, -1, 1.5, "5432"})},
                    {"Status", "opened"}, {"VpcId", "vpc-1"}});
  }
  json tags = json::array();
  for (int k = 0, count = static_cast<int>(rng() % 5); k < count; ++k) {
    tags.push_back({{"TagKey", pick({"reconciler/stack", "reconciler/resource", "team", "ключ", "a\"b"})},
                    {"TagValue", pick({"bench", "ReadOnlyInstance/r" + std::to_string(n), "", "значение \\ \u0001"})}});
  }
  json nodes = json::array();
  for (int k = 0, count = static_cast<int>(rng() % 3); k < count; ++k) {
    nodes.push_back({{"DedicatedClusterId", pick({"", "cluster-1", "cluster-2"})}, {"Role", "Primary"}, {"Zone", "z"}});
  }
  return {{"AppId", 1250000000},
          {"AutoRenew", pick({0, 1, 2})},
          {"CreateTime", "2026-12-03 20:59:" + std::to_string(10 + n % 50)},
          {"DBCharset", "UTF8"},
          {"DBInstanceClass", pick({"pg.it.small2", "pg.it.medium4"})},
          {"DBInstanceCpu", pick({1, 2, 4})},
          {"DBInstanceId", "pgro-" + std::to_string(1000000 + n)},
          {"DBInstanceMemory", pick({2, 4, 8})},
          {"DBInstanceName", pick({"r" + std::to_string(n), "", "名前 \"quoted\" \\ \t"})},
          {"DBInstanceNetInfo", nets},
          {"DBInstanceStatus", pick({"running", "applying", "isolated", "limited run"})},
          {"DBInstanceStorage", pick({100, 200})},
          {"DBInstanceType", pick({"readonly", "primary"})},
          {"DBNodeSet", nodes},
          {"DBVersion", "12.22"},
          {"DeletionProtection", pick({true, false})},
          {"ExpireTime", "0000-00-00 00:00:00"},
          {"MasterDBInstanceId", "postgres-abcdef"},
          {"NetworkAccessList", nullptr},
          {"PayType", pick({"postpaid", "prepaid"})},
          {"ProjectId", pick({0, 7})},
          {"Region", "ap-beijing"},
          {"SubnetId", "subnet-1"},
          {"SupportIpv6", pick({0, 1})},
          {"TagList", tags},
          {"Uid", 0},
          {"VpcId", "vpc-1"},
          {"Zone", "ap-beijing-4"}};
}

json Page(std::mt19937& rng, int size, uint64_t total) {
  json set = json::array();
  for (int n = 0; n < size; ++n) set.push_back(RandomInstance(rng, n));
  return {{"Response", {{"DBInstanceSet", set}, {"RequestId", "req-1"}, {"TotalCount", total}}}};
}

TEST_CASE("listing reader: generated pages read exactly as the general path reads them") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    const json page = Page(rng, static_cast<int>(rng() % 20), rng() % 1000);
    CHECK(Compare(page.dump(), true).taken);
    CHECK(Compare(page.dump(2), true).taken);  // whitespace is no matter
    CHECK(Compare(page.dump(), true, /*serverless=*/true).taken);
  }
}

TEST_CASE("listing reader: every field of every kind reads as the general path reads it") {
  std::mt19937 rng(7);
  const json base = Page(rng, 1, 1);
  const std::vector<json> kinds = {nullptr, true, false, 0, 1, -3, 2.5, 1e300, 18446744073709551615u, "", "text",
                                   json::array(), json::object(), json::array({1, "a", nullptr}),
                                   json{{"TagKey", "k"}, {"NetType", "private"}, {"Ip", "1.2.3.4"}},
                                   json::array({json{{"TagKey", "k"}, {"TagValue", "v"}}, "x", json::array()}),
                                   json::array({json{{"NetType", "inner"}, {"Ip", "9.9.9.9"}},
                                                json{{"NetType", "private"}, {"Ip", 3}, {"Port", json::array()}}})};
  size_t compared = 0;
  for (const auto& [field, value] : base["Response"]["DBInstanceSet"][0].items()) {
    for (const json& kind : kinds) {
      json page = base;
      page["Response"]["DBInstanceSet"][0][field] = kind;
      CHECK(Compare(page.dump(), true).agreed);
      ++compared;
    }
    // The fields inside the lists' objects, too.
    if (value.is_array() && !value.empty() && value[0].is_object()) {
      for (const auto& [inner, unused] : value[0].items()) {
        for (const json& kind : kinds) {
          json page = base;
          page["Response"]["DBInstanceSet"][0][field][0][inner] = kind;
          CHECK(Compare(page.dump(), true).agreed);
          ++compared;
        }
      }
    }
  }
  CHECK(compared > 400);
}

TEST_CASE("listing reader: a duplicate key reads as its last value, as the general path reads it") {
  std::mt19937 rng(99);
  const std::string page = Page(rng, 3, 3).dump();
  const std::vector<std::string> duplicates = {
      R"("DBInstanceId":"first",)",        R"("DBInstanceId":7,)",
      R"("TagList":[{"TagKey":"x","TagValue":"y"}],)", R"("DBInstanceNetInfo":[{"NetType":"private","Ip":"1.1.1.1"}],)",
      R"("DBNodeSet":[{"DedicatedClusterId":"c9"}],)", R"("DeletionProtection":true,)",
  };
  for (const std::string& dup : duplicates) {
    // Before the real field (the real one is last and wins) and after it (the duplicate wins).
    // Keys are dumped in order, so an item's first key follows "[{" and its last is Zone.
    std::string before = page, after = page;
    before.insert(page.find("[{\"") + 2, dup);
    const std::string last = R"("Zone":"ap-beijing-4")";
    REQUIRE(page.find(last) != std::string::npos);
    after.insert(page.find(last) + last.size(), "," + dup.substr(0, dup.size() - 1));
    CHECK(Compare(before, true).agreed);
    CHECK(Compare(after, true).agreed);
  }
  // Tags and addresses with duplicate keys inside their objects.
  CHECK(Compare(R"({"Response":{"TotalCount":1,"DBInstanceSet":[{"TagList":[{"TagKey":"a","TagKey":"b","TagValue":1,
      "TagValue":"v"}],"DBInstanceNetInfo":[{"NetType":"inner","Ip":"1","NetType":"private","Ip":"2"},
      {"NetType":"private","Ip":"3"}],"DBNodeSet":[{"DedicatedClusterId":"a","DedicatedClusterId":null}]}]}})",
                true)
            .agreed);
}

TEST_CASE("listing reader: answers the general path refuses are declined, so their errors read as before") {
  const std::vector<std::string> refused = {
      "",
      "null",
      "[]",
      R"({"Response":[]})",
      R"({"Response":"x"})",
      R"({"Response":{"Error":{"Code":"InternalError","Message":"m"},"RequestId":"r"}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[],"Error":{"Code":"X"}}})",
      R"({"Response":{"DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":-1,"DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":1.0,"DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":"1","DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[],"TotalCount":null}})",
      R"({"Response":{"TotalCount":1}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":{}}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":null}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{},3]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[[]]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[]}} trailing)",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[]}}{})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{"DBInstanceId":"a"})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{"DBInstanceId":"a\x"}]}})",
      // What the quick scanner checks itself: syntax, numbers, control characters, UTF-8.
      R"({"Response":{"TotalCount":01,"DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":-,"DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":+1,"DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":1.,"DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":.5,"DBInstanceSet":[]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[],}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{"A":tru}]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{"A":nul}]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{"A":1,}]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{"A" 1}]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{1:1}]}})",
      R"({"Response":{"TotalCount":1,"DBInstanceSet":[{'A':1}]}})",
      "{\"Response\":{\"TotalCount\":1,\"DBInstanceSet\":[{\"A\":\"tab\tinside\"}]}}",
      "{\"Response\":{\"TotalCount\":1,\"DBInstanceSet\":[{\"A\":\"\xC0\xAF\"}]}}",      // overlong
      "{\"Response\":{\"TotalCount\":1,\"DBInstanceSet\":[{\"A\":\"\xED\xA0\x80\"}]}}",  // a surrogate
      "{\"Response\":{\"TotalCount\":1,\"DBInstanceSet\":[{\"A\":\"\xF4\x90\x80\x80\"}]}}",  // past U+10FFFF
      "{\"Response\":{\"TotalCount\":1,\"DBInstanceSet\":[{\"A\":\"\xE4\xB8\"}]}}",  // cut short
      "{\"Response\":{\"TotalCount\":1,\"DBInstanceSet\":[{\"A\":\"\x80\"}]}}",
  };
  for (const std::string& body : refused) {
    CAPTURE(body);
    CHECK_FALSE(General(body, false).has_value());
    CHECK_FALSE(Fast(body, false).has_value());
  }
  // Nesting: the general path refuses more than kMaxJsonDepth levels, even in a field
  // nobody reads; the reader must too, and take exactly that many.
  auto nested = [](size_t levels) {
    std::string junk(levels - 4, '['), close(levels - 4, ']');  // 4: envelope, Response, set, item
    return R"({"Response":{"TotalCount":1,"DBInstanceSet":[{"Junk":)" + junk + close + "}]}}";
  };
  CHECK(Compare(nested(kMaxJsonDepth), true).taken);
  // nlohmann stops at a NUL byte; the general path's depth check reads past it. Text with a
  // NUL is the general path's to judge, whichever parser the page would have gone to.
  const std::string page = R"({"Response":{"TotalCount":0,"DBInstanceSet":[]}})";
  for (const std::string& body : {"\xEF\xBB\xBF" + page + std::string(1, '\0') + std::string(101, '['),
                                  R"({"Response":{"RequestId":"a\/b","TotalCount":0,"DBInstanceSet":[]}})" +
                                      std::string(1, '\0') + std::string(101, '['),
                                  page + std::string(1, '\0') + std::string(101, '[')}) {
    CHECK_FALSE(General(body, false).has_value());
    CHECK_FALSE(Fast(body, false).has_value());
  }
  CHECK_FALSE(General(nested(kMaxJsonDepth + 1), false).has_value());
  CHECK_FALSE(Fast(nested(kMaxJsonDepth + 1), false).has_value());
}

TEST_CASE("listing reader: numbers and strings the quick scanner leaves to nlohmann read alike") {
  // Escapes, fractions, exponents and integers out of range go to nlohmann's parser; edges
  // of the ranges and well-formed UTF-8 stay with the scanner. Either way: as the general path.
  const std::vector<std::string> values = {
      "0", "-0", "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
      "1.0", "-2.5", "1e2", "1E+2", "2e-1", "\"a\\\"b\"", "\"\\u00e9\\ud83d\\ude00\"", "\"\\n\"",
      "\"\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xEF\xBF\xBF\"", "\"\x7F\"", "true", "null", "[]", "{}"};
  for (const std::string& field : {"DBInstanceId", "DBInstanceCpu", "DeletionProtection", "AutoRenew", "Unread"}) {
    for (const std::string& v : values) {
      const std::string body = R"({"Response":{"TotalCount":3,"DBInstanceSet":[{")" + field + "\":" + v +
                               R"(,"TagList":[{"TagKey":"k","TagValue":)" + v + "}]}]}}";
      CAPTURE(body);
      CHECK(Compare(body, true).taken);
    }
  }
  CHECK(Compare("\xEF\xBB\xBF" + std::string(R"({"Response":{"TotalCount":0,"DBInstanceSet":[]}})"), true).taken);
  CHECK(Compare(" \t\r\n{ \"Response\" : { \"TotalCount\" : 0 , \"DBInstanceSet\" : [ ] } } \n", true).taken);
}

TEST_CASE("listing reader: corrupted answers are read as the general path reads them, or declined") {
  std::mt19937 rng(2026);
  const std::string page = Page(rng, 4, 4).dump();
  const std::string alphabet = std::string("{}[],:\"\\0123456789-.eE truefalsn\xC3\xA9\xED\xBF") + '\0';
  size_t taken = 0, runs = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string body = page;
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const size_t at = rng() % body.size();
      switch (rng() % 4) {
        case 0: body.resize(at); break;                                      // cut short
        case 1: body[at] = alphabet[rng() % alphabet.size()]; break;         // a byte changed
        case 2: body.insert(at, 1, alphabet[rng() % alphabet.size()]); break;  // a byte added
        default: body.erase(at, 1 + rng() % 8); break;                       // bytes lost
      }
      if (body.empty()) break;
    }
    Outcome o = Compare(body, false);
    taken += o.taken;
    ++runs;
    if (!o.agreed) break;
  }
  CHECK(runs == 3000);
  // Some edits leave valid JSON (a digit changed, a space added): both paths must take those alike.
  CHECK(taken > 0);
}

}  // namespace
}  // namespace reconciler::tencentcloud
