// `cmake --install` as a packager runs it: the binaries, the man pages help2man made, and
// shell completion that works from the installed binary.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What the installed bash completion offers for `line` (the word being completed last).
std::string BashCompletes(const fs::path& prefix, const std::string& line) {
  const std::string script = "source '" + (prefix / "share/bash-completion/completions/reconciler").string() +
                             "'; COMP_WORDS=(" + line + "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
                             "_reconciler; printf '%s\\n' \"${COMPREPLY[@]}\"";
  return RunProcess({"/bin/bash", "-c", script}, {"PATH=" + (prefix / "bin").string() + ":/usr/bin:/bin"}).out;
}

TEST_CASE("cli install: cmake --install puts binaries, man pages and completion under the prefix") {
  TempDir dir("install");
  const fs::path prefix = dir.path() / "usr";
  ProcessResult install = RunProcess(
      {"/bin/sh", "-c", "cmake --install '" + std::string(RECONCILER_BINARY_DIR) + "' --prefix '" + prefix.string() + "'"});
  INFO(install.out << install.err);
  REQUIRE(install.exit_code == 0);
  for (const char* binary : {"bin/reconciler", "bin/tcloud-emulator"}) {
    CAPTURE(binary);
    CHECK(fs::exists(prefix / binary));
  }
  const std::string man = ReadAll(prefix / "share/man/man1/reconciler.1");
  CHECK(man.find(".TH RECONCILER \"1\"") != std::string::npos);
  CHECK(man.find("apply") != std::string::npos);  // the commands, from --help
  CHECK(ReadAll(prefix / "share/man/man1/tcloud-emulator.1").find("\\-\\-world") != std::string::npos);
  CHECK(ReadAll(prefix / "share/zsh/site-functions/_reconciler").rfind("#compdef reconciler", 0) == 0);
  // The schemas, where a modeline in a stack anywhere can name them.
  for (const char* schema : {"resource", "project", "readonlyinstance", "readonlygroup", "serverlessinstance"}) {
    CHECK(ReadAll(prefix / "share/reconciler/schema" / (std::string(schema) + ".schema.json")).find("\"$id\"") !=
          std::string::npos);
  }
  // The installed binary answers the installed completion.
  CHECK(BashCompletes(prefix, "reconciler st") == "state\n");
  CHECK(BashCompletes(prefix, "reconciler state l") == "list\n");
  CHECK(BashCompletes(prefix, "reconciler apply --auto") == "--auto-approve\n");
}

}  // namespace
}  // namespace reconciler::testing
