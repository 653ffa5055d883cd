#pragma once

// Each subcommand is a function over a plain options struct, so the flag parser (cli.cpp)
// is the only place that knows about CLI11 and tests can call commands directly.

#include <string>

#include "reconciler/cli.h"

namespace reconciler {

struct ApiCommandOptions {
  std::string action;
  std::string service = "postgres";
  std::string version;  // default: the service's current version
  std::string region;   // default: from the environment or profile
  std::string data = "{}";
  std::string endpoint;  // default: from the environment or profile
  std::string profile;   // default: $TCCLI_PROFILE, else "default"
  bool verbose = false;
};

// `reconciler api ACTION --data JSON`: one signed call, the response printed as JSON.
int RunApiCommand(const ApiCommandOptions& options, Io io);

struct ValidateCommandOptions {
  std::string stack = ".";
};

// `reconciler validate [STACK]`: loads the specs, prints every problem, exits 3 on errors.
// Makes no network call.
int RunValidateCommand(const ValidateCommandOptions& options, Io io);

// Whether to colour output written to stderr: a terminal, and NO_COLOR unset.
bool UseColor(int fd);

}  // namespace reconciler
