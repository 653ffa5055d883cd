#pragma once

// Each subcommand is a function over a plain options struct, so the flag parser (cli.cpp)
// is the only place that knows about CLI11 and tests can call commands directly.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/cli.h"
#include "engine/engine.h"
#include "providers/tencentcloud/api_client.h"
#include "specs/desired_state.h"

namespace reconciler {

// --profile, --region, --endpoint and --log-level: what every command that reaches the cloud
// takes (cli/cloud_flags.h). Empty: not given.
struct CloudFlags {
  std::string profile;    // beats provider.tencentcloud.profile and TENCENTCLOUD_PROFILE
  std::string region;     // beats provider.tencentcloud.region (a spec's own region still wins)
  std::string endpoint;   // beats provider.tencentcloud.endpoint and TENCENTCLOUD_ENDPOINT
  std::string log_level;  // error | warn | info | debug; default $RECONCILER_LOG, else warn
};

struct ApiCommandOptions {
  std::string action;
  std::string service = "postgres";
  std::string version;  // default: the service's current version
  std::string region;   // default: from the environment or profile
  std::string data = "{}";
  std::string endpoint;  // default: from the environment or profile
  std::string profile;   // default: $TCCLI_PROFILE, else "default"
  bool verbose = false;
  bool insecure_endpoint = false;  // --insecure-endpoint: allow plain http to a host that is not loopback
};

// `reconciler api ACTION --data JSON`: one signed call, the response printed as JSON.
int RunApiCommand(const ApiCommandOptions& options, Io io);

struct ValidateCommandOptions {
  CloudFlags cloud;
  std::string stack = ".";
  bool insecure_endpoint = false;  // --insecure-endpoint: allow plain http to a host that is not loopback
};

// `reconciler validate [STACK]`: loads the specs, prints every problem, exits 3 on errors.
// Makes no network call.
int RunValidateCommand(const ValidateCommandOptions& options, Io io);

// Whether to colour output written to `fd`: as --color says; with auto, when `fd` is a
// terminal (not TERM=dumb) and NO_COLOR is unset.
bool UseColor(const Io& io, int fd);

struct PlanCommandOptions {
  CloudFlags cloud;
  std::string stack = ".";
  std::string out;         // --out FILE: save the plan
  bool json = false;       // --json
  bool markdown = false;   // --markdown
  bool detailed_exitcode = false;
  bool allow_destroy = false;
  bool retry_failed = false;  // buy again for resources whose last purchase failed terminally
  bool insecure_endpoint = false;  // --insecure-endpoint: allow plain http to a host that is not loopback
  std::vector<std::string> targets;  // -target KIND/NAME, repeatable
  bool destroy = false;              // --destroy: plan the destruction of the stack (or the targets)
  std::string lock_timeout = "0s";   // -lock-timeout: accepted for Terraform's scripts; a plan takes no lock
};

// `reconciler plan`: 0 no changes (or changes without --detailed-exitcode), 2 changes with
// --detailed-exitcode, 1 error, a plan that cannot apply, or a failed purchase that holds its
// resource (shown with what to do), 3 invalid specs.
int RunPlanCommand(const PlanCommandOptions& options, Io io);

struct StackPlanOptions {
  PlanOptions plan;
  bool insecure_endpoint = false;  // allow plain http to a host that is not loopback
  bool create_state = true;        // false: a stack with no state file yet is kNotFound, and none is made
  std::function<void(const tencentcloud::CallRecord&)> call_log;  // --log-level debug; empty: none
};

// The plan `reconciler plan` makes: `desired` (loaded and valid) against the cloud and the
// state of the stack at `stack_dir`, opened to read (app/stack.h), then observed, diffed and
// preflighted (engine MakePlan). Errors come back unprinted. Shared with `hook pre-receive`,
// which plans a pushed tree against the daemon's state.
Result<Plan> PlanDesiredState(const specs::DesiredState& desired, const std::string& stack_dir,
                              const StackPlanOptions& options);

struct ApplyCommandOptions {
  CloudFlags cloud;
  std::string target = ".";  // a stack directory or a saved plan file
  bool auto_approve = false;
  bool allow_destroy = false;
  bool retry_failed = false;   // buy again for resources whose last purchase failed terminally
  bool json_progress = false;  // progress as JSON lines
  bool insecure_endpoint = false;  // --insecure-endpoint: allow plain http to a host that is not loopback
  std::vector<std::string> targets;  // -target KIND/NAME, repeatable
  bool destroy = false;              // `reconciler destroy`: plan and apply the destruction
  std::string lock_timeout = "0s";   // -lock-timeout: wait this long for the stack's lock
};

// `reconciler apply [STACK|PLANFILE]` and `reconciler destroy [STACK]`. A plan file applies
// without a prompt (it was reviewed when it was made), as Terraform's does.
int RunApplyCommand(const ApplyCommandOptions& options, Io io);

// "-target" values as resource keys; on a malformed one says why on stderr and returns nullopt.
std::optional<std::vector<specs::ResourceKey>> ParseTargets(const std::vector<std::string>& targets,
                                                            const std::string& command, Io io);

// A -lock-timeout such as 0, 500ms, 30s, 5m or 1h; on a malformed one says why on stderr.
std::optional<std::chrono::milliseconds> ParseLockTimeout(const std::string& text, const std::string& command, Io io);

// A saved plan, read and bounded (apply and show share it).
Result<Plan> ParsePlanFile(const std::string& path);

struct OutputCommandOptions {
  CloudFlags cloud;
  std::string target = ".";  // a stack directory, or for show a plan file
  bool show = false;         // `show`: a plan file is rendered; a directory shows as output does
  bool json = false;
  bool insecure_endpoint = false;
};

// `reconciler output [STACK]`: per resource its instances, status and private address and
// port, from the listings the plan reads (no call per instance). `show [PLANFILE|STACK]`.
int RunOutputCommand(const OutputCommandOptions& options, Io io);

struct GraphCommandOptions {
  std::string stack = ".";
};

// `reconciler graph [STACK]`: the resources, their groups and masters as a DOT digraph; no network.
int RunGraphCommand(const GraphCommandOptions& options, Io io);

struct SchemaCommandOptions {
  std::string name;  // resource | project | readonlyinstance | readonlygroup | serverlessinstance; "": all
  std::string out;   // --out DIR: write the files there (made if missing); "": print one to stdout
};

// `reconciler schema [NAME] [--out DIR]`: the JSON Schemas of specs/schema/, compiled in.
// Without --out prints NAME's schema (default resource) to stdout; with it writes NAME's (default
// all five) into DIR, byte for byte, and lists them. 3 for an unknown NAME or a DIR that is not
// a directory, 1 when a file cannot be written. No network.
int RunSchemaCommand(const SchemaCommandOptions& options, Io io);

struct ForceUnlockCommandOptions {
  std::string lock_id;  // as named by the message of a command that found the stack locked
  std::string stack = ".";
  bool force = false;   // -force: do not ask for confirmation
};

// `reconciler force-unlock LOCK_ID`: removes a stack lock whose holder is stuck, as
// Terraform's; the cloud and the state are not touched.
int RunForceUnlockCommand(const ForceUnlockCommandOptions& options, Io io);

struct StateCommandOptions {
  CloudFlags cloud;
  std::string action;  // list | show | rebuild | rm
  std::string key;     // show KEY, rm KEY
  std::string stack = ".";
  bool insecure_endpoint = false;  // --insecure-endpoint: allow plain http to a host that is not loopback
  std::string lock_timeout = "0s";  // rebuild, rm: wait this long for the stack's lock
  bool force = false;               // rm: even while a purchase of it is in flight
};

int RunStateCommand(const StateCommandOptions& options, Io io);

struct ImportCommandOptions {
  CloudFlags cloud;
  std::string resource;     // KIND/NAME
  std::string instance_id;  // postgres-..., pgro-... or pgrogrp-...
  std::string stack = ".";
  bool insecure_endpoint = false;  // --insecure-endpoint: allow plain http to a host that is not loopback
};

int RunImportCommand(const ImportCommandOptions& options, Io io);

struct RunCommandOptions {
  CloudFlags cloud;
  std::string stack = ".";  // directory mode: the stack directory, watched with inotify
  std::string git_url;      // --git URL: git mode; the stack comes from the branch's commits
  std::string branch = "main";
  std::string path = ".";   // --path: the stack's folder in the repository
  std::string workdir;      // --workdir: git mode's own directory (default .reconciler-run)
  std::string listen;       // --listen HOST:PORT; default daemon.listen; "off": no HTTP
  std::string interval;     // --interval 60s; default daemon.interval
  std::string log_format = "text";  // text | json
  bool once = false;        // one pass, then exit (0 converged or in flight, 1 errors)
  bool insecure_endpoint = false;
};

// `reconciler run`: the daemon (daemon/loop.h). Runs until SIGTERM or SIGINT.
int RunRunCommand(const RunCommandOptions& options, Io io);

struct PauseCommandOptions {
  std::string stack = ".";  // a stack directory, or a git-mode daemon's workdir
  std::string reason;       // --reason: shown on /status and the page
  bool resume = false;
};

// `reconciler pause STACK` and `resume STACK`: kept in the stack's state, read by every pass.
int RunPauseCommand(const PauseCommandOptions& options, Io io);

struct HookCommandOptions {
  CloudFlags cloud;
  std::string which;          // "pre-receive" or "post-receive"
  std::string branch = "main";  // the tracked branch; other refs pass untouched
  std::string path = ".";     // the stack's folder in the repository
  std::string workdir;        // the daemon's workdir (its state), for pre-receive's plan
  std::string wake = "http://127.0.0.1:9464/trigger";  // post-receive: the daemon's local endpoint
  bool no_preflight = false;  // pre-receive: validate only, make no cloud call
  bool insecure_endpoint = false;
};

// `reconciler hook pre-receive` (reads "old new ref" lines on stdin, as git gives them) and
// `hook post-receive`.
int RunHookCommand(const HookCommandOptions& options, Io io);

}  // namespace reconciler
