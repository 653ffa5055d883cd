#pragma once

// The stages wired together: make a plan (observe -> diff -> preflight) for a stack.

#include <memory>
#include <string>

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
};

Result<Plan> MakePlan(cloud::Cloud* cloud, StateStore* store, Clock* clock, const specs::DesiredState& desired,
                      const std::string& stack_dir, const PlanOptions& options);

}  // namespace reconciler
