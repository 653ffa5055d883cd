#pragma once

#include <string>

namespace reconciler::tencentcloud {

// The documented per-account limit of `action` in requests per second: the seed pages
// (CreateReadOnlyDBInstance 100, CreateServerlessDBInstance 20) and the table in
// tencent-api.md; actions nobody documented get 20.
int DocumentedRateLimit(const std::string& action);

}  // namespace reconciler::tencentcloud
