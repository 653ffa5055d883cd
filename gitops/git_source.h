#pragma once

// Git, through libgit2 (included only under gitops/). The daemon keeps a bare mirror of the
// tracked repository in a directory it owns, fetches the tracked branch into it, and reads
// the stack's files straight from a commit's tree: never from a checkout that a fetch could
// leave half-updated. The pre-receive hook reads a pushed commit the same way, from the
// repository the push is going into (quarantined objects included).

#include <memory>
#include <string>

#include "base/status.h"
#include "specs/spec_loader.h"
#include "specs/yaml_tree.h"

namespace reconciler::gitops {

struct Commit {
  std::string id;       // 40 hex digits
  std::string subject;  // the first line of its message
};

// A stack read from a commit's tree: the same StackSource a directory gives, so the same
// loader and the same diagnostics apply. `path` is the stack's folder in the tree ("" or "."
// the root). Files are named in messages as "<path>/<name>@<short id>". Entries named like
// spec files that are not regular blobs (symlinks, submodules, folders) are read errors,
// as ReadStack treats them; so are files over the limits.
struct TreeStack {
  Commit commit;
  specs::StackSource source;
};

class Repository {
 public:
  ~Repository();
  Repository(Repository&&) noexcept;
  Repository& operator=(Repository&&) noexcept;

  // The daemon's mirror of `url` in `dir` (created as a bare repository when absent; an
  // existing one must have `url` as its origin, else kConflict).
  static Result<Repository> OpenMirror(const std::string& url, const std::string& dir);
  // The repository the current process runs in as a git hook: GIT_DIR and the quarantine
  // variables (GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES) are honoured.
  static Result<Repository> OpenFromEnvironment();
  // Any repository on disk, bare or not (tests, tools).
  static Result<Repository> Open(const std::string& path);

  // Fetches `branch` from origin and returns its head. Fails with kUnavailable when the
  // remote cannot be reached and kNotFound when it has no such branch.
  Result<Commit> Fetch(const std::string& branch);
  // The commit `id` (a full id) names, or kNotFound.
  Result<Commit> Lookup(const std::string& id);
  // The stack at `path` in `commit`'s tree.
  Result<TreeStack> ReadStack(const std::string& commit_id, const std::string& path,
                              const specs::ParseLimits& limits = {});

 private:
  Repository();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reconciler::gitops
