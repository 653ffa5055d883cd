// Every request the provider builds, checked against the official SDKs' request models for
// the site it talks to. The models come from tools/sdk-conformance/models.json, which
// extract-models.mjs derives from pinned npm packages of the official Node SDKs (and
// sdk_conformance_test.cpp proves it still matches them). A parameter the site's model does
// not define, or a value of the wrong JSON type, is what the real API answers with
// UnknownParameter or InvalidParameter, so it fails here.

#include <doctest/doctest.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "base/clock.h"
#include "tests/support/loopback_server.h"

namespace reconciler::tencentcloud {
namespace {

using nlohmann::json;
namespace c = reconciler::cloud;

json LoadModels() {
  std::ifstream in(std::string(RECONCILER_SOURCE_DIR) + "/tools/sdk-conformance/models.json");
  std::stringstream buf;
  buf << in.rdbuf();
  return json::parse(buf.str());
}

// Why `value` does not fit `type` ("string", "number", "boolean", a struct name, each
// optionally followed by "[]"), or "" when it does.
std::string Misfit(const json& structs, const std::string& type, const json& value, const std::string& path) {
  if (type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0) {
    if (!value.is_array()) return path + " must be an array of " + type.substr(0, type.size() - 2);
    for (size_t i = 0; i < value.size(); ++i) {
      std::string why = Misfit(structs, type.substr(0, type.size() - 2), value[i], path + "." + std::to_string(i));
      if (!why.empty()) return why;
    }
    return "";
  }
  if (type == "string") return value.is_string() ? "" : path + " must be a string";
  if (type == "number") return value.is_number() ? "" : path + " must be a number";
  if (type == "boolean") return value.is_boolean() ? "" : path + " must be a boolean";
  auto fields = structs.find(type);
  if (fields == structs.end()) return path + ": the model has no struct " + type;
  if (!value.is_object()) return path + " must be an object (" + type + ")";
  for (const auto& [key, v] : value.items()) {
    auto field = fields->find(key);
    if (field == fields->end()) return path + "." + key + " is not a field of " + type;
    std::string why = Misfit(structs, field->get<std::string>(), v, path + "." + key);
    if (!why.empty()) return why;
  }
  return "";
}

struct Sent {
  std::string service;
  std::string action;
  json body;
};

// A server that records every call and answers each action with a minimal success.
class RecordingServer {
 public:
  RecordingServer() {
    srv_.server().Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      std::string action = req.get_header_value("X-TC-Action");
      std::string auth = req.get_header_value("Authorization");
      // Credential=AKID/<date>/<service>/tc3_request
      size_t start = auth.find('/', auth.find('/') + 1) + 1;
      std::string service = auth.substr(start, auth.find('/', start) - start);
      {
        std::lock_guard<std::mutex> lock(mu_);
        sent_.push_back({service, action, json::parse(req.body, nullptr, false)});
      }
      res.set_content(json{{"Response", Answer(action)}}.dump(), "application/json");
    });
    srv_.Start();
  }
  std::string url() const { return srv_.url(); }
  std::vector<Sent> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(sent_, {});
  }

 private:
  static json Answer(const std::string& action) {
    json r = {{"RequestId", "req-1"}};
    if (action == "DescribeDBInstances" || action == "DescribeServerlessDBInstances") {
      r["TotalCount"] = 0;
      r["DBInstanceSet"] = json::array();
    } else if (action == "DescribeReadOnlyGroups") {
      r["ReadOnlyGroupList"] = json::array();
    } else if (action == "DescribeDBInstanceAttribute") {
      r["DBInstance"] = {{"DBInstanceId", "pgro-1"}, {"DBInstanceStatus", "running"}};
    } else if (action == "DescribeZones") {
      r["ZoneSet"] = json::array();
    } else if (action == "DescribeClasses") {
      r["ClassInfoSet"] = json::array();
    } else if (action == "DescribeOrders") {
      r["Deals"] = json::array();
    } else if (action == "CreateReadOnlyDBInstance") {
      r["DealNames"] = {"d1"};
      r["BillId"] = "b1";
      r["DBInstanceIdSet"] = {"pgro-1"};
    } else if (action == "CreateServerlessDBInstance") {
      r["DBInstanceId"] = "postgres-1";
    } else if (action == "CreateReadOnlyGroup") {
      r["ReadOnlyGroupId"] = "pgrogrp-1";
    } else if (action == "ModifyDBInstanceSpec") {
      r["DealName"] = "d2";
    } else if (action == "TagResources") {
      r["FailedResources"] = json::array();
    }
    return r;
  }

  std::mutex mu_;
  std::vector<Sent> sent_;
  testing::LoopbackServer srv_;  // last: stopped first, before what its handler touches
};

// Every method of the provider, with every optional field set, on `site`.
std::vector<Sent> EveryRequest(Site site, std::vector<std::string>* refused) {
  RecordingServer server;
  SystemClock clock;
  CloudConfig config;
  config.credentials.secret_id = "AKIDshape";
  config.credentials.secret_key = Secret("shape-secret");
  config.endpoints.SetOverride(server.url());
  auto transport = NewCurlTransport({});
  ApiClient client(std::move(config), transport.get(), &clock);
  RateBudget budget(&clock, &DocumentedRateLimit);
  TencentCloudOptions options;
  options.site = site;
  TencentCloud cloud(&client, &budget, &clock, options);

  const std::string r = "ap-beijing";
  c::ReplicaRequest q;
  q.region = r;
  q.zone = "ap-beijing-4";
  q.master_id = "postgres-abcdef";
  q.spec_code = "pg.it.small2";
  q.storage_gb = 100;
  q.count = 2;
  q.period_months = 3;
  q.vpc_id = "vpc-8btfafeo";
  q.subnet_id = "subnet-1i9huswn";
  q.prepaid = true;
  q.auto_voucher = true;
  q.voucher_ids = {"v-1"};
  q.auto_renew = true;
  q.project_id = 1;
  q.activity_id = 7;
  q.group_id = "pgrogrp-1";
  q.security_group_ids = {"sg-iwnfp51z"};
  q.ipv6 = true;
  q.name = "reports";
  q.dedicated_cluster_id = "cluster-1";
  q.deletion_protection = true;
  q.tags = {{c::kStackTag, "s"}, {c::kResourceTag, "ReadOnlyInstance/reports"},
            {c::kOperationTag, "s/ReadOnlyInstance/reports/op-1"}, {"team", "data"}};
  CHECK(cloud.CreateReplicas(q, c::DryRun::kYes).ok());
  CHECK(cloud.CreateReplicas(q, c::DryRun::kNo).ok());
  q.prepaid = false;
  CHECK(cloud.CreateReplicas(q, c::DryRun::kNo).ok());

  c::ServerlessRequest sq{r, "ap-beijing-1", "sandbox", "10.4", "UTF8", 1, "vpc-8btfafeo", "subnet-1i9huswn",
                          {{c::kStackTag, "s"}, {"team", "data"}}};
  CHECK(cloud.CreateServerless(sq, c::DryRun::kYes).ok());
  CHECK(cloud.CreateServerless(sq, c::DryRun::kNo).ok());
  c::GroupRequest gq{r, "postgres-abcdef", "reports-group", 1, "vpc-8btfafeo", "subnet-1i9huswn", true, true, 10, 512,
                     50, {"sg-iwnfp51z"}};
  CHECK(cloud.CreateGroup(gq).ok());

  CHECK(cloud.ListInstances(r, {{c::kStackTag, c::kOperationTag}, {}}).ok());
  CHECK(cloud.ListInstances(r, {{}, {"pgro-1", "pgro-2"}}).ok());
  CHECK(cloud.ListServerless(r, c::kStackTag).ok());
  CHECK(cloud.ListGroups(r, "postgres-abcdef").ok());
  CHECK(cloud.DescribeInstance(r, "pgro-1").ok());
  CHECK(cloud.DescribeZones(r).ok());
  CHECK(cloud.DescribeClasses(r, "ap-beijing-4", "12").ok());
  CHECK(cloud.InquiryPrice({r, "ap-beijing-4", "pg.it.small2", 100, 2, 3, true}).ok());
  CHECK(cloud.InquiryPrice({r, "ap-beijing-4", "pg.it.small2", 100, 2, 1, false}).ok());
  CHECK(cloud.DescribeOrders(r, {"d1", "d2"}).ok());
  CHECK(cloud.ModifySpec(r, "pgro-1", 4, 2, 200).ok());
  CHECK(cloud.ModifyName(r, "pgro-1", "reports").ok());
  Status protection = cloud.ModifyDeletionProtection(r, "pgro-1", true);
  if (!protection.ok()) refused->push_back("ModifyDBInstanceDeletionProtection: " + protection.message());
  CHECK(cloud.ModifySecurityGroups(r, "pgro-1", {"sg-iwnfp51z"}).ok());
  CHECK(cloud.MoveToGroup(r, "pgro-1", "pgrogrp-1", "pgrogrp-2").ok());
  CHECK(cloud.ModifyGroupConfig(r, "pgrogrp-1", {"reports-group", true, true, 10, 512, 50}).ok());
  CHECK(cloud.ModifyTags(r, "pgro-1", {{"team", "data"}}, {"old"}).ok());
  CHECK(cloud.TagInstances(r, {"pgro-1", "pgro-2"}, {{c::kStackTag, "s"}, {"team", "data"}}).ok());
  CHECK(cloud.Isolate(r, "pgro-1").ok());
  CHECK(cloud.Restore(r, "pgro-1").ok());
  CHECK(cloud.Destroy(r, "pgro-1").ok());
  CHECK(cloud.DeleteServerless(r, "postgres-1").ok());
  CHECK(cloud.DeleteGroup(r, "pgrogrp-1").ok());
  return server.Take();
}

// Checks every request against `site`'s models; returns one line per violation.
std::vector<std::string> Violations(const json& models, const std::string& site, const std::vector<Sent>& sent) {
  std::vector<std::string> out;
  const json& structs = models["structs"][site];
  for (const Sent& s : sent) {
    const std::string where = site + " " + s.action;
    const json* actions = models["sites"][site].contains(s.service) ? &models["sites"][site][s.service] : nullptr;
    if (!actions || !actions->contains(s.action)) {
      out.push_back(where + ": not an action of " + s.service + " in the models");
      continue;
    }
    const json& params = (*actions)[s.action]["params"];
    if (params.is_null()) {
      out.push_back(where + ": the site does not have this action");
      continue;
    }
    for (const auto& [key, value] : s.body.items()) {
      // The seed page documents a validation mode for the two create actions; the project
      // sends it as DryRun (tencent-api.md, "Decisions for this project").
      if (key == "DryRun" && (s.action == "CreateReadOnlyDBInstance" || s.action == "CreateServerlessDBInstance")) {
        if (!value.is_boolean()) out.push_back(where + ": DryRun must be a boolean");
        continue;
      }
      if (!params.contains(key)) {
        out.push_back(where + ": " + key + " is not a parameter of the site's model");
        continue;
      }
      std::string why = Misfit(structs, params[key].get<std::string>(), value, key);
      if (!why.empty()) out.push_back(where + ": " + why);
    }
  }
  return out;
}

TEST_CASE("request shapes: every request fits the official SDK model of the international site") {
  json models = LoadModels();
  std::vector<std::string> refused;
  std::vector<Sent> sent = EveryRequest(Site::kIntl, &refused);
  CHECK(sent.size() >= 28);  // every call but ModifyDBInstanceDeletionProtection
  // ModifyReadOnlyGroupConfig carries the whole config, with the SDK's field names and types.
  auto config = std::find_if(sent.begin(), sent.end(), [](const Sent& s) { return s.action == "ModifyReadOnlyGroupConfig"; });
  REQUIRE(config != sent.end());
  CHECK(config->body == json{{"ReadOnlyGroupId", "pgrogrp-1"}, {"ReadOnlyGroupName", "reports-group"},
                             {"ReplayLagEliminate", 1}, {"ReplayLatencyEliminate", 1}, {"MaxReplayLag", 10},
                             {"MaxReplayLatency", 512}, {"MinDelayEliminateReserve", 50}});
  for (const std::string& v : Violations(models, "intl", sent)) FAIL_CHECK(v);
  // The international site has no ModifyDBInstanceDeletionProtection: it is never sent there.
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].find("international site") != std::string::npos);
  for (const Sent& s : sent) CHECK(s.action != "ModifyDBInstanceDeletionProtection");
  // A replica purchase carries exactly one tag, the operation's, as TagList.
  for (const Sent& s : sent) {
    if (s.action != "CreateReadOnlyDBInstance") continue;
    CHECK_FALSE(s.body.contains("Tags"));
    REQUIRE(s.body.contains("TagList"));
    CHECK(s.body["TagList"]["TagKey"] == c::kOperationTag);
  }
}

TEST_CASE("request shapes: every request fits the official SDK model of the China site") {
  json models = LoadModels();
  std::vector<std::string> refused;
  std::vector<Sent> sent = EveryRequest(Site::kChina, &refused);
  CHECK(refused.empty());
  for (const std::string& v : Violations(models, "china", sent)) FAIL_CHECK(v);
  for (const Sent& s : sent) {
    if (s.action != "CreateReadOnlyDBInstance") continue;
    CHECK_FALSE(s.body.contains("TagList"));
    REQUIRE(s.body.contains("Tags"));
    CHECK(s.body["Tags"].size() == 4);
  }
}

TEST_CASE("request shapes: what is sent to an unknown endpoint (intl shapes) the China site accepts too") {
  json models = LoadModels();
  std::vector<std::string> refused;
  for (const std::string& v : Violations(models, "china", EveryRequest(Site::kIntl, &refused))) FAIL_CHECK(v);
}

TEST_CASE("request shapes: the checker catches what the real API would refuse") {
  json models = LoadModels();
  std::vector<Sent> bad = {
      {"postgres", "CreateReadOnlyDBInstance", {{"Tags", json::array()}}},         // not on intl
      {"postgres", "CreateReadOnlyDBInstance", {{"TagList", json::array()}}},      // one object, not a list
      {"postgres", "CreateReadOnlyDBInstance", {{"Storage", "100"}}},              // a number
      {"postgres", "CreateReadOnlyDBInstance", {{"DeletionProtection", 1}}},       // a boolean
      {"postgres", "DescribeDBInstances", {{"Filters", {{{"Name", "x"}, {"Values", "y"}}}}}},  // Values: a list
      {"postgres", "ModifyDBInstanceDeletionProtection", {{"DBInstanceId", "x"}}},  // no such action on intl
      {"postgres", "ModifyReadOnlyGroupConfig", {{"MaxReplayLag", "10"}}},          // a number
      {"postgres", "ModifyReadOnlyGroupConfig", {{"MaxReplayLagSeconds", 10}}},     // no such field
      {"tag", "TagResources", {{"Tags", {{{"TagKey", "k"}, {"Value", "v"}}}}}},     // no field Value
  };
  std::vector<std::string> found = Violations(models, "intl", bad);
  CHECK(found.size() == bad.size());
}

TEST_CASE("request shapes: the checked-in models name both sites and their pinned sources") {
  // The checked-in model must name both sites and the sources it was derived from.
  json models = LoadModels();
  CHECK(models["sources"]["intl"]["postgres"].get<std::string>().find("tencentcloud-sdk-nodejs-intl-en@") == 0);
  CHECK(models["sources"]["china"]["postgres"].get<std::string>().find("tencentcloud-sdk-nodejs@") == 0);
}

}  // namespace
}  // namespace reconciler::tencentcloud
