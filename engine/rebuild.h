#pragma once

// `reconciler state rebuild`: the state's cache recovered from the cloud's tags.

#include <cstddef>

#include "base/status.h"
#include "providers/provider.h"
#include "specs/desired_state.h"
#include "state/state_store.h"

namespace reconciler {

struct RebuildSummary {
  size_t resources = 0;  // resources recorded: the specs' that exist in the cloud, and ones
                         // the cloud tags for resources the specs no longer hold (Orphan)
  size_t instances = 0;  // instances recorded, each under the resource its tags name
};

// Replaces the resources and instances recorded in `store` with what the cloud shows for
// `desired`'s stack, in one transaction; operations (purchases in flight) are kept, and the
// time of the rebuild is recorded, so purchases wait out the visibility window (engine.h).
// Fails, changing nothing, when the state or the cloud cannot be read.
Result<RebuildSummary> RebuildState(const specs::DesiredState& desired, StateStore* store, cloud::Cloud* cloud);

}  // namespace reconciler
