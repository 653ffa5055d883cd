// `reconciler hook pre-receive` and `post-receive` installed in a real bare repository and
// run by real pushes: what the pusher sees, which pushes git refuses, and how the daemon is
// woken. The pushed commits are only in git's quarantine while pre-receive runs, so these
// tests also show the hook reads them from there.

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "state/sqlite/sqlite_state_store.h"
#include "state/state_store.h"
#include "tests/gitops/git_rig.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/loopback_server.h"

namespace reconciler::testing {
namespace {

std::string HookScript(const std::string& args) {
  return "#!/bin/sh\nexec '" + BinaryPath("reconciler") + "' hook " + args + "\n";
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs the hook command in this process on `input`.
int RunHook(const HookCommandOptions& options, const std::string& input, std::string* err) {
  std::ostringstream out, errors;
  std::istringstream in(input);
  const int rc = RunHookCommand(options, Io{out, errors, &in});
  *err = errors.str();
  return rc;
}

TEST_CASE(
    "hook: pre-receive accepts valid specs and refuses invalid ones on the tracked branch only") {
  GitRig rig;
  rig.InstallHook("pre-receive", HookScript("pre-receive --no-preflight --branch main"));
  rig.Write("reconciler.yaml", ProjectYaml());
  rig.Write("replicas.yaml", ReplicaYaml("reports", 2));
  const std::string good = rig.Commit("two replicas");
  ProcessResult accepted = rig.Push("main");
  INFO(accepted.err);
  CHECK(accepted.exit_code == 0);
  CHECK(Has(accepted.err,
            "remote: commit " + good.substr(0, 7) + " main: the specs are valid (--no-preflight"));
  CHECK(rig.OriginRef("refs/heads/main") == good);

  rig.Write("replicas.yaml", ReplicaYaml("reports", 2, "  colour: blue\n"));
  const std::string bad = rig.Commit("a typo");
  ProcessResult rejected = rig.Push("main");
  INFO(rejected.err);
  CHECK(rejected.exit_code != 0);
  CHECK(Has(rejected.err,
            "remote: push rejected: " + bad.substr(0, 7) + " main: 1 error in the specs"));
  CHECK(Has(rejected.err, "remote: replicas.yaml:13:3: "));
  CHECK(Has(rejected.err, "unknown field \"colour\""));
  CHECK(Has(rejected.err, "pre-receive hook declined"));
  CHECK(rig.OriginRef("refs/heads/main") == good);

  // Another branch is not the hook's business.
  ProcessResult other = rig.Push("feature");
  INFO(other.err);
  CHECK(other.exit_code == 0);
  CHECK_FALSE(Has(other.err, "push rejected"));
  CHECK(rig.OriginRef("refs/heads/feature") == bad);
}

TEST_CASE("hook: pre-receive reads the stack from --path") {
  GitRig rig;
  rig.InstallHook("pre-receive",
                  HookScript("pre-receive --no-preflight --branch main --path stacks/prod"));
  rig.Write("README.md", "no stack here\n");
  const std::string none = rig.Commit("no stack yet");
  ProcessResult rejected = rig.Push("main");
  INFO(rejected.err);
  CHECK(rejected.exit_code != 0);
  CHECK(Has(rejected.err, "push rejected: " + none.substr(0, 7) + " main: commit " +
                              none.substr(0, 7) + " has no folder stacks/prod"));
  CHECK(rig.OriginRef("refs/heads/main").empty());

  rig.Write("stacks/prod/reconciler.yaml", ProjectYaml());
  rig.Write("stacks/prod/replicas.yaml",
            ReplicaYaml("reports", 1, "  count: 2\n"));  // count given twice
  const std::string twice = rig.Commit("a duplicate key");
  ProcessResult duplicate = rig.Push("main");
  INFO(duplicate.err);
  CHECK(duplicate.exit_code != 0);
  CHECK(Has(duplicate.err, "remote: stacks/prod/replicas.yaml:"));
  CHECK(Has(duplicate.err, "push rejected: " + twice.substr(0, 7) + " main:"));

  rig.Write("stacks/prod/replicas.yaml", ReplicaYaml("reports", 1));
  const std::string good = rig.Commit("the stack");
  ProcessResult accepted = rig.Push("main");
  INFO(accepted.err);
  CHECK(accepted.exit_code == 0);
  CHECK(rig.OriginRef("refs/heads/main") == good);
}

TEST_CASE("hook: pre-receive refuses deleting the tracked branch, and input that is not git's") {
  const std::string id(40, 'a'), zeros(40, '0');
  HookCommandOptions options;
  options.which = "pre-receive";
  options.no_preflight = true;
  std::string err;
  CHECK(RunHook(options, id + " " + zeros + " refs/heads/main\n", &err) == kExitError);
  CHECK(Has(err, "push rejected: the tracked branch cannot be deleted (refs/heads/main)"));
  CHECK(RunHook(options,
                id + " " + zeros + " refs/heads/feature\n" + id + " " + id + " refs/tags/v1\n",
                &err) == kExitOk);
  CHECK(err.empty());
  CHECK(RunHook(options, "garbage\n", &err) == kExitError);
  CHECK(Has(err, "got \"garbage\"; push rejected"));
  CHECK(RunHook(options, "", &err) == kExitOk);
}

TEST_CASE(
    "hook: post-receive wakes the daemon once for a push to the tracked branch, never for "
    "another") {
  std::atomic<int> triggers{0};
  std::atomic<int> others{0};
  LoopbackServer daemon;
  daemon.server().Post("/trigger", [&](const httplib::Request&, httplib::Response& res) {
    ++triggers;
    res.status = 202;
  });
  daemon.server().set_error_handler([&](const httplib::Request&, httplib::Response&) { ++others; });
  daemon.Start();
  GitRig rig;
  rig.InstallHook("post-receive",
                  HookScript("post-receive --branch main --wake " + daemon.url() + "/trigger"));
  rig.Write("reconciler.yaml", ProjectYaml());
  rig.Commit("first");
  ProcessResult main = rig.Push("main");
  INFO(main.err);
  CHECK(main.exit_code == 0);
  // git push returns once post-receive has ended, and the hook waits for the answer.
  CHECK(triggers.load() == 1);
  ProcessResult feature = rig.Push("feature");
  INFO(feature.err);
  CHECK(feature.exit_code == 0);
  CHECK_FALSE(Has(feature.err, "warning"));
  daemon.Stop();
  CHECK(triggers.load() == 1);
  CHECK(others.load() == 0);
}

TEST_CASE("hook: post-receive warns and succeeds when the daemon cannot be reached") {
  HookCommandOptions options;
  options.which = "post-receive";
  options.wake = "http://127.0.0.1:1/trigger";
  const std::string line = std::string(40, '0') + " " + std::string(40, 'b') + " refs/heads/main\n";
  std::string err;
  CHECK(RunHook(options, line, &err) == kExitOk);
  CHECK(Has(err, "warning: could not wake the reconciler daemon at http://127.0.0.1:1/trigger: "));
  CHECK(Has(err, "next git poll"));
  // Nothing for the tracked branch: no attempt, no warning.
  CHECK(RunHook(options, std::string(40, '0') + " " + std::string(40, 'b') + " refs/heads/other\n",
                &err) == kExitOk);
  CHECK(err.empty());
}

TEST_CASE("hook: pre-receive plans with preflight and refuses a push the cloud would refuse") {
  EmulatorFixture emu;
  const std::vector<std::string> cloud = {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId,
                                          std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
                                          "TENCENTCLOUD_ENDPOINT=" + emu.url()};
  GitRig rig;
  rig.InstallHook("pre-receive", HookScript("pre-receive --branch main"));
  rig.Write("reconciler.yaml", ProjectYaml());
  rig.Write("replicas.yaml", ReplicaYaml("reports", 2));
  const std::string good = rig.Commit("two replicas");
  ProcessResult accepted = rig.Push("main", cloud);
  INFO(accepted.err);
  CHECK(accepted.exit_code == 0);
  CHECK(Has(accepted.err, "no --workdir: planning with no recorded state"));
  CHECK(Has(accepted.err, "remote: Plan: 1 to create, 0 to update, 0 to destroy."));
  CHECK(rig.OriginRef("refs/heads/main") == good);

  rig.Write("replicas.yaml", ReplicaYaml("reports", 2, "", "postgres-nosuch01"));
  const std::string bad = rig.Commit("an unknown master");
  ProcessResult rejected = rig.Push("main", cloud);
  INFO(rejected.err);
  CHECK(rejected.exit_code != 0);
  CHECK(Has(rejected.err,
            "preflight failed: ResourceNotFound.InstanceNotFoundError: The instance "
            "`postgres-nosuch01`"));
  CHECK(
      Has(rejected.err, "push rejected: " + bad.substr(0, 7) + " main: 1 change fails preflight"));
  CHECK(rig.OriginRef("refs/heads/main") == good);

  // With --workdir the plan reads the daemon's state, kept for its stack dir <workdir>/checkout.
  const std::string workdir = (rig.dir.path() / "daemon").string();
  rig.InstallHook("pre-receive", HookScript("pre-receive --branch main --workdir " + workdir));
  rig.Write("replicas.yaml", ReplicaYaml("reports", 3));
  rig.Commit("three replicas");
  ProcessResult no_state = rig.Push("main", cloud);
  INFO(no_state.err);
  CHECK(no_state.exit_code == 0);
  CHECK(Has(no_state.err, "no state at " + workdir + "/checkout/.reconciler/state.db yet"));
  CHECK_FALSE(std::filesystem::exists(workdir));  // read, never created
  {
    SystemClock clock;
    auto store = OpenSqliteStateStore(workdir + "/checkout/.reconciler/state.db", &clock);
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
    op.error = "refused";
    REQUIRE((*store)->PutOperation(op, "refused").ok());
  }
  rig.Write("replicas.yaml", ReplicaYaml("reports", 4));
  rig.Commit("four replicas");
  ProcessResult with_state = rig.Push("main", cloud);
  INFO(with_state.err);
  CHECK(with_state.exit_code == 0);  // a held purchase is the daemon's to follow, not the pusher's
  CHECK_FALSE(Has(with_state.err, "no state at"));
  CHECK(Has(with_state.err, "op-refused00001"));  // the daemon's failed purchase, from its state
  // Only dry runs and reads reached the cloud.
  nlohmann::json creates = emu.Calls("CreateReadOnlyDBInstance");
  CHECK(creates["total"].get<int>() >= 1);
  CHECK(creates["total"] == creates["dryRun"]);
}

}  // namespace
}  // namespace reconciler::testing
