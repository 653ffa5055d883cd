#pragma once

// Observe: what the cloud holds for a stack, for the fewest calls. Per region: one paged
// DescribeDBInstances listing, filtered on the stack and operation tag keys (so instances
// whose tagging never finished are found too; see identity.h), and one
// DescribeServerlessDBInstances listing on the stack tag key; per referenced master: one
// DescribeReadOnlyGroups. Nothing per instance, so a no-op plan over 1,000 replicas on one
// master costs 12 calls.

#include <string>

#include "providers/provider.h"
#include "engine/diff.h"
#include "specs/desired_state.h"

namespace reconciler {

// Where to look: regions from the specs, the state and the purchases in flight; masters
// from the ReadOnlyGroup specs, the replicas that name a group, and the groups in state.
struct ObserveScope {
  std::vector<std::string> regions;
  std::vector<std::pair<std::string, std::string>> masters;  // region, master id
  // Read-only instances the state records (region, id). One the listing omits is looked up
  // by id: the cloud's silence is no proof that it is gone.
  std::vector<std::pair<std::string, std::string>> recorded;
};

ObserveScope ScopeOf(const specs::DesiredState& desired, const RecordedState& recorded);

// Fails with kRetryable when a listing is malformed, or omits an instance of `scope.recorded`
// that a lookup by id still finds carrying our stack's tags (or any instance it finds but
// cannot attribute): a listing that is inconsistent with the state is not planned from. A
// recorded instance the lookup does not find, or finds going, is gone.
Result<ObservedState> Observe(cloud::Cloud* cloud, const std::string& stack, const ObserveScope& scope);

Result<RecordedState> LoadRecorded(StateStore* store);

// Of `operations`, the newest purchase of each resource (create-replicas, create-serverless,
// create-group) when it failed terminally: with an error code that holds the resource
// (base/retry_policy.h HoldsResource: a refusal or a deadline, not an auth failure). Nothing is
// bought for such a resource until the user acts (diff.h). Oldest first.
std::vector<Operation> TerminalFailures(const std::vector<Operation>& operations);

}  // namespace reconciler
