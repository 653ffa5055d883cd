#include "providers/tencentcloud/site.h"

#include <optional>

namespace reconciler::tencentcloud {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The host of `url`, lower-cased, without scheme, port, path or user info.
std::string HostOf(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  if (!authority.empty() && authority[0] == '[') return authority;  // an IPv6 literal names no site
  if (size_t colon = authority.find(':'); colon != std::string::npos) authority.resize(colon);
  for (char& c : authority) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return authority;
}

std::optional<Site> SiteOfHost(const std::string& host) {
  if (host == "intl.tencentcloudapi.com" || EndsWith(host, ".intl.tencentcloudapi.com")) return Site::kIntl;
  if (host == "tencentcloudapi.com" || EndsWith(host, ".tencentcloudapi.com")) return Site::kChina;
  return std::nullopt;
}

}  // namespace

const char* SiteName(Site site) { return site == Site::kIntl ? "intl" : "china"; }

Result<Site> ResolveSite(const std::string& explicit_site, const std::string& postgres_url) {
  std::optional<Site> wanted;
  if (explicit_site == "intl") wanted = Site::kIntl;
  else if (explicit_site == "china") wanted = Site::kChina;
  else if (!explicit_site.empty()) {
    return Status(Code::kInvalidInput, "site must be intl or china, got \"" + explicit_site + "\"");
  }
  const std::string host = HostOf(postgres_url);
  std::optional<Site> by_host = SiteOfHost(host);
  if (wanted && by_host && *wanted != *by_host) {
    return Status(Code::kInvalidInput, std::string("site is ") + SiteName(*wanted) + ", but the endpoint " + host +
                                           " belongs to the " + SiteName(*by_host) + " site");
  }
  if (wanted) return *wanted;
  if (by_host) return *by_host;
  return Site::kIntl;
}

}  // namespace reconciler::tencentcloud
