// reconciler run, pause and resume.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "app/stack.h"
#include "cli/cloud_flags.h"
#include "cli/commands.h"
#include "daemon/http_server.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/metrics.h"
#include "daemon/notifier.h"
#include "daemon/sources.h"
#include "daemon/systemd.h"
#include "daemon/webhooks.h"
#include "specs/project.h"

namespace reconciler {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultWorkdir = ".reconciler-run";

// Progress of the daemon's steps, as log lines.
class LogReporter final : public Reporter {
 public:
  explicit LogReporter(daemon::Logger* log) : log_(log) {}
  void Progress(const ProgressEvent& e) override {
    daemon::LogFields fields = {{"change", e.change_id}, {"resource", e.resource}, {"phase", ProgressPhaseName(e.phase)}};
    if (e.wait) fields.emplace_back("waiting", FormatWait(*e.wait));
    if (e.phase == ProgressPhase::kFailed) log_->Warn(e.detail, fields);
    else log_->Info(e.detail, fields);
  }
  void Note(const std::string& message) override { log_->Info(message); }

 private:
  daemon::Logger* log_;
};

// The webhook secret: RECONCILER_WEBHOOK_SECRET, else daemon.webhookSecretFile (relative to
// `base`). Trailing newlines are not part of it. "" when neither is set.
Result<std::string> WebhookSecret(const specs::Project& project, const std::string& base) {
  if (const char* env = std::getenv("RECONCILER_WEBHOOK_SECRET"); env != nullptr && *env != '\0') return std::string(env);
  if (project.daemon.webhook_secret_file.empty()) return std::string();
  fs::path path = project.daemon.webhook_secret_file;
  if (path.is_relative()) path = fs::path(base) / path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kInvalidInput, "daemon.webhookSecretFile: cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  std::string secret = s.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return Status(Code::kInvalidInput, "daemon.webhookSecretFile: " + path.string() + " is empty");
  return secret;
}

// SIGTERM and SIGINT stop the loop (a second one, or 10 s without the loop ending, quits at
// once: every purchase is recorded before it is sent, so that is as safe as a crash); SIGHUP
// asks for a reload. Blocked before any thread starts, so only this watcher receives them.
class Signals {
 public:
  Signals() {
    sigemptyset(&set_);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set_, s);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~Signals() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void Start(std::stop_source* stop, std::function<void()> reload, daemon::Logger* log) {
    thread_ = std::thread([this, stop, reload = std::move(reload), log] {
      std::optional<std::chrono::steady_clock::time_point> stopping;
      timespec tick{0, 100 * 1000 * 1000};
      while (!done_) {
        if (stopping && std::chrono::steady_clock::now() - *stopping > std::chrono::seconds(10)) {
          log->Error("the loop did not end within 10 s of the signal; quitting now (purchases are recorded)");
          _exit(1);
        }
        const int sig = sigtimedwait(&set_, nullptr, &tick);
        if (sig < 0) continue;
        if (sig == SIGHUP) {
          log->Info("SIGHUP: reloading the project file and the specs");
          reload();
          continue;
        }
        if (stopping) _exit(130);
        log->Info(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                  ": stopping; purchases already sent are recorded and followed by the next start");
        daemon::NotifyStopping();
        stopping = std::chrono::steady_clock::now();
        stop->request_stop();
      }
    });
  }

 private:
  sigset_t set_, old_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

int RunRunCommand(const RunCommandOptions& o, Io io) {
  const bool git = !o.git_url.empty();
  if (git && o.stack != ".") {
    io.err << "reconciler run: give a STACK directory or --git URL, not both\n";
    return kExitInvalidInput;
  }
  if (!git && (o.branch != "main" || o.path != "." || !o.workdir.empty())) {
    io.err << "reconciler run: --branch, --path and --workdir need --git\n";
    return kExitInvalidInput;
  }
  daemon::LoopOptions loop_options;
  loop_options.insecure_endpoint = o.insecure_endpoint;
  if (!o.interval.empty()) {
    int64_t seconds = 0;
    if (!specs::ParseDuration(o.interval, &seconds) || seconds < 1 || seconds > 7 * 86400) {
      io.err << "reconciler run: --interval must be a duration from 1s to 7d such as 30s or 5m, got \"" << o.interval
             << "\"\n";
      return kExitInvalidInput;
    }
    loop_options.interval = std::chrono::seconds(seconds);
  }

  Signals signals;  // before any thread
  SystemClock clock;
  daemon::Logger log(io.err, o.log_format == "json" ? daemon::LogFormat::kJson : daemon::LogFormat::kText, &clock);
  const Result<CallLog> level_ok = CallLogFor(o.cloud, io.err);  // checks --log-level / RECONCILER_LOG
  if (!level_ok.ok()) {
    io.err << "reconciler run: " << level_ok.status().message() << "\n";
    return kExitInvalidInput;
  }
  const bool debug = static_cast<bool>(*level_ok);

  // Where the specs come from, and the stack directory the state's paths start from.
  std::unique_ptr<daemon::SpecSource> source;
  std::string stack_dir = o.stack;
  if (git) {
    const std::string workdir = o.workdir.empty() ? kDefaultWorkdir : o.workdir;
    Result<std::unique_ptr<daemon::GitSource>> opened = daemon::GitSource::Open(o.git_url, o.branch, o.path, workdir);
    if (!opened.ok()) {
      io.err << "reconciler run: " << opened.status().message() << "\n";
      return opened.status().code() == Code::kInvalidInput || opened.status().code() == Code::kConflict
                 ? kExitInvalidInput
                 : kExitError;
    }
    stack_dir = (*opened)->checkout_dir();
    (*opened)->SetOverrides(OverridesFrom(o.cloud));
    source = std::move(opened).value();
  } else {
    auto directory = std::make_unique<daemon::DirectorySource>(o.stack);
    directory->SetOverrides(OverridesFrom(o.cloud));
    source = std::move(directory);
  }

  // The first specs give the project: the cloud, the state and the daemon's settings.
  Result<daemon::Snapshot> first = source->Load();
  if (!first.ok()) {
    io.err << "reconciler run: " << source->Describe() << ": " << first.status().message() << "\n";
    return kExitError;
  }
  if (!first->stack.ok()) {
    std::optional<daemon::Snapshot> last = source->LastGood();
    if (!last || !last->stack.ok()) {
      io.err << first->stack.RenderDiagnostics(false);
      io.err << "reconciler run: the specs do not validate and none applied before do; nothing was sent\n";
      return kExitInvalidInput;
    }
    log.Warn("the newest specs do not validate; the last good commit stays in force", {{"commit", last->commit}});
    first = std::move(*last);
  }
  const specs::Project project = first->stack.desired.project;
  const std::string base = git ? fs::path(stack_dir).parent_path().string() : stack_dir;
  Result<std::string> secret = WebhookSecret(project, base);
  if (!secret.ok()) {
    io.err << "reconciler run: " << secret.status().message() << "\n";
    return kExitInvalidInput;
  }
  log.AddSecret(*secret);
  const std::string listen = o.listen.empty() ? project.daemon.listen : o.listen;

  std::stop_source stop;
  StackOpenOptions open_options{StackAccess::kWrite, true, true,
                                o.insecure_endpoint ? tencentcloud::InsecureEndpoint::kAllow
                                                    : tencentcloud::InsecureEndpoint::kRefuse,
                                stop.get_token()};
  Result<OpenedStack> stack = OpenStack(stack_dir, project, &clock, open_options);
  if (!stack.ok()) {
    io.err << "reconciler run: " << stack.status().message() << "\n";
    return stack.status().code() == Code::kInvalidInput ? kExitInvalidInput : kExitError;
  }

  daemon::Metrics metrics;
  stack->session->client->SetObserver(
      [&metrics](const std::string& action, const std::string& code) { metrics.CountApiCall(action, code); });
  // The daemon logs its calls in its own format (text or JSON), through its redacting log.
  if (debug) {
    stack->session->client->SetCallLog([&log](const tencentcloud::CallRecord& r) { LogCall(log, r); });
  }
  std::vector<daemon::NotifyTarget> targets;
  for (const specs::Project::Notify& n : project.daemon.notify) {
    targets.push_back({n.url, n.format == "slack" ? daemon::NotifyFormat::kSlack : daemon::NotifyFormat::kJson});
  }
  daemon::Notifier notifier(targets, &clock, std::chrono::seconds(project.daemon.reminder_seconds),
                            [&log](const std::string& line) { log.Warn(line); });
  LogReporter reporter(&log);
  daemon::LoopDeps deps;
  deps.source = source.get();
  deps.cloud = stack->cloud();
  deps.store = stack->store.get();
  deps.clock = &clock;
  deps.reporter = &reporter;
  deps.stack_dir = stack_dir;
  deps.metrics = &metrics;
  deps.notifier = &notifier;
  deps.log = &log;
  daemon::Loop loop(deps, loop_options);

  daemon::WebhookVerifier webhooks(*secret);
  daemon::HttpServer http;
  if (listen != "off") {
    daemon::HttpHandlers handlers;
    handlers.status = [&loop] { return loop.Status(); };
    handlers.healthy = [&loop] { return loop.Alive(); };
    handlers.trigger = [&loop, &log](const std::string& why) {
      log.Info("pass asked", {{"by", why}});
      loop.Wake(why.rfind("webhook", 0) == 0 ? daemon::Trigger::kWebhook : daemon::Trigger::kManual, why);
    };
    handlers.metrics = &metrics;
    handlers.webhooks = &webhooks;
    Status started = http.Start(listen, handlers);
    if (!started.ok()) {
      io.err << "reconciler run: " << started.message() << "\n";
      return started.code() == Code::kInvalidInput ? kExitInvalidInput : kExitError;
    }
    log.Info("listening", {{"address", listen.substr(0, listen.rfind(':') + 1) + std::to_string(http.port())}});
  }
  daemon::DirectoryWatch watch;
  if (!git) {
    Status watching = watch.Start(o.stack, [&loop](const std::string& name) {
      loop.Wake(daemon::Trigger::kSpecChange, name);
    });
    if (!watching.ok()) log.Warn("spec files are not watched; only the interval and webhooks start passes",
                                 {{"error", watching.message()}});
  }
  signals.Start(&stop, [&loop] { loop.Wake(daemon::Trigger::kReload); }, &log);
  log.Info("started", {{"stack", project.stack}, {"source", source->Describe()}, {"state", stack->state_path}});

  if (o.once) {
    daemon::PassReport pass = loop.RunOnce(stop.get_token());
    // One pass starts the plan; follow it to its end, as apply does.
    while (pass.step && !pass.step->finished && !stop.stop_requested()) {
      clock.SleepFor(std::max(pass.step->requeue_after, std::chrono::milliseconds(1)), stop.get_token());
      loop.Wake(daemon::Trigger::kRequeue);
      pass = loop.RunOnce(stop.get_token());
    }
    notifier.Flush();
    return pass.result == "error" || pass.result == "invalid" ? kExitError : kExitOk;
  }

  // systemd: ready after the first pass; the watchdog pinged while the loop is alive.
  std::jthread watchdog;
  if (std::optional<std::chrono::microseconds> every = daemon::WatchdogInterval()) {
    watchdog = std::jthread([&loop, half = *every / 2](std::stop_token st) {
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock<std::mutex> lock(mu);
      while (!cv.wait_for(lock, st, half, [] { return false; })) {
        if (loop.Alive()) daemon::NotifyWatchdog();
      }
    });
  }
  std::jthread ready([&loop](std::stop_token st) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock<std::mutex> lock(mu);
    while (!st.stop_requested()) {
      daemon::StackStatus s = loop.Status();
      if (s.passes > 0) {
        daemon::NotifyReady("stack " + s.stack + ": " + s.last_result);
        return;
      }
      cv.wait_for(lock, st, std::chrono::milliseconds(100), [] { return false; });
    }
  });
  loop.Run(stop.get_token());
  ready.request_stop();
  watchdog.request_stop();
  watch.Stop();
  http.Stop();
  log.Info("stopped");
  return kExitOk;
}

int RunPauseCommand(const PauseCommandOptions& o, Io io) {
  const char* verb = o.resume ? "resume" : "pause";
  // A git-mode daemon's workdir holds the stack in checkout/.
  std::string dir = o.stack;
  if (!fs::exists(fs::path(dir) / specs::kProjectFile) && fs::exists(fs::path(dir) / "checkout" / specs::kProjectFile)) {
    dir = (fs::path(dir) / "checkout").string();
  }
  specs::LoadedStack loaded = specs::LoadStackDir(dir);
  if (!loaded.ok()) {
    io.err << loaded.RenderDiagnostics(false);
    io.err << "reconciler " << verb << ": the stack at " << dir << " does not validate; nothing was changed\n";
    return kExitInvalidInput;
  }
  SystemClock clock;
  StackOpenOptions options{StackAccess::kRead, false, false, tencentcloud::InsecureEndpoint::kRefuse, {}};
  Result<OpenedStack> stack = OpenStack(dir, loaded.desired.project, &clock, options);
  if (!stack.ok()) {
    io.err << "reconciler " << verb << ": " << stack.status().message() << "\n";
    return kExitError;
  }
  std::string value;
  if (!o.resume) {
    const char* user = std::getenv("USER");
    value = "by " + std::string(user != nullptr && *user != '\0' ? user : "someone") + " at " + UtcText(clock.Now()) +
            (o.reason.empty() ? "" : ": " + o.reason);
  }
  Status put = stack->store->PutDaemonValue("daemon.paused", value);
  if (!put.ok()) {
    io.err << "reconciler " << verb << ": " << put.message() << "\n";
    return kExitError;
  }
  io.out << "Stack " << loaded.desired.project.stack << (o.resume ? " resumed" : " paused " + value)
         << (o.resume ? ": the daemon's next pass applies again.\n"
                      : ".\nThe daemon's passes observe and report, and send nothing, until `reconciler resume`.\n");
  return kExitOk;
}

}  // namespace reconciler
