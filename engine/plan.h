#pragma once

// The plan: plain data that is printed, saved as JSON (docs/plan-format.md) and carried out
// by the executor. Each Change says what will happen to one resource and why; the reason is
// for people, and no code branches on it.

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "providers/provider.h"
#include "base/status.h"
#include "specs/desired_state.h"

namespace reconciler {

enum class Action {
  kCreate,   // +   buy what is missing
  kUpdate,   // ~   change in place
  kReplace,  // -/+ buy new ones, then destroy the old (immutable fields differ)
  kDelete,   // -   isolate and destroy
  kOrphan,   // -   remove our tags and forget; the instance keeps running
  kAdopt,    // <=  carries our tags but is missing from state: record it
  kRestore,  // ~   isolated: DisIsolateDBInstances, never a new purchase
  kResume,   // ~   a purchase already in flight: follow it to the end
};
const char* ActionName(Action a);
const char* ActionSymbol(Action a);

struct FieldDiff {
  std::string field;
  std::string before;
  std::string after;
};

enum class PreflightState {
  kNotNeeded,  // nothing is bought
  kPassed,     // DryRun accepted every call
  kFallback,   // DryRun unsupported; the read-only checks passed
  kFailed,     // the cloud refused: the change cannot apply
};
const char* PreflightStateName(PreflightState s);

struct Preflight {
  PreflightState state = PreflightState::kNotNeeded;
  int calls = 0;          // API calls the preflight made
  std::string code;       // the cloud's error code, when failed
  std::string message;
  std::string request_id;
  std::string note;       // what was checked, for the reader
};

// The calls an in-place update makes, each only when set.
struct UpdateCalls {
  std::optional<std::string> name;
  std::optional<bool> deletion_protection;
  struct Spec {
    std::string spec_code;
    uint64_t memory_gb = 0;  // filled by preflight from DescribeClasses
    uint64_t cpu = 0;
    uint64_t storage_gb = 0;
  };
  std::optional<Spec> spec;
  std::optional<std::vector<std::string>> security_groups;
  struct Move {
    std::string from;     // the group the instance is in ("" none)
    std::string to_id;    // an existing group
    std::string to_key;   // or a ReadOnlyGroup of this stack, resolved at apply
  };
  std::optional<Move> group;
  // ReadOnlyGroup: ModifyReadOnlyGroupConfig on instance_ids[0] (the group).
  std::optional<cloud::GroupConfig> group_config;
  cloud::Tags tags_set;
  std::vector<std::string> tags_remove;
  bool empty() const;
};

struct Change {
  std::string id;  // "c1", "c2", ... in execution order
  Action action = Action::kCreate;
  specs::ResourceKey key;
  std::string region;
  std::string reason;
  std::vector<FieldDiff> fields;
  std::vector<std::string> instance_ids;  // the existing instances (or group) acted on

  // Creates and replacements.
  uint64_t count = 0;  // instances to buy (split into calls of at most 6)
  std::optional<cloud::ReplicaRequest> replica;
  std::optional<cloud::ServerlessRequest> serverless;
  std::optional<cloud::GroupRequest> group;
  std::string group_ref;  // the ReadOnlyGroup of this stack new replicas join

  UpdateCalls update;
  std::string operation_id;  // kResume: the operation to follow
  std::vector<std::string> after;  // changes that must finish first

  std::string spec_json;        // the desired spec, recorded as last applied on success
  std::string deletion_policy;  // recorded with it
  bool destroys = false;        // deletes something: needs --allow-destroy

  Preflight preflight;
  // The price as InquiryPriceCreateDBInstances answers it, never converted: cents per unit
  // and currency, keyed "CNY/hour" (postpaid) or "CNY/month", "CNY/12 months" (a prepaid
  // period). + costs more, - saves; empty when free; unset when unknown.
  std::optional<std::map<std::string, int64_t>> cost;
  std::string price_note;                // "postpaid, as quoted", for the reader
  // The cloud moved away from a spec that has not changed since it was last applied (an
  // update, a missing instance bought again, an isolated one restored): drift, which the
  // daemon corrects or, under `drift: report`, only reports.
  bool drift = false;
  bool blocked = false;                  // cannot apply as planned; `blocked_reason` says why
  std::string blocked_reason;
};

// A purchase that ended in a terminal failure (state_store.h TerminalFailures): a refusal
// with the cloud's code, or a wait past its deadline. Nothing is bought for its resource
// until the user acts; `--retry-failed` makes the plan buy again despite it.
struct Failure {
  specs::ResourceKey key;
  std::string operation_id;
  std::string code;     // the cloud's Error.Code, or reconciler.OrderDeadlineExceeded, ...
  std::string message;  // what happened, naming the deals or instances
  std::string remedy;   // what the user must do
  std::vector<std::string> deal_names;
  std::vector<std::string> instance_ids;
  uint64_t withheld = 0;  // instances this plan would buy for the resource but does not
  bool retrying = false;  // --retry-failed: this plan buys again despite it
};

struct PlanSummary {
  int create = 0, update = 0, destroy = 0, orphan = 0, adopt = 0, restore = 0, resume = 0;
  std::map<std::string, int64_t> cost;  // the changes' costs summed per currency and unit
  bool price_complete = true;
};

struct Plan {
  static constexpr int kFormatVersion = 1;
  std::string stack;
  std::string created_at;
  // Where the stack lives, for apply PLANFILE: relative to the working directory the plan
  // was made in, so it resolves in another checkout of the same commit.
  std::string stack_dir;
  std::vector<std::string> regions;
  std::vector<std::pair<std::string, std::string>> masters;  // region, master: the groups observed
  bool allow_destroy = false;
  std::vector<Change> changes;
  std::vector<std::string> warnings;
  std::vector<Failure> failures;  // terminal failures that hold their resources
  bool retry_failed = false;      // made with --retry-failed
  std::vector<std::string> targets;  // -target KIND/NAME: only these were planned (engine.h)
  bool destroy = false;              // a destroy plan: the targets (or all) as if removed
  // What the plan was made against, so a saved plan can tell when the world moved:
  std::map<std::string, std::string> observed;  // instance or group id -> digest
  // Resource key -> the instances (a group: the group) the observation found for it, not
  // counting those being destroyed. For status; not saved in plan files.
  std::map<std::string, int64_t> observed_counts;
  int64_t state_generation = 0;

  bool HasChanges() const { return !changes.empty(); }
  // A terminal failure the plan does not retry: the stack cannot converge until the user acts.
  bool HasHeldFailures() const;
  // A failed preflight or a blocked change: the plan cannot apply as it is.
  bool HasErrors() const;
  PlanSummary Summary() const;
};

nlohmann::json PlanToJson(const Plan& plan);
Result<Plan> PlanFromJson(const nlohmann::json& j);

// What differs between a saved plan and the plan made now from today's specs, cloud and
// state: each change's effect (never its reason, field diffs, preflight, price or block,
// which are for the reader or come from today's gates), the state's generation, and every
// instance observed. Empty when the saved plan is exactly what would be planned now.
std::vector<std::string> PlanDifferences(const Plan& saved, const Plan& now);

// The requests as they appear in plan files and operation records. The From functions
// throw nlohmann::json::exception on malformed input; callers catch at their boundary.
nlohmann::json ReplicaRequestJson(const cloud::ReplicaRequest& q);
cloud::ReplicaRequest ReplicaRequestFromJson(const nlohmann::json& j);
nlohmann::json ServerlessRequestJson(const cloud::ServerlessRequest& q);
cloud::ServerlessRequest ServerlessRequestFromJson(const nlohmann::json& j);
nlohmann::json GroupRequestJson(const cloud::GroupRequest& q);
cloud::GroupRequest GroupRequestFromJson(const nlohmann::json& j);

// "¥1,234.56"
std::string FormatYuan(int64_t cents);

// The key of a cost: "CNY/hour".
std::string CostKey(const std::string& currency, const std::string& unit);
// "+¥0.73/hour, -¥300.00/month": each amount in its currency (¥ for CNY, else the code) and
// unit; "+¥0.00" when empty.
std::string FormatCost(const std::map<std::string, int64_t>& cost);

}  // namespace reconciler
