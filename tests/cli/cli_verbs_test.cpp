// The Terraform verbs against the emulator: apply PLANFILE without a prompt, -lock-timeout,
// force-unlock, state rm, -target and destroy, and saved plans applied from another checkout.

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "base/clock.h"
#include "state/sqlite/sqlite_state_store.h"
#include "state/stack_lease.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kSandboxDelete =
    "apiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: sandbox}\nspec:\n"
    "  zone: ap-beijing-1\n  dbVersion: \"10.4\"\n  dbCharset: UTF8\n  vpcId: vpc-8btfafeo\n"
    "  subnetId: subnet-1bjserv1\n  deletionPolicy: Delete\n";

// The emulator in real time, sped up, and a copy of the quickstart stack; every command runs
// with its lock directory inside the test's own directory.
struct VerbsRig {
  VerbsRig()
      : emu([](emu::World& w) {
          w.catalogue.clock.manual = false;
          w.catalogue.clock.time_scale = 0.01;
          w.catalogue.replica_quota_per_master = 20;
        }) {
    fs::copy(SourcePath("examples/quickstart"), dir.path() / "stack", fs::copy_options::recursive);
    fs::create_directories(dir.path() / "locks");
    fs::permissions(dir.path() / "locks", fs::perms::owner_all);
  }
  std::vector<std::string> Env() const {
    return {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
            "TENCENTCLOUD_ENDPOINT=" + emu.url(), "HOME=/nonexistent", "NO_COLOR=1",
            "RECONCILER_LOCK_DIR=" + (dir.path() / "locks").string()};
  }
  ProcessResult Run(std::vector<std::string> args, const std::string& cwd = "") {
    args.insert(args.begin(), BinaryPath("reconciler"));
    return RunProcess(args, Env(), "", cwd.empty() ? stack() : cwd);
  }
  std::string stack() const { return (dir.path() / "stack").string(); }
  std::string state_lock() const { return stack() + "/.reconciler/state.db.lock"; }
  // Instances of `type` ("readonly", "serverless") the emulator holds, by status.
  std::map<std::string, int> Instances(const std::string& type) {
    std::map<std::string, int> out;
    const json state = emu.State();
    for (const json& i : state["instances"]) {
      if (i["DBInstanceType"] == type) ++out[i["DBInstanceStatus"].get<std::string>()];
    }
    return out;
  }
  EmulatorFixture emu;
  TempDir dir{"verbs"};
};

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_CASE("verbs: apply PLANFILE applies without a prompt, from a pipe, as Terraform does") {
  VerbsRig rig;
  REQUIRE(rig.Run({"plan", "--out", "p.plan"}).exit_code == 0);
  // Without a plan file the confirmation stays, and without a terminal nobody can give it.
  ProcessResult unconfirmed = rig.Run({"apply"});
  CHECK(unconfirmed.exit_code == 1);
  CHECK(Has(unconfirmed.err, "stdin is not a terminal, so nobody can confirm"));
  ProcessResult apply = rig.Run({"apply", "p.plan"});  // stdin is not a terminal, and no --auto-approve
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  CHECK(Has(apply.out, "Apply complete: 3 done"));
  CHECK(!Has(apply.out, "Apply these changes?"));
  ProcessResult missing = rig.Run({"apply", "nope.plan"});
  CHECK(missing.exit_code == 3);
  CHECK(Has(missing.err, "nope.plan is neither a stack directory nor a plan file"));
  rig.dir.Write("stack/bad.plan", "{\"formatVersion\": 1, \"stack\": ");
  ProcessResult damaged = rig.Run({"apply", "bad.plan"});
  CHECK(damaged.exit_code == 3);
  CHECK(Has(damaged.err, "reconciler apply: bad.plan: "));
}

TEST_CASE("verbs: a saved plan applies from another checkout of the stack, in another directory") {
  VerbsRig rig;
  ProcessResult plan = rig.Run({"plan", "--out", "p.plan", "stack"}, rig.dir.path().string());
  INFO(plan.out << plan.err);
  REQUIRE(plan.exit_code == 0);
  std::ifstream in(rig.dir.path() / "p.plan");
  const json saved = json::parse(in);
  CHECK(saved["stackDir"] == "stack");  // relative to where it was planned, never absolute
  // Another checkout: the same files (and state) in another directory; the plan file travels.
  const fs::path other = rig.dir.path() / "ci-job-2";
  fs::create_directories(other);
  fs::copy(rig.stack(), other / "stack", fs::copy_options::recursive);
  fs::copy(rig.dir.path() / "p.plan", other / "p.plan");
  fs::remove_all(rig.stack());
  ProcessResult apply = rig.Run({"apply", "p.plan"}, other.string());
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  CHECK(Has(apply.out, "Apply complete: 3 done"));
  CHECK(fs::exists(other / "stack" / ".reconciler" / "state.db"));
  // Applied from a directory where the stack is not: said plainly.
  ProcessResult lost = rig.Run({"apply", (other / "p.plan").string()}, rig.dir.path().string());
  CHECK(lost.exit_code == 3);
  CHECK(Has(lost.err, "is for the stack in stack (relative to the directory it was planned in)"));
}

TEST_CASE("verbs: -target plans only the resource and what it depends on, and says so") {
  VerbsRig rig;
  ProcessResult plan = rig.Run({"plan", "--json", "-target", "ReadOnlyInstance/reports"});
  INFO(plan.out << plan.err);
  REQUIRE(plan.exit_code == 0);
  json p = json::parse(plan.out);
  std::set<std::string> planned;
  for (const json& c : p["changes"]) planned.insert(c["resource"].get<std::string>());
  CHECK(planned == std::set<std::string>{"ReadOnlyGroup/reports-group", "ReadOnlyInstance/reports"});
  CHECK(p["targets"] == json::array({"ReadOnlyInstance/reports"}));
  CHECK(Has(p["warnings"][0].get<std::string>(), "targeted plan: only ReadOnlyGroup/reports-group, ReadOnlyInstance/reports"));
  ProcessResult text = rig.Run({"plan", "--target=ServerlessInstance/sandbox"});
  CHECK(Has(text.out, "warning: targeted plan: only ServerlessInstance/sandbox planned"));
  CHECK(!Has(text.out, "ReadOnlyInstance/reports"));

  ProcessResult apply = rig.Run({"apply", "--auto-approve", "-target", "ServerlessInstance/sandbox"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  CHECK(rig.Instances("serverless")["running"] == 1);
  CHECK(rig.Instances("readonly").empty());

  ProcessResult unknown = rig.Run({"plan", "-target", "ReadOnlyInstance/nope"});
  CHECK(unknown.exit_code == 3);
  CHECK(Has(unknown.err, "target ReadOnlyInstance/nope is neither in the specs of stack quickstart nor in its state"));
  ProcessResult malformed = rig.Run({"apply", "--auto-approve", "-target", "reports"});
  CHECK(malformed.exit_code == 3);
  CHECK(Has(malformed.err, "-target reports is not KIND/NAME"));
  ProcessResult kind = rig.Run({"destroy", "--auto-approve", "-target", "Database/x"});
  CHECK(kind.exit_code == 3);
}

TEST_CASE("verbs: destroy orphans or deletes every resource by its deletionPolicy, and only when approved") {
  VerbsRig rig;
  rig.dir.Write("stack/serverless.yaml", kSandboxDelete);
  REQUIRE(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  ProcessResult unconfirmed = rig.Run({"destroy"});
  CHECK(unconfirmed.exit_code == 1);
  CHECK(Has(unconfirmed.err, "pass --auto-approve to destroy without asking"));
  // Deleting needs --allow-destroy, as for apply: the Delete one is blocked, the rest orphaned.
  ProcessResult blocked = rig.Run({"plan", "--destroy", "--detailed-exitcode"});
  INFO(blocked.out << blocked.err);
  CHECK(blocked.exit_code == 1);
  CHECK(Has(blocked.out, "! ServerlessInstance/sandbox"));
  ProcessResult destroy = rig.Run({"destroy", "--auto-approve", "--allow-destroy"});
  INFO(destroy.out << destroy.err);
  CHECK(destroy.exit_code == 0);
  CHECK(Has(destroy.out, "ReadOnlyInstance/reports"));
  CHECK(rig.emu.Calls("DeleteServerlessDBInstance")["total"] == 1);
  CHECK(rig.Instances("readonly")["running"] == 2);  // deletionPolicy Orphan: they keep running, untagged
  ProcessResult list = rig.Run({"state", "list"});
  CHECK(!Has(list.out, "ReadOnlyInstance/reports"));
  CHECK(!Has(list.out, "ServerlessInstance/sandbox"));
  // The specs are unchanged: a plan buys the replicas and the serverless instance again (the
  // orphaned group is found by its name on the master and adopted).
  ProcessResult plan = rig.Run({"plan", "--json"});
  INFO(plan.out);
  const json replanned = json::parse(plan.out);
  std::set<std::string> created;
  for (const json& c : replanned["changes"]) {
    if (c["action"] == "create") created.insert(c["resource"].get<std::string>());
  }
  CHECK(created == std::set<std::string>{"ReadOnlyInstance/reports", "ServerlessInstance/sandbox"});
}

TEST_CASE("verbs: destroy -target takes what depends on the target with it, and nothing else") {
  VerbsRig rig;
  REQUIRE(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  ProcessResult plan = rig.Run({"plan", "--json", "--destroy", "-target", "ReadOnlyGroup/reports-group"});
  INFO(plan.out << plan.err);
  REQUIRE(plan.exit_code == 0);
  json p = json::parse(plan.out);
  CHECK(p["destroy"] == true);
  std::set<std::string> planned;
  for (const json& c : p["changes"]) planned.insert(c["resource"].get<std::string>());
  CHECK(planned == std::set<std::string>{"ReadOnlyGroup/reports-group", "ReadOnlyInstance/reports"});
  // The saved destroy plan applies as a destroy, without a prompt, and keeps its targets.
  REQUIRE(rig.Run({"plan", "--destroy", "-target", "ReadOnlyGroup/reports-group", "--out", "d.plan"}).exit_code == 0);
  ProcessResult retarget = rig.Run({"apply", "d.plan", "-target", "ServerlessInstance/sandbox"});
  CHECK(retarget.exit_code == 3);
  ProcessResult apply = rig.Run({"apply", "d.plan"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  ProcessResult list = rig.Run({"state", "list"});
  CHECK(Has(list.out, "ServerlessInstance/sandbox"));
  CHECK(!Has(list.out, "ReadOnlyInstance/reports"));
}

TEST_CASE("verbs: -lock-timeout waits for the holder to let go, and fails when it does not in time") {
  VerbsRig rig;
  SystemClock clock;
  fs::create_directories(rig.stack() + "/.reconciler");
  auto held = StackLock::Acquire(rig.state_lock(), &clock);
  REQUIRE(held.ok());
  const auto start = std::chrono::steady_clock::now();
  ProcessResult timed_out = rig.Run({"apply", "--auto-approve", "-lock-timeout", "300ms"});
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
  CHECK(timed_out.exit_code == 1);
  CHECK(Has(timed_out.err, "Waiting up to 300ms for the stack's lock, held by lock id "));
  CHECK(Has(timed_out.err, "(gave up waiting)"));
  CHECK(rig.emu.Calls("DescribeDBInstances")["total"] == 0);
  ProcessResult bad = rig.Run({"apply", "--auto-approve", "-lock-timeout", "5 minutes"});
  CHECK(bad.exit_code == 3);
  CHECK(Has(bad.err, "-lock-timeout 5 minutes is not a duration"));
}

TEST_CASE("verbs: StackLock waits and takes the lock the moment its holder lets go") {
  TempDir dir{"lock"};
  SystemClock clock;
  const std::string path = (dir.path() / "l.lock").string();
  auto held = StackLock::Acquire(path, &clock);
  REQUIRE(held.ok());
  std::string seen;
  std::thread releaser;
  auto got = StackLock::Acquire(path, &clock, "", std::chrono::seconds(60), [&](const std::string& holder) {
    seen = holder;
    releaser = std::thread([&] { held->reset(); });  // lets go while the waiter waits
  });
  releaser.join();
  CHECK(got.ok());
  CHECK(seen.rfind("lock id ", 0) == 0);
  auto none = StackLock::Acquire(path, &clock, "", std::chrono::milliseconds(0));
  CHECK(none.status().code() == Code::kConflict);
}

TEST_CASE("verbs: force-unlock removes a stuck holder's locks by id, after confirmation or -force") {
  VerbsRig rig;
  SystemClock clock;
  fs::create_directories(rig.stack() + "/.reconciler");
  auto held = StackLock::Acquire(rig.state_lock(), &clock);
  REQUIRE(held.ok());
  ProcessResult locked = rig.Run({"apply", "--auto-approve"});
  REQUIRE(locked.exit_code == 1);
  const size_t at = locked.err.find("force-unlock ");
  REQUIRE(at != std::string::npos);
  const std::string id = locked.err.substr(at + 13, 16);
  ProcessResult wrong = rig.Run({"force-unlock", "0000000000000000"});
  CHECK(wrong.exit_code == 1);
  CHECK(Has(wrong.err, "no lock of stack quickstart has id 0000000000000000"));
  CHECK(Has(wrong.err, "held now: lock id " + id));
  ProcessResult unconfirmed = rig.Run({"force-unlock", id});
  CHECK(unconfirmed.exit_code == 1);
  CHECK(Has(unconfirmed.err, "pass -force"));
  ProcessResult unlocked = rig.Run({"force-unlock", "-force", id});
  INFO(unlocked.out << unlocked.err);
  CHECK(unlocked.exit_code == 0);
  CHECK(Has(unlocked.out, "Removed 1 lock file(s)"));
  ProcessResult apply = rig.Run({"apply", "--auto-approve"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  // The apply's own lock went with it when it exited: nothing to do.
  const std::string left = ReadFile(rig.state_lock());
  REQUIRE(left.rfind("lock id ", 0) == 0);
  ProcessResult gone = rig.Run({"force-unlock", left.substr(8, 16)});
  CHECK(gone.exit_code == 0);
  CHECK(Has(gone.out, "is not held: its holder has exited"));
}

TEST_CASE("verbs: state rm forgets a resource without touching the cloud, and refuses during a purchase") {
  VerbsRig rig;
  REQUIRE(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  const json before = rig.emu.State();
  ProcessResult rm = rig.Run({"state", "rm", "ReadOnlyInstance/reports"});
  INFO(rm.out << rm.err);
  CHECK(rm.exit_code == 0);
  CHECK(Has(rm.out, "Removed ReadOnlyInstance/reports from the state (pgro-"));
  CHECK(!Has(rig.Run({"state", "list"}).out, "ReadOnlyInstance/reports"));
  CHECK(rig.emu.State()["instances"] == before["instances"]);  // the cloud is untouched
  ProcessResult again = rig.Run({"state", "rm", "ReadOnlyInstance/reports"});
  CHECK(again.exit_code == 1);
  CHECK(Has(again.err, "nothing is recorded for ReadOnlyInstance/reports"));
  ProcessResult malformed = rig.Run({"state", "rm", "reports"});
  CHECK(malformed.exit_code == 3);
  CHECK(Has(malformed.err, "reports is not KIND/NAME"));

  // A purchase in flight holds its resource in the state unless forced.
  SystemClock clock;
  {
    auto store = OpenSqliteStateStore(rig.stack() + "/.reconciler/state.db", &clock);
    REQUIRE(store.ok());
    Operation op;
    op.id = "op-inflight1";
    op.resource_key = "ServerlessInstance/sandbox";
    op.kind = OperationKind::kCreateServerless;
    op.region = "ap-beijing";
    op.phase = Phase::kOrdered;
    REQUIRE((*store)->PutOperation(op, "test").ok());
  }
  ProcessResult refused = rig.Run({"state", "rm", "ServerlessInstance/sandbox"});
  CHECK(refused.exit_code == 1);
  CHECK(Has(refused.err, "a purchase of ServerlessInstance/sandbox is in flight (op-inflight1, ordered)"));
  ProcessResult forced = rig.Run({"state", "rm", "--force", "ServerlessInstance/sandbox"});
  CHECK(forced.exit_code == 0);
}

TEST_CASE("verbs: output lists each instance's private address and port from the listing, with no call per instance") {
  VerbsRig rig;
  REQUIRE(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  const int attribute_calls = rig.emu.Calls("DescribeDBInstanceAttribute")["total"];
  ProcessResult out = rig.Run({"output", "--json"});
  INFO(out.out << out.err);
  REQUIRE(out.exit_code == 0);
  const json o = json::parse(out.out);
  const json account = rig.emu.State();
  std::map<std::string, std::string> ip_of;
  for (const json& i : account["instances"]) {
    if (i.contains("DBInstanceNetInfo")) ip_of[i["DBInstanceId"]] = i["DBInstanceNetInfo"][0]["Ip"];
  }
  int replicas = 0;
  for (const json& r : o["resources"]) {
    if (r["resource"] == "ReadOnlyInstance/reports") {
      for (const json& i : r["instances"]) {
        ++replicas;
        CHECK(i["status"] == "running");
        CHECK(i["privatePort"] == 5432);
        CHECK(!i["privateIp"].get<std::string>().empty());
        CHECK(i["privateIp"] == ip_of[i["id"].get<std::string>()]);
        CHECK(i["privateAddress"] == i["id"].get<std::string>() + ".pg.tencentcdb.com");
      }
    }
    if (r["resource"] == "ReadOnlyGroup/reports-group") {
      CHECK(r["group"]["id"].get<std::string>().rfind("pgrogrp-", 0) == 0);
      CHECK(r["group"]["members"].size() == 2);
    }
    if (r["resource"] == "ServerlessInstance/sandbox") CHECK(r["instances"][0]["privatePort"] == 5432);
  }
  CHECK(replicas == 2);
  CHECK(rig.emu.Calls("DescribeDBInstanceAttribute")["total"] == attribute_calls);
  ProcessResult text = rig.Run({"output"});
  CHECK(Has(text.out, "ReadOnlyInstance/reports\n  pgro-"));
  CHECK(Has(text.out, ":5432"));
  ProcessResult show = rig.Run({"show"});
  CHECK(show.exit_code == 0);
  CHECK(show.out == text.out);
}

TEST_CASE("verbs: show renders a saved plan, and refuses a missing or damaged one") {
  VerbsRig rig;
  REQUIRE(rig.Run({"plan", "--out", "p.plan"}).exit_code == 0);
  ProcessResult show = rig.Run({"show", "p.plan"});
  CHECK(show.exit_code == 0);
  CHECK(Has(show.out, "Plan: 3 to create"));
  ProcessResult j = rig.Run({"show", "--json", "p.plan"});
  CHECK(json::parse(j.out)["stack"] == "quickstart");
  ProcessResult missing = rig.Run({"show", "nope.plan"});
  CHECK(missing.exit_code == 3);
  CHECK(Has(missing.err, "nope.plan is not a stack directory nor a plan file"));
  rig.dir.Write("stack/bad.plan", "{\"formatVersion\": 7}");
  ProcessResult bad = rig.Run({"show", "bad.plan"});
  CHECK(bad.exit_code == 3);
  CHECK(Has(bad.err, "plan format version 7"));
}

TEST_CASE("verbs: graph writes the resources, their group and master as DOT") {
  VerbsRig rig;
  ProcessResult g = rig.Run({"graph"});
  REQUIRE(g.exit_code == 0);
  CHECK(g.out.rfind("digraph \"quickstart\" {", 0) == 0);
  CHECK(Has(g.out, "\"ReadOnlyInstance/reports\" -> \"ReadOnlyGroup/reports-group\";"));
  CHECK(Has(g.out, "\"ReadOnlyGroup/reports-group\" -> \"postgres-abcdef\";"));
  CHECK(Has(g.out, "\"ServerlessInstance/sandbox\" [shape=cylinder];"));
  CHECK(g.out.substr(g.out.size() - 2) == "}\n");
  CHECK(rig.emu.Calls("DescribeDBInstances")["total"] == 0);  // no network
}

TEST_CASE("verbs: a postpaid price is shown as the cloud quotes it, per hour, never times 720") {
  VerbsRig rig;
  ProcessResult plan = rig.Run({"plan", "--json"});
  REQUIRE(plan.exit_code == 0);
  const json p = json::parse(plan.out);
  // The same question, asked of the cloud directly.
  auto quote = rig.emu.Call("InquiryPriceCreateDBInstances",
                            {{"Zone", "ap-beijing-4"}, {"SpecCode", "pg.it.small2"}, {"Storage", 100},
                             {"InstanceCount", 2}, {"Period", 1}, {"InstanceChargeType", "POSTPAID"},
                             {"InstanceType", "readonly"}, {"DBEngine", "postgresql"}});
  REQUIRE(quote.ok());
  const std::string key = (*quote)["Currency"].get<std::string>() + "/hour";
  for (const json& c : p["changes"]) {
    if (c["resource"] != "ReadOnlyInstance/reports") continue;
    CHECK(c["cost"] == json{{key, (*quote)["Price"]}});
    CHECK(Has(c["priceNote"].get<std::string>(), "postpaid, as InquiryPriceCreateDBInstances quotes it"));
  }
  CHECK(p["summary"]["cost"] == json{{key, (*quote)["Price"]}});
  ProcessResult text = rig.Run({"plan"});
  const int64_t cents = (*quote)["Price"];
  char amount[32];
  std::snprintf(amount, sizeof amount, "%lld.%02lld/hour", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  CHECK(Has(text.out, std::string("Cost: +\xc2\xa5") + amount + "."));
  CHECK(!Has(text.out, "/month"));
}

}  // namespace
}  // namespace reconciler::testing
