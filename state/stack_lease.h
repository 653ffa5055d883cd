#pragma once

// A stack lease: while one is held, nobody else writes the stack's state or buys for it. The
// holder keeps the lease object; destroying it releases the lease.

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
// holder (pid, host, start time) for the message others get.
class StackLock final : public StackLease {
 public:
  // Fails at once with kConflict, naming the holder, when another process holds it. `what`
  // is added to the holder's description (the state file it applies from, say).
  static Result<std::unique_ptr<StackLock>> Acquire(const std::string& path, Clock* clock, const std::string& what = "");
  ~StackLock() override;

 private:
  explicit StackLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace reconciler
