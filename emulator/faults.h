#pragma once

// Injected faults. Rules come from the world file (`faults:`) or POST /_admin/faults, as one
// JSON object or an array of them. Every rule takes:
//   "type"    (required) one of the types below;
//   "action"  the action it applies to; default: every action;
//   "times"   how many times it fires; default 1, -1 forever;
//   "scope"   "dryRun" (only calls with "DryRun": true), "real" (only the others) or "any"
//             (default);
//   "after"   how many matching calls it lets through before it starts firing; default 0.
// A rule fires only where its type applies (a listing fault on a listing, an order fault on
// a purchase), and each firing uses up one of its `times`.
//
// Before the call is processed:
//   {"type": "latency", "ms": 200}            delay the call, then process it
//   {"type": "httpError", "status": 503}      answer HTTP 429/500/502/503 (any 4xx or 5xx);
//                                             nothing is processed
//   {"type": "resetBeforeProcessing"}         reset the connection; nothing is processed
//   {"type": "throttle"}                      answer RequestLimitExceeded
//   {"type": "clockSkew", "seconds": 900}     judge X-TC-Timestamp against a server clock
//                                             shifted by `seconds` (may be negative): past
//                                             the 5 minutes allowed, AuthFailure.SignatureExpire
//   {"type": "tokenExpiry"}                   a call that carries X-TC-Token (an STS
//                                             credential) gets AuthFailure.TokenFailure; with
//                                             "after": N the first N such calls pass, and
//                                             "times": -1 keeps the token expired
// After the call is processed:
//   {"type": "dropAfterCommit"}               a call that changed the account (bought,
//                                             modified, deleted) closes without an answer
//   {"type": "errorAfterCommit", "status": 502}  a call that changed the account answers
//                                             HTTP 500/502/503 (5xx) instead of its answer
//   {"type": "lateAnswer", "ms": 5000}        any processed call answers `ms` late (past the
//                                             client's timeout, it has given up by then)
//   {"type": "malformedAnswer", "mode": "wrongTypes" | "truncated" | "missingSet"}
//                                             a successful answer arrives broken: wrongTypes
//                                             turns numbers into strings, strings into numbers,
//                                             booleans into strings and arrays into objects
//                                             (RequestId excepted); truncated sends the first
//                                             half of the body (Content-Length matching, so
//                                             the JSON is cut); missingSet drops every array
//                                             member of Response (DBInstanceSet, Deals,
//                                             DealNames, DBInstanceIdSet, ...)
// On listings (DescribeDBInstances, DescribeServerlessDBInstances):
//   {"type": "listingLag", "seconds": 60, "mode": "absent" | "untagged"}
//                                             instances created less than `seconds` ago on the
//                                             emulated clock are left out of the listing
//                                             (absent, the default) or listed without their
//                                             tags, so tag filters miss them too (untagged).
//                                             DescribeDBInstanceAttribute still finds them.
//                                             Each listing answer uses up one of `times`.
// On purchases (CreateReadOnlyDBInstance; stuck also CreateServerlessDBInstance):
//   {"type": "orderNeverDelivered"}           the orders never deliver; nothing is created,
//                                             postpaid answers carry no instance IDs, and a
//                                             prepaid charge is refunded
//   {"type": "orderShort", "missing": 1}      the last `missing` orders never deliver
//   {"type": "orderFailed"}                   the orders fail: the answer looks normal
//                                             (postpaid: with instance IDs), DescribeOrders
//                                             lists no instance for them ever, no instance
//                                             exists (a lookup by ID answers ResourceNotFound)
//                                             and a prepaid charge is refunded
//   {"type": "orderRefunded"}                 the orders deliver, then are refunded: each
//                                             instance goes applying, isolating, isolated,
//                                             offlining (each for the world's isolating or
//                                             destroying time), then is gone; a prepaid charge
//                                             is refunded at once (refund delays are not
//                                             modelled)
//   {"type": "orderOverDelivered", "extra": 1}  the last order lists `extra` more instances
//                                             than InstanceCount asked for, created and tagged
//                                             like the others but not charged and not in the
//                                             create answer
// On purchases and lifecycle actions (the create actions, IsolateDBInstances,
// DisIsolateDBInstances, DestroyDBInstance, ModifyDBInstanceSpec):
//   {"type": "stuck", "status": "initing"}    the bought or targeted instances go through their
//                                             lifecycle until `status` (any documented
//                                             DBInstanceStatus) and stay there; when the
//                                             lifecycle never passes `status`, they show it at
//                                             once. A stuck spec change never applies.
//   {"type": "stuckIniting"}                  the same as stuck with status initing

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "emulator/world.h"
#include "base/status.h"

namespace reconciler::tencentcloud::emulator {

enum class FaultType {
  kLatency,
  kHttpError,
  kResetBeforeProcessing,
  kThrottle,
  kClockSkew,
  kTokenExpiry,
  kDropAfterCommit,
  kErrorAfterCommit,
  kLateAnswer,
  kMalformedAnswer,
  kListingLag,
  kOrderNeverDelivered,
  kOrderShort,
  kOrderFailed,
  kOrderRefunded,
  kOrderOverDelivered,
  kStuck,
};

// Which calls a rule applies to.
enum class FaultScope { kAny, kDryRun, kReal };
// What kind of call is being made: one that asked for "DryRun": true, or any other.
enum class CallKind { kReal, kDryRun };

enum class LagMode { kAbsent, kUntagged };
enum class Malformation { kWrongTypes, kTruncated, kMissingSet };

struct FaultRule {
  FaultType type = FaultType::kLatency;
  std::string action;  // empty: every action
  FaultScope scope = FaultScope::kAny;
  int64_t remaining = 1;  // -1: forever
  int64_t after = 0;      // matching calls still to let through
  int64_t ms = 0;         // latency, lateAnswer
  int64_t status = 503;   // httpError, errorAfterCommit
  int64_t missing = 1;    // orderShort
  int64_t extra = 1;      // orderOverDelivered
  double seconds = 0;     // listingLag, clockSkew
  LagMode lag_mode = LagMode::kAbsent;
  Malformation malformation = Malformation::kWrongTypes;
  std::string instance_status;  // stuck
};

// A refusal the credential faults make, as an API error.
struct FaultRefusal {
  std::string code;
  std::string message;
};

class Faults {
 public:
  // Adds one rule (a JSON object) or several (an array). On error adds nothing and says
  // which rule and field is wrong.
  Status Add(const nlohmann::json& rules);
  void Clear();
  bool empty() const;
  // Consumes one firing of the first live rule of `type` that matches `action` and `kind`.
  // A matching rule still counting down its "after" lets the call through and counts it.
  std::optional<FaultRule> Take(FaultType type, const std::string& action, CallKind kind = CallKind::kReal);
  nlohmann::json ToJson() const;

  // The clockSkew and tokenExpiry faults for one request: `timestamp` is its X-TC-Timestamp,
  // `has_token` whether it carries X-TC-Token, `wall` the server's wall clock.
  std::optional<FaultRefusal> CheckCredentials(const std::string& action, CallKind kind, const std::string& timestamp,
                                               bool has_token, double wall);

  // Waits `ms` for a latency fault, or less once Interrupt() or Clear() was called. Thread-safe.
  void Delay(int64_t ms);
  // Ends every Delay() now and later ones at once: the server is stopping.
  void Interrupt();

 private:
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  std::condition_variable wake_;
  bool interrupted_ = false;
  uint64_t generation_ = 0;  // bumped by Clear(): held answers of cleared rules go out
};

// The call kind of an API request body: kDryRun when it is a JSON object with "DryRun": true.
CallKind CallKindOf(const std::string& body);
// The call kind of a GET request, from its DryRun query value ("true" or tccli's "True").
CallKind CallKindOfQuery(const std::string& dry_run);

// The answer `envelope` (a whole {"Response":...} text) broken the way `how` says. Text that
// is not JSON is only truncated.
std::string MalformAnswer(Malformation how, const std::string& envelope);

// The stuck fault on one instance whose lifecycle phases are set: it goes through them until
// `status`, then stays; when they never pass `status`, it shows `status` at once.
void StickInStatus(const std::string& status, Instance* inst);

// Whether listingLag `rule` hides (or untags) an instance created at `created_at` from a
// listing made at `now`, both on the emulated clock.
bool LagsBehind(const FaultRule& rule, double created_at, double now);

}  // namespace reconciler::tencentcloud::emulator
