#include "providers/tencentcloud/metadata_role.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

namespace reconciler::tencentcloud {

namespace {

using nlohmann::json;

std::string WithSlash(std::string url) {
  if (url.empty() || url.back() != '/') url += '/';
  return url;
}

std::string RoleListUrl(const std::string& base_url) { return WithSlash(base_url) + "cam/security-credentials/"; }

Result<HttpResponse> Get(HttpTransport& transport, const std::string& url) {
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  return transport.Send(request);
}

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

Result<std::string> FetchRoleName(HttpTransport& transport, const std::string& base_url) {
  const std::string url = RoleListUrl(base_url);
  Result<HttpResponse> got = Get(transport, url);
  // Off a CVM the host does not resolve or answer: that is "no role here", not a failure.
  if (!got.ok()) return Status(Code::kNotFound, url + " did not answer (" + got.status().message() + ")");
  if (got->status == 404) return Status(Code::kNotFound, url + " says no role is bound to this machine");
  if (got->status != 200) {
    return Status(Code::kRetryable, url + " answered HTTP " + std::to_string(got->status));
  }
  // The service may list several lines; the SDKs take the answer whole, and a bound
  // machine has one role.
  std::string role = Trim(got->body.substr(0, got->body.find('\n')));
  if (role.empty()) return Status(Code::kNotFound, url + " named no role");
  for (char c : role) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("-_.+=,@").find(c) == std::string_view::npos) {
      return Status(Code::kInvalidInput, url + " answered something that is not a role name");
    }
  }
  return role;
}

Result<Credentials> FetchRoleCredentials(HttpTransport& transport, const std::string& base_url,
                                         const std::string& role) {
  const std::string url = RoleListUrl(base_url) + role;
  Result<HttpResponse> got = Get(transport, url);
  if (!got.ok()) return Status(got.status().code(), url + ": " + got.status().message());
  if (got->status != 200) return Status(Code::kAuth, url + " answered HTTP " + std::to_string(got->status));
  json doc = json::parse(got->body, nullptr, /*allow_exceptions=*/false);
  auto text = [&](const char* key) {
    auto it = doc.is_object() ? doc.find(key) : doc.end();
    return doc.is_object() && it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!doc.is_object()) return Status(Code::kInvalidInput, url + ": the answer is not a JSON object");
  if (text("Code") != "Success") {
    return Status(Code::kAuth, url + ": the metadata service answered Code " + text("Code").substr(0, 64));
  }
  auto expired = doc.find("ExpiredTime");
  if (text("TmpSecretId").empty() || text("TmpSecretKey").empty() || text("Token").empty() ||
      expired == doc.end() || !expired->is_number_integer()) {
    return Status(Code::kInvalidInput, url + ": needs TmpSecretId, TmpSecretKey, Token and ExpiredTime");
  }
  Credentials c;
  c.secret_id = text("TmpSecretId");
  c.secret_key = Secret(text("TmpSecretKey"));
  c.token = Secret(text("Token"));
  c.expires_at = expired->get<int64_t>();
  c.source = "CVM role '" + role + "' from the metadata service";
  return c;
}

CredentialRenewer RoleRenewer(std::string base_url, std::string role) {
  return [base_url = std::move(base_url), role = std::move(role)](HttpTransport& transport) {
    return FetchRoleCredentials(transport, base_url, role);
  };
}

}  // namespace reconciler::tencentcloud
