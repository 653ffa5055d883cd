#pragma once

// Which Tencent Cloud API site a stack talks to. The two sites publish different models for
// the same action: the international site's CreateReadOnlyDBInstance takes one `TagList`
// object and has no `Tags`; the China site added `Tags`, an array. A request must carry
// only what its site defines, or the site answers UnknownParameter.

#include <string>

#include "base/status.h"

namespace reconciler::tencentcloud {

enum class Site { kChina, kIntl };

const char* SiteName(Site site);

// The site of a stack: `explicit_site` ("intl", "china" or "") and the URL postgres calls go
// to. A host under intl.tencentcloudapi.com is the international site; any other host under
// tencentcloudapi.com (the default endpoint) is the China site. Any other host (the emulator,
// a proxy) is what `explicit_site` says, else intl, whose request shapes the China site
// accepts as well. Fails with kInvalidInput when `explicit_site` is not a site, or names the
// other site than the endpoint's host.
Result<Site> ResolveSite(const std::string& explicit_site, const std::string& postgres_url);

}  // namespace reconciler::tencentcloud
