#include "state/stack_lease.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace reconciler {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string NewLockId() {
  unsigned char bytes[8] = {0};
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    // Only uniqueness among a few holders matters: fall back to the pid and time.
    const uint64_t mix = static_cast<uint64_t>(getpid()) * 1000003u ^ static_cast<uint64_t>(time(nullptr));
    std::memcpy(bytes, &mix, sizeof bytes);
  }
  static const char* kHex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

std::string HolderOf(int fd) {
  char buf[512] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!holder.empty() && holder.back() == '\n') holder.pop_back();
  return holder;
}

// The id in "lock id ID, pid ...".
std::string IdOf(const std::string& holder) {
  const std::string prefix = "lock id ";
  if (holder.rfind(prefix, 0) != 0) return "";
  return holder.substr(prefix.size(), holder.find(',') == std::string::npos ? std::string::npos
                                                                            : holder.find(',') - prefix.size());
}

// Whether `fd` is still the file at `path`: BreakLock may have unlinked it, and a lock on an
// unlinked file locks nothing.
bool StillAt(int fd, const std::string& path) {
  struct stat open_st {}, path_st {};
  return fstat(fd, &open_st) == 0 && ::stat(path.c_str(), &path_st) == 0 && open_st.st_ino == path_st.st_ino &&
         open_st.st_dev == path_st.st_dev;
}

}  // namespace

Result<std::unique_ptr<StackLock>> StackLock::Acquire(const std::string& path, Clock* clock, const std::string& what,
                                                      milliseconds wait,
                                                      const std::function<void(const std::string&)>& waiting) {
  const steady_clock::time_point deadline = steady_clock::now() + wait;
  int fd = -1;
  int watch = -1;  // inotify: the holder's close (it opened the file to write) or an unlink
  auto close_all = [&] {
    if (fd >= 0) ::close(fd);
    if (watch >= 0) ::close(watch);
  };
  for (;;) {
    if (fd < 0) {
      fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) {
        close_all();
        return Status(Code::kInternal, "cannot open lock file " + path + ": " + std::strerror(errno));
      }
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      if (StillAt(fd, path)) break;
      ::close(fd);  // broken by force-unlock while we opened it: take the new file
      fd = -1;
      continue;
    }
    const milliseconds left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left <= milliseconds(0)) {
      std::string holder = HolderOf(fd);
      close_all();
      const std::string id = IdOf(holder);
      return Status(Code::kConflict,
                    "another reconciler holds this stack: " + (holder.empty() ? std::string("an unknown process") : holder) +
                        (wait > milliseconds(0) ? " (gave up waiting)" : "") +
                        (id.empty() ? "" : "; if that process is stuck, `reconciler force-unlock " + id + "` removes the lock"));
    }
    if (watch < 0) {
      if (waiting) waiting(HolderOf(fd));
      // Watch first, then try again, so a release between the two tries is not missed.
      watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
      if (watch >= 0) inotify_add_watch(watch, path.c_str(), IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF);
      continue;
    }
    // At most a second at a time: a file system without inotify events (NFS) still retries.
    pollfd p{watch, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    char drain[4096];
    while (::read(watch, drain, sizeof drain) > 0) {
    }
    if (!StillAt(fd, path)) {
      ::close(fd);
      fd = -1;
      ::close(watch);
      watch = -1;
    }
  }
  if (watch >= 0) ::close(watch);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const std::string started = UtcText(clock->Now());
  std::string holder = "lock id " + NewLockId() + ", pid " + std::to_string(getpid()) + " on host " + host +
                       ", started " + started + (what.empty() ? "" : ", " + what) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, holder.data(), holder.size(), 0) < 0) {
    // The lock itself is held; only the description is missing.
  }
  return std::unique_ptr<StackLock>(new StackLock(fd));
}

StackLock::~StackLock() {
  flock(fd_, LOCK_UN);
  ::close(fd_);
}

Result<LockHolder> InspectLock(const std::string& path) {
  // Read-only, so looking does not wake waiters (they watch for a close after writing).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status(Code::kNotFound, "no lock file at " + path);
    return Status(Code::kInternal, "cannot open lock file " + path + ": " + std::strerror(errno));
  }
  LockHolder h;
  h.description = HolderOf(fd);
  h.id = IdOf(h.description);
  h.held = flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);  // releases the shared lock, if taken
  return h;
}

Status BreakLock(const std::string& path, const std::string& id) {
  Result<LockHolder> h = InspectLock(path);
  if (!h.ok()) return h.status();
  if (id.empty() || h->id != id) return Status(Code::kNotFound, "the lock at " + path + " is not " + id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status(Code::kInternal, "cannot remove lock file " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace reconciler
