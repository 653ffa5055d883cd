// Conformance with the official Tencent Cloud Node SDKs (tools/sdk-conformance, packages pinned
// in its package-lock.json and installed by scripts/setup.sh):
// - models.json, the request models of the actions we send as the SDKs define them per site,
//   is exactly what the installed packages give, so it cannot drift or be edited by hand;
// - the official CommonClient, pointed at the emulator, gets the same answer as
//   `reconciler api` for every case of conformance.mjs (seed examples, DryRun, auth failures,
//   validation errors, the tag service, describes).

#include <doctest/doctest.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;

const char* kSetupHint = "the SDK packages are missing; run scripts/setup.sh (or npm ci in tools/sdk-conformance)";

bool SdkPackagesInstalled() {
  const fs::path modules = SourcePath("tools/sdk-conformance/node_modules");
  for (const char* p : {"tencentcloud-sdk-nodejs-common", "tencentcloud-sdk-nodejs", "tencentcloud-sdk-nodejs-intl-en",
                        "sdk-china-serverless", "sdk-china-serverless-delete"}) {
    if (!fs::exists(modules / p / "package.json")) return false;
  }
  return true;
}

ProcessResult Node(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {"/usr/bin/env", "node"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, env);
}

// The number of cases conformance.mjs runs for `site` (skipped ones are listed but not run).
int CaseCount(const std::string& site) {
  ProcessResult r = Node({SourcePath("tools/sdk-conformance/conformance.mjs"), "--list", "--site", site});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  int n = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.find("(skipped:") == std::string::npos) ++n;
  }
  return n;
}

// Runs every case of `site` against an emulator serving that site: the default world with
// its `site` setting replaced.
void RunConformance(const std::string& site) {
  REQUIRE_MESSAGE(SdkPackagesInstalled(), kSetupHint);
  const int cases = CaseCount(site);
  REQUIRE(cases >= 20);
  TempDir dir("sdk-conformance");
  std::string world;
  std::istringstream lines(ReadFile(DefaultWorldPath()));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("site:", 0) != 0) world += line + "\n";
  }
  EmulatorProcess emulator(dir.Write("world.yaml", "site: " + site + "\n" + world));
  ProcessResult r = Node({SourcePath("tools/sdk-conformance/conformance.mjs"), "--site", site, BinaryPath("reconciler")},
                         {"TENCENTCLOUD_ENDPOINT=" + emulator.url(), std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId,
                          std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey, "TENCENTCLOUD_REGION=ap-beijing",
                          "-TENCENTCLOUD_SESSION_TOKEN"});
  INFO(r.out);
  INFO(r.err);
  std::smatch m;
  static const std::regex kSummary(R"((?:^|\n)(\d+) passed, (\d+) failed\n?$)");
  REQUIRE(std::regex_search(r.out, m, kSummary));
  CHECK(std::stoi(m[2]) == 0);
  CHECK(std::stoi(m[1]) >= cases);
  CHECK(r.exit_code == 0);
}

TEST_CASE("sdk conformance: models.json is exactly what the pinned SDK packages define") {
  REQUIRE_MESSAGE(SdkPackagesInstalled(), kSetupHint);
  ProcessResult r = Node({SourcePath("tools/sdk-conformance/extract-models.mjs"), "--check"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("sdk conformance: ModifyReadOnlyGroupConfig is checked on both sites") {
  REQUIRE_MESSAGE(SdkPackagesInstalled(), kSetupHint);
  for (const std::string site : {"intl", "china"}) {
    ProcessResult r = Node({SourcePath("tools/sdk-conformance/conformance.mjs"), "--list", "--site", site});
    CAPTURE(site);
    CHECK(r.out.find("ModifyReadOnlyGroupConfig on a new group") != std::string::npos);
    CHECK(r.out.find("validation ModifyReadOnlyGroupConfig MinDelayEliminateReserve 101") != std::string::npos);
  }
}

TEST_CASE("sdk conformance: the official Node SDK and reconciler api get the same answers on the intl site") {
  RunConformance("intl");
}

TEST_CASE("sdk conformance: the official Node SDK and reconciler api get the same answers on the china site") {
  RunConformance("china");
}

}  // namespace
}  // namespace reconciler::testing
