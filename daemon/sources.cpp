#include "daemon/sources.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace reconciler::daemon {

namespace fs = std::filesystem;

namespace {

bool IsSpecName(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  auto ends = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return name.size() > n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return ends(".yaml") || ends(".yml");
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Writes `contents` to `path` whole: a temporary file beside it, flushed, then renamed.
Status WriteWhole(const fs::path& path, const std::string& contents) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) return Status(Code::kInternal, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status(Code::kInternal, "cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<Snapshot> DirectorySource::Load() {
  Snapshot snap;
  snap.stack = specs::LoadStackDir(dir_, {}, overrides_);
  return snap;
}

GitSource::GitSource(gitops::Repository repo, std::string url, std::string branch, std::string path,
                     std::string workdir)
    : repo_(std::move(repo)),
      url_(std::move(url)),
      branch_(std::move(branch)),
      path_(std::move(path)),
      workdir_(std::move(workdir)) {}

Result<std::unique_ptr<GitSource>> GitSource::Open(const std::string& url, const std::string& branch,
                                                   const std::string& path, const std::string& workdir) {
  std::error_code ec;
  fs::create_directories(fs::path(workdir) / "checkout", ec);
  if (ec) return Status(Code::kInvalidInput, "cannot create the workdir " + workdir + ": " + ec.message());
  Result<gitops::Repository> repo = gitops::Repository::OpenMirror(url, (fs::path(workdir) / "mirror.git").string());
  if (!repo.ok()) return repo.status();
  return std::unique_ptr<GitSource>(new GitSource(std::move(repo).value(), url, branch, path, workdir));
}

std::string GitSource::checkout_dir() const { return (fs::path(workdir_) / "checkout").string(); }

std::string GitSource::Describe() const { return "git " + url_ + "#" + branch_ + ":" + path_; }

Result<std::string> GitSource::Poll() {
  Result<gitops::Commit> head = repo_.Fetch(branch_);
  if (!head.ok()) return head.status();
  return head->id;
}

Result<Snapshot> GitSource::Load() {
  Result<gitops::Commit> head = repo_.Fetch(branch_);
  if (!head.ok()) return head.status();
  Result<gitops::TreeStack> tree = repo_.ReadStack(head->id, path_);
  if (!tree.ok()) return tree.status();
  Snapshot snap;
  snap.commit = tree->commit.id;
  snap.subject = tree->commit.subject;
  if (tree->source.project) snap.files.emplace_back(specs::kProjectFile, tree->source.project->contents);
  for (const specs::StackFile& f : tree->source.files) snap.files.emplace_back(BaseName(f.path), f.contents);
  snap.stack = specs::LoadStack(tree->source, {}, overrides_);
  return snap;
}

void GitSource::Applied(const Snapshot& snapshot) {
  if (snapshot.commit.empty()) return;
  const fs::path dir = checkout_dir();
  if (ReadAll(fs::path(workdir_) / "applied-commit") == snapshot.commit) return;
  std::set<std::string> names;
  for (const auto& [name, contents] : snapshot.files) {
    names.insert(name);
    if (ReadAll(dir / name) != contents) (void)WriteWhole(dir / name, contents);
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if ((IsSpecName(name) || name == specs::kProjectFile) && !names.count(name)) fs::remove(entry.path(), ec);
  }
  (void)WriteWhole(fs::path(workdir_) / "applied-commit", snapshot.commit);
}

std::optional<Snapshot> GitSource::LastGood() {
  const std::string commit = ReadAll(fs::path(workdir_) / "applied-commit");
  if (commit.empty()) return std::nullopt;
  Snapshot snap;
  snap.commit = commit;
  Result<gitops::Commit> c = repo_.Lookup(commit);
  if (c.ok()) snap.subject = c->subject;
  snap.stack = specs::LoadStackDir(checkout_dir(), {}, overrides_);
  return snap;
}

DirectoryWatch::DirectoryWatch() = default;

DirectoryWatch::~DirectoryWatch() { Stop(); }

Status DirectoryWatch::Start(const std::string& dir, std::function<void(const std::string& name)> changed) {
  fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0) return Status(Code::kInternal, std::string("inotify: ") + std::strerror(errno));
  if (inotify_add_watch(fd_, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE) < 0) {
    const int e = errno;
    close(fd_);
    fd_ = -1;
    return Status(Code::kInvalidInput, "cannot watch " + dir + ": " + std::strerror(e));
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this, changed = std::move(changed)] {
    alignas(inotify_event) char buffer[16384];
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      const ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n <= 0) continue;
      for (ssize_t at = 0; at < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
        const std::string name = e->len > 0 ? std::string(e->name) : std::string();
        if (IsSpecName(name) || name == specs::kProjectFile) changed(name);
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
  });
  return Status::Ok();
}

void DirectoryWatch::Stop() {
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
  fd_ = stop_fd_ = -1;
}

}  // namespace reconciler::daemon
