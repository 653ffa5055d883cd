#pragma once

// The stages wired together: make a plan (observe -> diff -> preflight) for a stack.

#include <memory>
#include <string>
#include <vector>

#include "providers/provider.h"
#include "base/clock.h"
#include "engine/executor.h"
#include "engine/observe.h"
#include "engine/plan.h"
#include "state/state_store.h"
#include "specs/desired_state.h"

namespace reconciler {

// The executor's options a project file sets: the purchase search window and the order and
// running deadlines; the rest keep their defaults.
ExecutorOptions ExecutorOptionsFor(const specs::Project& project);

struct PlanOptions {
  bool allow_destroy = false;
  bool retry_failed = false;  // buy for resources whose last purchase failed terminally (diff.h)
  // -target KIND/NAME: only these resources are planned, with what they depend on (a
  // replica's read-only group); with `destroy`, with what depends on them instead. Each must
  // be in the specs or the state (kInvalidInput otherwise).
  std::vector<specs::ResourceKey> targets;
  // `destroy`: plan as if the targeted resources (all, without targets) were removed from the
  // specs, so each is deleted or orphaned by its deletionPolicy as a removal is.
  bool destroy = false;
};

Result<Plan> MakePlan(cloud::Cloud* cloud, StateStore* store, Clock* clock, const specs::DesiredState& desired,
                      const std::string& stack_dir, const PlanOptions& options);

}  // namespace reconciler
