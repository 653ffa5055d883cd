#include "gitops/git_source.h"

#include <git2.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace reconciler::gitops {

namespace {

namespace fs = std::filesystem;

// libgit2 keeps global state (TLS for errors, the transports' registry) that must be set up
// once before any call. It is never shut down: a repository may be open until exit.
void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

template <typename T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Freer<T, Free>>;

using RepoPtr = Owned<git_repository, git_repository_free>;
using RemotePtr = Owned<git_remote, git_remote_free>;
using CommitPtr = Owned<git_commit, git_commit_free>;
using TreePtr = Owned<git_tree, git_tree_free>;
using EntryPtr = Owned<git_tree_entry, git_tree_entry_free>;
using BlobPtr = Owned<git_blob, git_blob_free>;
using OdbPtr = Owned<git_odb, git_odb_free>;

constexpr const char* kRemote = "origin";

std::string LastError() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

// A failed libgit2 call as a Status: "not found" is the one answer callers branch on.
Status GitStatus(int rc, const std::string& context) {
  return Status(rc == GIT_ENOTFOUND ? Code::kNotFound : Code::kInternal,
                context + ": " + LastError());
}

// `url` fit for a message or a log: credentials written into it ("https://user:token@host/")
// are replaced by "***".
std::string Redacted(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t at = url.find('@', host);
  if (at == std::string::npos || at > url.find('/', host)) return url;
  return url.substr(0, host) + "***" + url.substr(at);
}

std::string ShortId(const std::string& id) { return id.substr(0, 7); }

std::string Hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

Result<git_oid> ParseId(const std::string& id) {
  const bool hex = id.size() == GIT_OID_HEXSZ && std::all_of(id.begin(), id.end(), [](char c) {
                     return std::isxdigit(static_cast<unsigned char>(c));
                   });
  git_oid oid;
  if (!hex || git_oid_fromstr(&oid, id.c_str()) != 0) {
    return Status(Code::kInvalidInput, "\"" + id + "\" is not a full commit id (40 hex digits)");
  }
  return oid;
}

Result<CommitPtr> FindCommit(git_repository* repo, const std::string& id) {
  Result<git_oid> oid = ParseId(id);
  if (!oid.ok()) return oid.status();
  git_commit* raw = nullptr;
  if (int rc = git_commit_lookup(&raw, repo, &*oid); rc != 0)
    return GitStatus(rc, "no commit " + id + " in the repository");
  return CommitPtr(raw);
}

Commit CommitOf(const git_commit* commit) {
  const char* message = git_commit_message(commit);
  std::string subject = message ? message : "";
  return Commit{Hex(git_commit_id(commit)), subject.substr(0, subject.find('\n'))};
}

// Mirrors the directory loader's naming, so a tree read and a directory read of the same
// files show the same paths in diagnostics.
std::string DisplayPath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

bool IsSpecName(const std::string& name) {
  const std::string ext = fs::path(name).extension().string();
  return !name.empty() && name[0] != '.' && (ext == ".yaml" || ext == ".yml") &&
         name != specs::kProjectFile;
}

// Why a tree entry cannot be read as a file, or "" when it is a regular blob. A commit is
// read exactly as stored, so a symlink is never followed: its target may lie outside the
// stack, or outside the tree altogether.
std::string NotABlob(const git_tree_entry* entry) {
  switch (git_tree_entry_filemode(entry)) {
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE:
      return "";
    case GIT_FILEMODE_LINK:
      return "it is a symlink";
    case GIT_FILEMODE_TREE:
      return "it is a directory";
    case GIT_FILEMODE_COMMIT:
      return "it is a submodule";
    default:
      return "it is not a regular file";
  }
}

// The stack's folder in the tree as given by the user, normalised: "" for the root.
Result<std::string> NormalPath(const std::string& path) {
  std::string p = fs::path(path).lexically_normal().generic_string();
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p == ".") p.clear();
  if (!p.empty() && (p[0] == '/' || p == ".." || p.rfind("../", 0) == 0)) {
    return Status(Code::kInvalidInput,
                  "the stack's path \"" + path + "\" must be a folder inside the repository");
  }
  return p;
}

// Reads the files of one tree into a StackSource under the directory loader's limits.
class TreeReader {
 public:
  TreeReader(git_repository* repo, git_odb* odb, const specs::ParseLimits& limits,
             specs::StackSource* out)
      : repo_(repo), odb_(odb), limits_(limits), out_(out), budget_(limits.max_total_bytes) {}

  void Read(const git_tree* tree, const std::string& path) {
    if (const git_tree_entry* project = git_tree_entry_byname(tree, specs::kProjectFile)) {
      const std::string shown = DisplayPath(path, specs::kProjectFile);
      if (std::string why = NotABlob(project); !why.empty()) {
        out_->read_errors.Error({shown, 0, 0}, why + ", not a project file");
      } else if (auto text = ReadBlob(project, shown)) {
        out_->project = specs::StackFile{shown, std::move(*text)};
      }
    }
    // Every entry named like a spec file must be one: skipping it would make its resources
    // look deleted, and the plan would orphan them.
    std::vector<std::pair<std::string, const git_tree_entry*>> specs;
    size_t named = 0;
    const size_t count = git_tree_entrycount(tree);
    for (size_t i = 0; i < count; ++i) {
      const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
      const std::string name = git_tree_entry_name(entry);
      if (!IsSpecName(name)) continue;
      if (++named > limits_.max_files) {
        out_->read_errors.Error({out_->dir, 0, 0}, "the stack holds more than " +
                                                       std::to_string(limits_.max_files) +
                                                       " spec files, the limit");
        return;
      }
      if (std::string why = NotABlob(entry); !why.empty()) {
        out_->read_errors.Error({DisplayPath(path, name), 0, 0}, why + ", not a spec file");
        continue;
      }
      specs.emplace_back(name, entry);
    }
    std::sort(specs.begin(), specs.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [name, entry] : specs) {
      const std::string shown = DisplayPath(path, name);
      if (auto text = ReadBlob(entry, shown)) out_->files.push_back({shown, std::move(*text)});
    }
  }

 private:
  // The blob's size is read from its header first, so an oversize file is never inflated.
  std::optional<std::string> ReadBlob(const git_tree_entry* entry, const std::string& shown) {
    size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    if (int rc = git_odb_read_header(&size, &type, odb_, git_tree_entry_id(entry)); rc != 0) {
      out_->read_errors.Error({shown, 0, 0}, "cannot read the file: " + LastError());
      return std::nullopt;
    }
    if (size > limits_.max_bytes || size > budget_) {
      out_->read_errors.Error(
          {shown, 0, 0}, size > limits_.max_bytes
                             ? "the file is " + std::to_string(size) + " bytes; the limit is " +
                                   std::to_string(limits_.max_bytes) + " bytes"
                             : "with this file the stack's files hold more than " +
                                   std::to_string(limits_.max_total_bytes) +
                                   " bytes, the limit for a stack");
      return std::nullopt;
    }
    git_blob* raw = nullptr;
    if (git_blob_lookup(&raw, repo_, git_tree_entry_id(entry)) != 0) {
      out_->read_errors.Error({shown, 0, 0}, "cannot read the file: " + LastError());
      return std::nullopt;
    }
    BlobPtr blob(raw);
    const auto* bytes = static_cast<const char*>(git_blob_rawcontent(blob.get()));
    std::string text(bytes, static_cast<size_t>(git_blob_rawsize(blob.get())));
    budget_ -= text.size();
    return text;
  }

  git_repository* repo_;
  git_odb* odb_;
  const specs::ParseLimits& limits_;
  specs::StackSource* out_;
  size_t budget_;
};

}  // namespace

struct Repository::Impl {
  RepoPtr repo;
};

Repository::Repository() : impl_(std::make_unique<Impl>()) {}
Repository::~Repository() = default;
Repository::Repository(Repository&&) noexcept = default;
Repository& Repository::operator=(Repository&&) noexcept = default;

Result<Repository> Repository::OpenMirror(const std::string& url, const std::string& dir) {
  InitOnce();
  if (url.empty()) return Status(Code::kInvalidInput, "no git URL to mirror");
  Repository out;
  git_repository* raw = nullptr;
  std::error_code ec;
  const bool fresh = !fs::exists(dir, ec) || fs::is_empty(dir, ec);
  if (fresh) {
    if (int rc = git_repository_init(&raw, dir.c_str(), /*is_bare=*/1); rc != 0) {
      return GitStatus(rc, "cannot create a git mirror in " + dir);
    }
  } else if (git_repository_open_ext(&raw, dir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) !=
             0) {
    return Status(Code::kConflict,
                  dir + " is not a git repository (" + LastError() +
                      "); the daemon keeps its own mirror there: choose an empty or new directory");
  }
  out.impl_->repo.reset(raw);
  git_remote* remote_raw = nullptr;
  int rc = git_remote_lookup(&remote_raw, raw, kRemote);
  if (rc == GIT_ENOTFOUND) rc = git_remote_create(&remote_raw, raw, kRemote, url.c_str());
  if (rc != 0) return GitStatus(rc, "cannot set up the remote of the mirror in " + dir);
  RemotePtr remote(remote_raw);
  const char* origin = git_remote_url(remote.get());
  if (!origin || url != origin) {
    return Status(Code::kConflict, "the mirror in " + dir + " follows " +
                                       (origin ? Redacted(origin) : "(no URL)") + ", not " +
                                       Redacted(url) + "; remove it or choose another directory");
  }
  return out;
}

Result<Repository> Repository::OpenFromEnvironment() {
  InitOnce();
  git_repository* raw = nullptr;
  if (int rc = git_repository_open_ext(&raw, nullptr, GIT_REPOSITORY_OPEN_FROM_ENV, nullptr);
      rc != 0) {
    return GitStatus(rc, "cannot open the repository named by the environment (GIT_DIR)");
  }
  Repository out;
  out.impl_->repo.reset(raw);
  return out;
}

Result<Repository> Repository::Open(const std::string& path) {
  InitOnce();
  git_repository* raw = nullptr;
  if (int rc = git_repository_open(&raw, path.c_str()); rc != 0)
    return GitStatus(rc, "cannot open " + path);
  Repository out;
  out.impl_->repo.reset(raw);
  return out;
}

Result<Commit> Repository::Fetch(const std::string& branch) {
  const std::string head = "refs/heads/" + branch;
  int valid = 0;
  if (branch.empty() || git_reference_name_is_valid(&valid, head.c_str()) != 0 || !valid) {
    return Status(Code::kInvalidInput, "\"" + branch + "\" is not a valid branch name");
  }
  git_remote* remote_raw = nullptr;
  if (int rc = git_remote_lookup(&remote_raw, impl_->repo.get(), kRemote); rc != 0) {
    return GitStatus(rc, "the repository has no remote to fetch from");
  }
  RemotePtr remote(remote_raw);
  const std::string url =
      Redacted(git_remote_url(remote.get()) ? git_remote_url(remote.get()) : kRemote);
  const std::string tracking = std::string("refs/remotes/") + kRemote + "/" + branch;
  std::string refspec = "+" + head + ":" + tracking;
  char* specs[] = {refspec.data()};
  git_strarray refspecs{specs, 1};
  git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
  options.update_fetchhead = 0;
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  options.proxy_opts.type = GIT_PROXY_AUTO;
  if (git_remote_fetch(remote.get(), &refspecs, &options, "reconciler: fetch") != 0) {
    return Status(Code::kNotSent, "cannot fetch from " + url + ": " + LastError());
  }
  // A branch deleted upstream leaves its old tracking ref behind, so the remote's own list
  // (kept after the fetch disconnects) says whether the branch exists.
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (git_remote_ls(&heads, &count, remote.get()) != 0) {
    return Status(Code::kInternal, "cannot list the branches of " + url + ": " + LastError());
  }
  if (std::none_of(heads, heads + count,
                   [&](const git_remote_head* h) { return head == h->name; })) {
    return Status(Code::kNotFound, url + " has no branch \"" + branch + "\"");
  }
  git_oid oid;
  if (int rc = git_reference_name_to_id(&oid, impl_->repo.get(), tracking.c_str()); rc != 0) {
    return GitStatus(rc, "the fetched branch \"" + branch + "\" cannot be resolved");
  }
  return Lookup(Hex(&oid));
}

Result<Commit> Repository::Lookup(const std::string& id) {
  Result<CommitPtr> commit = FindCommit(impl_->repo.get(), id);
  if (!commit.ok()) return commit.status();
  return CommitOf(commit->get());
}

Result<TreeStack> Repository::ReadStack(const std::string& commit_id, const std::string& path,
                                        const specs::ParseLimits& limits) {
  Result<std::string> folder = NormalPath(path);
  if (!folder.ok()) return folder.status();
  git_repository* repo = impl_->repo.get();
  Result<CommitPtr> found = FindCommit(repo, commit_id);
  if (!found.ok()) return found.status();
  git_tree* root_raw = nullptr;
  if (int rc = git_commit_tree(&root_raw, found->get()); rc != 0)
    return GitStatus(rc, "the tree of " + commit_id);
  TreePtr root(root_raw);
  TreePtr sub;
  const git_tree* tree = root.get();
  if (!folder->empty()) {
    git_tree_entry* entry_raw = nullptr;
    if (int rc = git_tree_entry_bypath(&entry_raw, root.get(), folder->c_str()); rc != 0) {
      if (rc != GIT_ENOTFOUND)
        return GitStatus(rc, "cannot read " + *folder + " in commit " + commit_id);
      return Status(Code::kNotFound, "commit " + ShortId(commit_id) + " has no folder " + *folder);
    }
    EntryPtr entry(entry_raw);
    if (git_tree_entry_type(entry.get()) != GIT_OBJECT_TREE) {
      return Status(Code::kNotFound,
                    "in commit " + ShortId(commit_id) + ", " + *folder + " is not a folder");
    }
    git_tree* sub_raw = nullptr;
    if (int rc = git_tree_lookup(&sub_raw, repo, git_tree_entry_id(entry.get())); rc != 0) {
      return GitStatus(rc, "cannot read " + *folder + " in commit " + commit_id);
    }
    sub.reset(sub_raw);
    tree = sub.get();
  }
  git_odb* odb_raw = nullptr;
  if (int rc = git_repository_odb(&odb_raw, repo); rc != 0)
    return GitStatus(rc, "the object database");
  OdbPtr odb(odb_raw);

  TreeStack out;
  out.commit = CommitOf(found->get());
  out.source.dir = (folder->empty() ? std::string(".") : *folder) + "@" + ShortId(commit_id);
  TreeReader(repo, odb.get(), limits, &out.source).Read(tree, *folder);
  return out;
}

}  // namespace reconciler::gitops
