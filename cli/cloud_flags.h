#pragma once

// --profile, --region, --endpoint and --log-level, taken by every command that reaches the
// cloud, and what they turn into: overrides of the project file (specs::ProjectOverrides)
// and the debug log of API calls.

#include <functional>
#include <iosfwd>

#include "base/status.h"
#include "cli/commands.h"
#include "providers/tencentcloud/api_client.h"
#include "specs/spec_loader.h"

namespace reconciler::daemon {
class Logger;
}  // namespace reconciler::daemon

namespace CLI {
class App;
}  // namespace CLI

namespace reconciler {

// Registers the four flags on `cmd`, writing into `*flags`.
void AddCloudFlags(CLI::App* cmd, CloudFlags* flags);

// --region, --profile and --endpoint over the project file; TENCENTCLOUD_REGION where the
// project sets no region.
specs::ProjectOverrides OverridesFrom(const CloudFlags& flags);

using CallLog = std::function<void(const tencentcloud::CallRecord&)>;

// The level is --log-level, else $RECONCILER_LOG, else warn. At debug, returns a log that
// writes one line per API call to `err` (action, region, HTTP status, code, RequestId,
// duration), through the daemon's redacting logger; otherwise an empty function. Fails with
// kInvalidInput for a level other than error, warn, info or debug, saying where it was set.
Result<CallLog> CallLogFor(const CloudFlags& flags, std::ostream& err);

// One debug line for one API call, in `log`'s format.
void LogCall(daemon::Logger& log, const tencentcloud::CallRecord& record);

}  // namespace reconciler
