// What the command line says about itself: versions, `help`, "did you mean", the words shell
// completion offers, and the README's command list, which must be `reconciler help`'s.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/version.h"
#include "cli/cli.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;

ProcessResult Reconciler(std::vector<std::string> args) {
  args.insert(args.begin(), BinaryPath("reconciler"));
  return RunProcess(args, {"HOME=/nonexistent", "NO_COLOR=1"});
}

// The first ``` block after "## Commands" in README.md, without its fences.
std::string ReadmeCommandList() {
  std::ifstream in(SourcePath("README.md"));
  std::string line, block;
  bool in_section = false, in_block = false;
  while (std::getline(in, line)) {
    if (!in_section) {
      in_section = line == "## Commands";
    } else if (!in_block) {
      in_block = line.rfind("```", 0) == 0;
    } else if (line.rfind("```", 0) == 0) {
      return block;
    } else {
      block += line + "\n";
    }
  }
  return "";
}

TEST_CASE("cli help: version, --version and -V print the build's version, as does the emulator") {
  const std::string expected = std::string("reconciler ") + BuildVersion() + "\n";
  CHECK(std::string(BuildVersion()).size() > 0);
  for (const char* flag : {"version", "--version", "-V"}) {
    CAPTURE(flag);
    ProcessResult r = Reconciler({flag});
    CHECK(r.exit_code == 0);
    CHECK(r.out == expected);
  }
  ProcessResult emu = RunProcess({BinaryPath("tcloud-emulator"), "--version"});
  CHECK(emu.exit_code == 0);
  CHECK(emu.out == std::string("tcloud-emulator ") + BuildVersion() + "\n");
}

TEST_CASE("cli help: help CMD prints what CMD --help prints, for nested commands too") {
  for (std::vector<std::string> path : {std::vector<std::string>{"plan"}, {"state", "list"}, {"hook", "pre-receive"}}) {
    CAPTURE(path.front());
    std::vector<std::string> help_args = path, flag_args = path;
    help_args.insert(help_args.begin(), "help");
    flag_args.push_back("--help");
    ProcessResult via_help = Reconciler(help_args), via_flag = Reconciler(flag_args);
    CHECK(via_help.exit_code == 0);
    CHECK(via_flag.exit_code == 0);
    CHECK(via_help.out == via_flag.out);
    CHECK(via_help.out.find("Usage: reconciler " + path.front()) != std::string::npos);
  }
  ProcessResult unknown = Reconciler({"help", "plna"});
  CHECK(unknown.exit_code == kExitInvalidInput);
  CHECK(unknown.err == "reconciler help: unknown command 'plna'; did you mean 'plan'?\n");
}

TEST_CASE("cli help: a mistyped command or flag gets did you mean and exit 3") {
  struct Typo {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Typo& t : std::vector<Typo>{
           {{"plna"}, "reconciler: unknown command 'plna'; did you mean 'plan'?\nSee 'reconciler --help'.\n"},
           {{"state", "lsit"},
            "reconciler state: unknown command 'lsit'; did you mean 'list'?\nSee 'reconciler state --help'.\n"},
           {{"apply", "--auto-aprove"},
            "reconciler apply: unknown flag '--auto-aprove'; did you mean '--auto-approve'?\n"
            "See 'reconciler apply --help'.\n"},
           {{"plan", "--jsno", "stack"},
            "reconciler plan: unknown flag '--jsno'; did you mean '--json'?\nSee 'reconciler plan --help'.\n"},
           {{"zzzzzz"}, "reconciler: unknown command 'zzzzzz'\nSee 'reconciler --help'.\n"}}) {
    CAPTURE(t.args.front());
    ProcessResult r = Reconciler(t.args);
    CHECK(r.exit_code == kExitInvalidInput);
    CHECK(r.err == t.message);
    CHECK(r.out.empty());
  }
  // Not a typo: a missing value keeps CLI11's own message.
  ProcessResult missing = Reconciler({"plan", "--out"});
  CHECK(missing.exit_code == kExitInvalidInput);
  CHECK(missing.err.find("did you mean") == std::string::npos);
  CHECK(missing.err.find("--out") != std::string::npos);
}

TEST_CASE("cli help: the README's command list is what reconciler help prints") {
  const std::string readme = ReadmeCommandList();
  ProcessResult help = Reconciler({"help"});
  REQUIRE(help.exit_code == 0);
  REQUIRE_MESSAGE(!readme.empty(), "README.md has no ``` block under ## Commands");
  // The list is the start of the output, followed by a blank line and the footer.
  const std::string list = help.out.substr(0, help.out.find("\n\n") + 1);
  INFO("reconciler help prints this list; put it in README.md under ## Commands:\n" << list);
  CHECK(readme == list);
  for (const char* command : {"reconciler validate", "reconciler state list", "reconciler hook post-receive",
                              "reconciler version", "reconciler help"}) {
    CHECK(list.find(std::string("\n") + command) != std::string::npos);
  }
  CHECK(list.find("__complete") == std::string::npos);  // hidden
}

TEST_CASE("cli help: completion offers the commands and flags that may come next") {
  ProcessResult top = Reconciler({"__complete"});
  CHECK(top.exit_code == 0);
  for (const char* word : {"\nplan\n", "\nstate\n", "\nversion\n", "\n--no-color\n", "\n--color\n"}) {
    CHECK(("\n" + top.out).find(word) != std::string::npos);
  }
  CHECK(top.out.find("__complete") == std::string::npos);
  ProcessResult state = Reconciler({"__complete", "state"});
  CHECK(state.out == "list\nshow\nrebuild\nrm\n--help\n--stack\n");
  ProcessResult apply = Reconciler({"__complete", "--no-color", "apply", "--auto-approve"});
  CHECK(apply.out.find("--allow-destroy\n") != std::string::npos);
  // After a flag that takes a value, the shell offers files: no words.
  CHECK(Reconciler({"__complete", "plan", "--out"}).out.empty());
}

TEST_CASE("cli help: --color and --no-color decide colour, whatever NO_COLOR says") {
  TempDir dir("color");
  fs::create_directories(dir.path() / "stack");
  std::ofstream(dir.path() / "stack" / "bad.yaml") << "kind: ReadOnlyInstance\nname: [\n";
  const std::string stack = (dir.path() / "stack").string();
  auto validate = [&](std::vector<std::string> flags, const std::string& no_color) {
    flags.insert(flags.begin(), {BinaryPath("reconciler"), "validate", stack});
    return RunProcess(flags, {"HOME=/nonexistent", no_color});
  };
  ProcessResult always = validate({"--color=always"}, "NO_COLOR=1");
  CHECK(always.exit_code == kExitInvalidInput);
  CHECK(always.err.find("\033[") != std::string::npos);
  ProcessResult never = validate({"--color=always", "--no-color"}, "-NO_COLOR");
  CHECK(never.exit_code == kExitInvalidInput);
  CHECK(never.err.find("\033[") == std::string::npos);
  CHECK(never.err.find("error: ") != std::string::npos);
  ProcessResult bad = validate({"--color=sometimes"}, "-NO_COLOR");
  CHECK(bad.exit_code == kExitInvalidInput);
  CHECK(bad.err.find("sometimes") != std::string::npos);
}

TEST_CASE("cli help: a plan records the version that made it") {
  EmulatorFixture emu([](emu::World& w) { w.catalogue.clock.manual = false; });
  TempDir dir("planversion");
  fs::copy(SourcePath("examples/quickstart"), dir.path() / "stack", fs::copy_options::recursive);
  ProcessResult plan = RunProcess(
      {BinaryPath("reconciler"), "plan", "--json", "--out", (dir.path() / "saved.json").string()},
      {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
       "TENCENTCLOUD_ENDPOINT=" + emu.url(), "HOME=/nonexistent", "NO_COLOR=1"},
      "", (dir.path() / "stack").string());
  INFO(plan.err);
  REQUIRE(plan.exit_code == 0);
  CHECK(nlohmann::json::parse(plan.out).at("version") == BuildVersion());
  std::ifstream saved(dir.path() / "saved.json");
  CHECK(nlohmann::json::parse(saved).at("version") == BuildVersion());
}

}  // namespace
}  // namespace reconciler::testing
