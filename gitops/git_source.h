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
// the root). Files are named in messages as the directory loader names them, "<path>/<name>"
// (just "<name>" at the root), so a diagnostic reads the same from a tree and a checkout;
// `source.dir` is "<path>@<short id>" ("." for the root). Entries named like spec files that
// are not regular blobs (symlinks, which are never followed, submodules, folders) are read
// errors, as specs::ReadStack treats them; so are files over the limits.
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
  // existing one must have `url` as its origin, else kConflict naming both; a directory
  // that holds something else than a repository is kConflict too). Credentials written into
  // a URL ("https://user:token@host/...") are shown as "***" in every message.
  static Result<Repository> OpenMirror(const std::string& url, const std::string& dir);
  // The repository the current process runs in as a git hook: GIT_DIR and the quarantine
  // variables (GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES) are honoured.
  static Result<Repository> OpenFromEnvironment();
  // Any repository on disk, bare or not (tests, tools).
  static Result<Repository> Open(const std::string& path);

  // Fetches `branch` from origin into refs/remotes/origin/<branch> and returns its head.
  // Fails with kNotSent (libgit2's message) when the fetch fails, the remote unreachable
  // most often; kNotFound when the remote has no such branch; kInvalidInput for a name that
  // is not a branch name. REQUIRES: opened with OpenMirror.
  Result<Commit> Fetch(const std::string& branch);
  // The commit `id` (a full id) names, or kNotFound.
  Result<Commit> Lookup(const std::string& id);
  // The stack at `path` in `commit`'s tree. kNotFound (naming the commit) when the commit
  // or the folder is missing; kInvalidInput for a path outside the repository. Problems
  // with the files themselves are not failures: they are in `source.read_errors`.
  Result<TreeStack> ReadStack(const std::string& commit_id, const std::string& path,
                              const specs::ParseLimits& limits = {});

 private:
  Repository();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reconciler::gitops
