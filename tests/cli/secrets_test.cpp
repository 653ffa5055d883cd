// No secret is ever printed, logged or stored (design.md). The binary is run through every
// command that talks to the cloud or shows state, in text and JSON, succeeding and failing,
// with STS credentials whose key and token are distinctive; then every byte it printed or
// left on disk is searched for them.

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSecretId = "AKIDSECRETSTESTPAIR00000000000003";
constexpr const char* kSecretKey = "canary-secret-key-5f3a9c1e7d2b4a60";
constexpr const char* kToken = "canary-session-token-8b2d4e7f1a3c5e79";
constexpr const char* kWrongKey = "canary-wrong-key-0d1e2f3a4b5c6d7e";
constexpr const char* kWrongToken = "canary-wrong-token-9e8d7c6b5a4f3e2d";

struct Captured {
  std::string name;  // the command, or the file
  std::string bytes;
};

// Names of the captures that hold `needle` anywhere in their bytes.
std::vector<std::string> Hits(const std::vector<Captured>& all, const std::string& needle) {
  std::vector<std::string> out;
  for (const Captured& c : all) {
    if (c.bytes.find(needle) != std::string::npos) out.push_back(c.name);
  }
  return out;
}

// Every regular file under `root`, whatever its name: plan files, the state, its WAL and
// shared memory, the lock, anything a command chose to write.
std::vector<Captured> FilesUnder(const fs::path& root) {
  std::vector<Captured> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) out.push_back({entry.path().string(), ReadFile(entry.path().string())});
  }
  return out;
}

struct SecretsRig {
  SecretsRig()
      : emu([](emu::World& w) {
          w.catalogue.clock.manual = false;
          w.catalogue.clock.time_scale = 0.01;
          w.catalogue.replica_quota_per_master = 20;
          w.catalogue.credentials.push_back({kSecretId, kSecretKey, kToken});
        }) {
    fs::copy(SourcePath("examples/quickstart"), stack(), fs::copy_options::recursive);
    fs::create_directories(dir.path() / "home");
  }
  fs::path stack() const { return dir.path() / "stack"; }
  ProcessResult Run(const std::vector<std::string>& args, const std::string& key = kSecretKey,
                    const std::string& token = kToken) {
    std::vector<std::string> argv = {BinaryPath("reconciler")};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = RunProcess(argv,
                                 {std::string("TENCENTCLOUD_SECRET_ID=") + kSecretId, "TENCENTCLOUD_SECRET_KEY=" + key,
                                  "TENCENTCLOUD_SESSION_TOKEN=" + token, "TENCENTCLOUD_REGION=ap-beijing",
                                  "TENCENTCLOUD_ENDPOINT=" + emu.url(), "HOME=" + (dir.path() / "home").string(),
                                  "NO_COLOR=1"},
                                 "", stack().string());
    std::string name;
    for (const std::string& a : args) name += a + " ";
    printed.push_back({name + "(stdout)", r.out});
    printed.push_back({name + "(stderr)", r.err});
    return r;
  }

  EmulatorFixture emu;
  TempDir dir{"secrets"};
  std::vector<Captured> printed;
};

TEST_CASE("secrets: no output, plan file, state or log holds the secret key or the session token") {
  SecretsRig rig;
  CHECK(rig.Run({"validate"}).exit_code == 0);
  CHECK(rig.Run({"plan"}).exit_code == 0);

  // A reader that stays open keeps the state's WAL on disk after each command, so the WAL
  // is searched too (the last connection to close would fold it into the file).
  sqlite3* reader = nullptr;
  const std::string state = (rig.stack() / ".reconciler" / "state.db").string();
  REQUIRE(sqlite3_open(state.c_str(), &reader) == SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "SELECT count(*) FROM meta", nullptr, nullptr, nullptr) == SQLITE_OK);

  CHECK(rig.Run({"plan", "--json"}).exit_code == 0);
  CHECK(rig.Run({"plan", "--markdown"}).exit_code == 0);
  CHECK(rig.Run({"plan", "--out", "first.plan"}).exit_code == 0);
  ProcessResult applied = rig.Run({"apply", "first.plan", "--auto-approve"});
  INFO(applied.out << applied.err);
  CHECK(applied.exit_code == 0);
  {
    std::string replicas = ReadFile((rig.stack() / "replicas.yaml").string());
    replicas.replace(replicas.find("count: 2"), 8, "count: 3");
    std::ofstream(rig.stack() / "replicas.yaml") << replicas;
  }
  CHECK(rig.Run({"plan", "--json", "--out", "second.plan"}).exit_code == 0);
  CHECK(rig.Run({"apply", "--auto-approve", "--json-progress"}).exit_code == 0);
  CHECK(rig.Run({"apply", "--auto-approve"}).exit_code == 0);
  CHECK(rig.Run({"state", "list"}).exit_code == 0);
  CHECK(rig.Run({"state", "show", "ReadOnlyInstance/reports"}).exit_code == 0);
  CHECK(rig.Run({"state", "rebuild"}).exit_code == 0);
  CHECK(rig.Run({"api", "DescribeDBInstances", "--data", R"({"Limit":5})"}).exit_code == 0);
  CHECK(rig.Run({"api", "DescribeDBInstances", "--verbose"}).exit_code == 0);
  CHECK(rig.Run({"api", "DescribeReadOnlyGroups", "--verbose", "--data", R"({"Filters":[]})"}).exit_code <= 1);

  // Failures: credentials the cloud refuses, and faults on the way.
  for (const std::vector<std::string>& args : {std::vector<std::string>{"plan"}, {"plan", "--json"},
                                              {"apply", "--auto-approve", "--json-progress"},
                                              {"api", "DescribeDBInstances", "--verbose"}, {"state", "rebuild"}}) {
    ProcessResult refused = rig.Run(args, kWrongKey, kWrongToken);
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("AuthFailure") != std::string::npos);
  }
  rig.emu.AddFault({{"type", "tokenExpiry"}, {"action", "DescribeDBInstances"}, {"times", 2}});
  ProcessResult expired = rig.Run({"plan", "--json"});
  CHECK(expired.exit_code == 1);
  CHECK(expired.err.find("AuthFailure.TokenFailure") != std::string::npos);
  ProcessResult expired_api = rig.Run({"api", "DescribeDBInstances", "--verbose"});
  CHECK(expired_api.exit_code == 1);
  CHECK(expired_api.err.find("AuthFailure.TokenFailure") != std::string::npos);
  rig.emu.AddFault({{"type", "httpError"}, {"status", 502}, {"action", "DescribeDBInstances"}, {"times", 10}});
  CHECK(rig.Run({"apply", "--auto-approve", "--json-progress"}).exit_code == 1);
  CHECK(rig.Run({"api", "DescribeDBInstances"}).exit_code == 1);

  std::vector<Captured> files = FilesUnder(rig.dir.path());
  sqlite3_close(reader);
  for (const char* name : {"stack/first.plan", "stack/second.plan", "stack/.reconciler/state.db",
                           "stack/.reconciler/state.db-wal", "stack/.reconciler/state.db.lock"}) {
    INFO(name);
    bool present = std::any_of(files.begin(), files.end(), [&](const Captured& c) {
      return c.name == (rig.dir.path() / name).string() && !c.bytes.empty();
    });
    CHECK(present);
  }
  std::vector<Captured> all = rig.printed;
  all.insert(all.end(), files.begin(), files.end());

  // The search finds what is there: copies planted in a file and in an output.
  std::vector<Captured> planted = all;
  planted.push_back({"planted output", std::string("... ") + kToken + " ..."});
  planted.push_back({"planted file", std::string("\x01\x02") + kSecretKey + "\x03"});
  CHECK(Hits(planted, kToken) == std::vector<std::string>{"planted output"});
  CHECK(Hits(planted, kSecretKey) == std::vector<std::string>{"planted file"});

  for (const char* secret : {kSecretKey, kToken, kWrongKey, kWrongToken}) {
    INFO(secret);
    CHECK(Hits(all, secret).empty());
  }
  // The secret id is not a secret; finding it shows the outputs searched were the real ones.
  CHECK_FALSE(Hits(rig.printed, kSecretId).empty());
}

}  // namespace
}  // namespace reconciler::testing
