#pragma once

// Real git repositories for the gitops and hook tests, built with the git command line: a
// bare "origin" and a work repository that commits and pushes to it. Every git command
// runs with a deadline and with no user or system configuration.

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {

// Runs argv with the environment changed by `env` (as RunProcess), killing it if it has not
// ended within `deadline`; a killed process has exit_code -1 and says so in `err`.
ProcessResult RunWithin(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                        const std::string& cwd, std::chrono::seconds deadline,
                        const std::string& input = "");

// A project file and one ReadOnlyInstance spec that validate (stack "gitops").
std::string ProjectYaml(const std::string& stack = "gitops");

class GitRig {
 public:
  GitRig();

  // Runs git in `cwd` (default: the work repository); REQUIREs nothing, returns the result.
  ProcessResult Git(const std::vector<std::string>& args, const std::string& cwd = "") const;
  // Writes `relative` in the work repository.
  void Write(const std::string& relative, const std::string& text) const;
  // Stages everything and commits; returns the new commit's id.
  std::string Commit(const std::string& message) const;
  // git push origin HEAD:refs/heads/<branch>, with extra environment for the hooks.
  ProcessResult Push(const std::string& branch, const std::vector<std::string>& env = {}) const;
  // The id origin's `ref` names, or "" when it has none.
  std::string OriginRef(const std::string& ref) const;
  // Installs `script` as origin's hook `name` (executable).
  void InstallHook(const std::string& name, const std::string& script) const;

  std::string work() const { return (dir.path() / "work").string(); }
  std::string origin() const { return (dir.path() / "origin.git").string(); }
  std::vector<std::string> Env() const;

  TempDir dir{"git"};
};

}  // namespace reconciler::testing
