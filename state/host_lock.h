#pragma once

// One apply per stack on this host, whichever checkout or state file it runs from.
//
// The state's own lock (StackLock beside the state file) covers one state file. A copy of
// the stack directory has a state file of its own, and two applies from two copies would
// each buy what the specs ask for. This lock is keyed by what the cloud sees as the stack:
// its name and the API endpoint it is applied to. It lives in a directory private to the
// user ($RECONCILER_LOCK_DIR, else $XDG_RUNTIME_DIR/reconciler, else
// /tmp/reconciler-<uid>), so it holds for every checkout of one user on one host. Checkouts
// on other hosts or of other users are caught in the cloud instead: see the executor's
// check for purchases this state does not know.

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "state/stack_lease.h"

namespace reconciler {

// The lock file's path for `stack` applied at `endpoint`; creates the private directory.
// Fails when the directory is not a directory owned by this user and closed to others.
Result<std::string> HostStackLockPath(const std::string& stack, const std::string& endpoint);

// Every host-wide lock file of `stack`, whatever endpoint it was applied to.
std::vector<std::string> HostStackLockPaths(const std::string& stack);

// Takes the host-wide lock of `stack` at `endpoint`; fails with kConflict naming the holder
// and the state file it applies from, at once or after `wait` (StackLock::Acquire).
Result<std::unique_ptr<StackLock>> AcquireHostStackLock(const std::string& stack, const std::string& endpoint,
                                                        const std::string& state_path, Clock* clock,
                                                        std::chrono::milliseconds wait = std::chrono::milliseconds(0),
                                                        const std::function<void(const std::string&)>& waiting = {});

}  // namespace reconciler
