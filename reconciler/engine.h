#pragma once

// The stages wired together for the commands: open a cloud session for a stack, find its
// state, and make a plan (observe -> diff -> preflight).

#include <memory>
#include <string>

#include "providers/provider.h"
#include "providers/tencentcloud/api_client.h"
#include "providers/tencentcloud/site.h"
#include "reconciler/clock.h"
#include "reconciler/executor.h"
#include "reconciler/observe.h"
#include "reconciler/plan.h"
#include "reconciler/rate_budget.h"
#include "reconciler/state_store.h"
#include "specs/desired_state.h"

namespace reconciler {

// Everything that talks to Tencent Cloud for one stack.
struct CloudSession {
  tencentcloud::Site site = tencentcloud::Site::kIntl;  // which API site the endpoint is
  std::string endpoint;                                 // the postgres endpoint's URL
  std::unique_ptr<tencentcloud::HttpTransport> transport;
  std::unique_ptr<tencentcloud::ApiClient> client;
  std::unique_ptr<RateBudget> budget;
  std::unique_ptr<cloud::Cloud> cloud;
};

// Credentials from the environment or the tccli profile (the project may name the profile);
// the endpoint from the project, else the environment; rate limits from the project.
// `signing_clock` stamps requests, `clock` paces them. Fails with kAuth when no credentials,
// and with kInvalidInput when an endpoint is plain http to a host that is not this machine
// and `insecure` is not kAllow (tencentcloud::CheckEndpoint).
Result<CloudSession> OpenCloud(const specs::Project& project, Clock* clock,
                               tencentcloud::InsecureEndpoint insecure = tencentcloud::InsecureEndpoint::kRefuse);

// The SQLite path of `state: sqlite:PATH`, relative to the stack directory.
Result<std::string> StatePath(const std::string& stack_dir, const specs::Project& project);

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
