#pragma once

// reconciler.yaml, the project file at the root of a stack.
//
//   stack: orders                      # required; the name in every resource's tags
//   provider:
//     tencentcloud:
//       region: ap-beijing            # default region of every resource
//       endpoint: https://...         # optional; default TENCENTCLOUD_ENDPOINT, then the cloud
//       profile: default              # optional tccli profile
//       site: intl                    # optional: intl | china; default: the endpoint's site
//       orderDeadline: 30m            # optional: how long an order may take to deliver (1m..7d)
//       runningDeadline: 60m          # optional: how long delivered instances may take to run
//       preflightMaxAge: 15m          # optional: a plan's DryRuns stand for its apply this long
//       rateLimits: {CreateReadOnlyDBInstance: 50}   # per action, requests per second
//   state: sqlite:.reconciler/state.db
//   daemon:                            # reconciler run
//     interval: 60s                    # resync period
//     autoApply: true                  # false: plan and report only
//     allowDestroy: false              # deletions and replacements need this
//     drift: correct                   # correct | report
//     listen: 127.0.0.1:9464           # /metrics, /status, the page, webhooks
//     webhookSecretFile: secret.txt    # or RECONCILER_WEBHOOK_SECRET
//     gitPoll: 30s                     # run --git: how often to look for a new commit
//     reminder: 1h                     # repeat a standing notice (paused, failing) this often
//     notify: [{url: https://hooks.example/..., format: slack}]   # json | slack
//   defaults: {zone: ap-beijing-4, vpcId: vpc-..., subnetId: subnet-..., tags: {team: data}}

#include <optional>
#include <string>

#include "specs/desired_state.h"
#include "specs/yaml_tree.h"

namespace reconciler::specs {

// The spec fields `defaults` may set. Each is merged into every spec whose kind has it.
const std::vector<std::string>& DefaultableFields();

// Parses the project document. `*defaults` receives the validated `defaults` mapping (or a
// null node). Problems go to `diags`.
Project ParseProject(const Node& doc, const Location& file, Diagnostics* diags, Node* defaults);

// "90s", "5m", "1h30m", or plain seconds. Returns false when malformed.
bool ParseDuration(const std::string& text, int64_t* seconds);

}  // namespace reconciler::specs
