#pragma once

// What the daemon knows about its stack, as plain data: the loop fills it after every pass,
// and /status, the status page, /metrics and the notifications read copies of it. Nothing
// here talks to anything.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace reconciler::daemon {

// A resource's condition, as /status, the page and the metrics name it.
enum class Condition {
  kUnknown,      // not observed yet
  kReady,        // converged
  kProgressing,  // purchases or waits in flight
  kDrifted,      // the cloud differs from the spec and `drift: report` leaves it so
  kRetrying,     // failed for a reason that may pass; in backoff until `backoff_until`
  kFailed,       // terminal: nothing is tried until the spec or the cloud changes
  kBlocked,      // a change it needs is not allowed (destroy, dependency, preflight)
  kPaused,       // the stack is paused and the resource has changes waiting
};
const char* ConditionName(Condition c);  // "Ready", "Progressing", ...

struct ResourceStatus {
  std::string key;       // "ReadOnlyInstance/reports"
  std::string kind;      // "ReadOnlyInstance"
  int64_t desired = 0;   // instances the spec asks for (a group: 1)
  int64_t observed = 0;  // instances of this resource the last observation found
  Condition condition = Condition::kUnknown;
  std::string message;     // the condition's reason, for people
  std::string last_error;  // the last failure's message ("" none)
  std::string last_error_code;  // the cloud's Error.Code of it, or reconciler.*
  std::vector<std::string> pending_orders;  // deal names (or operation ids) still open
  std::string waiting;     // why nothing is done now: "blocked by ReadOnlyGroup/g", "in backoff until ...",
                           // "paused", "destroy not allowed (daemon.allowDestroy)", ...; "" when not waiting
  int64_t backoff_until = 0;  // unix seconds; 0 none
  int64_t since = 0;          // unix seconds the condition began
};

// A notice the daemon recorded about the stack: what changed, why, or what failed.
struct StackEvent {
  int64_t at = 0;        // unix seconds
  std::string kind;      // "applied", "drift", "terminal", "recovered", "invalid-commit", ...
  std::string message;
};

struct StackStatus {
  std::string stack;
  std::string source;          // the stack directory, or "git URL#branch:path"
  std::string commit;          // the applied commit ("" when not from git)
  std::string commit_subject;  // its first line
  std::string rejected_commit;  // the newest commit not applied because its specs do not validate
  std::string rejected_error;   // why (the diagnostics, rendered without colour)
  std::string spec_error;       // the specs on disk do not validate (directory mode): the last good ones stay in force
  bool paused = false;
  std::string paused_reason;   // who paused it and when
  bool ready = false;          // the first observation succeeded
  std::string drift_mode;      // "correct" or "report"
  bool auto_apply = true;      // false: plans and reports, sends nothing
  bool allow_destroy = false;
  int64_t interval_seconds = 60;
  int64_t passes = 0;
  std::map<std::string, int64_t> passes_by_trigger;  // "interval", "webhook github", ... -> passes it started
  int64_t last_pass_at = 0;     // unix seconds a pass last ended (0 never)
  int64_t last_success_at = 0;  // unix seconds a pass last ended without error
  int64_t next_pass_at = 0;     // unix seconds the next pass is due
  std::string last_trigger;     // what started the last pass: "interval", "spec change", "webhook github", ...
  std::string last_result;      // "success", "error", "paused", "invalid"
  std::string last_error;       // the last pass's error ("" none)
  int64_t orders_pending = 0;
  std::vector<ResourceStatus> resources;  // in spec order, then resources only the state knows
  std::vector<StackEvent> events;         // the newest last, at most 50
};

}  // namespace reconciler::daemon
