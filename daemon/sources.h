#pragma once

// The two places a daemon's specs come from.
//
// DirectorySource reads a stack directory as `plan` does; its changes are noticed by
// DirectoryWatch (inotify), which wakes the loop.
//
// GitSource follows a branch: it keeps a bare mirror in <workdir>/mirror.git, fetches the
// branch, and reads the stack from the head commit's tree, never from a checkout a fetch
// could leave half-written. Once a commit validates it is checked out into
// <workdir>/checkout (spec files written whole and renamed into place; the state directory
// beside them is left alone), which is the stack directory the state's relative paths start
// from, and its id is kept in <workdir>/applied-commit, so a restart whose head does not
// validate keeps applying the last good commit.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "daemon/loop.h"
#include "gitops/git_source.h"
#include "specs/spec_loader.h"

namespace reconciler::daemon {

class DirectorySource final : public SpecSource {
 public:
  explicit DirectorySource(std::string dir) : dir_(std::move(dir)) {}
  Result<Snapshot> Load() override;
  std::string Describe() const override { return dir_; }
  // --region, --profile, --endpoint and TENCENTCLOUD_REGION, applied to every load.
  void SetOverrides(specs::ProjectOverrides overrides) { overrides_ = std::move(overrides); }

 private:
  std::string dir_;
  specs::ProjectOverrides overrides_;
};

class GitSource final : public SpecSource {
 public:
  // Opens (or creates) the mirror. Fails when the workdir cannot be made or its mirror
  // follows another URL.
  static Result<std::unique_ptr<GitSource>> Open(const std::string& url, const std::string& branch,
                                                 const std::string& path, const std::string& workdir);
  Result<Snapshot> Load() override;
  Result<std::string> Poll() override;
  bool Polls() const override { return true; }
  void Applied(const Snapshot& snapshot) override;
  std::optional<Snapshot> LastGood() override;
  std::string Describe() const override;

  // The stack directory: <workdir>/checkout.
  std::string checkout_dir() const;
  // --region, --profile, --endpoint and TENCENTCLOUD_REGION, applied to every load.
  void SetOverrides(specs::ProjectOverrides overrides) { overrides_ = std::move(overrides); }

 private:
  GitSource(gitops::Repository repo, std::string url, std::string branch, std::string path, std::string workdir);

  gitops::Repository repo_;
  std::string url_, branch_, path_, workdir_;
  specs::ProjectOverrides overrides_;
};

// Watches a stack directory with inotify and calls `changed` when a spec file or the
// project file is written, created, moved or deleted (hidden files and the state directory
// are ignored). The loop debounces.
class DirectoryWatch {
 public:
  DirectoryWatch();
  ~DirectoryWatch();  // stops the thread
  Status Start(const std::string& dir, std::function<void(const std::string& name)> changed);
  void Stop();

 private:
  int fd_ = -1;
  int stop_fd_ = -1;  // an eventfd that ends the thread's poll
  std::thread thread_;
};

}  // namespace reconciler::daemon
