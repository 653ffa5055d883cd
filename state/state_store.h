#pragma once

// The state store: what the reconciler bought and what it is in the middle of buying.
//
// The cloud, through our tags, is the truth about what exists; this store is a cache of it
// plus the bookkeeping the cloud cannot hold: purchase intents recorded before a create is
// sent, the orders each create returned, and the spec last applied to each resource. If the
// file is lost, `reconciler state rebuild` recovers the cache from the tags.
//

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace reconciler {

// A resource of the stack as last applied.
struct ResourceRecord {
  std::string key;              // "ReadOnlyInstance/reports"
  std::string region;
  std::string deletion_policy;  // "Orphan" or "Delete"
  std::string spec_json;        // the spec last applied, as JSON
  std::string group_id;         // ReadOnlyGroup: its cloud id
  std::string updated_at;
};

// An instance the stack owns.
struct InstanceRecord {
  std::string id;
  std::string resource_key;
  std::string region;
  std::string operation_id;  // the operation that bought it, when known
  std::string recorded_at;
};

// A purchase (or spec change) in flight or finished. Phases:
//   intent     recorded before the create is sent; whether it went out is unknown
//   unknown    sent, and the answer was lost: the cloud must be searched before any retry
//   ordered    the cloud accepted it; deal names (and postpaid ids) recorded
//   delivered  every instance id is known
//   done       every instance is running (or the order delivered short: see error)
//   failed     it ended without running instances: nothing was bought (a refusal), or an
//              order or its instances passed their deadline (error_code says which, and
//              error names the deals or instances). See TerminalFailures() (engine/observe.h).
enum class Phase { kIntent, kUnknown, kOrdered, kDelivered, kDone, kFailed };
const char* PhaseName(Phase p);
Result<Phase> ParsePhase(const std::string& name);
bool IsTerminal(Phase p);

// What a purchase buys or changes. Stored by name (OperationKindName).
enum class OperationKind { kCreateReplicas, kCreateServerless, kCreateGroup, kModifySpec };
const char* OperationKindName(OperationKind k);  // "create-replicas", ...
Result<OperationKind> ParseOperationKind(const std::string& name);

struct Operation {
  std::string id;            // "op-..." also the reconciler/operation tag value
  std::string resource_key;
  OperationKind kind = OperationKind::kCreateReplicas;
  std::string region;
  std::string request_json;  // the exact request, without secrets
  int64_t expected = 0;      // instances it should yield
  Phase phase = Phase::kIntent;
  int64_t attempts = 0;      // create calls sent so far
  int64_t settled = 0;       // of those, how many provably bought nothing (throttled, refused)
  bool tags_pending = false; // the stack, resource and user tags are still to go on (identity.h)
  int64_t sent_at = 0;       // unix seconds of the last create call sent (0: none recorded)
  // ordered and delivered: when the wait for the order (or for the instances to run) began,
  // and when it gives up, in unix seconds (0: not set yet). Kept across restarts.
  int64_t waiting_since = 0;
  int64_t deadline_at = 0;
  std::vector<std::string> deal_names;
  std::string bill_id;
  std::vector<std::string> instance_ids;
  std::string error;
  // failed: the cloud's Error.Code that ended it, or kOrderDeadlineExceeded or
  // kRunningDeadlineExceeded; empty when it failed for a reason of ours (interrupted, gave up
  // after attempts that each provably bought nothing).
  std::string error_code;
  // Purchases one change sent at once share a batch (empty: a batch of its own). They are
  // one attempt at the resource: a refusal of any of them holds it (TerminalFailures).
  std::string batch;
  std::string created_at;
  std::string updated_at;
};

// The error codes of a wait that passed its deadline (Operation::error_code).
inline constexpr const char* kOrderDeadlineExceeded = "reconciler.OrderDeadlineExceeded";
inline constexpr const char* kRunningDeadlineExceeded = "reconciler.RunningDeadlineExceeded";


struct Event {
  int64_t seq = 0;
  std::string at;
  std::string operation_id;
  std::string resource_key;
  std::string phase;
  std::string detail;
};

// Where the stack's state lives. SQLite (state/sqlite/) is the one implementation built; the
// interface is what the engine, the commands and the daemon use. Every method is safe from
// any thread. Every read fails (kInternal, naming the store and what was read) when the
// store is damaged: a damaged table never reads as empty. Writes are durable on return.
class StateStore {
 public:
  virtual ~StateStore() = default;

  virtual int SchemaVersion() = 0;  // -1 when unreadable
  // Bumped by every write; a saved plan remembers it to notice state changed under it.
  // Fails when the value recorded is missing or not a count.
  virtual Result<int64_t> Generation() = 0;

  virtual Result<std::vector<ResourceRecord>> Resources() = 0;
  virtual Status PutResource(const ResourceRecord& r) = 0;
  // Forgets a resource and its instances.
  virtual Status DeleteResource(const std::string& key) = 0;

  virtual Result<std::vector<InstanceRecord>> Instances() = 0;
  virtual Status PutInstance(const InstanceRecord& r) = 0;
  // Several at once, in one transaction: all are recorded or none.
  virtual Status PutInstances(const std::vector<InstanceRecord>& records) = 0;
  virtual Status DeleteInstance(const std::string& id) = 0;

  // In creation order.
  virtual Result<std::vector<Operation>> Operations() = 0;
  // Those not in a terminal phase, in creation order.
  virtual Result<std::vector<Operation>> InFlight() = 0;
  virtual Result<Operation> GetOperation(const std::string& id) = 0;
  // Writes the operation and an event row in one transaction.
  virtual Status PutOperation(const Operation& op, const std::string& detail) = 0;

  virtual Result<std::vector<Event>> Events(const std::string& operation_id = "") = 0;

  // Replaces all resources and instances at once (state rebuild), and records when.
  virtual Status ReplaceAll(const std::vector<ResourceRecord>& resources,
                            const std::vector<InstanceRecord>& instances) = 0;
  // Unix seconds of the last ReplaceAll (0: never). A purchase in flight when the state was
  // lost is unknown to the rebuilt state until the cloud's visibility window has passed.
  virtual Result<int64_t> RebuiltAt() = 0;

  // Small values the daemon keeps beside the state: "daemon.paused" (who paused it, when and
  // why), "daemon.applied_commit". Keys must start with "daemon." (kInvalidInput otherwise);
  // "" reads as unset and writing "" erases. Writing one does not bump the generation: a
  // pause changes nothing a saved plan was made against.
  virtual Result<std::string> DaemonValue(const std::string& key) = 0;
  virtual Status PutDaemonValue(const std::string& key, const std::string& value) = 0;

  // Where the state lives, for messages: a file path, or a URL without credentials.
  virtual const std::string& path() const = 0;
};

}  // namespace reconciler
