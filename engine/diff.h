#pragma once

// Diff: what must change so the cloud matches the specs. A pure function of three inputs:
//   desired   the specs (specs::DesiredState)
//   observed  what the cloud holds under our stack tag, and the groups of referenced masters
//   recorded  the state store: resources as last applied, instances, purchases in flight
// It makes no calls. Preflight (DryRun, prices) runs on its output.

#include <map>
#include <string>
#include <vector>

#include "providers/provider.h"
#include "engine/plan.h"
#include "engine/requests.h"  // the spec -> request mapping the diff fills changes with
#include "state/state_store.h"
#include "specs/desired_state.h"

namespace reconciler {

struct ObservedState {
  std::vector<cloud::Instance> instances;   // read-only instances carrying our stack tag
  std::vector<cloud::Instance> serverless;  // serverless instances carrying our stack tag
  std::vector<cloud::Group> groups;         // every group of every referenced master
};

struct RecordedState {
  std::map<std::string, ResourceRecord> resources;  // by key
  std::map<std::string, InstanceRecord> instances;  // by id
  std::vector<Operation> in_flight;
  std::vector<Operation> failures;  // TerminalFailures(): purchases that hold their resources
  int64_t generation = 0;
};

struct DiffOptions {
  bool allow_destroy = false;
  // False where the cloud has no ModifyDBInstanceDeletionProtection (the international
  // site): a deletionProtection drift is then a warning, not an update. Default true.
  bool can_modify_deletion_protection = true;
  // --retry-failed: buy for resources whose last purchase failed terminally. Default false:
  // such a resource gets no purchase, and the plan lists its failure and what to do.
  bool retry_failed = false;
};

struct DiffResult {
  std::vector<Change> changes;  // in execution order, with `after` dependencies filled in
  std::vector<std::string> warnings;  // drift the reconciler reports but does not act on
  // Terminal failures of desired resources (RecordedState::failures) the cloud has not
  // resolved since. One the cloud resolved (an order that delivered late, instances that run
  // now) becomes a resume change instead.
  std::vector<Failure> failures;
};

// What must change. No preflight yet.
DiffResult Diff(const specs::DesiredState& desired, const ObservedState& observed, const RecordedState& recorded,
                const DiffOptions& options);

// Where an existing instance (or group) differs from a spec in what no call changes in
// place: each field with the instance's value as `before` and the spec's as `after`. For a
// replica or serverless instance, any difference forces a replace.
std::vector<FieldDiff> ReplicaImmutableDiffs(const specs::ReadOnlyInstanceSpec& spec, const cloud::Instance& instance);
std::vector<FieldDiff> ServerlessImmutableDiffs(const specs::ServerlessInstanceSpec& spec,
                                                const cloud::Instance& instance);
std::vector<FieldDiff> GroupFixedDiffs(const specs::ReadOnlyGroupSpec& spec, const cloud::Group& group);

// A short description of what matters about an instance or group, for a saved plan to
// notice that the cloud changed under it.
std::string Digest(const cloud::Instance& i);
std::string Digest(const cloud::Group& g);
std::map<std::string, std::string> DigestAll(const ObservedState& observed);

// Statuses in which an instance is on its way out; such instances count for nothing.

}  // namespace reconciler
