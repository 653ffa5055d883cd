// The reconciler binary as a user runs it, against the emulator: plan output formats,
// confirmation, saved plans, the stack lock, Ctrl-C, state and import.

#include <doctest/doctest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "state/sqlite/sqlite_state_store.h"
#include "state/stack_lease.h"
#include "state/state_store.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The emulator in real time, sped up, and a copy of a stack to work in.
struct CliRig {
  explicit CliRig(double time_scale = 0.01, const std::string& example = "quickstart")
      : emu([time_scale](emu::World& w) {
          w.catalogue.clock.manual = false;
          w.catalogue.clock.time_scale = time_scale;
          w.catalogue.replica_quota_per_master = 20;
        }) {
    fs::copy(SourcePath("examples/" + example), dir.path() / "stack", fs::copy_options::recursive);
  }
  std::vector<std::string> Env() const {
    return {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
            "TENCENTCLOUD_ENDPOINT=" + emu.url(), "HOME=/nonexistent", "NO_COLOR=1"};
  }
  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("reconciler"));
    return RunProcess(args, Env(), "", stack());
  }
  std::string stack() const { return (dir.path() / "stack").string(); }
  int NonDryCreates() {
    json c = emu.Calls("CreateReadOnlyDBInstance");
    return c["total"].get<int>() - c["dryRun"].get<int>();
  }
  EmulatorFixture emu;
  TempDir dir{"cli"};
};

TEST_CASE("cli: plan --detailed-exitcode, apply, then no changes") {
  CliRig rig;
  ProcessResult plan = rig.Run({"plan", "--detailed-exitcode"});
  CHECK(plan.exit_code == 2);
  CHECK(plan.out.find("Plan: 3 to create, 0 to update, 0 to destroy. Cost: +\xc2\xa5" "0.73/hour.") != std::string::npos);
  ProcessResult apply = rig.Run({"apply", "--auto-approve"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  CHECK(apply.out.find("Apply complete: 3 done, 0 failed, 0 skipped, 0 pending.") != std::string::npos);
  CHECK(apply.out.find("ReadOnlyInstance/reports: intent: buy 2 replica(s)") != std::string::npos);
  CHECK(apply.out.find("ReadOnlyInstance/reports: delivered: deal(s) ") != std::string::npos);
  CHECK(apply.out.find("ReadOnlyInstance/reports: complete") != std::string::npos);
  ProcessResult again = rig.Run({"plan", "--detailed-exitcode"});
  CHECK(again.exit_code == 0);
  CHECK(again.out.rfind("No changes.", 0) == 0);
}

TEST_CASE("cli: plan --json is the documented format and --markdown a table") {
  CliRig rig;
  ProcessResult j = rig.Run({"plan", "--json"});
  CHECK(j.exit_code == 0);
  json plan = json::parse(j.out);
  CHECK(plan["formatVersion"] == 1);
  CHECK(plan["stack"] == "quickstart");
  CHECK(plan["summary"]["create"] == 3);
  CHECK(plan["changes"][1]["preflight"]["state"] == "passed");
  ProcessResult md = rig.Run({"plan", "--markdown"});
  CHECK(md.out.find("| | Resource | Change | Reason | Preflight | Cost |") != std::string::npos);
  CHECK(rig.Run({"plan", "--json", "--markdown"}).exit_code == 3);
}

TEST_CASE("cli: a failed purchase shows in plan and state list and holds its resource until --retry-failed") {
  CliRig rig;
  {
    // An earlier apply's purchase for ReadOnlyInstance/reports, refused by the cloud.
    SystemClock clock;
    auto store = OpenSqliteStateStore(rig.stack() + "/.reconciler/state.db", &clock);
    REQUIRE(store.ok());
    Operation op;
    op.id = "op-refused00001";
    op.resource_key = "ReadOnlyInstance/reports";
    op.kind = OperationKind::kCreateReplicas;
    op.region = "ap-beijing";
    op.request_json = "{}";
    op.expected = 2;
    op.attempts = op.settled = 1;
    op.phase = Phase::kFailed;
    op.error_code = "OperationDenied.InsufficientBalanceError";
    op.error = "refused: Insufficient account balance. (RequestId r-1)";
    REQUIRE((*store)->PutOperation(op, "refused").ok());
  }
  ProcessResult plan = rig.Run({"plan", "--detailed-exitcode"});
  INFO(plan.out << plan.err);
  CHECK(plan.exit_code == 1);
  CHECK(plan.out.find("! ReadOnlyInstance/reports  op-refused00001  OperationDenied.InsufficientBalanceError") !=
        std::string::npos);
  CHECK(plan.out.find("what to do: fix what the cloud refused") != std::string::npos);
  CHECK(plan.out.find("+ ReadOnlyInstance/reports") == std::string::npos);
  CHECK(plan.err.find("1 resource is held by a failed purchase") != std::string::npos);
  ProcessResult list = rig.Run({"state", "list"});
  CHECK(list.out.find("op-refused00001  ReadOnlyInstance/reports  failed  OperationDenied.InsufficientBalanceError") !=
        std::string::npos);

  // The rest of the stack applies; the held resource is not bought, and the exit code says so.
  ProcessResult apply = rig.Run({"apply", "--auto-approve"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 1);
  CHECK(apply.out.find("Apply complete: 2 done, 0 failed, 0 skipped, 0 pending.") != std::string::npos);
  CHECK(rig.NonDryCreates() == 0);

  ProcessResult retry = rig.Run({"apply", "--auto-approve", "--retry-failed"});
  INFO(retry.out << retry.err);
  CHECK(retry.exit_code == 0);
  CHECK(retry.out.find("bought again by this plan (--retry-failed)") != std::string::npos);
  CHECK(rig.NonDryCreates() == 1);
  ProcessResult done = rig.Run({"plan", "--detailed-exitcode"});
  CHECK(done.exit_code == 0);
  CHECK(done.out.rfind("No changes.", 0) == 0);
}

TEST_CASE("cli: apply without a terminal and without --auto-approve refuses and sends nothing") {
  CliRig rig;
  ProcessResult r = rig.Run({"apply"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("stdin is not a terminal") != std::string::npos);
  CHECK(rig.NonDryCreates() == 0);
}

TEST_CASE("cli: apply FILE applies exactly the saved plan, and refuses once the cloud changed") {
  CliRig rig;
  ProcessResult saved = rig.Run({"plan", "--out", "first.plan"});
  REQUIRE(saved.exit_code == 0);
  // Private to its owner, whatever the umask, like the state.
  CHECK((fs::status(rig.dir.path() / "stack" / "first.plan").permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  ProcessResult applied = rig.Run({"apply", "first.plan", "--auto-approve"});
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  // A second plan over an unchanged cloud, then someone renames a replica by hand.
  std::ofstream(rig.dir.path() / "stack" / "replicas.yaml", std::ios::app) << "";
  ProcessResult second = rig.Run({"plan", "--out", "second.plan"});
  REQUIRE(second.exit_code == 0);
  json state = rig.emu.State();
  std::string id;
  for (const json& i : state["instances"]) {
    if (i["DBInstanceType"] == "readonly") id = i["DBInstanceId"];
  }
  REQUIRE(rig.emu.Call("ModifyDBInstanceName", {{"DBInstanceId", id}, {"InstanceName", "by-hand"}}).ok());
  ProcessResult stale = rig.Run({"apply", "second.plan", "--auto-approve"});
  CHECK(stale.exit_code == 1);
  CHECK(stale.err.find("second.plan is not what would be planned now; nothing was sent") != std::string::npos);
  CHECK(stale.err.find(id + " changed:") != std::string::npos);
  CHECK(stale.err.find("name=by-hand") != std::string::npos);
}

TEST_CASE("cli: a second apply on the same stack fails at once, naming the holder") {
  CliRig rig;
  SystemClock clock;
  fs::create_directories(rig.dir.path() / "stack" / ".reconciler");
  auto held = StackLock::Acquire((rig.dir.path() / "stack" / ".reconciler" / "state.db.lock").string(), &clock);
  REQUIRE(held.ok());
  ProcessResult r = rig.Run({"apply", "--auto-approve"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("another reconciler holds this stack: lock id ") != std::string::npos);
  CHECK(r.err.find(", pid " + std::to_string(getpid()) + " on host ") != std::string::npos);
  CHECK(rig.NonDryCreates() == 0);
  CHECK(rig.emu.Calls("DescribeDBInstances")["total"] == 0);  // it stopped before asking the cloud anything
}

TEST_CASE("cli: Ctrl-C during a prepaid purchase, then apply again, ends with exactly the count") {
  CliRig rig(/*time_scale=*/0.1, "prepaid");  // orders take 3 s to deliver: time to interrupt
  Child child({BinaryPath("reconciler"), "apply", "--auto-approve"}, rig.Env(), rig.stack());
  REQUIRE(child.WaitForOutput("ReadOnlyInstance/billing-ro: ordered", std::chrono::seconds(60)));
  child.Signal(SIGINT);
  ProcessResult first = child.Wait();
  INFO(first.out << first.err);
  CHECK(first.exit_code == 1);
  CHECK(first.err.find("interrupted") != std::string::npos);
  CHECK(first.out.find("Purchases still in flight") != std::string::npos);
  ProcessResult second = rig.Run({"apply", "--auto-approve"});
  INFO(second.out << second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("~ ReadOnlyInstance/billing-ro  resume") != std::string::npos);
  json state = rig.emu.State();
  int replicas = 0;
  for (const json& i : state["instances"]) replicas += i["DBInstanceType"] == "readonly";
  CHECK(replicas == 3);
  CHECK(rig.Run({"plan", "--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("cli: state list, show and rebuild after the state file is lost") {
  CliRig rig;
  REQUIRE(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  ProcessResult list = rig.Run({"state", "list"});
  CHECK(list.exit_code == 0);
  CHECK(list.out.find("ReadOnlyInstance/reports") != std::string::npos);
  CHECK(list.out.find("pgrogrp-") != std::string::npos);
  ProcessResult show = rig.Run({"state", "show", "ReadOnlyInstance/reports"});
  CHECK(show.exit_code == 0);
  json shown = json::parse(show.out);
  CHECK(shown["instances"].size() == 2);
  CHECK(shown["operations"][0]["events"].size() >= 4);
  fs::remove_all(rig.dir.path() / "stack" / ".reconciler");
  ProcessResult rebuilt = rig.Run({"state", "rebuild"});
  INFO(rebuilt.out << rebuilt.err);
  CHECK(rebuilt.exit_code == 0);
  CHECK(rebuilt.out.find("3 resource(s), 3 instance(s)") != std::string::npos);
  CHECK(rig.Run({"plan", "--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("cli: import adopts an existing replica into a spec") {
  CliRig rig;
  auto bought = rig.emu.Call("CreateReadOnlyDBInstance", SeedCreateReadOnlyRequest());
  REQUIRE(bought.ok());
  std::string id = (*bought)["DBInstanceIdSet"][0];
  rig.dir.Write("stack/serverless.yaml", "");
  fs::remove(rig.dir.path() / "stack" / "serverless.yaml");
  ProcessResult bad = rig.Run({"import", "ReadOnlyInstance/reports", "postgres-abcdef"});
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("looks like pgro-") != std::string::npos);
  ProcessResult unknown = rig.Run({"import", "ReadOnlyInstance/nope", id});
  CHECK(unknown.exit_code == 3);
  ProcessResult r = rig.Run({"import", "ReadOnlyInstance/reports", id});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  json after = *rig.emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  bool tagged = false;
  for (const json& t : after["DBInstance"]["TagList"]) tagged |= t["TagKey"] == "reconciler/resource" && t["TagValue"] == "ReadOnlyInstance/reports";
  CHECK(tagged);
  // One replica is now ours; the plan wants one more, not two.
  ProcessResult plan = rig.Run({"plan", "--json"});
  json p = json::parse(plan.out);
  bool one_more = false;
  for (const json& c : p["changes"]) one_more |= c["resource"] == "ReadOnlyInstance/reports" && c["action"] == "create" && c["count"] == 1;
  CHECK(one_more);
}

TEST_CASE("cli: import refuses an instance that does not match its spec, naming each field, and changes nothing") {
  CliRig rig;
  json request = SeedCreateReadOnlyRequest();
  request.erase("DBVersion");
  request["Zone"] = "ap-beijing-3";
  request["SubnetId"] = "subnet-3bj0zone";
  auto bought = rig.emu.Call("CreateReadOnlyDBInstance", request);
  REQUIRE(bought.ok());
  std::string id = (*bought)["DBInstanceIdSet"][0];
  ProcessResult r = rig.Run({"import", "ReadOnlyInstance/reports", id});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(id + " does not match the spec of ReadOnlyInstance/reports") != std::string::npos);
  CHECK(r.err.find("  zone: spec ap-beijing-4, instance ap-beijing-3\n") != std::string::npos);
  CHECK(r.err.find("  subnetId: spec subnet-1i9huswn, instance subnet-3bj0zone\n") != std::string::npos);
  CHECK(r.err.find("Nothing was changed") != std::string::npos);
  // Nothing in state, no tag on the instance.
  ProcessResult list = rig.Run({"state", "list"});
  CHECK(list.out.find(id) == std::string::npos);
  CHECK(list.out.find("ReadOnlyInstance/reports") == std::string::npos);
  json after = *rig.emu.Call("DescribeDBInstanceAttribute", {{"DBInstanceId", id}});
  for (const json& t : after["DBInstance"]["TagList"]) CHECK(t["TagKey"].get<std::string>().rfind("reconciler/", 0) != 0);
  CHECK(rig.emu.Calls("TagResources")["total"] == 0);
  CHECK(rig.emu.Calls("ModifyResourceTags")["total"] == 0);
  // The serverless spec with a replica's id shape is refused before any call; a primary as a
  // replica is refused naming the kind.
  ProcessResult primary = rig.Run({"import", "ServerlessInstance/sandbox", "postgres-abcdef"});
  INFO(primary.err);
  CHECK(primary.exit_code == 1);
  CHECK(primary.err.find("  kind: spec serverless instance, instance primary instance\n") != std::string::npos);
}

TEST_CASE("cli: a blocked destroy leaves its resource alone, the rest is applied, and apply lists it and exits 1") {
  CliRig rig;
  rig.dir.Write("stack/serverless.yaml",
                "apiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: sandbox}\nspec:\n"
                "  zone: ap-beijing-1\n  dbVersion: \"10.4\"\n  dbCharset: UTF8\n  vpcId: vpc-8btfafeo\n"
                "  subnetId: subnet-1bjserv1\n  deletionPolicy: Delete\n");
  REQUIRE(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  fs::remove(rig.dir.path() / "stack" / "serverless.yaml");
  std::string replicas = ReadFile((rig.dir.path() / "stack" / "replicas.yaml").string());
  replicas.replace(replicas.find("count: 2"), 8, "count: 3");
  rig.dir.Write("stack/replicas.yaml", replicas);
  ProcessResult plan = rig.Run({"plan"});
  CHECK(plan.exit_code == 1);
  CHECK(plan.out.find("Blocked (apply leaves these resources alone, applies the rest and exits 1):") != std::string::npos);
  CHECK(plan.out.find("! ServerlessInstance/sandbox") != std::string::npos);
  ProcessResult apply = rig.Run({"apply", "--auto-approve"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 1);
  CHECK(apply.err.find("blocked: ServerlessInstance/sandbox") != std::string::npos);
  CHECK(apply.out.find("1 blocked.") != std::string::npos);
  CHECK(apply.out.find("Blocked (not applied; fix what blocks them, then apply again):\n  ServerlessInstance/sandbox") !=
        std::string::npos);
  int replicas_now = 0, serverless = 0;
  const json account = rig.emu.State();
  for (const json& i : account["instances"]) {
    replicas_now += i["DBInstanceType"] == "readonly";
    serverless += i["DBInstanceType"] == "serverless";
  }
  CHECK(replicas_now == 3);  // the rest was applied
  CHECK(serverless == 1);    // the blocked one was not
  CHECK(rig.emu.Calls("DeleteServerlessDBInstance")["total"] == 0);
}

// Saved plans are read back whole but trusted for nothing: each is compared with the plan
// made now, and only an exact match is applied, with today's flags.
json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void WriteJson(const fs::path& path, const json& j) { std::ofstream(path) << j.dump(2); }

json* ChangeFor(json* plan, const std::string& resource) {
  for (json& c : (*plan)["changes"]) {
    if (c["resource"] == resource) return &c;
  }
  return nullptr;
}

TEST_CASE("cli: a plan file whose count was raised is refused and buys nothing") {
  CliRig rig;
  REQUIRE(rig.Run({"plan", "--out", "p.plan"}).exit_code == 0);
  const fs::path file = rig.dir.path() / "stack" / "p.plan";
  json plan = ReadJson(file);
  json* reports = ChangeFor(&plan, "ReadOnlyInstance/reports");
  REQUIRE(reports != nullptr);
  (*reports)["count"] = 5;
  WriteJson(file, plan);
  ProcessResult r = rig.Run({"apply", "p.plan", "--auto-approve"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("p.plan is not what would be planned now; nothing was sent") != std::string::npos);
  CHECK(r.err.find("ReadOnlyInstance/reports): count is 5 in the file, 2 now") != std::string::npos);
  CHECK(rig.Run({"plan", "--out", "p.plan"}).exit_code == 0);  // made again, the file applies as it is
  CHECK(rig.NonDryCreates() == 0);
  CHECK(rig.emu.Calls("CreateServerlessDBInstance")["total"].get<int>() ==
        rig.emu.Calls("CreateServerlessDBInstance")["dryRun"].get<int>());
}

TEST_CASE("cli: a change added to a plan file or one with another request is refused") {
  CliRig rig;
  REQUIRE(rig.Run({"plan", "--out", "p.plan"}).exit_code == 0);
  const fs::path file = rig.dir.path() / "stack" / "p.plan";
  json plan = ReadJson(file);
  json extra = *ChangeFor(&plan, "ReadOnlyInstance/reports");
  extra["id"] = "c99";
  extra["resource"] = "ReadOnlyInstance/intruder";
  plan["changes"].push_back(extra);
  WriteJson(file, plan);
  ProcessResult added = rig.Run({"apply", "p.plan", "--auto-approve"});
  CHECK(added.exit_code == 1);
  CHECK(added.err.find("c99 (create ReadOnlyInstance/intruder) is in the file but would not be planned now") !=
        std::string::npos);

  REQUIRE(rig.Run({"plan", "--out", "p.plan"}).exit_code == 0);
  plan = ReadJson(file);
  (*ChangeFor(&plan, "ReadOnlyInstance/reports"))["replicaRequest"]["specCode"] = "pg.it.large64";
  WriteJson(file, plan);
  ProcessResult request = rig.Run({"apply", "p.plan", "--auto-approve"});
  CHECK(request.exit_code == 1);
  CHECK(request.err.find("replicaRequest is ") != std::string::npos);
  CHECK(request.err.find("pg.it.large64") != std::string::npos);

  // Dropping a change is refused as well: the file must say all that would happen.
  REQUIRE(rig.Run({"plan", "--out", "p.plan"}).exit_code == 0);
  plan = ReadJson(file);
  plan["changes"].erase(plan["changes"].size() - 1);
  WriteJson(file, plan);
  ProcessResult dropped = rig.Run({"apply", "p.plan", "--auto-approve"});
  CHECK(dropped.exit_code == 1);
  CHECK(dropped.err.find("would be planned now but is not in the file") != std::string::npos);
  CHECK(rig.NonDryCreates() == 0);
}

TEST_CASE("cli: --allow-destroy comes from the command line and never from a plan file") {
  CliRig rig;
  rig.dir.Write("stack/serverless.yaml",
                "apiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: sandbox}\nspec:\n"
                "  zone: ap-beijing-1\n  dbVersion: \"10.4\"\n  dbCharset: UTF8\n  vpcId: vpc-8btfafeo\n"
                "  subnetId: subnet-1bjserv1\n  deletionPolicy: Delete\n");
  ProcessResult first = rig.Run({"apply", "--auto-approve"});
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  auto serverless = [&] {
    int n = 0;
    const json state = rig.emu.State();
    for (const json& i : state["instances"]) n += i["DBInstanceType"] == "serverless";
    return n;
  };
  REQUIRE(serverless() == 1);
  fs::remove(rig.dir.path() / "stack" / "serverless.yaml");
  ProcessResult planned = rig.Run({"plan", "--allow-destroy", "--out", "d.plan"});
  INFO(planned.out << planned.err);
  REQUIRE(planned.exit_code == 0);
  const fs::path file = rig.dir.path() / "stack" / "d.plan";
  json plan = ReadJson(file);
  REQUIRE(plan["allowDestroy"] == true);
  json* sandbox = ChangeFor(&plan, "ServerlessInstance/sandbox");
  REQUIRE(sandbox != nullptr);
  CHECK((*sandbox)["destroys"] == true);

  // The file as written, without the flag today: refused.
  ProcessResult without = rig.Run({"apply", "d.plan", "--auto-approve"});
  CHECK(without.exit_code == 1);
  CHECK(without.err.find("blocked: ServerlessInstance/sandbox") != std::string::npos);
  CHECK(without.err.find("rerun with --allow-destroy") != std::string::npos);
  CHECK(without.err.find("every change is blocked. Nothing was sent.") != std::string::npos);
  // The file edited to say it destroys nothing: still refused, and still nothing destroyed.
  (*sandbox)["destroys"] = false;
  WriteJson(file, plan);
  ProcessResult edited = rig.Run({"apply", "d.plan", "--auto-approve"});
  CHECK(edited.exit_code == 1);
  CHECK(edited.err.find("destroys is true in the file") == std::string::npos);
  CHECK(edited.err.find("destroys is false in the file, true now") != std::string::npos);
  CHECK(serverless() == 1);
  // With the flag given now, the plan as made applies.
  REQUIRE(rig.Run({"plan", "--allow-destroy", "--out", "d.plan"}).exit_code == 0);
  ProcessResult with = rig.Run({"apply", "d.plan", "--auto-approve", "--allow-destroy"});
  INFO(with.out << with.err);
  CHECK(with.exit_code == 0);
  CHECK(serverless() == 0);
}

TEST_CASE("cli: a plan file naming an instance the stack does not own cannot touch it") {
  CliRig rig;
  REQUIRE(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  // Someone else's replica, in another region, untagged.
  json request = SeedCreateReadOnlyRequest();
  auto bought = rig.emu.Call("CreateReadOnlyDBInstance", request, "ap-guangzhou");
  std::string stranger;
  if (bought.ok()) stranger = (*bought)["DBInstanceIdSet"][0];
  else stranger = "pgro-notours1";  // a region without the seed master: an id nobody owns at all
  fs::remove(rig.dir.path() / "stack" / "serverless.yaml");
  REQUIRE(rig.Run({"plan", "--allow-destroy", "--out", "d.plan"}).exit_code == 0);
  const fs::path file = rig.dir.path() / "stack" / "d.plan";
  json plan = ReadJson(file);
  json* sandbox = ChangeFor(&plan, "ServerlessInstance/sandbox");
  REQUIRE(sandbox != nullptr);
  (*sandbox)["action"] = "delete";
  (*sandbox)["destroys"] = true;
  (*sandbox)["region"] = "ap-guangzhou";
  (*sandbox)["instanceIds"] = {stranger};
  WriteJson(file, plan);
  const size_t before = rig.emu.State()["instances"].size();
  ProcessResult r = rig.Run({"apply", "d.plan", "--auto-approve", "--allow-destroy"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("not what would be planned now") != std::string::npos);
  CHECK(r.err.find(stranger) != std::string::npos);
  CHECK(rig.emu.State()["instances"].size() == before);
  CHECK(rig.emu.Calls("IsolateDBInstances")["total"] == 0);
  CHECK(rig.emu.Calls("DeleteServerlessDBInstance")["total"] == 0);
}

}  // namespace
}  // namespace reconciler::testing
