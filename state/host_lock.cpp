#include "state/host_lock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/sha256.h"

namespace reconciler {

namespace {

std::string LockDir() {
  if (const char* dir = std::getenv("RECONCILER_LOCK_DIR"); dir && *dir) return dir;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/reconciler";
  }
  return "/tmp/reconciler-" + std::to_string(getuid());
}

// Only letters, digits, '-' and '_' of the stack name go into the file name; the hash
// keeps names apart that differ elsewhere.
std::string SafeName(const std::string& stack) {
  std::string safe;
  for (char c : stack.substr(0, 64)) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    safe += plain ? c : '_';
  }
  return safe;
}

std::string FileName(const std::string& stack, const std::string& endpoint) {
  return "stack-" + SafeName(stack) + "-" + Sha256Hex(stack + "\n" + endpoint).substr(0, 16) + ".lock";
}

}  // namespace

Result<std::string> HostStackLockPath(const std::string& stack, const std::string& endpoint) {
  const std::string dir = LockDir();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status(Code::kInternal, "cannot create the lock directory " + dir + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return Status(Code::kInternal, "cannot inspect the lock directory " + dir + ": " + std::strerror(errno));
  }
  // Another user's directory, or one others may write, could hold a planted lock file.
  if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status(Code::kInvalidInput, "the lock directory " + dir +
                                           " is not a directory of this user closed to others; remove it, or set "
                                           "RECONCILER_LOCK_DIR to one");
  }
  return dir + "/" + FileName(stack, endpoint);
}

std::vector<std::string> HostStackLockPaths(const std::string& stack) {
  std::vector<std::string> out;
  const std::string prefix = "stack-" + SafeName(stack) + "-";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(LockDir(), ec)) {
    const std::string name = entry.path().filename().string();
    // The prefix, 16 hex digits and ".lock": a longer stack name with this one as prefix does not match.
    if (name.rfind(prefix, 0) == 0 && name.size() == prefix.size() + 16 + 5) out.push_back(entry.path().string());
  }
  return out;
}

Result<std::unique_ptr<StackLock>> AcquireHostStackLock(const std::string& stack, const std::string& endpoint,
                                                        const std::string& state_path, Clock* clock,
                                                        std::chrono::milliseconds wait,
                                                        const std::function<void(const std::string&)>& waiting) {
  Result<std::string> path = HostStackLockPath(stack, endpoint);
  if (!path.ok()) return path.status();
  Result<std::unique_ptr<StackLock>> lock = StackLock::Acquire(*path, clock, "state " + state_path, wait, waiting);
  if (!lock.ok() && lock.status().code() == Code::kConflict) {
    return Status(Code::kConflict, "stack " + stack + " is being applied on this host from another checkout or state "
                                   "file (" + lock.status().message() + "); two state files must never buy for one "
                                   "stack, so wait for it to finish");
  }
  return lock;
}

}  // namespace reconciler
