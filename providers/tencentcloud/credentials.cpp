#include "providers/tencentcloud/credentials.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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
  std::string home = sources.home.empty() ? Env(sources, "HOME") : sources.home;
  std::string profile = sources.profile;
  if (profile.empty()) profile = Env(sources, "TCCLI_PROFILE");
  if (profile.empty()) profile = "default";
  std::string dir = home + "/.tccli/";
  std::string cred_path = dir + profile + ".credential";
  std::string conf_path = dir + profile + ".configure";

  std::string id = Env(sources, "TENCENTCLOUD_SECRET_ID");
  std::string key = Env(sources, "TENCENTCLOUD_SECRET_KEY");
  if (!id.empty() || !key.empty()) {
    if (id.empty() || key.empty()) {
      return Status(Code::kAuth, std::string("environment has ") +
                                     (id.empty() ? "TENCENTCLOUD_SECRET_KEY but not TENCENTCLOUD_SECRET_ID"
                                                 : "TENCENTCLOUD_SECRET_ID but not TENCENTCLOUD_SECRET_KEY"));
    }
    config.credentials.secret_id = id;
    config.credentials.secret_key = Secret(key);
    config.credentials.token = Secret(Env(sources, "TENCENTCLOUD_SESSION_TOKEN"));
    config.credentials.source = "environment";
  } else {
    Result<json> cred = ReadJsonFile(cred_path);
    if (!cred.ok() && cred.status().code() != Code::kNotFound) return cred.status();
    if (!cred.ok()) {
      return Status(Code::kAuth,
                    "no Tencent Cloud credentials found; checked: environment variables "
                    "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (unset), tccli profile '" +
                        profile + "' at " + cred_path + " (not found)");
    }
    config.credentials.secret_id = StringField(*cred, "secretId");
    config.credentials.secret_key = Secret(StringField(*cred, "secretKey"));
    config.credentials.token = Secret(StringField(*cred, "token"));
    config.credentials.source = "tccli profile '" + profile + "'";
    if (config.credentials.secret_id.empty() || config.credentials.secret_key.empty()) {
      return Status(Code::kInvalidInput, cred_path + ": needs string fields secretId and secretKey");
    }
  }

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
  Status checked = config.endpoints.Check(origin, sources.insecure_endpoint);
  if (!checked.ok()) return checked;
  config.insecure_endpoint = sources.insecure_endpoint;
  return config;
}

}  // namespace reconciler::tencentcloud
