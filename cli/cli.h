#pragma once

// The `reconciler` command line. main() only forwards to RunCli().
//
// Exit codes (design.md): 0 success (plan: no changes), 1 runtime or API error,
// 2 plan has changes (with --detailed-exitcode), 3 invalid input (specs, flags, project
// file), in which case nothing was sent.

#include <iosfwd>
#include <istream>

namespace reconciler {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitChanges = 2,
  kExitInvalidInput = 3,
};

// --color: kAuto colours output to a terminal unless NO_COLOR is set; --no-color is kNever.
enum class ColorMode { kAuto, kAlways, kNever };

// Where a command reads and writes. Tests pass string streams.
struct Io {
  std::ostream& out;
  std::ostream& err;
  std::istream* in = nullptr;  // answers to prompts; nullptr: none
  ColorMode color = ColorMode::kAuto;
};

int RunCli(int argc, char** argv, Io io);

}  // namespace reconciler
