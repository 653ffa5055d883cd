// The reconciler binary given bad input, as a user would run it: a damaged or foreign state
// file, a spec entry that is not a file, an endpoint that would send credentials in clear.
// Each must stop with a clear message, never crash, send nothing and change nothing.

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "state/sqlite/sqlite_state_store.h"
#include "state/state_store.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/loopback_server.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The quickstart stack against the emulator, whose admin API counts every call it gets.
struct BadInputRig {
  BadInputRig() { fs::copy(SourcePath("examples/quickstart"), stack_path(), fs::copy_options::recursive); }
  fs::path stack_path() const { return dir.path() / "stack"; }
  std::string state() const { return (stack_path() / ".reconciler" / "state.db").string(); }
  std::vector<std::string> Env() const {
    return {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
            "TENCENTCLOUD_ENDPOINT=" + emu.url(), "HOME=/nonexistent", "NO_COLOR=1"};
  }
  ProcessResult Run(std::vector<std::string> args, std::vector<std::string> extra_env = {}) {
    args.insert(args.begin(), BinaryPath("reconciler"));
    std::vector<std::string> env = Env();
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    return RunProcess(args, env, "", stack_path().string());
  }
  // Every call the emulator has answered, by action; empty when nothing was sent.
  json Calls() { return emu.AdminGet("/_admin/calls"); }
  void EditProject(const std::string& from, const std::string& to) {
    const fs::path project = stack_path() / "reconciler.yaml";
    std::string text = ReadFile(project.string());
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::ofstream(project) << text;
  }

  EmulatorFixture emu;
  TempDir dir{"badinput"};
};

// A real state file, written by the store, holding one resource, instance and operation.
void WriteState(const std::string& path) {
  FakeClock clock;
  auto store = std::move(OpenSqliteStateStore(path, &clock)).value();
  REQUIRE(store->PutResource({"ReadOnlyInstance/reports", "ap-beijing", "Orphan", "{}", "", ""}).ok());
  REQUIRE(store->PutInstance({"pgro-0000001", "ReadOnlyInstance/reports", "ap-beijing", "", ""}).ok());
}

void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

int64_t RootPage(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string sql = "SELECT rootpage FROM sqlite_master WHERE name = '" + table + "'";
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  int64_t page = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return page;
}

// Pages of the table's b-tree overwritten with garbage, the rest of the file intact.
void CorruptTable(const std::string& path, const std::string& table) {
  const int64_t page = RootPage(path, table);
  REQUIRE(page > 1);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp((page - 1) * 4096);
  const std::string garbage(4096, '\xee');
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  REQUIRE(f.good());
}

TEST_CASE("cli: a corrupted state file stops plan, apply and state list before anything is sent and is left unchanged") {
  BadInputRig rig;
  fs::create_directories(rig.stack_path() / ".reconciler");
  WriteState(rig.state());
  std::string table;
  SUBCASE("resources") { table = "resources"; }
  SUBCASE("instances") { table = "instances"; }
  SUBCASE("operations") { table = "operations"; }
  CorruptTable(rig.state(), table);
  const std::string before = ReadFile(rig.state());
  const std::string absolute = fs::absolute(rig.state()).lexically_normal().string();
  for (std::vector<std::string> args : {std::vector<std::string>{"plan"}, {"apply", "--auto-approve"}, {"state", "list"}}) {
    ProcessResult r = rig.Run(args);
    INFO(args[0] << ": " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("state store " + absolute + ": reading " + table + ": database disk image is malformed") !=
          std::string::npos);
    CHECK(r.err.find("terminate called") == std::string::npos);
    CHECK(r.out.find("adopt") == std::string::npos);
  }
  CHECK(rig.Calls() == json::object());
  CHECK(ReadFile(rig.state()) == before);
}

TEST_CASE("cli: a generation in state that is not a number is a clear error and not an abort") {
  BadInputRig rig;
  fs::create_directories(rig.stack_path() / ".reconciler");
  WriteState(rig.state());
  Sql(rig.state(), "UPDATE meta SET value = '12x' WHERE key = 'generation'");
  for (std::vector<std::string> args : {std::vector<std::string>{"plan"}, {"apply", "--auto-approve"}}) {
    ProcessResult r = rig.Run(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "reconciler " + args[0] + ": state store " + fs::absolute(rig.state()).lexically_normal().string() +
                       ": the generation in meta is '12x', not a count; the file is damaged\n");
  }
  CHECK(rig.Calls() == json::object());
}

TEST_CASE("cli: state on a file that is not our database is refused and the file is left as it was") {
  BadInputRig rig;
  const fs::path target = rig.dir.path() / "target";
  std::string kind;
  SUBCASE("a text file") {
    rig.dir.Write("target", "my notes\n");
    REQUIRE(chmod(target.c_str(), 0644) == 0);
    kind = "it is not a SQLite database";
  }
  SUBCASE("a null device") {
    // Our own node, so that a regression could never chmod the system's /dev/null.
    if (mknod(target.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) REQUIRE(symlink("/dev/null", target.c_str()) == 0);
    kind = "it is a character device, not a database file";
  }
  SUBCASE("a directory") {
    fs::create_directories(target);
    kind = "it is a directory, not a database file";
  }
  rig.EditProject("state: sqlite:.reconciler/state.db", "state: sqlite:" + target.string());
  struct stat before {};
  REQUIRE(stat(target.c_str(), &before) == 0);
  const std::string bytes = S_ISREG(before.st_mode) ? ReadFile(target.string()) : "";
  for (std::vector<std::string> args : {std::vector<std::string>{"plan"}, {"apply", "--auto-approve"}}) {
    ProcessResult r = rig.Run(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err == "reconciler " + args[0] + ": state store " + target.string() + ": " + kind +
                       "; refusing to use it (nothing was changed)\n");
  }
  struct stat after {};
  REQUIRE(stat(target.c_str(), &after) == 0);
  CHECK(after.st_mode == before.st_mode);
  if (S_ISREG(before.st_mode)) CHECK(ReadFile(target.string()) == bytes);
  CHECK_FALSE(fs::exists(target.string() + "-wal"));
  CHECK(rig.Calls() == json::object());
}

TEST_CASE("cli: a spec entry that is a FIFO stops plan before anything is sent") {
  BadInputRig rig;
  const fs::path fifo = rig.stack_path() / "more.yaml";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  ProcessResult r = rig.Run({"plan"});
  CHECK(r.exit_code == 3);
  CHECK(r.err == "more.yaml: error: it is a FIFO, not a spec file\n1 error; nothing was sent\n");
  CHECK(rig.Calls() == json::object());
}

// A server standing for a forward proxy: a request sent through http_proxy reaches it, so
// it counts what would have crossed the network.
struct ProxyWitness {
  ProxyWitness() {
    srv.server().set_pre_routing_handler([this](const httplib::Request&, httplib::Response& res) {
      ++requests;
      res.set_content(R"({"Response":{"RequestId":"via-proxy"}})", "application/json");
      return httplib::Server::HandlerResponse::Handled;
    });
    srv.Start();
  }
  std::string env() const { return "http_proxy=" + srv.url(); }
  std::atomic<int> requests{0};  // before the server: its handler counts here
  LoopbackServer srv;
};

TEST_CASE("cli: an http endpoint off this machine is refused naming it and the flag and nothing is sent") {
  BadInputRig rig;
  ProxyWitness proxy;
  const std::string far = "http://pg.far.example:9100";
  SUBCASE("in the project file") {
    rig.EditProject("    region: ap-beijing\n", "    region: ap-beijing\n    endpoint: " + far + "\n");
    const std::string where = " (reconciler.yaml:8:15 provider.tencentcloud.endpoint) is plain http to pg.far.example";
    for (std::vector<std::string> args : {std::vector<std::string>{"plan"}, {"apply", "--auto-approve"}}) {
      ProcessResult r = rig.Run(args, {proxy.env()});
      INFO(r.out << r.err);
      CHECK(r.exit_code == 3);
      CHECK(r.err.rfind("reconciler " + args[0] + ": endpoint " + far + where, 0) == 0);
      CHECK(r.err.find("pass --insecure-endpoint to allow it; nothing was sent") != std::string::npos);
    }
    ProcessResult validate = rig.Run({"validate"}, {proxy.env()});
    CHECK(validate.exit_code == 3);
    CHECK(validate.err.rfind("reconciler.yaml:8:15: error: endpoint " + far, 0) == 0);
    CHECK(validate.err.find("--insecure-endpoint") != std::string::npos);
    CHECK(rig.Run({"validate", "--insecure-endpoint"}).exit_code == 0);
  }
  SUBCASE("in the environment") {
    for (std::vector<std::string> args : {std::vector<std::string>{"plan"}, {"apply", "--auto-approve"},
                                          {"api", "DescribeRegions"}, {"state", "rebuild"}}) {
      ProcessResult r = rig.Run(args, {proxy.env(), "TENCENTCLOUD_ENDPOINT=" + far});
      INFO(r.out << r.err);
      CHECK(r.exit_code == 3);
      CHECK(r.err.find("endpoint " + far + " (TENCENTCLOUD_ENDPOINT) is plain http to pg.far.example") != std::string::npos);
      CHECK(r.err.find("--insecure-endpoint") != std::string::npos);
    }
  }
  SUBCASE("on the api command line") {
    ProcessResult r = rig.Run({"api", "DescribeRegions", "--endpoint", far}, {proxy.env()});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("endpoint " + far + " (--endpoint) is plain http") != std::string::npos);
  }
  proxy.srv.Stop();
  CHECK(proxy.requests == 0);
  CHECK(rig.Calls() == json::object());
}

TEST_CASE("cli: --insecure-endpoint sends to an http endpoint off this machine") {
  // The refusal above is only evidence if the same request, allowed, does reach the proxy.
  BadInputRig rig;
  ProxyWitness proxy;
  ProcessResult r = rig.Run({"api", "DescribeRegions", "--insecure-endpoint"},
                            {proxy.env(), "TENCENTCLOUD_ENDPOINT=http://pg.far.example:9100"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("via-proxy") != std::string::npos);
  proxy.srv.Stop();
  CHECK(proxy.requests == 1);
}

TEST_CASE("cli: an http endpoint named localhost needs no flag") {
  BadInputRig rig;
  const std::string port = rig.emu.url().substr(rig.emu.url().rfind(':') + 1);
  ProcessResult r = rig.Run({"plan"}, {"TENCENTCLOUD_ENDPOINT=http://localhost:" + port});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(rig.emu.Calls("DescribeDBInstances")["total"].get<int>() > 0);
}


TEST_CASE("cli: a plan file nested too deep or holding a fraction is refused and not a crash") {
  BadInputRig rig;
  const fs::path file = rig.stack_path() / "bad.plan";
  std::string why;
  SUBCASE("nested a million levels in a field that is shown") {
    std::ofstream(file) << R"({"formatVersion":)" << std::string(1000000, '[') << std::string(1000000, ']') << "}";
    why = "JSON nested 1000001 levels deep; the limit is 100";
  }
  SUBCASE("a count far out of range") {
    REQUIRE(rig.Run({"plan", "--out", "bad.plan"}).exit_code == 0);
    json plan = json::parse(ReadFile(file.string()));
    plan["stateGeneration"] = 1e300;
    std::ofstream(file) << plan.dump();
    why = "the plan file is damaged: the number at /stateGeneration is not an integer";
  }
  ProcessResult r = rig.Run({"apply", "bad.plan", "--auto-approve"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK(r.err == "reconciler apply: bad.plan: " + why + "\n");
  CHECK(rig.emu.Calls("CreateReadOnlyDBInstance")["total"].get<int>() ==
        rig.emu.Calls("CreateReadOnlyDBInstance")["dryRun"].get<int>());
}

TEST_CASE("cli: api given an answer nested too deep reports it and does not crash") {
  std::string answer = R"({"Response":{"RequestId":"r","X":)";
  answer.append(300000, '[').append(300000, ']').append("}}");
  LoopbackServer srv;
  srv.server().Post("/", [answer](const httplib::Request&, httplib::Response& res) {
    res.set_content(answer, "application/json");
  });
  srv.Start();
  BadInputRig rig;
  ProcessResult r = rig.Run({"api", "DescribeRegions"}, {"TENCENTCLOUD_ENDPOINT=" + srv.url()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("the answer is not a Tencent Cloud API envelope (JSON nested 300002 levels deep") != std::string::npos);
  ProcessResult data = rig.Run({"api", "DescribeRegions", "--data", "{\"a\":" + std::string(50000, '[') + std::string(50000, ']') + "}"},
                               {"TENCENTCLOUD_ENDPOINT=" + srv.url()});
  CHECK(data.exit_code == 3);
  CHECK(data.err.find("--data must be a JSON object (JSON nested 50001 levels deep; the limit is 100)") != std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing
