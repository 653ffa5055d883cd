// The bad-input corpus: every malformed stack in tests/specs/invalid/ gives its golden
// diagnostics and exit code 3, and nothing reaches the network.
//
// RECONCILER_UPDATE_GOLDEN=1 rewrites the expected.txt files from the current output.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/loopback_server.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> CorpusCases() {
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(SourcePath("tests/specs/invalid"))) {
    if (e.is_directory()) cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

// Copies a case to a scratch directory and creates the files its generate.txt asks for
// ("NAME BYTES" per line), so the 10 MB input need not live in git.
void Materialize(const fs::path& from, const TempDir& to) {
  for (const auto& e : fs::directory_iterator(from)) {
    std::string name = e.path().filename().string();
    if (name == "expected.txt" || name == "generate.txt" || name == "schema.txt") continue;
    fs::copy_file(e.path(), to.path() / name);
  }
  std::ifstream gen(from / "generate.txt");
  std::string name;
  size_t bytes = 0;
  while (gen >> name >> bytes) {
    std::string line = "# padding: a comment line, valid YAML, written to make the file large\n";
    std::string text;
    text.reserve(bytes);
    while (text.size() + line.size() <= bytes) text += line;
    text.append(bytes - text.size(), '#');
    to.Write(name, text);
  }
}

struct CountingServer {
  std::atomic<int> requests{0};  // before the server, whose handler counts here
  LoopbackServer server;
  CountingServer() {
    server.server().Post(".*", [this](const httplib::Request&, httplib::Response& res) {
      ++requests;
      res.set_content("{}", "application/json");
    });
    server.Start();
  }
};

TEST_CASE("specs corpus: every malformed stack gives its golden diagnostics and exit 3, sending nothing") {
  CountingServer cloud;
  const bool update = std::getenv("RECONCILER_UPDATE_GOLDEN") != nullptr;
  std::vector<fs::path> cases = CorpusCases();
  CHECK(cases.size() >= 40);
  for (const fs::path& c : cases) {
    CAPTURE(c.filename().string());
    TempDir dir("corpus");
    Materialize(c, dir);
    const std::vector<std::string> env = {"TENCENTCLOUD_ENDPOINT=" + cloud.server.url(), "TENCENTCLOUD_SECRET_ID=AKIDx",
                                          "TENCENTCLOUD_SECRET_KEY=k", "NO_COLOR=1"};
    ProcessResult r = RunProcess({BinaryPath("reconciler"), "validate", "."}, env, "", dir.str());
    if (update) std::ofstream(c / "expected.txt", std::ios::binary) << r.err;
    CHECK(r.exit_code == 3);
    CHECK(r.out.empty());
    CHECK(r.err == ReadFile((c / "expected.txt").string()));
    // Every command that loads specs stops the same way, with credentials and an endpoint at hand.
    const std::vector<std::vector<std::string>> commands = {{"plan", "."}, {"apply", ".", "--auto-approve"}};
    for (std::vector<std::string> args : commands) {
      CAPTURE(args[0]);
      args.insert(args.begin(), BinaryPath("reconciler"));
      ProcessResult p = RunProcess(args, env, "", dir.str());
      CHECK(p.exit_code == 3);
      CHECK(p.err == r.err);
    }
  }
  CHECK(cloud.requests == 0);
}

}  // namespace
}  // namespace reconciler::testing
