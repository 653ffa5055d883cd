// `reconciler schema`: the schemas compiled into the binary are specs/schema/ byte for byte,
// each carries an $id its neighbours' relative $refs resolve against, every property is
// described, and every `default` is the value the loader applies. Also: output and show take
// the cloud flags.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "base/clock.h"
#include "specs/project.h"
#include "specs/spec_loader.h"
#include "state/sqlite/sqlite_state_store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kSchemaFiles = {"project.schema.json", "readonlygroup.schema.json",
                                               "readonlyinstance.schema.json", "resource.schema.json",
                                               "serverlessinstance.schema.json"};

ProcessResult Reconciler(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), BinaryPath("reconciler"));
  return RunProcess(args, env);
}

json SourceSchema(const std::string& file) { return json::parse(ReadFile(SourcePath("specs/schema/" + file))); }

TEST_CASE("schema: --out writes the five schemas of specs/schema byte for byte") {
  std::set<std::string> in_source;
  for (const auto& e : fs::directory_iterator(SourcePath("specs/schema"))) {
    if (e.path().filename().string().ends_with(".schema.json")) in_source.insert(e.path().filename().string());
  }
  REQUIRE(in_source == std::set<std::string>(kSchemaFiles.begin(), kSchemaFiles.end()));

  TempDir dir("schema-out");
  const fs::path out = dir.path() / "editor" / ".schemas";  // parents are made too
  ProcessResult r = Reconciler({"schema", "--out", out.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::set<std::string> written;
  for (const auto& e : fs::directory_iterator(out)) written.insert(e.path().filename().string());
  CHECK(written == in_source);
  for (const std::string& file : kSchemaFiles) {
    CAPTURE(file);
    CHECK(ReadFile((out / file).string()) == ReadFile(SourcePath("specs/schema/" + file)));
    CHECK(r.out.find("wrote " + (out / file).string() + "\n") != std::string::npos);
  }

  SUBCASE("a second run overwrites them") {
    std::ofstream(out / "project.schema.json") << "stale";
    ProcessResult again = Reconciler({"schema", "project", "--out", out.string()});
    CHECK(again.exit_code == 0);
    CHECK(again.out == "wrote " + (out / "project.schema.json").string() + "\n");
    CHECK(ReadFile((out / "project.schema.json").string()) == ReadFile(SourcePath("specs/schema/project.schema.json")));
  }
}

TEST_CASE("schema: without --out prints the resource schema, or the one named") {
  ProcessResult r = Reconciler({"schema"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == ReadFile(SourcePath("specs/schema/resource.schema.json")));
  ProcessResult project = Reconciler({"schema", "project"});
  CHECK(project.exit_code == 0);
  CHECK(project.out == ReadFile(SourcePath("specs/schema/project.schema.json")));
  ProcessResult by_file = Reconciler({"schema", "readonlygroup.schema.json"});
  CHECK(by_file.out == ReadFile(SourcePath("specs/schema/readonlygroup.schema.json")));
}

TEST_CASE("schema: bad names and directories are refused with a reason") {
  TempDir dir("schema-bad");
  SUBCASE("an unknown schema") {
    ProcessResult r = Reconciler({"schema", "resorce", "--out", (dir.path() / "out").string()});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("unknown schema \"resorce\"; did you mean \"resource\"?") != std::string::npos);
    CHECK(r.err.find("project, readonlygroup, readonlyinstance, resource, serverlessinstance") != std::string::npos);
    CHECK(r.out.empty());
    CHECK(!fs::exists(dir.path() / "out"));
  }
  SUBCASE("--out names a file") {
    const std::string file = dir.Write("notes.txt", "mine\n");
    ProcessResult r = Reconciler({"schema", "--out", file});
    CHECK(r.exit_code == 3);
    CHECK(r.err == "reconciler schema: --out " + file + " exists and is not a directory\n");
    CHECK(ReadFile(file) == "mine\n");
  }
  SUBCASE("--out cannot be made (a parent is a file)") {
    const std::string file = dir.Write("notes.txt", "mine\n");
    ProcessResult r = Reconciler({"schema", "--out", file + "/schemas"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("reconciler schema: cannot create directory " + file + "/schemas: ") == 0);
    CHECK(r.out.empty());
  }
}

// Each `properties` entry of `node` and below, as "path: entry", for those without a
// description. if/then/else/not only restrict properties declared (and described) beside them.
void Undescribed(const json& node, const std::string& path, std::vector<std::string>* out) {
  if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) Undescribed(node[i], path + "/" + std::to_string(i), out);
    return;
  }
  if (!node.is_object()) return;
  if (node.contains("properties") && node["properties"].is_object()) {
    for (const auto& [name, p] : node["properties"].items()) {
      if (!p.contains("description") || !p["description"].is_string() || p["description"].get<std::string>().empty()) {
        out->push_back(path + "/properties/" + name);
      }
    }
  }
  for (const auto& [key, child] : node.items()) {
    if (key == "if" || key == "then" || key == "else" || key == "not") continue;
    Undescribed(child, path + "/" + key, out);
  }
}

void Refs(const json& node, std::vector<std::string>* out) {
  if (node.is_object() && node.contains("$ref")) out->push_back(node["$ref"]);
  if (node.is_structured()) {
    for (const auto& child : node) Refs(child, out);
  }
}

TEST_CASE("schema: every schema has an $id under one base, and every property a description") {
  std::set<std::string> ids;
  std::string base;
  for (const std::string& file : kSchemaFiles) {
    CAPTURE(file);
    const json schema = SourceSchema(file);
    REQUIRE(schema.contains("$id"));
    const std::string id = schema["$id"];
    REQUIRE(id.ends_with("/" + file));
    CHECK(id.rfind("https://", 0) == 0);
    const std::string this_base = id.substr(0, id.size() - file.size());
    if (base.empty()) base = this_base;
    CHECK(this_base == base);
    ids.insert(id);
    std::vector<std::string> undescribed;
    Undescribed(schema, "", &undescribed);
    CAPTURE(json(undescribed).dump());
    CHECK(undescribed.empty());
  }
  // A relative $ref resolves against the $id's base, so it must name a schema of the set.
  int relative = 0;
  for (const std::string& file : kSchemaFiles) {
    std::vector<std::string> refs;
    Refs(SourceSchema(file), &refs);
    for (const std::string& ref : refs) {
      if (ref.rfind("#", 0) == 0) continue;
      CAPTURE(ref);
      CHECK(ids.count(base + ref) == 1);
      ++relative;
    }
  }
  CHECK(relative == 3);  // resource.schema.json's three kinds
}

// Every `default` in a schema, keyed "file:path" with property names joined by '.' and "[]"
// for array items (e.g. "project.schema.json:daemon.notify[].format").
void Defaults(const json& node, const std::string& prefix, std::map<std::string, json>* out) {
  if (!node.is_object()) return;
  if (node.contains("properties")) {
    for (const auto& [name, p] : node["properties"].items()) {
      const std::string path = prefix + (prefix.ends_with(":") ? "" : ".") + name;
      if (p.contains("default")) (*out)[path] = p["default"];
      Defaults(p, path, out);
    }
  }
  if (node.contains("items")) Defaults(node["items"], prefix + "[]", out);
  if (node.contains("$defs")) {
    for (const auto& [name, d] : node["$defs"].items()) Defaults(d, prefix, out);
  }
}

int64_t Seconds(const json& duration) {
  int64_t seconds = -1;
  if (duration.is_string()) specs::ParseDuration(duration.get<std::string>(), &seconds);
  return seconds;
}

TEST_CASE("schema: each default in the schemas is what the loader applies") {
  // The smallest stack the loader accepts, one resource of each kind, nothing optional set.
  specs::StackSource source;
  source.dir = "stack";
  source.project = specs::StackFile{"reconciler.yaml",
                                    "stack: defaults\nprovider: {tencentcloud: {region: ap-beijing}}\n"
                                    "daemon: {notify: [{url: https://hooks.example/x}]}\n"};
  source.files.push_back(
      {"all.yaml",
       "apiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: r}\nspec: {zone: ap-beijing-4, "
       "masterInstanceId: postgres-abcdef, specCode: pg.it.small2, storageGB: 100, vpcId: vpc-a1, subnetId: subnet-a1}\n"
       "---\napiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: g}\nspec: {masterInstanceId: "
       "postgres-abcdef, vpcId: vpc-a1, subnetId: subnet-a1}\n"
       "---\napiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: s}\nspec: {zone: ap-beijing-1}\n"});
  specs::LoadedStack stack = specs::LoadStack(source);
  INFO(stack.RenderDiagnostics());
  REQUIRE(stack.ok());
  const specs::DesiredState& d = stack.desired;
  const specs::ReadOnlyInstanceSpec* replica = d.Find({specs::Kind::kReadOnlyInstance, "r"})->replica();
  const specs::ReadOnlyGroupSpec* group = d.Find({specs::Kind::kReadOnlyGroup, "g"})->group();
  const specs::ServerlessInstanceSpec* serverless = d.Find({specs::Kind::kServerlessInstance, "s"})->serverless();
  const specs::Project& p = d.project;
  REQUIRE(p.daemon.notify.size() == 1);

  // What the loader made of each field left out. Durations are compared in seconds.
  std::map<std::string, json> loaded = {
      {"readonlyinstance.schema.json:spec.count", replica->count},
      {"readonlyinstance.schema.json:spec.periodMonths", replica->period_months},
      {"readonlyinstance.schema.json:spec.chargeType", specs::ChargeTypeName(replica->charge_type)},
      {"readonlyinstance.schema.json:spec.autoVoucher", replica->auto_voucher},
      {"readonlyinstance.schema.json:spec.autoRenew", replica->auto_renew},
      {"readonlyinstance.schema.json:spec.projectId", replica->project_id},
      {"readonlyinstance.schema.json:spec.needSupportIpv6", replica->need_support_ipv6},
      {"readonlyinstance.schema.json:spec.deletionProtection", replica->deletion_protection},
      {"readonlyinstance.schema.json:spec.deletionPolicy", specs::DeletionPolicyName(replica->deletion_policy)},
      {"readonlygroup.schema.json:spec.projectId", group->project_id},
      {"readonlygroup.schema.json:spec.replayLagEliminate", group->replay_lag_eliminate},
      {"readonlygroup.schema.json:spec.maxReplayLagSeconds", group->max_replay_lag_seconds},
      {"readonlygroup.schema.json:spec.maxReplayLatencyMB", group->max_replay_latency_mb},
      {"readonlygroup.schema.json:spec.minDelayEliminateReserve", group->min_delay_eliminate_reserve},
      {"readonlygroup.schema.json:spec.deletionPolicy", specs::DeletionPolicyName(group->deletion_policy)},
      {"serverlessinstance.schema.json:spec.dbVersion", serverless->db_version},
      {"serverlessinstance.schema.json:spec.dbCharset", serverless->db_charset},
      {"serverlessinstance.schema.json:spec.projectId", serverless->project_id},
      {"serverlessinstance.schema.json:spec.deletionPolicy", specs::DeletionPolicyName(serverless->deletion_policy)},
      {"project.schema.json:state", p.state},
      {"project.schema.json:provider.tencentcloud.purchaseSearchWindow", p.purchase_search_window_seconds},
      {"project.schema.json:provider.tencentcloud.orderDeadline", p.order_deadline_seconds},
      {"project.schema.json:provider.tencentcloud.runningDeadline", p.running_deadline_seconds},
      {"project.schema.json:provider.tencentcloud.preflightMaxAge", p.preflight_max_age_seconds},
      {"project.schema.json:daemon.interval", p.daemon.interval_seconds},
      {"project.schema.json:daemon.gitPoll", p.daemon.poll_seconds},
      {"project.schema.json:daemon.reminder", p.daemon.reminder_seconds},
      {"project.schema.json:daemon.autoApply", p.daemon.auto_apply},
      {"project.schema.json:daemon.allowDestroy", p.daemon.allow_destroy},
      {"project.schema.json:daemon.listen", p.daemon.listen},
      {"project.schema.json:daemon.drift", p.daemon.drift},
      {"project.schema.json:daemon.notify[].format", p.daemon.notify[0].format},
  };
  // A field `defaults` leaves out takes the spec's own default: the replica's, which has them all.
  for (const char* field : {"periodMonths", "chargeType", "autoVoucher", "autoRenew", "projectId", "needSupportIpv6",
                            "deletionProtection", "deletionPolicy"}) {
    loaded[std::string("project.schema.json:defaults.") + field] =
        loaded.at(std::string("readonlyinstance.schema.json:spec.") + field);
  }

  std::map<std::string, json> in_schema;
  for (const std::string& file : kSchemaFiles) Defaults(SourceSchema(file), file + ":", &in_schema);
  // Every default the schemas state is checked here, and every checked one is stated.
  std::set<std::string> stated, checked;
  for (const auto& [path, value] : in_schema) stated.insert(path);
  for (const auto& [path, value] : loaded) checked.insert(path);
  CHECK(stated == checked);
  for (const auto& [path, value] : in_schema) {
    if (!loaded.count(path)) continue;
    CAPTURE(path);
    CAPTURE(value.dump());
    const json& want = loaded.at(path);
    if (value.is_string() && want.is_number_integer() && Seconds(value) >= 0) CHECK(Seconds(value) == want.get<int64_t>());
    else CHECK(value == want);
  }
}

TEST_CASE("output and show take --profile, --region, --endpoint and --log-level") {
  // A group needs no zone, so --region may move it; the project names another endpoint.
  TempDir dir("output-flags");
  dir.Write("stack/reconciler.yaml",
            "stack: flags\nprovider: {tencentcloud: {region: ap-beijing, endpoint: \"http://127.0.0.1:2\"}}\n");
  dir.Write("stack/group.yaml",
            "apiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: g}\nspec: {masterInstanceId: "
            "postgres-abcdef, vpcId: vpc-a1, subnetId: subnet-a1}\n");
  const std::string stack = (dir.path() / "stack").string();
  FakeClock clock;  // an empty state file, made by the store: output reads the state before the cloud
  REQUIRE(OpenSqliteStateStore(stack + "/.reconciler/state.db", &clock).ok());
  // Keys that no cloud knows: the command must reach the endpoint it was given, and no other.
  const std::vector<std::string> env = {"TENCENTCLOUD_SECRET_ID=AKIDtest", "TENCENTCLOUD_SECRET_KEY=testkey123456",
                                        "-TENCENTCLOUD_ENDPOINT", "-TENCENTCLOUD_REGION", "HOME=/nonexistent",
                                        "-RECONCILER_LOG", "NO_COLOR=1"};
  for (const char* command : {"output", "show"}) {
    CAPTURE(command);
    ProcessResult r = Reconciler({command, stack, "--endpoint", "http://127.0.0.1:1", "--region", "ap-guangzhou",
                                  "--profile", "nobody", "--log-level", "debug"},
                                 env);
    CAPTURE(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("Failed to connect to 127.0.0.1 port 1 ") != std::string::npos);
    CHECK(r.err.find("port 2") == std::string::npos);
    CHECK(r.err.find("region=ap-guangzhou") != std::string::npos);  // the debug log of the listing
    CHECK(r.err.find("The following argument was not expected") == std::string::npos);
  }
  ProcessResult bad = Reconciler({"output", stack, "--log-level", "loud"}, env);
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("--log-level") != std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing
