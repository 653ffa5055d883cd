#pragma once

// /status (JSON) and / (the status page: server-rendered HTML that reloads itself and needs
// no JavaScript), both from one StackStatus.

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "daemon/status.h"

namespace reconciler::daemon {

nlohmann::json StatusJson(const StackStatus& status);
// Every text is HTML-escaped. `refresh_seconds` goes into <meta http-equiv="refresh">.
std::string StatusHtml(const StackStatus& status, int refresh_seconds);

}  // namespace reconciler::daemon
