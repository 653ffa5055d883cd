#pragma once

// Runs the project's real executables as child processes, for tests that must see
// exactly what a user would see on stdout and stderr.

#include <string>
#include <vector>

namespace reconciler::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with the parent's environment changed by `env`: "NAME=value" sets,
// "-NAME" unsets. Feeds `input` on stdin and waits for the process to exit.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         const std::string& input = "", const std::string& cwd = "");

// Path of a binary built next to the test binary, e.g. BinaryPath("reconciler").
std::string BinaryPath(const std::string& name);
// Path inside the source tree.
std::string SourcePath(const std::string& relative);

}  // namespace reconciler::testing
