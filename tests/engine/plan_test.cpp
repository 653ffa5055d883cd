#include "engine/plan.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "ui/plan_render.h"

namespace reconciler {
namespace {

using nlohmann::json;

Plan Sample() {
  Plan p;
  p.stack = "orders";
  p.created_at = "2026-11-23T00:00:00Z";
  p.stack_dir = "/srv/orders";
  p.regions = {"ap-beijing"};
  p.masters = {{"ap-beijing", "postgres-abcdef"}};
  p.observed = {{"pgro-1", "running pg.it.small2 100GB"}};
  p.state_generation = 12;
  Change create;
  create.id = "c1";
  create.action = Action::kCreate;
  create.key = {specs::Kind::kReadOnlyInstance, "reports"};
  create.region = "ap-beijing";
  create.reason = "count 1 -> 3";
  create.count = 2;
  create.replica = cloud::ReplicaRequest{};
  create.replica->zone = "ap-beijing-4";
  create.replica->master_id = "postgres-abcdef";
  create.replica->spec_code = "pg.it.small2";
  create.replica->storage_gb = 100;
  create.replica->tags = {{"team", "data"}};
  create.replica->activity_id = 7;
  create.preflight = {PreflightState::kPassed, 1, "", "", "", "DryRun passed for 1 call(s)"};
  create.cost = std::map<std::string, int64_t>{{"CNY/month", 123456}};
  Change update;
  update.id = "c2";
  update.action = Action::kUpdate;
  update.key = {specs::Kind::kReadOnlyInstance, "reports"};
  update.instance_ids = {"pgro-1"};
  update.reason = "drift on pgro-1: instanceName";
  update.fields = {{"instanceName", "\"a\"", "\"b\""}};
  update.update.name = "b";
  update.update.tags_remove = {"owner"};
  p.changes = {create, update};
  return p;
}

TEST_CASE("plan: JSON round-trips every field apply needs") {
  Plan p = Sample();
  json j = PlanToJson(p);
  CHECK(j["formatVersion"] == 1);
  CHECK(j["summary"]["create"] == 1);
  CHECK(j["summary"]["update"] == 1);
  CHECK(j["summary"]["cost"]["CNY/month"] == 123456);
  Result<Plan> back = PlanFromJson(json::parse(j.dump()));
  REQUIRE(back.ok());
  CHECK(PlanToJson(*back) == j);
  CHECK(back->changes[0].replica->activity_id == 7);
  CHECK(back->changes[1].update.name == "b");
  CHECK(back->masters == p.masters);
}

TEST_CASE("plan: a damaged or foreign plan file is refused with the reason") {
  CHECK(PlanFromJson(json::parse(R"({"hello": 1})")).status().message().find("not a reconciler plan") != std::string::npos);
  json j = PlanToJson(Sample());
  j["formatVersion"] = 2;
  CHECK(PlanFromJson(j).status().message().find("format version 2") != std::string::npos);
  j = PlanToJson(Sample());
  j["changes"][0]["action"] = "teleport";
  CHECK(PlanFromJson(j).status().message().find("unknown action") != std::string::npos);
  j = PlanToJson(Sample());
  j["changes"][0].erase("count");
  CHECK(PlanFromJson(j).status().message().find("damaged") != std::string::npos);
}

TEST_CASE("plan: the human rendering shows symbols, fields, reasons, prices and the summary") {
  std::string text = RenderPlanText(Sample(), false);
  CHECK(text.find("  + ReadOnlyInstance/reports  create 2 replica(s)") != std::string::npos);
  CHECK(text.find("  ~ ReadOnlyInstance/reports[pgro-1]  update in place") != std::string::npos);
  CHECK(text.find("instanceName: \"a\" \xe2\x86\x92 \"b\"") != std::string::npos);
  CHECK(text.find("reason: count 1 -> 3") != std::string::npos);
  CHECK(text.find("price: +\xc2\xa5" "1,234.56/month") != std::string::npos);
  CHECK(text.find("Plan: 1 to create, 1 to update, 0 to destroy. Cost: +\xc2\xa5" "1,234.56/month.") != std::string::npos);
  CHECK(text.find("\033[") == std::string::npos);
  CHECK(RenderPlanText(Sample(), true).find("\033[32m") != std::string::npos);
}

TEST_CASE("plan: the Markdown rendering is a table for pull requests") {
  std::string md = RenderPlanMarkdown(Sample());
  CHECK(md.find("| | Resource | Change | Reason | Preflight | Cost |") != std::string::npos);
  CHECK(md.find("| `+` | `ReadOnlyInstance/reports` | create 2 replica(s) |") != std::string::npos);
  CHECK(md.find("**Plan: 1 to create") != std::string::npos);
}

TEST_CASE("plan: an empty plan says there is nothing to do") {
  Plan p;
  p.stack = "orders";
  CHECK(RenderPlanText(p, false).rfind("No changes.", 0) == 0);
  CHECK(RenderPlanMarkdown(p).find("**No changes.**") != std::string::npos);
}

TEST_CASE("plan: yuan are grouped by thousands") {
  CHECK(FormatYuan(0) == "\xc2\xa5" "0.00");
  CHECK(FormatYuan(123456789) == "\xc2\xa5" "1,234,567.89");
  CHECK(FormatYuan(-5) == "-\xc2\xa5" "0.05");
  CHECK(FormatYuan(100000) == "\xc2\xa5" "1,000.00");
}

}  // namespace
}  // namespace reconciler
