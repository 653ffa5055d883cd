// An outsider's attacks on the one-create-tag identity, the visibility window and site
// awareness: the real reconciler binary against the real emulator binary, both child
// processes, killed and interrupted at the worst moments. Every test counts from the
// emulator's /_admin/state what the account holds.

#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "state/sqlite/sqlite_state_store.h"
#include "state/state_store.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char* const kStack = "ourstack";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "world file lacks: " << from);
  return text.replace(at, from.size(), to);
}

std::string ReplicaSpec(const std::string& name, int count) {
  return "apiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name +
         "}\nspec:\n  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n"
         "  storageGB: 100\n  count: " +
         std::to_string(count) + "\n  chargeType: POSTPAID_BY_HOUR\n  tags: {purpose: reporting}\n";
}

// The emulator binary (site and speed of our choosing) and a stack directory to run in.
struct Rig {
  explicit Rig(const std::string& site = "intl", const std::string& time_scale = "0.01") {
    std::string world = ReadFile(DefaultWorldPath());
    world = Replace(world, "\nsite: intl\n", "\nsite: " + site + "\n");
    world = Replace(world, "clock: {mode: real, timeScale: 0.02}", "clock: {mode: real, timeScale: " + time_scale + "}");
    world = Replace(world, "replicaQuotaPerMaster: 6", "replicaQuotaPerMaster: 30");
    std::string path = dir.Write("world.yaml", world);
    emu = std::make_unique<EmulatorProcess>(path);
    const std::string url = emu->url();
    port = std::stoi(url.substr(url.rfind(':') + 1));
    const json state = State();
    for (const json& i : state["instances"]) initial.insert(i["DBInstanceId"].get<std::string>());
    Project("");
    dir.Write("stack/replicas.yaml", ReplicaSpec("x", 2));
  }

  void Project(const std::string& provider_extra) {
    dir.Write("stack/reconciler.yaml", std::string("stack: ") + kStack +
                                           "\nprovider:\n  tencentcloud:\n    region: ap-beijing\n" + provider_extra +
                                           "defaults:\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n"
                                           "  tags: {team: data}\n");
  }

  std::vector<std::string> Env() const {
    return {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
            "TENCENTCLOUD_ENDPOINT=" + emu->url(), "HOME=/nonexistent", "NO_COLOR=1", "-TENCENTCLOUD_REGION"};
  }
  std::vector<std::string> Argv(std::vector<std::string> args) const {
    args.insert(args.begin(), BinaryPath("reconciler"));
    return args;
  }
  ProcessResult Run(std::vector<std::string> args) { return RunProcess(Argv(std::move(args)), Env(), "", stack()); }
  std::string stack() const { return (dir.path() / "stack").string(); }

  json Get(const std::string& path) {
    httplib::Client cli("127.0.0.1", port);
    auto res = cli.Get(path.c_str());
    REQUIRE_MESSAGE((res && res->status == 200), "admin GET " << path);
    return json::parse(res->body);
  }
  json Post(const std::string& path, const json& body = json::object()) {
    httplib::Client cli("127.0.0.1", port);
    auto res = cli.Post(path.c_str(), body.dump(), "application/json");
    REQUIRE_MESSAGE((res && res->status == 200), "admin POST " << path << ": " << (res ? res->body : "no answer"));
    return json::parse(res->body);
  }
  json State() { return Get("/_admin/state"); }
  void Fault(const json& rule) { Post("/_admin/faults", rule); }
  void ClearFaults() { Post("/_admin/faults", {{"clear", true}}); }
  int RealCreates() {
    json calls = Get("/_admin/calls");
    if (!calls.contains("CreateReadOnlyDBInstance")) return 0;
    return calls["CreateReadOnlyDBInstance"]["total"].get<int>() - calls["CreateReadOnlyDBInstance"]["dryRun"].get<int>();
  }
  int Calls(const std::string& action) {
    json calls = Get("/_admin/calls");
    return calls.contains(action) ? calls[action]["total"].get<int>() : 0;
  }
  // Read-only instances bought since the rig started, offlining ones aside.
  std::vector<json> Bought() {
    std::vector<json> out;
    const json state = State();
    for (const json& i : state["instances"]) {
      if (initial.count(i["DBInstanceId"].get<std::string>()) || i["DBInstanceType"] != "readonly") continue;
      if (i["DBInstanceStatus"] == "offlining") continue;
      out.push_back(i);
    }
    return out;
  }
  // Waits, with a deadline, until `pred` holds; returns whether it did.
  template <class Pred>
  bool WaitFor(Pred pred, std::chrono::seconds deadline = std::chrono::seconds(20)) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::yield();
      // A blocking admin round trip spaces the polls; no sleep.
      Get("/_admin/model");
    }
    return pred();
  }
  // A signed call as anyone holding the account's keys would make it.
  ProcessResult Api(const std::string& action, const json& data, const std::string& service = "postgres") {
    return Run({"api", action, "--service", service, "--region", "ap-beijing", "--data", data.dump()});
  }

  TempDir dir{"attack"};
  std::unique_ptr<EmulatorProcess> emu;
  int port = 0;
  std::set<std::string> initial;
};

std::map<std::string, std::string> TagsOf(const json& instance) {
  std::map<std::string, std::string> tags;
  if (instance.contains("TagList")) {
    for (const json& t : instance["TagList"]) tags[t["TagKey"]] = t["TagValue"];
  }
  return tags;
}

std::string Describe(const std::vector<json>& instances) {
  std::string s;
  for (const json& i : instances) {
    s += i["DBInstanceId"].get<std::string>() + " " + i["DBInstanceStatus"].get<std::string>() + " {";
    for (const auto& [k, v] : TagsOf(i)) s += k + "=" + v + " ";
    s += "}\n";
  }
  return s;
}

// Every instance carries the stack, resource, operation and user tags of resource `name`.
void CheckFullyTagged(const std::vector<json>& instances, const std::string& name) {
  for (const json& i : instances) {
    auto tags = TagsOf(i);
    CAPTURE(i["DBInstanceId"].get<std::string>());
    CHECK(tags["reconciler/stack"] == kStack);
    CHECK(tags["reconciler/resource"] == "ReadOnlyInstance/" + name);
    CHECK(tags["reconciler/operation"].rfind(std::string(kStack) + "/ReadOnlyInstance/" + name + "/op-", 0) == 0);
    CHECK(tags["team"] == "data");
    CHECK(tags["purpose"] == "reporting");
  }
}

// Starts apply with TagResources failing, and kills it -9 once it is retrying the tagging:
// the replicas are bought and carry only the operation tag.
void KillBetweenCreateAndTagging(Rig& rig) {
  rig.Fault({{"type", "httpError"}, {"status", 503}, {"action", "TagResources"}, {"times", -1}});
  Child child(rig.Argv({"apply", "--auto-approve"}), rig.Env(), rig.stack());
  REQUIRE(child.WaitForOutput("; trying again", std::chrono::seconds(30)));
  child.Signal(SIGKILL);
  ProcessResult killed = child.Wait();
  INFO(killed.out << killed.err);
  std::vector<json> bought = rig.Bought();
  INFO(Describe(bought));
  REQUIRE(bought.size() == 2);
  for (const json& i : bought) {
    auto tags = TagsOf(i);
    CHECK(tags.size() == 1);  // intl: the create carried the operation tag alone
    CHECK(tags.count("reconciler/operation") == 1);
  }
  CHECK(rig.RealCreates() == 1);
  rig.ClearFaults();
}

// ---- (1) SIGKILL between the create and TagResources ----

TEST_CASE("attack: SIGKILL between the create and TagResources then apply finishes the tags and buys nothing more") {
  Rig rig;
  KillBetweenCreateAndTagging(rig);
  ProcessResult plan = rig.Run({"plan"});
  INFO(plan.out << plan.err);
  CHECK(plan.out.find("+ ReadOnlyInstance") == std::string::npos);
  ProcessResult again = rig.Run({"apply", "--auto-approve"});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  std::vector<json> bought = rig.Bought();
  INFO(Describe(bought));
  CHECK(bought.size() == 2);
  CheckFullyTagged(bought, "x");
  CHECK(rig.RealCreates() == 1);
  CHECK(rig.Run({"plan", "--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("attack: SIGKILL between the create and TagResources then the state lost and rebuilt buys nothing more") {
  Rig rig;
  KillBetweenCreateAndTagging(rig);
  fs::remove_all(fs::path(rig.stack()) / ".reconciler");
  ProcessResult rebuilt = rig.Run({"state", "rebuild"});
  INFO(rebuilt.out << rebuilt.err);
  CHECK(rebuilt.exit_code == 0);
  CHECK(rebuilt.out.find("1 resource(s), 2 instance(s)") != std::string::npos);
  ProcessResult plan = rig.Run({"plan", "--json"});
  INFO(plan.out << plan.err);
  json p = json::parse(plan.out, nullptr, false);
  REQUIRE(p.is_object());
  CHECK(p["summary"]["create"] == 0);
  ProcessResult again = rig.Run({"apply", "--auto-approve"});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  std::vector<json> bought = rig.Bought();
  INFO(Describe(bought));
  CHECK(bought.size() == 2);
  CheckFullyTagged(bought, "x");
  CHECK(rig.RealCreates() == 1);
  CHECK(rig.Run({"plan", "--detailed-exitcode"}).exit_code == 0);
}

// ---- (2) the state file deleted mid-apply ----

TEST_CASE("attack: the state deleted while a create answer is late then rebuild and apply buy nothing more") {
  Rig rig;
  rig.Fault({{"type", "lateAnswer"}, {"ms", 4000}, {"action", "CreateReadOnlyDBInstance"}, {"scope", "real"}});
  Child child(rig.Argv({"apply", "--auto-approve"}), rig.Env(), rig.stack());
  REQUIRE(rig.WaitFor([&] { return rig.RealCreates() == 1; }));
  fs::remove_all(fs::path(rig.stack()) / ".reconciler");
  child.Signal(SIGKILL);
  child.Wait();
  REQUIRE(rig.Bought().size() == 2);
  ProcessResult rebuilt = rig.Run({"state", "rebuild"});
  INFO(rebuilt.out << rebuilt.err);
  CHECK(rebuilt.exit_code == 0);
  ProcessResult again = rig.Run({"apply", "--auto-approve"});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  std::vector<json> bought = rig.Bought();
  INFO(Describe(bought));
  CHECK(bought.size() == 2);
  CheckFullyTagged(bought, "x");
  CHECK(rig.RealCreates() == 1);
}

// The state is the only memory of a purchase in flight. Once it is gone, a rebuild from a
// listing that lags trusts the listing's silence, and the next apply buys again.
TEST_CASE("attack: the state deleted mid-apply while listings lag then rebuild and apply buy nothing more") {
  Rig rig;
  rig.Fault({{"type", "listingLag"}, {"seconds", 3600}, {"times", -1}});
  rig.Fault({{"type", "httpError"}, {"status", 503}, {"action", "TagResources"}, {"times", -1}});
  Child child(rig.Argv({"apply", "--auto-approve"}), rig.Env(), rig.stack());
  REQUIRE(child.WaitForOutput("; trying again", std::chrono::seconds(30)));
  fs::remove_all(fs::path(rig.stack()) / ".reconciler");
  child.Signal(SIGKILL);
  child.Wait();
  REQUIRE(rig.Bought().size() == 2);
  ProcessResult rebuilt = rig.Run({"state", "rebuild"});
  INFO(rebuilt.out << rebuilt.err);
  // The listing keeps lagging, so an apply that buys again would wait for its purchase to
  // show as running: stop it once it has bought, or once it has had time to.
  Child again(rig.Argv({"apply", "--auto-approve"}), rig.Env(), rig.stack());
  const bool bought_again = rig.WaitFor([&] { return rig.RealCreates() > 1; }, std::chrono::seconds(5));
  again.Signal(SIGKILL);
  ProcessResult second = again.Wait();
  INFO(second.out << second.err);
  std::vector<json> bought = rig.Bought();
  INFO(Describe(bought));
  CHECK_FALSE(bought_again);
  CHECK(rig.RealCreates() == 1);
  CHECK(bought.size() == 2);
}

// ---- (3) strangers carrying a crafted operation tag that names our stack ----

json StrangerRequest(const std::string& op_value, const std::string& name) {
  json req = SeedCreateReadOnlyRequest();
  req["Name"] = name;
  req["TagList"] = {{"TagKey", "reconciler/operation"}, {"TagValue", op_value}};
  return req;
}

std::string IdOf(const ProcessResult& r) {
  json j = json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("DBInstanceIdSet") || j["DBInstanceIdSet"].empty()) return "";
  return j["DBInstanceIdSet"][0];
}

TEST_CASE("attack: another stack's replica whose operation tag names our stack is never taken") {
  Rig rig;
  ProcessResult made = rig.Api("CreateReadOnlyDBInstance", StrangerRequest("ourstack/ReadOnlyInstance/x/op-evil", "theirs"));
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  const std::string id = IdOf(made);
  REQUIRE(!id.empty());
  // Their stack finishes tagging it as theirs.
  ProcessResult tagged = rig.Api("TagResources",
                                 {{"Tags", {{{"TagKey", "reconciler/stack"}, {"TagValue", "theirstack"}},
                                            {{"TagKey", "reconciler/resource"}, {"TagValue", "ReadOnlyInstance/x"}}}},
                                  {"ResourceList", {"qcs::postgres:ap-beijing:uin/100000000001:DBInstanceId/" + id}}},
                                 "tag");
  INFO(tagged.out << tagged.err);
  REQUIRE(tagged.exit_code == 0);
  ProcessResult plan = rig.Run({"plan", "--json"});
  INFO(plan.out << plan.err);
  json p = json::parse(plan.out, nullptr, false);
  REQUIRE(p.is_object());
  CHECK(p["summary"]["create"] == 1);  // our stack wants 2, it holds none: the stranger does not count
  CHECK(plan.out.find(id) == std::string::npos);
  REQUIRE(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  for (const json& i : rig.Bought()) {
    if (i["DBInstanceId"] != id) continue;
    auto tags = TagsOf(i);
    CHECK(tags["reconciler/stack"] == "theirstack");
  }
}

// Only an operation tag (what a crash between purchase and tagging leaves) that names our
// stack: the product adopts it, by design, exactly as it would an instance someone tagged
// reconciler/stack=ourstack by hand. The tag is the only proof of ownership the cloud has.
TEST_CASE("attack: a stranger carrying only an operation tag that names our stack is adopted and counted") {
  Rig rig;
  ProcessResult made = rig.Api("CreateReadOnlyDBInstance", StrangerRequest("ourstack/ReadOnlyInstance/x/op-evil", "stranger"));
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  const std::string id = IdOf(made);
  REQUIRE(!id.empty());
  ProcessResult plan = rig.Run({"plan", "--json"});
  INFO(plan.out << plan.err);
  json p = json::parse(plan.out, nullptr, false);
  REQUIRE(p.is_object());
  CHECK(plan.out.find(id) != std::string::npos);
  bool adopts = false;
  for (const json& c : p["changes"]) {
    if (c["action"] == "create") CHECK(c["count"] == 1);  // 2 wanted, the stranger counts as one
    adopts |= c["action"] == "adopt";
  }
  CHECK(adopts);
}

// ---- (4) malformed operation tag values ----

TEST_CASE("attack: malformed operation tag values naming our stack are neither adopted nor fatal") {
  Rig rig;
  const std::vector<std::string> values = {
      "ourstack/ReadOnlyInstance/x/op-1/extra",  // five parts
      "ourstack//x/op-2",                        // empty kind
      "ourstack/ReadOnlyInstance/x/",            // empty operation id
      "/ReadOnlyInstance/x/op-3",                // empty stack
      "ourstack/ReadOnlyInstance/\xc3\xa9t\xc3\xa9/op-4",  // non-ASCII name
      "ourstack/Bogus/x/op-5",                   // no such kind
      "ourstack/ServerlessInstance/x/op-6",      // the wrong kind for a replica
      "ourstack/ReadOnlyInstance/X Y/op-7",      // a name our specs could never hold
  };
  std::map<std::string, std::string> made;
  for (const std::string& v : values) {
    ProcessResult r = rig.Api("CreateReadOnlyDBInstance", StrangerRequest(v, "s"));
    INFO(v << ": " << r.out << r.err);
    if (r.exit_code == 0) made[IdOf(r)] = v;
  }
  ProcessResult longer = rig.Api("CreateReadOnlyDBInstance",
                                 StrangerRequest("ourstack/ReadOnlyInstance/x/op-" + std::string(300, 'a'), "s"));
  INFO(longer.out << longer.err);
  CHECK(longer.exit_code == 1);  // a tag value past 255 bytes is refused by the cloud
  CHECK(longer.err.find("Tag") != std::string::npos);

  ProcessResult plan = rig.Run({"plan", "--json"});
  INFO(plan.out << plan.err);
  CHECK(plan.exit_code == 0);
  json p = json::parse(plan.out, nullptr, false);
  REQUIRE(p.is_object());
  std::set<std::string> acted;
  for (const json& c : p["changes"]) {
    for (const json& id : c["instanceIds"]) acted.insert(id.get<std::string>() + " " + c["action"].get<std::string>());
  }
  std::string touched;
  for (const auto& [id, v] : made) {
    for (const std::string& a : acted) {
      if (a.rfind(id + " ", 0) == 0) touched += a + " (" + v + ") ";
    }
  }
  // Which crafted values does the plan act on? Only well-formed values of our specs' kinds
  // could ever be ours.
  INFO("the plan acts on: " << touched);
  CHECK(touched.empty());  // untagging a stranger's instance is acting on it
  ProcessResult rebuilt = rig.Run({"state", "rebuild"});
  INFO(rebuilt.out << rebuilt.err);
  CHECK(rebuilt.exit_code == 0);
  ProcessResult listed = rig.Run({"state", "list"});
  for (const auto& [id, v] : made) CHECK_MESSAGE(listed.out.find(id) == std::string::npos, id << " (" << v << ") adopted");
  // Right after a rebuild nothing is bought: a purchase in flight when the state was lost
  // may not show yet. The apply says so and buys nothing.
  const int creates_before = rig.RealCreates();
  ProcessResult apply = rig.Run({"apply", "--auto-approve"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 1);
  CHECK(apply.out.find("the state was rebuilt") != std::string::npos);
  CHECK(rig.RealCreates() == creates_before);
}

// ---- (5) site and endpoint contradictions, bad values ----

struct ValidateCase {
  std::string provider;
  std::string needle;
};

TEST_CASE("attack: validate refuses a site that contradicts the endpoint with file line and column") {
  Rig rig;
  const std::vector<ValidateCase> cases = {
      {"    site: china\n    endpoint: https://postgres.intl.tencentcloudapi.com\n", "intl"},
      {"    site: china\n    endpoint: https://postgres.intl.tencentcloudapi.com:443\n", "intl"},
      {"    site: china\n    endpoint: https://user:pw@postgres.intl.tencentcloudapi.com/\n", "intl"},
      {"    site: china\n    endpoint: https://POSTGRES.INTL.TencentCloudAPI.com\n", "intl"},
      {"    site: intl\n    endpoint: https://postgres.tencentcloudapi.com\n", "china"},
  };
  for (const ValidateCase& c : cases) {
    CAPTURE(c.provider);
    rig.Project(c.provider);
    ProcessResult v = rig.Run({"validate"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 3);
    CHECK(std::regex_search(v.out + v.err, std::regex("reconciler\\.yaml:[0-9]+:[0-9]+: error: .*site")));
  }
}

TEST_CASE("attack: plan refuses a site that contradicts the endpoint before any call") {
  Rig rig;
  rig.Project("    site: china\n    endpoint: https://user@POSTGRES.intl.tencentcloudapi.com:443/\n");
  ProcessResult plan = rig.Run({"plan"});
  INFO(plan.out << plan.err);
  CHECK(plan.exit_code == 3);
  CHECK(plan.err.find("belongs to the intl site") != std::string::npos);
  CHECK(rig.Calls("DescribeDBInstances") == 0);
}

TEST_CASE("attack: validate explains bad site and purchaseSearchWindow values with file line and column") {
  Rig rig;
  const std::vector<ValidateCase> cases = {
      {"    site: INTL\n", "reconciler.yaml:5:11: error: site must be intl or china, got \"INTL\""},
      {"    site: international\n", "reconciler.yaml:5:11: error: site must be intl or china"},
      {"    site: ''\n", "reconciler.yaml:5:11: error: site must be intl or china"},
      {"    purchaseSearchWindow: 6x\n", "reconciler.yaml:5:27: error: purchaseSearchWindow must be a duration"},
      {"    purchaseSearchWindow: -6m\n", "reconciler.yaml:5:27: error: purchaseSearchWindow must be a duration"},
      {"    purchaseSearchWindow: 1.5m\n", "reconciler.yaml:5:27: error: purchaseSearchWindow must be a duration"},
      {"    purchaseSearchWindow: 25h\n", "reconciler.yaml:5:27: error: purchaseSearchWindow must be a duration"},
      {"    purchaseSearchWindow: [6m]\n", "reconciler.yaml:5:27: error: purchaseSearchWindow must be a duration"},
      {"    purchaseSearchWindow: ''\n", "reconciler.yaml:5:27: error: purchaseSearchWindow must be a duration"},
  };
  for (const ValidateCase& c : cases) {
    CAPTURE(c.provider);
    rig.Project(c.provider);
    ProcessResult v = rig.Run({"validate"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 3);
    CHECK((v.out + v.err).find(c.needle) != std::string::npos);
  }
}

// The window rests on the cloud refusing requests signed more than 5 minutes earlier; a
// shorter one gives up the proof that a lost create bought nothing.
// Allowed (an emulator's clock can make it safe), but never quietly: validate and plan warn.
TEST_CASE("attack: a purchaseSearchWindow shorter than the 5 minute signature validity is never quiet") {
  Rig rig;
  for (const std::string w : {"0", "0s", "30s", "4m59s"}) {
    CAPTURE(w);
    rig.Project(std::string("    purchaseSearchWindow: ") + w + "\n");
    ProcessResult v = rig.Run({"validate"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    CHECK(std::regex_search(v.err, std::regex("reconciler\\.yaml:[0-9]+:[0-9]+: warning: purchaseSearchWindow")));
    CHECK(v.err.find("bought twice") != std::string::npos);
  }
  rig.Project("    purchaseSearchWindow: 5m\n");
  ProcessResult ok = rig.Run({"validate"});
  CHECK(ok.exit_code == 0);
  CHECK(ok.err.find("warning") == std::string::npos);
}

// ---- (6) Ctrl-C during the visibility-window search, then apply again ----

int64_t SentAt(const std::string& stack_dir, int* attempts, std::string* phase) {
  SystemClock clock;
  auto store = OpenSqliteStateStore((fs::path(stack_dir) / ".reconciler" / "state.db").string(), &clock);
  REQUIRE(store.ok());
  auto ops = (*store)->InFlight();
  REQUIRE(ops.ok());
  REQUIRE(ops->size() == 1);
  *attempts = (*ops)[0].attempts;
  *phase = PhaseName((*ops)[0].phase);
  return (*ops)[0].sent_at;
}

TEST_CASE("attack: Ctrl-C during the visibility-window search then apply resumes the same window and buys once") {
  Rig rig;
  rig.Project("    purchaseSearchWindow: 6s\n");
  rig.Fault({{"type", "listingLag"}, {"seconds", 3}, {"times", -1}});
  rig.Fault({{"type", "dropAfterCommit"}, {"action", "CreateReadOnlyDBInstance"}, {"scope", "real"}});
  int64_t first_sent = 0;
  {
    Child child(rig.Argv({"apply", "--auto-approve"}), rig.Env(), rig.stack());
    REQUIRE(child.WaitForOutput("before anything is sent again", std::chrono::seconds(30)));
    child.Signal(SIGINT);
    ProcessResult first = child.Wait();
    INFO(first.out << first.err);
    CHECK(first.exit_code == 1);
    CHECK(first.out.find("Purchases still in flight") != std::string::npos);
    int attempts = 0;
    std::string phase;
    first_sent = SentAt(rig.stack(), &attempts, &phase);
    CHECK(attempts == 1);
    CHECK(phase == "unknown");
  }
  ProcessResult plan = rig.Run({"plan"});
  INFO(plan.out << plan.err);
  CHECK(plan.out.find("outcome unknown, searching") != std::string::npos);
  CHECK(plan.out.find("create 2") == std::string::npos);

  Child second(rig.Argv({"apply", "--auto-approve"}), rig.Env(), rig.stack());
  REQUIRE(second.WaitForOutput("before anything is sent again", std::chrono::seconds(30)));
  const int64_t seen_at = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
  ProcessResult resumed = second.Wait();
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(resumed.out, m, std::regex("searching for ([0-9]+)s more")));
  // The window counts from the first send, not from this apply.
  CHECK(std::stoll(m[1]) <= first_sent + 6 - seen_at + 1);
  std::vector<json> bought = rig.Bought();
  INFO(Describe(bought));
  CHECK(bought.size() == 2);
  CHECK(rig.RealCreates() == 1);
  CheckFullyTagged(bought, "x");
}

// ---- (7) the emulator's site against the product's ----

TEST_CASE("attack: product site intl against a china emulator buys with every tag") {
  Rig rig("china");
  rig.Project("    site: intl\n");
  ProcessResult apply = rig.Run({"apply", "--auto-approve"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  std::vector<json> bought = rig.Bought();
  INFO(Describe(bought));
  CHECK(bought.size() == 2);
  CheckFullyTagged(bought, "x");
  CHECK(rig.RealCreates() == 1);
}

// China's `Tags` is an UnknownParameter on intl. The plan must say so, not take it for an
// endpoint without DryRun and fall back to read-only checks that pass.
TEST_CASE("attack: product site china against an intl emulator is told at plan time") {
  Rig rig("intl");
  rig.Project("    site: china\n");
  ProcessResult plan = rig.Run({"plan"});
  INFO(plan.out << plan.err);
  CHECK(plan.exit_code == 1);
  CHECK((plan.out + plan.err).find("Tags") != std::string::npos);
  CHECK(plan.out.find("DryRun is not supported") == std::string::npos);
  ProcessResult apply = rig.Run({"apply", "--auto-approve"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 1);
  CHECK(rig.Bought().empty());
}

}  // namespace
}  // namespace reconciler::testing
