#pragma once

// An audit of what an emulated account holds for one stack, against what its specs want and
// what its state file records. The evidence comes from the emulator's admin API (every
// instance, order and group, tags included) and from the state file read with SQLite
// directly, read-only, so nothing the product says about itself is taken on trust.
//
// It counts:
//   duplicates  instances bought beyond what was wanted: the worst of (a) live instances of a
//               resource beyond its count, (b) instances paid for and kept beyond the total
//               count (a failed or refunded order keeps nothing, so it is no duplicate), and
//               (c) instances that carry one operation's tag beyond what that operation
//               asked for (an over-delivery the cloud made unasked is allowed for, see
//               AuditOptions);
//   orphans     live instances carrying the stack that no operation in the state knows;
//   dangling    operations in the state that are neither done nor failed;
//   mismatches  anything else that makes state and cloud disagree: a resource short of its
//               count, instances the state records that the cloud does not hold (or the
//               reverse), a group missing or recorded with another id, a replica outside its
//               group, tagging left incomplete, an instance not running.

#include <map>
#include <set>
#include <string>

#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {

struct StackWanted {
  std::string stack;
  std::map<std::string, int> instances;        // "ReadOnlyInstance/a" or "ServerlessInstance/s" -> count
  std::map<std::string, std::string> groups;   // "ReadOnlyGroup/g" -> the group's name
  std::map<std::string, std::string> members;  // "ReadOnlyInstance/c" -> "ReadOnlyGroup/g" it joins
  int Total() const;
};

struct AuditOptions {
  bool require_running = true;      // every live instance must be running
  bool require_terminal = true;     // every operation must be done or failed
  int uncharged_extra = 0;          // instances the cloud delivered unasked (orderOverDelivered)
  // The state was lost and rebuilt from the tags, so the operations that bought what the
  // cloud holds may be unknown to it: an instance then needs only to be recorded in its
  // resource, not to have a known operation.
  bool state_rebuilt = false;
};

struct Audit {
  int live = 0;             // instances bought for the stack that exist and are not going away
  int kept = 0;             // of the instances paid for, those kept
  int duplicates = 0;
  int orphans = 0;
  int dangling = 0;
  int mismatches = 0;
  std::string report;       // one line per finding, then the account and the state
  bool ok() const { return duplicates == 0 && orphans == 0 && dangling == 0 && mismatches == 0; }
};

// `initial`: the instance ids the world started with (not the stack's). `state_db`: the
// SQLite state file of the stack.
Audit AuditAccount(EmulatorFixture& emu, const std::set<std::string>& initial, const std::string& state_db,
                   const StackWanted& wanted, const AuditOptions& options = {});

// The ids of every instance the account holds now.
std::set<std::string> InstanceIds(EmulatorFixture& emu);

}  // namespace reconciler::testing
