#include "providers/tencentcloud/credentials.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "providers/tencentcloud/metadata_role.h"
#include "providers/tencentcloud/transport.h"

namespace reconciler::tencentcloud {

namespace {

using nlohmann::json;

std::string Env(const ConfigSources& s, const char* name) {
  const char* v = s.getenv ? s.getenv(name) : std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Reads a JSON object from `path`. Returns kNotFound when the file does not exist.
Result<json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, path + ": not found");
  std::stringstream buf;
  buf << in.rdbuf();
  json doc = json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status(Code::kInvalidInput, path + ": not valid JSON");
  if (!doc.is_object()) return Status(Code::kInvalidInput, path + ": expected a JSON object");
  return doc;
}

std::string TrimSpace(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

// The keys of [section] in an INI file: `key = value` lines, `#` and `;` comments. kNotFound
// when the section is absent; a malformed line is kInvalidInput naming its line (never its
// text, which may hold a key).
Result<std::map<std::string, std::string>> ReadIniSection(std::istream& in, const std::string& path,
                                                          const std::string& section) {
  std::map<std::string, std::string> keys;
  std::string current, line;
  bool found = false;
  for (int number = 1; std::getline(in, line); ++number) {
    line = TrimSpace(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return Status(Code::kInvalidInput, path + ":" + std::to_string(number) + ": a section header needs a closing ]");
      current = TrimSpace(line.substr(1, line.size() - 2));
      found = found || current == section;
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Status(Code::kInvalidInput, path + ":" + std::to_string(number) + ": expected key = value");
    }
    if (current == section) keys[TrimSpace(line.substr(0, eq))] = TrimSpace(line.substr(eq + 1));
  }
  if (!found) return Status(Code::kNotFound, path + ": no section [" + section + "]");
  return keys;
}

std::string StringField(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string WithScheme(const std::string& host_or_url) {
  if (host_or_url.find("://") != std::string::npos) return host_or_url;
  return "https://" + host_or_url;
}

std::string WithService(std::string url, const std::string& service) {
  for (size_t at = 0; (at = url.find("{service}", at)) != std::string::npos; at += service.size()) {
    url.replace(at, 9, service);
  }
  return url;
}


// The profile to read, and whether someone chose it (then it must exist).
struct ProfileName {
  std::string name;
  std::string origin;  // for messages: "--profile or the project file", "TENCENTCLOUD_PROFILE", ...
  bool named = true;
};

ProfileName ResolveProfile(const ConfigSources& s) {
  if (!s.profile.empty()) return {s.profile, "--profile or provider.tencentcloud.profile", true};
  for (const char* var : {"TENCENTCLOUD_PROFILE", "TCCLI_PROFILE"}) {
    if (std::string v = Env(s, var); !v.empty()) return {v, var, true};
  }
  return {"default", "the default", false};
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// kNotFound when neither variable is set.
Result<Credentials> FromEnvironment(const ConfigSources& s) {
  std::string id = Env(s, "TENCENTCLOUD_SECRET_ID");
  std::string key = Env(s, "TENCENTCLOUD_SECRET_KEY");
  if (id.empty() && key.empty()) return Status(Code::kNotFound, "unset");
  if (id.empty() || key.empty()) {
    return Status(Code::kAuth, std::string("environment has ") +
                                   (id.empty() ? "TENCENTCLOUD_SECRET_KEY but not TENCENTCLOUD_SECRET_ID"
                                               : "TENCENTCLOUD_SECRET_ID but not TENCENTCLOUD_SECRET_KEY"));
  }
  Credentials c;
  c.secret_id = id;
  c.secret_key = Secret(key);
  c.token = Secret(Env(s, "TENCENTCLOUD_SESSION_TOKEN"));
  c.source = "environment variables TENCENTCLOUD_SECRET_ID/KEY";
  return c;
}

// tccli's JSON file. kNotFound (noted in `checked`) when it does not exist.
Result<Credentials> FromTccliProfile(const std::string& home, const std::string& profile,
                                     std::vector<std::string>* checked) {
  const std::string path = home + "/.tccli/" + profile + ".credential";
  Result<json> cred = ReadJsonFile(path);
  if (!cred.ok()) {
    if (cred.status().code() == Code::kNotFound) checked->push_back("tccli profile '" + profile + "' at " + path + " (not found)");
    return cred.status();
  }
  Credentials c;
  c.secret_id = StringField(*cred, "secretId");
  c.secret_key = Secret(StringField(*cred, "secretKey"));
  c.token = Secret(StringField(*cred, "token"));
  c.source = "tccli profile '" + profile + "' in " + path;
  if (c.secret_id.empty() || c.secret_key.empty()) {
    return Status(Code::kInvalidInput, path + ": needs string fields secretId and secretKey");
  }
  return c;
}

// The SDKs' INI file. kNotFound (noted in `checked`) when the file or its section is absent.
Result<Credentials> FromIniProfile(const ConfigSources& s, const std::string& home, const std::string& profile,
                                   std::vector<std::string>* checked) {
  const char* set = s.getenv ? s.getenv("TENCENTCLOUD_CREDENTIALS_FILE") : std::getenv("TENCENTCLOUD_CREDENTIALS_FILE");
  const std::string path = set ? std::string(set) : home + "/.tencentcloud/credentials";
  if (set && path.empty()) return Status(Code::kInvalidInput, "TENCENTCLOUD_CREDENTIALS_FILE is set but empty");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (set) return Status(Code::kInvalidInput, path + " (TENCENTCLOUD_CREDENTIALS_FILE): cannot be read");
    checked->push_back("profile [" + profile + "] in " + path + " (not found)");
    return Status(Code::kNotFound, path + ": not found");
  }
  Result<std::map<std::string, std::string>> section = ReadIniSection(in, path, profile);
  if (!section.ok()) {
    if (section.status().code() == Code::kNotFound) checked->push_back("profile [" + profile + "] in " + path + " (no such section)");
    return section.status();
  }
  Credentials c;
  c.secret_id = (*section)["secret_id"];
  c.secret_key = Secret((*section)["secret_key"]);
  c.token = Secret((*section)["token"]);
  c.source = "profile '" + profile + "' in " + path;
  if (c.secret_id.empty() || c.secret_key.empty()) {
    return Status(Code::kInvalidInput, path + ": section [" + profile + "] needs secret_id and secret_key");
  }
  return c;
}

// The role bound to this machine. kNotFound (noted in `checked`) when there is none.
Result<Credentials> FromMetadataService(const ConfigSources& s, CredentialRenewer* renew,
                                        std::vector<std::string>* checked) {
  std::string base = Env(s, "TENCENTCLOUD_METADATA_ENDPOINT");
  if (base.empty()) base = kMetadataUrl;
  std::unique_ptr<HttpTransport> own;
  HttpTransport* transport = s.metadata_transport;
  if (!transport) {
    // Off a CVM the service is not there; the chain's last source must not hang a laptop.
    TransportOptions quick;
    quick.connect_timeout = std::chrono::milliseconds(1000);
    quick.total_timeout = std::chrono::milliseconds(3000);
    own = NewCurlTransport(quick);
    transport = own.get();
  }
  Result<std::string> role = FetchRoleName(*transport, base);
  if (!role.ok()) {
    if (role.status().code() == Code::kNotFound) checked->push_back("a CVM/TKE role from the metadata service at " + base + " (none)");
    return role.status();
  }
  Result<Credentials> c = FetchRoleCredentials(*transport, base, *role);
  if (c.ok()) *renew = RoleRenewer(base, *role);
  return c;
}
}  // namespace

Status CheckEndpoint(const std::string& url, const std::string& origin, InsecureEndpoint insecure) {
  const std::string named = "endpoint " + url + (origin.empty() ? "" : " (" + origin + ")");
  Result<UrlParts> parts = ParseUrl(url);
  if (!parts.ok()) return Status(Code::kInvalidInput, named + ": " + parts.status().message() + "; nothing was sent");
  if (parts->scheme == "https") return Status::Ok();
  if (parts->scheme != "http") {
    return Status(Code::kInvalidInput, named + ": must be an https:// (or http://) URL; nothing was sent");
  }
  if (insecure == InsecureEndpoint::kAllow || IsLoopbackHost(parts->host)) return Status::Ok();
  return Status(Code::kInvalidInput,
                named + " is plain http to " + parts->host +
                    ", which is not this machine: the signed requests and the session token would cross the network "
                    "unencrypted. Use https://, or pass --insecure-endpoint to allow it; nothing was sent");
}

Status Endpoints::Check(const std::string& override_origin, InsecureEndpoint insecure) const {
  if (!override_.empty()) {
    Status s = CheckEndpoint(WithService(override_, "service"), override_origin, insecure);
    if (!s.ok()) return s;
  }
  for (const auto& [service, url] : per_service_) {
    Status s = CheckEndpoint(WithService(url, service), "the tccli profile's " + service + ".endpoint", insecure);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Secret::~Secret() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
}

std::string Endpoints::For(const std::string& service) const {
  std::string url;
  if (!override_.empty()) {
    url = override_;
  } else if (auto it = per_service_.find(service); it != per_service_.end()) {
    url = it->second;
  } else {
    url = "https://{service}.tencentcloudapi.com";
  }
  // Forward only: a service name that itself holds "{service}" must not loop.
  return WithService(std::move(url), service);
}

Result<CloudConfig> LoadCloudConfig(const ConfigSources& sources) {
  CloudConfig config;
  const std::string home = sources.home.empty() ? Env(sources, "HOME") : sources.home;
  const ProfileName profile = ResolveProfile(sources);
  const std::string conf_path = home + "/.tccli/" + profile.name + ".configure";

  Result<Credentials> found = FromEnvironment(sources);
  std::vector<std::string> checked = {"environment variables TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (unset)"};
  if (found.status().code() == Code::kNotFound) found = FromTccliProfile(home, profile.name, &checked);
  if (found.status().code() == Code::kNotFound) found = FromIniProfile(sources, home, profile.name, &checked);
  if (found.status().code() == Code::kNotFound && profile.named) {
    return Status(Code::kAuth, "profile '" + profile.name + "' (" + profile.origin + ") not found; checked: " +
                                   Join(checked));
  }
  if (found.status().code() == Code::kNotFound) {
    found = FromMetadataService(sources, &config.renew, &checked);
  }
  if (found.status().code() == Code::kNotFound) {
    return Status(Code::kAuth, "no Tencent Cloud credentials found; checked: " + Join(checked));
  }
  if (!found.ok()) return found.status();
  config.credentials = std::move(found).value();

  // The profile's configure file is optional; it may give the region and endpoints.
  Result<json> conf = ReadJsonFile(conf_path);
  if (!conf.ok() && conf.status().code() != Code::kNotFound) return conf.status();
  if (conf.ok()) {
    if (auto sys = conf->find("_sys_param"); sys != conf->end() && sys->is_object()) {
      config.region = StringField(*sys, "region");
    }
    for (const auto& [service, settings] : conf->items()) {
      if (service == "_sys_param" || !settings.is_object()) continue;
      std::string endpoint = StringField(settings, "endpoint");
      if (!endpoint.empty()) config.endpoints.SetForService(service, WithScheme(endpoint));
    }
  }
  if (std::string region = Env(sources, "TENCENTCLOUD_REGION"); !region.empty()) {
    config.region = region;
  }
  std::string endpoint = sources.endpoint.empty() ? Env(sources, "TENCENTCLOUD_ENDPOINT")
                                                  : sources.endpoint;
  if (!endpoint.empty()) config.endpoints.SetOverride(WithScheme(endpoint));
  const std::string origin = !sources.endpoint.empty() ? sources.endpoint_origin : "TENCENTCLOUD_ENDPOINT";
  Status endpoints_ok = config.endpoints.Check(origin, sources.insecure_endpoint);
  if (!endpoints_ok.ok()) return endpoints_ok;
  config.insecure_endpoint = sources.insecure_endpoint;
  return config;
}

}  // namespace reconciler::tencentcloud
