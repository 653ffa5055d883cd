// The flag parser. CLI11 is included here, in cli_help.cpp and in cloud_flags.cpp only.

#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "base/version.h"
#include "cli/cli_help.h"
#include "cli/cloud_flags.h"
#include "cli/commands.h"

namespace reconciler {

namespace {

constexpr const char* kInsecureHelp =
    "Allow a plain http:// endpoint on a host that is not this machine (the session token and signed requests "
    "then cross the network unencrypted)";

// `reconciler help [COMMAND...]`: the command list, or what `COMMAND --help` prints.
int PrintHelp(const CLI::App& app, const std::vector<std::string>& path, Io io) {
  if (path.empty()) {
    io.out << CommandList(app) << "\n" << app.get_footer() << "\n";
    return kExitOk;
  }
  std::string unknown;
  const CLI::App* parent = nullptr;
  const CLI::App* command = FindCommand(app, path, &unknown, &parent);
  if (command == nullptr) {
    const std::string nearest = ClosestName(unknown, CommandNames(*parent));
    io.err << "reconciler help: unknown command '" << unknown << "'"
           << (nearest.empty() ? "" : "; did you mean '" + nearest + "'?") << "\n";
    return kExitInvalidInput;
  }
  std::string prefix = "reconciler";  // help(prefix) names the command as `--help` does
  for (size_t i = 0; i + 1 < path.size(); ++i) prefix += " " + path[i];
  io.out << command->help(prefix);
  return kExitOk;
}

ColorMode ColorModeOf(const std::string& color, bool no_color) {
  if (no_color || color == "never") return ColorMode::kNever;
  return color == "always" ? ColorMode::kAlways : ColorMode::kAuto;
}

constexpr const char* kTargetHelp =
    "Only this resource (KIND/NAME) and what it depends on; repeatable. Also -target";
constexpr const char* kLockTimeoutHelp =
    "Wait this long for the stack's lock (0, 500ms, 30s, 5m; default 0: fail at once). Also -lock-timeout";

// Terraform's single-dash long flags (-target X, -lock-timeout=5s, -force, -auto-approve)
// as the double-dash ones CLI11 knows.
std::vector<std::string> TerraformFlags(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    for (const char* name : {"-target", "-lock-timeout", "-force", "-auto-approve", "-destroy"}) {
      const std::string n = name;
      if (args[i] == n || args[i].rfind(n + "=", 0) == 0) args[i] = "-" + args[i];
    }
  }
  return args;
}

}  // namespace

int RunCli(int argc, char** argv, Io io) {
  CLI::App app{"Declarative reconciler for TencentDB for PostgreSQL read-only replicas, "
               "read-only groups and serverless instances.",
               "reconciler"};
  app.require_subcommand(1);
  // Global flags, before or after the command: subcommands (made after this) fall through.
  app.fallthrough();
  app.set_version_flag("--version,-V", std::string("reconciler ") + BuildVersion(), "Print the version and exit");
  std::string color = "auto";
  bool no_color = false;
  app.add_option("--color", color, "Colour output: auto (a terminal, NO_COLOR unset), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("--no-color", no_color, "Do not colour output (as --color=never)");
  app.footer(
      "Exit codes: 0 success (plan: no changes), 1 runtime or API error, 2 plan has changes "
      "(with --detailed-exitcode), 3 invalid input (nothing was sent).\n"
      "Credentials, first found: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY (+ TENCENTCLOUD_SESSION_TOKEN); "
      "the profile (--profile, the project's, TENCENTCLOUD_PROFILE, TCCLI_PROFILE, default) in "
      "~/.tccli/<profile>.credential or ~/.tencentcloud/credentials (TENCENTCLOUD_CREDENTIALS_FILE); the CVM/TKE "
      "role from the metadata service. RECONCILER_LOG=debug logs every API call.");

  std::function<int()> run;

  ValidateCommandOptions validate;
  CLI::App* validate_cmd = app.add_subcommand("validate", "Check the specs of a stack; no network");
  validate_cmd->add_option("STACK", validate.stack, "Stack directory (default: .)");
  validate_cmd->add_flag("--insecure-endpoint", validate.insecure_endpoint, kInsecureHelp);
  AddCloudFlags(validate_cmd, &validate.cloud);
  validate_cmd->callback([&] { run = [&] { return RunValidateCommand(validate, io); }; });
  PlanCommandOptions plan;
  CLI::App* plan_cmd = app.add_subcommand("plan", "Show what must change, validated by the cloud (DryRun) and priced");
  plan_cmd->add_option("STACK", plan.stack, "Stack directory (default: .)");
  plan_cmd->add_option("--out", plan.out, "Save the plan to FILE for `apply FILE`");
  plan_cmd->add_flag("--json", plan.json, "Print the plan as JSON (docs/plan-format.md)");
  plan_cmd->add_flag("--markdown", plan.markdown, "Print the plan as Markdown, for pull-request comments");
  plan_cmd->add_flag("--detailed-exitcode", plan.detailed_exitcode, "Exit 0 for no changes, 2 for changes, 1 for errors");
  plan_cmd->add_flag("--allow-destroy", plan.allow_destroy, "Plan deletions and replacements instead of blocking them");
  plan_cmd->add_flag("--retry-failed", plan.retry_failed,
                     "Buy again for resources whose last purchase failed (refused, or past its deadline)");
  plan_cmd->add_flag("--insecure-endpoint", plan.insecure_endpoint, kInsecureHelp);
  AddCloudFlags(plan_cmd, &plan.cloud);
  plan_cmd->add_option("--target", plan.targets, kTargetHelp)->allow_extra_args(false);
  plan_cmd->add_flag("--destroy", plan.destroy, "Plan the destruction of the stack (or of the targets)");
  plan_cmd->add_option("--lock-timeout", plan.lock_timeout, "Accepted as Terraform's; a plan takes no lock");
  plan_cmd->callback([&] { run = [&] { return RunPlanCommand(plan, io); }; });

  ApplyCommandOptions apply;
  CLI::App* apply_cmd = app.add_subcommand("apply", "Make the changes of a plan and follow every order until it runs");
  apply_cmd->add_option("TARGET", apply.target, "Stack directory (default: .) or a plan file from `plan --out`");
  apply_cmd->add_flag("--auto-approve", apply.auto_approve, "Apply without asking for confirmation");
  apply_cmd->add_flag("--allow-destroy", apply.allow_destroy, "Allow deleting and replacing instances");
  apply_cmd->add_flag("--retry-failed", apply.retry_failed,
                      "Buy again for resources whose last purchase failed (refused, or past its deadline)");
  apply_cmd->add_flag("--json-progress", apply.json_progress, "Report progress as JSON lines");
  apply_cmd->add_flag("--insecure-endpoint", apply.insecure_endpoint, kInsecureHelp);
  AddCloudFlags(apply_cmd, &apply.cloud);
  apply_cmd->add_option("--target", apply.targets, kTargetHelp)->allow_extra_args(false);
  apply_cmd->add_option("--lock-timeout", apply.lock_timeout, kLockTimeoutHelp);
  apply_cmd->callback([&] { run = [&] { return RunApplyCommand(apply, io); }; });

  ApplyCommandOptions destroy;
  destroy.destroy = true;
  CLI::App* destroy_cmd = app.add_subcommand(
      "destroy", "Delete (or, by deletionPolicy, orphan) every resource of a stack, or the targets, after confirmation");
  destroy_cmd->add_option("STACK", destroy.target, "Stack directory (default: .)");
  destroy_cmd->add_flag("--auto-approve", destroy.auto_approve, "Destroy without asking for confirmation");
  destroy_cmd->add_flag("--allow-destroy", destroy.allow_destroy,
                        "Allow deleting instances (without it, deletionPolicy Delete resources are blocked)");
  destroy_cmd->add_option("--target", destroy.targets, kTargetHelp)->allow_extra_args(false);
  destroy_cmd->add_option("--lock-timeout", destroy.lock_timeout, kLockTimeoutHelp);
  destroy_cmd->add_flag("--json-progress", destroy.json_progress, "Report progress as JSON lines");
  destroy_cmd->add_flag("--insecure-endpoint", destroy.insecure_endpoint, kInsecureHelp);
  AddCloudFlags(destroy_cmd, &destroy.cloud);
  destroy_cmd->callback([&] { run = [&] { return RunApplyCommand(destroy, io); }; });

  RunCommandOptions run_opts;
  CLI::App* run_cmd = app.add_subcommand("run", "Reconcile continuously as a daemon, from a directory or a git branch");
  run_cmd->add_option("STACK", run_opts.stack, "Stack directory (default: .); not with --git");
  run_cmd->add_option("--git", run_opts.git_url, "Follow this git repository's branch instead of a directory");
  run_cmd->add_option("--branch", run_opts.branch, "The branch to follow (default: main)");
  run_cmd->add_option("--path", run_opts.path, "The stack's folder in the repository (default: its root)");
  run_cmd->add_option("--workdir", run_opts.workdir,
                      "With --git: the directory the daemon owns (mirror, checkout, state; default .reconciler-run)");
  run_cmd->add_option("--listen", run_opts.listen, "HTTP address HOST:PORT (default: daemon.listen); off: none");
  run_cmd->add_option("--interval", run_opts.interval, "Resync interval such as 60s or 5m (default: daemon.interval)");
  run_cmd->add_option("--log-format", run_opts.log_format, "Log lines as text or json")->check(CLI::IsMember({"text", "json"}));
  run_cmd->add_flag("--once", run_opts.once, "Make one pass, then exit");
  run_cmd->add_flag("--insecure-endpoint", run_opts.insecure_endpoint, kInsecureHelp);
  AddCloudFlags(run_cmd, &run_opts.cloud);
  run_cmd->callback([&] { run = [&] { return RunRunCommand(run_opts, io); }; });

  PauseCommandOptions pause;
  CLI::App* pause_cmd = app.add_subcommand("pause", "Hold the daemon's loop: passes observe and report, and send nothing");
  pause_cmd->add_option("STACK", pause.stack, "Stack directory, or a git-mode daemon's --workdir (default: .)");
  pause_cmd->add_option("--reason", pause.reason, "Why, shown on /status and the status page");
  pause_cmd->callback([&] { run = [&] { return RunPauseCommand(pause, io); }; });
  PauseCommandOptions resume;
  resume.resume = true;
  CLI::App* resume_cmd = app.add_subcommand("resume", "Let a paused daemon's loop send again");
  resume_cmd->add_option("STACK", resume.stack, "Stack directory, or a git-mode daemon's --workdir (default: .)");
  resume_cmd->callback([&] { run = [&] { return RunPauseCommand(resume, io); }; });

  StateCommandOptions state;
  CLI::App* state_cmd = app.add_subcommand("state", "Inspect or rebuild the state store: list | show KEY | rebuild");
  state_cmd->add_option("--stack", state.stack, "Stack directory (default: .)");
  CLI::App* state_list =
      state_cmd->add_subcommand("list", "Resources, their instances, purchases in flight and failed purchases");
  CLI::App* state_show = state_cmd->add_subcommand("show", "Everything recorded for one resource, as JSON");
  state_show->add_option("KEY", state.key, "KIND/NAME")->required();
  CLI::App* state_rebuild = state_cmd->add_subcommand("rebuild", "Recover the state from the cloud's tags");
  CLI::App* state_rm = state_cmd->add_subcommand("rm", "Forget a resource and its instances; the cloud is not touched");
  state_rm->add_option("KEY", state.key, "KIND/NAME")->required();
  state_rm->add_flag("--force", state.force, "Even while a purchase of it is in flight");
  state_cmd->require_subcommand(1);
  state_list->callback([&] { state.action = "list"; });
  state_show->callback([&] { state.action = "show"; });
  state_rebuild->callback([&] { state.action = "rebuild"; });
  state_rm->callback([&] { state.action = "rm"; });
  for (CLI::App* sub : {state_list, state_show, state_rebuild, state_rm}) sub->add_option("--stack", state.stack, "Stack directory (default: .)");
  for (CLI::App* sub : {state_list, state_show, state_rebuild, state_rm}) AddCloudFlags(sub, &state.cloud);
  state_rebuild->add_flag("--insecure-endpoint", state.insecure_endpoint, kInsecureHelp);
  for (CLI::App* sub : {state_rebuild, state_rm}) sub->add_option("--lock-timeout", state.lock_timeout, kLockTimeoutHelp);

  ForceUnlockCommandOptions unlock;
  CLI::App* unlock_cmd = app.add_subcommand("force-unlock", "Remove the lock of a stack whose holder is stuck: force-unlock LOCK_ID");
  unlock_cmd->add_option("LOCK_ID", unlock.lock_id, "The lock id a locked-out command named")->required();
  unlock_cmd->add_option("--stack", unlock.stack, "Stack directory (default: .)");
  unlock_cmd->add_flag("--force", unlock.force, "Do not ask for confirmation");
  unlock_cmd->callback([&] { run = [&] { return RunForceUnlockCommand(unlock, io); }; });
  state_cmd->final_callback([&] { run = [&] { return RunStateCommand(state, io); }; });

  OutputCommandOptions output;
  CLI::App* output_cmd =
      app.add_subcommand("output", "Each resource's instances: id, status, private address and port");
  output_cmd->add_option("STACK", output.target, "Stack directory (default: .)");
  OutputCommandOptions show;
  show.show = true;
  CLI::App* show_cmd = app.add_subcommand("show", "Render a saved plan, or show the stack's resources as output does");
  show_cmd->add_option("TARGET", show.target, "A plan file from `plan --out`, or a stack directory (default: .)");
  for (auto [cmd, opts] : {std::pair{output_cmd, &output}, std::pair{show_cmd, &show}}) {
    cmd->add_flag("--json", opts->json, "Print JSON");
    cmd->add_flag("--insecure-endpoint", opts->insecure_endpoint, kInsecureHelp);
    AddCloudFlags(cmd, &opts->cloud);
  }
  output_cmd->callback([&] { run = [&] { return RunOutputCommand(output, io); }; });
  show_cmd->callback([&] { run = [&] { return RunOutputCommand(show, io); }; });
  GraphCommandOptions graph;
  CLI::App* graph_cmd = app.add_subcommand("graph", "Write the dependency graph (resources, groups, masters) in DOT");
  graph_cmd->add_option("STACK", graph.stack, "Stack directory (default: .)");
  graph_cmd->callback([&] { run = [&] { return RunGraphCommand(graph, io); }; });
  SchemaCommandOptions schema;
  CLI::App* schema_cmd =
      app.add_subcommand("schema", "Print a JSON Schema for editors, or write all five into a directory");
  schema_cmd->add_option("NAME", schema.name,
                         "resource (default), project, readonlyinstance, readonlygroup or serverlessinstance");
  schema_cmd->add_option("--out", schema.out, "Write the schemas into DIR (made if missing) instead of printing one");
  schema_cmd->callback([&] { run = [&] { return RunSchemaCommand(schema, io); }; });

  ImportCommandOptions import;
  CLI::App* import_cmd = app.add_subcommand("import", "Adopt an existing instance: import KIND/NAME INSTANCE_ID");
  import_cmd->add_option("RESOURCE", import.resource, "KIND/NAME of a resource in the specs")->required();
  import_cmd->add_option("ID", import.instance_id, "The existing instance or group id")->required();
  import_cmd->add_option("--stack", import.stack, "Stack directory (default: .)");
  import_cmd->add_flag("--insecure-endpoint", import.insecure_endpoint, kInsecureHelp);
  AddCloudFlags(import_cmd, &import.cloud);
  import_cmd->callback([&] { run = [&] { return RunImportCommand(import, io); }; });
  HookCommandOptions hook;
  CLI::App* hook_cmd = app.add_subcommand("hook", "Git server hooks: hook pre-receive | post-receive");
  CLI::App* pre_receive = hook_cmd->add_subcommand(
      "pre-receive", "Validate and plan each push to the tracked branch; reject it when invalid or refused");
  pre_receive->add_option("--workdir", hook.workdir, "The daemon's --workdir, whose state the plan reads");
  pre_receive->add_flag("--no-preflight", hook.no_preflight, "Validate only; make no cloud call");
  pre_receive->add_flag("--insecure-endpoint", hook.insecure_endpoint, kInsecureHelp);
  AddCloudFlags(pre_receive, &hook.cloud);
  CLI::App* post_receive = hook_cmd->add_subcommand("post-receive", "Wake the daemon after a push to the tracked branch");
  post_receive->add_option("--wake", hook.wake, "The daemon's trigger URL (default: http://127.0.0.1:9464/trigger)");
  for (CLI::App* sub : {pre_receive, post_receive}) {
    sub->add_option("--branch", hook.branch, "The tracked branch (default: main)");
    sub->add_option("--path", hook.path, "The stack's folder in the repository (default: its root)");
  }
  hook_cmd->require_subcommand(1);
  pre_receive->callback([&] { hook.which = "pre-receive"; });
  post_receive->callback([&] { hook.which = "post-receive"; });
  hook_cmd->final_callback([&] { run = [&] { return RunHookCommand(hook, io); }; });

  ApiCommandOptions api;
  CLI::App* api_cmd = app.add_subcommand("api", "Make one signed API call and print the answer, like tccli");
  api_cmd->add_option("ACTION", api.action, "API action, e.g. DescribeDBInstances")->required();
  api_cmd->add_option("--service", api.service, "Service: postgres or tag")->capture_default_str();
  api_cmd->add_option("--version", api.version, "API version (default: the service's)");
  api_cmd->add_option("--region", api.region, "Region (default: TENCENTCLOUD_REGION or profile)");
  api_cmd->add_option("--data", api.data, "Request parameters as a JSON object")->capture_default_str();
  api_cmd->add_option("--endpoint", api.endpoint, "Endpoint URL (default: TENCENTCLOUD_ENDPOINT)");
  api_cmd->add_option("--profile", api.profile, "Credentials profile (default: TENCENTCLOUD_PROFILE, TCCLI_PROFILE or default)");
  api_cmd->add_flag("--verbose,-v", api.verbose, "Show the request, with secrets redacted");
  api_cmd->add_flag("--insecure-endpoint", api.insecure_endpoint, kInsecureHelp);
  api_cmd->callback([&] { run = [&] { return RunApiCommand(api, io); }; });

  CLI::App* version_cmd = app.add_subcommand("version", "Print the version of reconciler");
  version_cmd->callback([&] { run = [&] { io.out << "reconciler " << BuildVersion() << "\n"; return int{kExitOk}; }; });
  std::vector<std::string> help_path;  // for the usage line only: help is answered before parsing
  CLI::App* help_cmd = app.add_subcommand("help", "List the commands, or show what COMMAND --help shows");
  help_cmd->add_option("COMMAND", help_path, "A command, e.g. plan or state list");

  // help and __complete (hidden, for the completion scripts in dist/completion/) take the
  // words after them whole: CLI11 would parse those as the commands to run.
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "help") return PrintHelp(app, {args.begin() + 1, args.end()}, io);
  if (!args.empty() && args[0] == "__complete") {
    io.out << CompletionWords(app, {args.begin() + 1, args.end()});
    return kExitOk;
  }

  try {
    std::vector<std::string> parsed = TerraformFlags(argc, argv);
    parsed.erase(parsed.begin());
    std::reverse(parsed.begin(), parsed.end());  // CLI11 takes the arguments last first, without the program
    app.parse(std::move(parsed));
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::Success& e) {  // --version
    return app.exit(e, io.out, io.err);
  } catch (const CLI::ParseError& e) {
    const std::string hint = DidYouMean(app, args);
    if (hint.empty()) app.exit(e, io.out, io.err);
    else io.err << hint;
    return kExitInvalidInput;
  }
  io.color = ColorModeOf(color, no_color);
  return run ? run() : kExitInvalidInput;
}

}  // namespace reconciler
