// The reconciler binary against the emulator: --profile, --region and --endpoint on the stack
// commands, the credential chain down to the emulator's metadata service, auth failures that
// name their keys' source, --json-progress as pure JSON lines, and the debug log of API calls.

#include <doctest/doctest.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Nothing listens on port 1: off a CVM, the metadata service is not there.
constexpr const char* kNoMetadata = "TENCENTCLOUD_METADATA_ENDPOINT=http://127.0.0.1:1/latest/meta-data/";

// The emulator in real time, sped up, a copy of the quickstart stack and an empty HOME.
struct FlagsRig {
  FlagsRig()
      : emu([](emu::World& w) {
          w.catalogue.clock.manual = false;
          w.catalogue.clock.time_scale = 0.01;
          w.catalogue.replica_quota_per_master = 20;
        }) {
    fs::copy(SourcePath("examples/quickstart"), dir.path() / "stack", fs::copy_options::recursive);
    fs::create_directories(dir.path() / "home");
  }
  // No credentials and no cloud settings anywhere but what `extra` adds.
  std::vector<std::string> BareEnv(std::vector<std::string> extra) const {
    std::vector<std::string> env = {"-TENCENTCLOUD_SECRET_ID", "-TENCENTCLOUD_SECRET_KEY", "-TENCENTCLOUD_SESSION_TOKEN",
                                    "-TENCENTCLOUD_PROFILE", "-TCCLI_PROFILE", "-TENCENTCLOUD_CREDENTIALS_FILE",
                                    "-TENCENTCLOUD_REGION", "-TENCENTCLOUD_ENDPOINT", "-RECONCILER_LOG",
                                    "HOME=" + (dir.path() / "home").string(), kNoMetadata, "NO_COLOR=1"};
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
  }
  std::vector<std::string> StsEnv(std::vector<std::string> extra = {}) const {
    extra.insert(extra.begin(), {std::string("TENCENTCLOUD_SECRET_ID=") + kStsSecretId,
                                 std::string("TENCENTCLOUD_SECRET_KEY=") + kStsSecretKey,
                                 std::string("TENCENTCLOUD_SESSION_TOKEN=") + kStsToken,
                                 "TENCENTCLOUD_ENDPOINT=" + emu.url()});
    return BareEnv(extra);
  }
  ProcessResult Run(std::vector<std::string> args, const std::vector<std::string>& env) {
    args.insert(args.begin(), BinaryPath("reconciler"));
    return RunProcess(args, env, "", stack());
  }
  std::string stack() const { return (dir.path() / "stack").string(); }
  EmulatorFixture emu;
  TempDir dir{"flags"};
};

bool HasSecret(const ProcessResult& r) {
  for (const std::string& s : {std::string(kStsSecretKey), std::string(kStsToken)}) {
    if (r.out.find(s) != std::string::npos || r.err.find(s) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("cli flags: apply --json-progress writes only timestamped JSON lines to stdout") {
  FlagsRig rig;
  ProcessResult r = rig.Run({"apply", "--auto-approve", "--json-progress"}, rig.StsEnv());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const std::regex rfc3339_ms(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::istringstream lines(r.out);
  size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    CAPTURE(line);
    json event = json::parse(line, nullptr, false);
    REQUIRE_FALSE(event.is_discarded());
    REQUIRE(event.is_object());
    REQUIRE(event.contains("time"));
    CHECK(std::regex_match(event["time"].get<std::string>(), rfc3339_ms));
  }
  CHECK(n >= 3);
  // The people's part went to stderr.
  CHECK(r.err.find("Plan: 3 to create") != std::string::npos);
  CHECK(r.err.find("Apply complete: 3 done") != std::string::npos);
}

TEST_CASE("cli flags: --log-level debug and RECONCILER_LOG=debug log every API call, never a secret") {
  FlagsRig rig;
  ProcessResult plan = rig.Run({"plan"}, rig.StsEnv({"RECONCILER_LOG=debug"}));
  INFO(plan.err);
  CHECK(plan.exit_code == 0);
  const std::regex call_line(R"(debug api call action=DescribeDBInstances service=postgres region=ap-beijing )"
                             R"(status=200 code=ok request_id=[0-9a-f-]{36} duration_ms=\d+)");
  CHECK(std::regex_search(plan.err, call_line));
  CHECK(plan.err.find("action=CreateReadOnlyDBInstance") != std::string::npos);  // the DryRun
  CHECK_FALSE(HasSecret(plan));

  ProcessResult apply = rig.Run({"apply", "--auto-approve", "--json-progress", "--log-level", "debug"}, rig.StsEnv());
  CHECK(apply.exit_code == 0);
  CHECK(apply.err.find("api call action=CreateReadOnlyDBInstance") != std::string::npos);
  CHECK(apply.out.find("api call") == std::string::npos);  // stdout stays JSON
  CHECK_FALSE(HasSecret(apply));

  ProcessResult quiet = rig.Run({"plan", "--log-level", "warn"}, rig.StsEnv({"RECONCILER_LOG=debug"}));
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err.find("api call") == std::string::npos);  // the flag beats the environment
}

TEST_CASE("cli flags: a log level that does not exist is invalid input") {
  FlagsRig rig;
  CHECK(rig.Run({"plan", "--log-level", "loud"}, rig.StsEnv()).exit_code == 3);
  ProcessResult env = rig.Run({"plan"}, rig.StsEnv({"RECONCILER_LOG=loud"}));
  CHECK(env.exit_code == 3);
  CHECK(env.err.find("RECONCILER_LOG must be error, warn, info or debug, got \"loud\"") != std::string::npos);
}

TEST_CASE("cli flags: --region beats the project, TENCENTCLOUD_REGION only fills in for it") {
  FlagsRig rig;
  ProcessResult bad = rig.Run({"plan", "--region", "ap-nowhere"}, rig.StsEnv());
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("--region: error: region \"ap-nowhere\" is not a region") != std::string::npos);
  // The project says ap-beijing; a region in the environment does not move the stack.
  ProcessResult env = rig.Run({"plan", "--log-level", "debug"}, rig.StsEnv({"TENCENTCLOUD_REGION=ap-shanghai"}));
  CHECK(env.exit_code == 0);
  CHECK(env.err.find("region=ap-shanghai") == std::string::npos);

  // Without a region in the project, TENCENTCLOUD_REGION is the stack's.
  rig.dir.Write("stack/reconciler.yaml", "stack: quickstart\nstate: sqlite:.reconciler/state.db\n"
                                         "defaults: {vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn, tags: {team: data}}\n");
  ProcessResult none = rig.Run({"validate"}, rig.StsEnv());
  CHECK(none.exit_code == 3);
  CHECK(none.err.find("no region") != std::string::npos);
  ProcessResult from_env = rig.Run({"plan", "--log-level", "debug"}, rig.StsEnv({"TENCENTCLOUD_REGION=ap-beijing"}));
  INFO(from_env.err);
  CHECK(from_env.exit_code == 0);
  CHECK(from_env.err.find("region=ap-beijing") != std::string::npos);
  CHECK(rig.Run({"validate", "--region", "ap-beijing"}, rig.StsEnv()).exit_code == 0);
}

TEST_CASE("cli flags: --endpoint beats TENCENTCLOUD_ENDPOINT") {
  FlagsRig rig;
  // Nothing listens at the environment's endpoint: only the flag's can answer.
  std::vector<std::string> env = rig.StsEnv({"TENCENTCLOUD_ENDPOINT=http://127.0.0.1:1"});
  ProcessResult r = rig.Run({"plan", "--endpoint", rig.emu.url()}, env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Plan: 3 to create") != std::string::npos);
}

TEST_CASE("cli flags: --profile reads the SDKs' INI file, and a missing one is named") {
  FlagsRig rig;
  rig.dir.Write("home/.tencentcloud/credentials", std::string("[ci]\nsecret_id = ") + kDemoSecretId +
                                                      "\nsecret_key = " + kDemoSecretKey + "\n");
  std::vector<std::string> env = rig.BareEnv({"TENCENTCLOUD_ENDPOINT=" + rig.emu.url()});
  ProcessResult ok = rig.Run({"plan", "--profile", "ci"}, env);
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  ProcessResult missing = rig.Run({"state", "rebuild", "--profile", "prod"}, env);
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("profile 'prod' (--profile or provider.tencentcloud.profile) not found") != std::string::npos);
}

TEST_CASE("cli flags: an auth failure names where the keys came from, never the keys") {
  FlagsRig rig;
  std::vector<std::string> env = rig.BareEnv({std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId,
                                              "TENCENTCLOUD_SECRET_KEY=not-the-right-key-QWERTY",
                                              "TENCENTCLOUD_ENDPOINT=" + rig.emu.url()});
  ProcessResult r = rig.Run({"plan"}, env);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("AuthFailure.SignatureFailure") != std::string::npos);
  CHECK(r.err.find("(keys from environment variables TENCENTCLOUD_SECRET_ID/KEY)") != std::string::npos);
  CHECK(r.err.find("not-the-right-key-QWERTY") == std::string::npos);
}

TEST_CASE("cli flags: with no keys anywhere, the CVM role from the emulator's metadata service is used") {
  FlagsRig rig;
  std::vector<std::string> env = rig.BareEnv({"TENCENTCLOUD_METADATA_ENDPOINT=" + rig.emu.url() + "/latest/meta-data/",
                                              "TENCENTCLOUD_ENDPOINT=" + rig.emu.url()});
  ProcessResult r = rig.Run({"apply", "--auto-approve"}, env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Apply complete: 3 done") != std::string::npos);
  CHECK(rig.emu.server().metadata().ToJson()["issued"] == 1);
}

}  // namespace
}  // namespace reconciler::testing
