#pragma once

// The composition root: everything one stack needs to plan, apply or keep its state, opened
// in one place and in one order. The commands (and the daemon to come) call OpenStack; no
// other code creates a cloud session, a state store or a stack lease.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "providers/provider.h"
#include "providers/tencentcloud/api_client.h"
#include "providers/tencentcloud/rate_budget.h"
#include "providers/tencentcloud/site.h"
#include "specs/project.h"
#include "state/stack_lease.h"
#include "state/state_store.h"

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
// `clock` stamps and paces requests; `stop` cuts short the session's waits (rate budget,
// retry backoffs) and nothing else's. Fails with kAuth when no credentials, and with
// kInvalidInput when an endpoint is plain http to a host that is not this machine and
// `insecure` is not kAllow (tencentcloud::CheckEndpoint).
Result<CloudSession> OpenCloud(const specs::Project& project, Clock* clock,
                               tencentcloud::InsecureEndpoint insecure = tencentcloud::InsecureEndpoint::kRefuse,
                               std::stop_token stop = {});

// The state file of the project's `state:` URL, relative paths taken from the stack
// directory. `sqlite:PATH` is the only scheme built; any other is kInvalidInput naming it.
Result<std::string> StatePath(const std::string& stack_dir, const specs::Project& project);

enum class StackAccess {
  kRead,   // plan, state list/show: no lease; several readers may run at once
  kWrite,  // apply, state rebuild, import: holds the stack's leases (below) until closed
};

struct StackOpenOptions {
  StackAccess access = StackAccess::kRead;
  bool cloud = true;              // open a cloud session (state list/show need none)
  bool create_state = true;       // false: a state file that does not exist yet is kNotFound
  tencentcloud::InsecureEndpoint insecure = tencentcloud::InsecureEndpoint::kRefuse;
  std::stop_token stop;  // the stack's own: stops its cloud session's waits (OpenCloud)
  // kWrite: how long to wait for the leases held by another process (-lock-timeout); 0
  // fails at once.
  std::chrono::milliseconds lock_timeout{0};
  std::function<void(const std::string& holder)> on_lock_wait;  // told when a wait for a lease begins
};

// A stack opened by OpenStack. Members are destroyed in reverse order: the store closes
// before the leases are released.
struct OpenedStack {
  std::string state_path;
  std::optional<CloudSession> session;      // when opened with `cloud`
  std::unique_ptr<StackLease> state_lease;  // kWrite: the lock beside the state file
  std::unique_ptr<StackLease> host_lease;   // kWrite with a cloud: the host-wide lock of
                                            // the stack at its endpoint (state/host_lock.h)
  std::unique_ptr<StateStore> store;

  // REQUIRES: opened with `cloud`.
  cloud::Cloud* cloud() const { return session->cloud.get(); }
};

// Opens the stack of `project` at `stack_dir`, in this order, so that a refusal early on
// leaves nothing behind:
//   1. the state path (a scheme not built is refused);
//   2. the cloud session (refused credentials or endpoints create no state file);
//   3. for kWrite: the state's directory and lease, then the host-wide lease; each fails
//      with kConflict naming the holder, at once or when `lock_timeout` has passed;
//   4. the state store (created when absent unless `create_state` is false).
// Errors come back as they are, to be printed by the caller.
Result<OpenedStack> OpenStack(const std::string& stack_dir, const specs::Project& project, Clock* clock,
                              const StackOpenOptions& options);

}  // namespace reconciler
