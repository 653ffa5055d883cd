#pragma once

// A stack lease: while one is held, nobody else writes the stack's state or buys for it. The
// holder keeps the lease object; destroying it releases the lease.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/status.h"

namespace reconciler {

class StackLease {
 public:
  virtual ~StackLease() = default;
};

// One holder at a time per stack: an exclusive flock on a file beside the state, which the
// kernel releases when the holder dies, so a dead holder never blocks. The file names the
// holder (a random lock id, pid, host, start time) for the message others get, and the id
// is what `force-unlock` takes.
class StackLock final : public StackLease {
 public:
  // Fails with kConflict, naming the holder, when another process holds it: at once, or
  // when `wait` (-lock-timeout) has passed without the holder letting go. The wait wakes on
  // the lock file being closed or unlinked (inotify), not on a fixed tick. `what` is added
  // to the holder's description (the state file it applies from, say). `waiting` is told
  // the holder's description once, when a wait begins.
  static Result<std::unique_ptr<StackLock>> Acquire(const std::string& path, Clock* clock, const std::string& what = "",
                                                    std::chrono::milliseconds wait = std::chrono::milliseconds(0),
                                                    const std::function<void(const std::string&)>& waiting = {});
  ~StackLock() override;

 private:
  explicit StackLock(int fd) : fd_(fd) {}
  int fd_;
};

// Who holds the lock at `path`, for `force-unlock`.
struct LockHolder {
  bool held = false;        // a live process holds the flock now
  std::string id;           // the lock id its holder wrote ("" when none)
  std::string description;  // "lock id ..., pid ... on host ..., started ..."
};
// kNotFound when there is no lock file.
Result<LockHolder> InspectLock(const std::string& path);

// Removes the lock file at `path` when its holder wrote `id`, so the next acquirer takes a
// new one; the process that held it keeps a lock on nothing. kNotFound when the id is not
// this file's.
Status BreakLock(const std::string& path, const std::string& id);

}  // namespace reconciler
