// reconciler plan and reconciler apply.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "app/stack.h"
#include "base/version.h"
#include "cli/cloud_flags.h"
#include "cli/commands.h"
#include "engine/engine.h"
#include "engine/executor.h"
#include "engine/reconcile.h"
#include "base/json_input.h"
#include "ui/plan_render.h"
#include "ui/reporters.h"
#include "specs/spec_loader.h"

namespace reconciler {

using nlohmann::json;

namespace {

// Loads and validates the stack; on errors prints them and returns nullopt.
std::optional<specs::LoadedStack> LoadOrReport(const std::string& dir, const CloudFlags& cloud, Io io) {
  specs::LoadedStack stack = specs::LoadStackDir(dir, {}, OverridesFrom(cloud));
  io.err << stack.RenderDiagnostics(UseColor(io, STDERR_FILENO));
  if (!stack.ok()) {
    size_t n = stack.diags.error_count();
    io.err << n << (n == 1 ? " error" : " errors") << "; nothing was sent\n";
    return std::nullopt;
  }
  return stack;
}

template <typename Options>
tencentcloud::InsecureEndpoint InsecureOf(const Options& options) {
  return options.insecure_endpoint ? tencentcloud::InsecureEndpoint::kAllow : tencentcloud::InsecureEndpoint::kRefuse;
}

int ReportError(Io io, const std::string& what, const Status& s) {
  io.err << "reconciler " << what << ": " << (s.api_code().empty() ? "" : s.api_code() + ": ") << s.message();
  if (!s.request_id().empty()) io.err << " (RequestId " << s.request_id() << ")";
  io.err << "\n";
  return s.code() == Code::kInvalidInput ? kExitInvalidInput : kExitError;
}

// SIGINT and SIGTERM for the whole apply. Constructed first, before any thread exists (the
// live view's ticker, curl's resolver, the executor's workers), so every thread inherits
// the blocked mask and only this guard's thread ever receives the signals.
//   - On a terminal, Ctrl-C quits at once with exit 130 and prints nothing: every step of
//     every purchase is committed before the next, so this is as safe as a crash, and the
//     next apply resumes what was in flight.
//   - Otherwise (CI, a supervisor), and for SIGTERM, the first signal stops new work and
//     lets the executor record where each purchase stands; a second quits at once.
//   - Before the executor runs (planning, the confirmation prompt) nothing has been sent, so
//     any signal quits at once.
class InterruptGuard {
 public:
  explicit InterruptGuard(Io io) : io_(io), terminal_(isatty(STDIN_FILENO) == 1) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] { Watch(); });
  }
  ~InterruptGuard() {
    done_ = true;
    thread_.join();
    // A signal that arrived after the watcher's last look is still pending: honour it
    // rather than letting it land when the mask is restored.
    timespec none{0, 0};
    if (sigtimedwait(&set_, nullptr, &none) > 0) _exit(130);
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

  // The stack's work to stop gracefully from now on; nullptr when it is done.
  void Attach(std::stop_source* stack) {
    std::lock_guard<std::mutex> lock(mu_);
    stack_ = stack;
  }

 private:
  void Watch() {
    int seen = 0;
    timespec tick{0, 100 * 1000 * 1000};
    while (!done_) {
      int sig = sigtimedwait(&set_, nullptr, &tick);
      if (sig < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);  // the stop source outlives its attachment
      if (!stack_ || (terminal_ && sig == SIGINT) || ++seen > 1) _exit(130);
      io_.err << "\ninterrupted: no new work starts; purchases already sent are recorded and followed "
                 "no further (the next apply resumes them). Press Ctrl-C again to quit now.\n"
              << std::flush;
      stack_->request_stop();
    }
  }

  Io io_;
  const bool terminal_;
  sigset_t set_, old_;
  std::mutex mu_;
  std::stop_source* stack_ = nullptr;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Whether failed purchases hold resources that this plan leaves alone; says so on stderr.
bool HeldFailures(const Plan& plan, Io io) {
  if (!plan.HasHeldFailures()) return false;
  size_t n = 0;
  for (const Failure& f : plan.failures) n += !f.retrying;
  io.err << "reconciler: " << n << (n == 1 ? " resource is" : " resources are")
         << " held by a failed purchase (see above); nothing is bought for them until you act\n";
  return true;
}

bool Confirm(const ApplyCommandOptions& options, Io io) {
  if (options.auto_approve) return true;
  const char* command = options.destroy ? "destroy" : "apply";
  if (!isatty(STDIN_FILENO) || !io.in) {
    io.err << "reconciler " << command << ": stdin is not a terminal, so nobody can confirm; pass --auto-approve to "
           << command << " without asking\n";
    return false;
  }
  io.out << (options.destroy ? "\nDestroy these resources? Only 'yes' is accepted: "
                             : "\nApply these changes? Only 'yes' is accepted: ")
         << std::flush;
  std::string answer;
  std::getline(*io.in, answer);
  if (answer != "yes") {
    io.out << "Apply cancelled; nothing was sent.\n";
    return false;
  }
  return true;
}

// The live view moves the cursor: only on a terminal that can (colour is another matter,
// NO_COLOR and --color decide it alone).
bool LiveViewFits() {
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && !(term && std::string(term) == "dumb");
}

// The plan as JSON, with the version of reconciler that made it.
json PlanJson(const Plan& plan) {
  json j = PlanToJson(plan);
  j["version"] = BuildVersion();
  return j;
}

// Carries out `plan` as a loop of reconcile steps, sleeping between them until the next
// poll or backoff is due, until every change has ended or `stop` is requested.
// `io.out` takes the summary; `progress_out` the JSON lines of --json-progress.
int Execute(Plan plan, const ApplyCommandOptions& options, const specs::Project& project, cloud::Cloud* cloud,
            StateStore* store, Clock* clock, InterruptGuard* guard, std::stop_source* stop, Io io,
            std::ostream& progress_out) {
  std::unique_ptr<Reporter> reporter;
  if (options.json_progress) reporter = std::make_unique<JsonReporter>(progress_out, clock);
  else if (LiveViewFits()) reporter = std::make_unique<TtyReporter>(io.out, TtyOptions{UseColor(io, STDOUT_FILENO), [] { return TerminalColumns(STDOUT_FILENO); }});
  else reporter = std::make_unique<TextReporter>(io.out);
  StackContext ctx;
  ctx.cloud = cloud;
  ctx.store = store;
  ctx.clock = clock;
  ctx.reporter = reporter.get();
  ctx.executor_options = ExecutorOptionsFor(project);
  ctx.plan = std::move(plan);
  ctx.replan = false;  // exactly the plan confirmed, nothing more
  guard->Attach(stop);
  for (;;) {
    Result<StepResult> step = ReconcileOnce(ctx, stop->get_token());
    if (!step.ok()) {  // planning is done already; a step of a given plan cannot fail to start
      guard->Attach(nullptr);
      return ReportError(io, "apply", step.status());
    }
    if (step->finished) break;
    clock->SleepFor(std::max(step->requeue_after, std::chrono::milliseconds(1)), stop->get_token());
  }
  guard->Attach(nullptr);
  const Plan& applied = *ctx.plan;
  ApplyResult result = ctx.executor->Results();
  result.interrupted = stop->stop_requested();
  int done = 0, failed = 0, skipped = 0, pending = 0, blocked = 0;
  for (const ChangeResult& r : result.changes) {
    done += r.outcome == Outcome::kDone;
    failed += r.outcome == Outcome::kFailed;
    skipped += r.outcome == Outcome::kSkipped;
    pending += r.outcome == Outcome::kPending;
    blocked += r.outcome == Outcome::kBlocked;
    if (r.outcome != Outcome::kDone) io.err << r.resource << " (" << r.change_id << "): " << OutcomeName(r.outcome) << ": " << r.message << "\n";
  }
  io.out << "\nApply " << (result.ok() ? "complete" : "incomplete") << ": " << done << " done, " << failed
         << " failed, " << skipped << " skipped, " << pending << " pending"
         << (blocked > 0 ? ", " + std::to_string(blocked) + " blocked" : std::string()) << ".\n";
  if (blocked > 0) {
    io.out << "Blocked (not applied; fix what blocks them, then apply again):\n";
    for (const ChangeResult& r : result.changes) {
      if (r.outcome == Outcome::kBlocked) io.out << "  " << r.resource << " (" << r.change_id << "): " << r.message << "\n";
    }
  }
  if (!result.pending.empty()) {
    io.out << "Purchases still in flight (the next apply follows them to the end):\n";
    for (const Operation& op : result.pending) {
      io.out << "  " << op.id << "  " << op.resource_key << "  " << PhaseName(op.phase);
      if (!op.deal_names.empty()) {
        io.out << "  deals:";
        for (const std::string& d : op.deal_names) io.out << " " << d;
      }
      if (!op.instance_ids.empty()) {
        io.out << "  instances:";
        for (const std::string& i : op.instance_ids) io.out << " " << i;
      }
      io.out << "\n";
    }
  }
  if (!result.ok()) return kExitError;
  return HeldFailures(applied, io) ? kExitError : kExitOk;
}

}  // namespace

Result<Plan> PlanDesiredState(const specs::DesiredState& desired, const std::string& stack_dir,
                              const StackPlanOptions& options) {
  SystemClock clock;
  const tencentcloud::InsecureEndpoint insecure =
      options.insecure_endpoint ? tencentcloud::InsecureEndpoint::kAllow : tencentcloud::InsecureEndpoint::kRefuse;
  Result<OpenedStack> opened =
      OpenStack(stack_dir, desired.project, &clock, {StackAccess::kRead, true, options.create_state, insecure, {}});
  if (!opened.ok()) return opened.status();
  if (options.call_log) opened->session->client->SetCallLog(options.call_log);
  return MakePlan(opened->cloud(), opened->store.get(), &clock, desired, stack_dir, options.plan);
}

int RunPlanCommand(const PlanCommandOptions& options, Io io) {
  if (options.json && options.markdown) {
    io.err << "reconciler plan: --json and --markdown cannot be used together\n";
    return kExitInvalidInput;
  }
  Result<CallLog> call_log = CallLogFor(options.cloud, io.err);
  if (!call_log.ok()) return ReportError(io, "plan", call_log.status());
  std::optional<std::vector<specs::ResourceKey>> targets = ParseTargets(options.targets, "plan", io);
  if (!targets || !ParseLockTimeout(options.lock_timeout, "plan", io)) return kExitInvalidInput;
  std::optional<specs::LoadedStack> stack = LoadOrReport(options.stack, options.cloud, io);
  if (!stack) return kExitInvalidInput;
  Result<Plan> plan = PlanDesiredState(
      stack->desired, options.stack,
      {{options.allow_destroy, options.retry_failed, *targets, options.destroy}, options.insecure_endpoint, true,
       *call_log});
  if (!plan.ok()) return ReportError(io, "plan", plan.status());
  if (options.json) io.out << PlanJson(*plan).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  else if (options.markdown) io.out << RenderPlanMarkdown(*plan);
  else io.out << RenderPlanText(*plan, UseColor(io, STDOUT_FILENO));
  if (!options.out.empty()) {
    // A plan names the stack's instances and requests: private to its owner, like the state.
    const std::string text = PlanJson(*plan).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    int fd = ::open(options.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool written = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
                   ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (fd >= 0) written = ::close(fd) == 0 && written;
    if (!written) {
      io.err << "reconciler plan: cannot write " << options.out << "\n";
      return kExitError;
    }
    if (!options.json) io.out << "Saved the plan to " << options.out << "; apply exactly it with: reconciler apply " << options.out << "\n";
  }
  if (plan->HasErrors() || HeldFailures(*plan, io)) return kExitError;
  if (options.detailed_exitcode) return plan->HasChanges() ? kExitChanges : kExitOk;
  return kExitOk;
}

// A plan file is input like any other: bounded in size and depth before it is parsed.
Result<Plan> ParsePlanFile(const std::string& path) {
  constexpr size_t kMaxPlanBytes = 64u << 20;
  std::ifstream in(path, std::ios::binary);
  std::string text;
  char buf[1 << 16];
  while (text.size() <= kMaxPlanBytes && (in.read(buf, sizeof buf) || in.gcount() > 0)) {
    text.append(buf, static_cast<size_t>(in.gcount()));
  }
  if (text.size() > kMaxPlanBytes) return Status(Code::kInvalidInput, "larger than 64 MiB, so not a plan file");
  Result<json> j = ParseJsonInput(text);
  if (!j.ok()) return j.status();
  return PlanFromJson(*j);
}

// Reads a saved plan. Only what it asks to do is taken from it; every gate comes from the
// command line and every change is derived again before anything is sent.
std::optional<Plan> ReadPlanFile(const std::string& path, Io io) {
  Result<Plan> plan = ParsePlanFile(path);
  if (!plan.ok()) {
    io.err << "reconciler apply: " << path << ": " << plan.status().message() << "\n";
    return std::nullopt;
  }
  return std::move(plan).value();
}

std::optional<std::vector<specs::ResourceKey>> ParseTargets(const std::vector<std::string>& targets,
                                                            const std::string& command, Io io) {
  std::vector<specs::ResourceKey> keys;
  for (const std::string& t : targets) {
    std::optional<specs::ResourceKey> key = specs::ParseResourceKey(t);
    if (!key) {
      io.err << "reconciler " << command << ": -target " << t
             << " is not KIND/NAME (kinds: ReadOnlyInstance, ReadOnlyGroup, ServerlessInstance)\n";
      return std::nullopt;
    }
    keys.push_back(*key);
  }
  return keys;
}

int RunApplyCommand(const ApplyCommandOptions& options, Io machine_io) {
  // Under --json-progress stdout carries the JSON lines only; the plan, prompts and summary
  // are for people and go to stderr.
  Io io{options.json_progress ? machine_io.err : machine_io.out, machine_io.err, machine_io.in};
  InterruptGuard guard(io);
  const std::string command = options.destroy ? "destroy" : "apply";
  std::optional<std::vector<specs::ResourceKey>> targets = ParseTargets(options.targets, command, io);
  std::optional<std::chrono::milliseconds> lock_timeout = ParseLockTimeout(options.lock_timeout, command, io);
  if (!targets || !lock_timeout) return kExitInvalidInput;
  std::error_code ec;
  const bool from_file = !options.destroy && std::filesystem::is_regular_file(options.target, ec);
  std::optional<Plan> saved;
  std::string stack_dir = options.target;
  bool destroy = options.destroy;
  if (from_file) {
    if (!targets->empty()) {
      io.err << "reconciler apply: a saved plan carries its own targets; apply " << options.target
             << " without -target\n";
      return kExitInvalidInput;
    }
    saved = ReadPlanFile(options.target, io);
    if (!saved) return kExitInvalidInput;
    for (const std::string& t : saved->targets) targets->push_back(*specs::ParseResourceKey(t));
    destroy = saved->destroy;
    stack_dir = saved->stack_dir;
    if (!std::filesystem::is_directory(stack_dir, ec)) {
      io.err << "reconciler apply: " << options.target << " is for the stack in " << stack_dir
             << " (relative to the directory it was planned in), which is not a directory here; run apply from the "
                "same directory of a checkout of the same commit\n";
      return kExitInvalidInput;
    }
  } else if (!options.destroy && !std::filesystem::is_directory(options.target, ec)) {
    io.err << "reconciler apply: " << options.target << " is neither a stack directory nor a plan file\n";
    return kExitInvalidInput;
  }
  Result<CallLog> call_log = CallLogFor(options.cloud, io.err);
  if (!call_log.ok()) return ReportError(io, "apply", call_log.status());
  std::optional<specs::LoadedStack> stack = LoadOrReport(stack_dir, options.cloud, io);
  if (!stack) return kExitInvalidInput;
  if (saved && stack->desired.project.stack != saved->stack) {
    io.err << "reconciler apply: the plan is for stack " << saved->stack << ", but " << stack_dir << " holds stack "
           << stack->desired.project.stack << "\n";
    return kExitInvalidInput;
  }

  SystemClock clock;
  std::stop_source stop;  // this stack's: Ctrl-C stops its steps and its cloud session's waits
  Result<OpenedStack> opened = OpenStack(
      stack_dir, stack->desired.project, &clock,
      {StackAccess::kWrite, true, true, InsecureOf(options), stop.get_token(), *lock_timeout,
       [&](const std::string& holder) {
         io.err << "Waiting up to " << options.lock_timeout << " for the stack's lock, held by " << holder << "\n"
                << std::flush;
       }});
  if (!opened.ok()) return ReportError(io, command, opened.status());
  if (*call_log) opened->session->client->SetCallLog(*call_log);

  // A saved plan is applied only if it is exactly what would be planned now: the plan that
  // runs is always derived from today's specs, cloud and state, with today's flags.
  Result<Plan> made = MakePlan(opened->cloud(), opened->store.get(), &clock, stack->desired, stack_dir,
                               {options.allow_destroy, options.retry_failed, *targets, destroy});
  if (!made.ok()) return ReportError(io, command, made.status());
  Plan plan = std::move(made).value();
  if (saved) {
    std::vector<std::string> differences = PlanDifferences(*saved, plan);
    if (!differences.empty()) {
      io.err << "reconciler apply: " << options.target << " is not what would be planned now; nothing was sent:\n";
      for (const std::string& d : differences) io.err << "  - " << d << "\n";
      io.err << "make a new plan\n";
      return kExitError;
    }
  }
  io.out << RenderPlanText(plan, UseColor(io, STDOUT_FILENO));
  if (!plan.HasChanges()) return HeldFailures(plan, io) ? kExitError : kExitOk;
  if (std::any_of(plan.changes.begin(), plan.changes.end(),
                  [](const Change& c) { return c.preflight.state == PreflightState::kFailed; })) {
    io.err << "reconciler " << command << ": refusing to apply a plan with failed preflights; nothing was sent\n";
    return kExitError;
  }
  // A blocked change holds its resource only: the rest is applied, and apply exits 1.
  size_t blocked = 0;
  std::set<std::string> held;
  for (const Change& c : plan.changes) {
    if (!c.blocked) continue;
    ++blocked;
    held.insert(c.key.ToString());
    io.err << "reconciler apply: blocked: " << c.key.ToString() << " (" << c.id << ", " << ActionName(c.action)
           << "): " << c.blocked_reason << "\n";
  }
  const bool all_held = std::all_of(plan.changes.begin(), plan.changes.end(),
                                    [&](const Change& c) { return held.count(c.key.ToString()) > 0; });
  if (blocked > 0 && all_held) {
    io.err << "reconciler apply: every change is blocked. Nothing was sent.\n";
    return kExitError;
  }
  if (blocked > 0) {
    io.err << "reconciler apply: " << held.size() << (held.size() == 1 ? " resource is" : " resources are")
           << " left alone; the rest is applied\n";
  }
  // A saved plan was reviewed when it was made, and is applied only if nothing changed since.
  if (!saved && !Confirm(options, io)) return kExitError;
  return Execute(std::move(plan), options, stack->desired.project, opened->cloud(), opened->store.get(), &clock, &guard,
                 &stop, io, machine_io.out);
}

}  // namespace reconciler
