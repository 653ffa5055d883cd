#include "state/stack_lease.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace reconciler {

Result<std::unique_ptr<StackLock>> StackLock::Acquire(const std::string& path, Clock* clock, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kInternal, "cannot open lock file " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[512] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "an unknown process";
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    return Status(Code::kConflict, "another reconciler holds this stack: " + holder);
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const std::string started = UtcText(clock->Now());
  std::string holder = "pid " + std::to_string(getpid()) + " on host " + host + ", started " + started +
                       (what.empty() ? "" : ", " + what) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, holder.data(), holder.size(), 0) < 0) {
    // The lock itself is held; only the description is missing.
  }
  return std::unique_ptr<StackLock>(new StackLock(fd));
}

StackLock::~StackLock() {
  flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace reconciler
