// reconciler hook pre-receive | post-receive: the git server hooks of a bare repository the
// daemon follows. pre-receive refuses a push to the tracked branch whose specs do not load or
// whose plan fails preflight, reading the pushed commit (still in quarantine) without a
// checkout; post-receive wakes the daemon so it does not wait for its next git poll.

#include <curl/curl.h>
#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/stack.h"
#include "cli/cloud_flags.h"
#include "cli/commands.h"
#include "gitops/git_source.h"
#include "specs/spec_loader.h"
#include "ui/plan_render.h"

namespace reconciler {

namespace {

namespace fs = std::filesystem;

constexpr const char* kNoCommit = "0000000000000000000000000000000000000000";

// One line of a hook's stdin: "<old id> <new id> <ref name>".
struct RefUpdate {
  std::string old_id;
  std::string new_id;
  std::string ref;
};

// The updates git announces; false (and `*bad` set) at a line that is not one.
bool ReadUpdates(std::istream& in, std::vector<RefUpdate>* updates, std::string* bad) {
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    RefUpdate u;
    std::string extra;
    if (!(fields >> u.old_id >> u.new_id >> u.ref) || (fields >> extra) || u.new_id.size() != 40) {
      *bad = line;
      return false;
    }
    updates->push_back(std::move(u));
  }
  return true;
}

std::string Short(const std::string& id) { return id.substr(0, 7); }

// A scratch directory for a plan with no recorded state, removed when done.
class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    std::string pattern = (fs::temp_directory_path(ec) / "reconciler-hook-XXXXXX").string();
    if (ec) pattern = "/tmp/reconciler-hook-XXXXXX";
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class PreReceive {
 public:
  PreReceive(const HookCommandOptions& options, CallLog call_log, Io io)
      : options_(options), call_log_(std::move(call_log)), io_(io) {}

  // Checks one update of the tracked branch; prints why when it refuses it.
  bool Accept(const RefUpdate& u) {
    if (u.new_id == kNoCommit) {
      io_.err << "push rejected: the tracked branch cannot be deleted (" << u.ref << ")\n";
      return false;
    }
    const std::string what = Short(u.new_id) + " " + options_.branch;
    if (!repo_) {
      Result<gitops::Repository> opened = gitops::Repository::OpenFromEnvironment();
      if (!opened.ok()) return Reject(what, opened.status().message());
      repo_ = std::make_unique<gitops::Repository>(std::move(opened).value());
    }
    Result<gitops::TreeStack> tree = repo_->ReadStack(u.new_id, options_.path);
    if (!tree.ok()) return Reject(what, tree.status().message());
    specs::LoadedStack stack = specs::LoadStack(tree->source, {}, OverridesFrom(options_.cloud));
    const std::string diagnostics = stack.RenderDiagnostics(false);
    if (!diagnostics.empty())
      io_.err << "commit " << what << " (" << tree->commit.subject << "):\n" << diagnostics;
    if (!stack.ok()) {
      const size_t n = stack.diags.error_count();
      return Reject(what, std::to_string(n) + (n == 1 ? " error" : " errors") + " in the specs");
    }
    if (options_.no_preflight) {
      io_.err << "commit " << what << ": the specs are valid (--no-preflight: no plan made)\n";
      return true;
    }
    return PlanAndCheck(what, stack.desired);
  }

 private:
  bool Reject(const std::string& what, const std::string& why) {
    io_.err << "push rejected: " << what << ": " << why << "\n";
    return false;
  }

  // The stack directory whose state the plan reads: the daemon's, <workdir>/checkout (where
  // the daemon in git mode keeps its stack, and from where the project's state URL is
  // resolved) when it has a state file; else `scratch`, with the state moved into it, so the
  // plan is made as if nothing had been applied. The daemon's state is only read.
  std::string StackDirForPlan(const ScratchDir& scratch, specs::DesiredState* desired) {
    if (!options_.workdir.empty()) {
      const std::string daemon = (fs::path(options_.workdir) / "checkout").string();
      Result<std::string> state = StatePath(daemon, desired->project);
      std::error_code ec;
      if (!state.ok() || fs::exists(*state, ec))
        return daemon;  // a bad state URL is OpenStack's to report
      io_.err << "no state at " << *state << " yet: planning as if nothing had been applied\n";
    } else {
      io_.err << "no --workdir: planning with no recorded state\n";
    }
    desired->project.state = "sqlite:" + (fs::path(scratch.path()) / "state.db").string();
    return scratch.path();
  }

  // Plans as `reconciler plan` does (preflight included) and prints the plan.
  bool PlanAndCheck(const std::string& what, const specs::DesiredState& desired) {
    ScratchDir scratch;
    if (scratch.path().empty()) return Reject(what, "cannot create a scratch directory to plan in");
    specs::DesiredState planned = desired;
    const std::string stack_dir = StackDirForPlan(scratch, &planned);
    Result<Plan> plan = PlanDesiredState(
        planned, stack_dir, {{}, options_.insecure_endpoint, stack_dir == scratch.path(), call_log_});
    if (!plan.ok()) {
      return Reject(what, "cannot plan: " + plan.status().message() +
                              " (a hook installed with --no-preflight validates the specs only)");
    }
    io_.err << RenderPlanText(*plan, false);
    size_t failed = 0;
    for (const Change& c : plan->changes) failed += c.preflight.state == PreflightState::kFailed;
    if (failed > 0) {
      return Reject(what, std::to_string(failed) +
                              (failed == 1 ? " change fails" : " changes fail") + " preflight");
    }
    if (plan->HasErrors()) return Reject(what, "the plan cannot apply as it is (see above)");
    return true;
  }

  const HookCommandOptions& options_;
  CallLog call_log_;  // --log-level debug
  Io io_;
  std::unique_ptr<gitops::Repository> repo_;  // opened at the first update that needs it
};

int RunPreReceive(const HookCommandOptions& options, const std::vector<RefUpdate>& updates, Io io) {
  const std::string tracked = "refs/heads/" + options.branch;
  Result<CallLog> call_log = CallLogFor(options.cloud, io.err);
  if (!call_log.ok()) {
    io.err << "reconciler hook: " << call_log.status().message() << "\n";
    return kExitInvalidInput;
  }
  PreReceive hook(options, *call_log, io);
  bool accepted = true;
  for (const RefUpdate& u : updates) {
    if (u.ref == tracked) accepted = hook.Accept(u) && accepted;
  }
  return accepted ? kExitOk : kExitError;
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

// POSTs an empty body to `url`; "" when the daemon answered 2xx, else why not.
std::string Wake(const std::string& url) {
  CURL* curl = curl_easy_init();
  if (!curl) return "cannot start libcurl";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // the daemon is local: never through a proxy
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return error[0] ? error : curl_easy_strerror(rc);
  if (status < 200 || status > 299) return "it answered HTTP " + std::to_string(status);
  return "";
}

// The push has happened whatever this does, so it never fails: a daemon it cannot reach
// finds the commit at its next git poll.
int RunPostReceive(const HookCommandOptions& options, const std::vector<RefUpdate>& updates,
                   Io io) {
  const std::string tracked = "refs/heads/" + options.branch;
  bool updated = false;
  for (const RefUpdate& u : updates)
    updated = updated || (u.ref == tracked && u.new_id != kNoCommit);
  if (!updated) return kExitOk;
  if (std::string why = Wake(options.wake); !why.empty()) {
    io.err << "warning: could not wake the reconciler daemon at " << options.wake << ": " << why
           << "; it will find the push at its next git poll\n";
  }
  return kExitOk;
}

}  // namespace

int RunHookCommand(const HookCommandOptions& options, Io io) {
  std::istream& in = io.in ? *io.in : std::cin;
  std::vector<RefUpdate> updates;
  std::string bad;
  if (!ReadUpdates(in, &updates, &bad)) {
    io.err << "reconciler hook " << options.which
           << ": stdin should hold \"<old> <new> <ref>\" lines as git gives "
           << "them, got \"" << bad << "\""
           << (options.which == "pre-receive" ? "; push rejected" : "") << "\n";
    return options.which == "pre-receive" ? kExitError : kExitOk;
  }
  if (options.which == "pre-receive") return RunPreReceive(options, updates, io);
  if (options.which == "post-receive") return RunPostReceive(options, updates, io);
  io.err << "reconciler hook: unknown hook \"" << options.which << "\"\n";
  return kExitInvalidInput;
}

}  // namespace reconciler
