#include "cli/cloud_flags.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <ostream>

#include "base/clock.h"
#include "daemon/log.h"

namespace reconciler {

void AddCloudFlags(CLI::App* cmd, CloudFlags* flags) {
  cmd->add_option("--profile", flags->profile,
                  "Credentials profile (tccli or ~/.tencentcloud/credentials; default: TENCENTCLOUD_PROFILE, the "
                  "project's, TCCLI_PROFILE, default)");
  cmd->add_option("--region", flags->region,
                  "Default region of the stack's resources (default: the project's, else TENCENTCLOUD_REGION)");
  cmd->add_option("--endpoint", flags->endpoint, "API endpoint URL (default: the project's, else TENCENTCLOUD_ENDPOINT)");
  cmd->add_option("--log-level", flags->log_level, "error, warn, info or debug (every API call); default: RECONCILER_LOG or warn")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
}

specs::ProjectOverrides OverridesFrom(const CloudFlags& flags) {
  specs::ProjectOverrides o;
  o.region = flags.region;
  if (const char* env = std::getenv("TENCENTCLOUD_REGION")) o.default_region = env;
  o.profile = flags.profile;
  o.endpoint = flags.endpoint;
  return o;
}

void LogCall(daemon::Logger& log, const tencentcloud::CallRecord& r) {
  log.Debug("api call", {{"action", r.action},
                         {"service", r.service},
                         {"region", r.region},
                         {"status", r.http_status == 0 ? "-" : std::to_string(r.http_status)},
                         {"code", r.code},
                         {"request_id", r.request_id},
                         {"duration_ms", std::to_string(r.duration.count())}});
}

Result<CallLog> CallLogFor(const CloudFlags& flags, std::ostream& err) {
  std::string text = flags.log_level;
  std::string origin = "--log-level";
  if (text.empty()) {
    const char* env = std::getenv("RECONCILER_LOG");
    text = env != nullptr && *env != '\0' ? env : "warn";
    origin = "RECONCILER_LOG";
  }
  daemon::LogLevel level;
  if (!daemon::ParseLogLevel(text, &level)) {
    return Status(Code::kInvalidInput, origin + " must be error, warn, info or debug, got \"" + text.substr(0, 40) + "\"");
  }
  if (level != daemon::LogLevel::kDebug) return CallLog();
  // The clock and the logger live as long as the log: the API client keeps it.
  struct Sink {
    explicit Sink(std::ostream& out) : log(out, daemon::LogFormat::kText, &clock) {}
    SystemClock clock;
    daemon::Logger log;
  };
  auto sink = std::make_shared<Sink>(err);
  return CallLog([sink](const tencentcloud::CallRecord& r) { LogCall(sink->log, r); });
}

}  // namespace reconciler
