#pragma once

// Credentials and endpoints for Tencent Cloud.
//
// Sources, first match wins, in the official SDKs' order:
//   1. TENCENTCLOUD_SECRET_ID + TENCENTCLOUD_SECRET_KEY (+ TENCENTCLOUD_SESSION_TOKEN);
//   2. the profile <profile>: the explicit one (--profile, else the project file), else
//      $TENCENTCLOUD_PROFILE, else $TCCLI_PROFILE, else "default"; read from
//      a. tccli's ~/.tccli/<profile>.credential (JSON: secretId, secretKey, token), then
//      b. the SDKs' INI file $TENCENTCLOUD_CREDENTIALS_FILE, else ~/.tencentcloud/credentials,
//         section [<profile>] (secret_id, secret_key, optional token);
//      a profile named explicitly (not "default") that neither file holds is an error;
//   3. the CVM/TKE role from the metadata service (metadata_role.h), at
//      $TENCENTCLOUD_METADATA_ENDPOINT, else http://metadata.tencentyun.com/latest/meta-data/.
//      These expire; CloudConfig::renew fetches new ones (ApiClient renews before expiry).
// The region comes from TENCENTCLOUD_REGION, else the profile's <profile>.configure
// (`_sys_param.region`). Endpoints come from the explicit override, else
// TENCENTCLOUD_ENDPOINT, else the profile's `<service>.endpoint`, else
// https://<service>.tencentcloudapi.com.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "base/status.h"

namespace reconciler::tencentcloud {

class HttpTransport;

// A secret string. It has no stream operator and no implicit conversion, so it cannot be
// printed by accident; Reveal() is the one way out and is used only to sign. Its memory is
// wiped on destruction.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  ~Secret();
  bool empty() const { return value_.empty(); }
  const std::string& Reveal() const { return value_; }

 private:
  std::string value_;
};

struct Credentials {
  std::string secret_id;
  Secret secret_key;
  Secret token;         // empty unless temporary (STS) credentials are used
  // Where they came from, for messages: "environment variables TENCENTCLOUD_SECRET_ID/KEY",
  // "profile 'x' in /home/u/.tencentcloud/credentials", "CVM role 'r' from the metadata service".
  std::string source;
  int64_t expires_at = 0;  // UNIX seconds; 0: they do not expire
};

// Fetches fresh temporary credentials through `transport`; for credentials that expire.
using CredentialRenewer = std::function<Result<Credentials>(HttpTransport& transport)>;

// Whether a plain http:// endpoint may carry credentials to a host other than this machine.
enum class InsecureEndpoint { kRefuse, kAllow };

// Whether requests signed with our credentials (and carrying the session token) may go to
// `url`: https://, or http:// to a loopback host (127.0.0.0/8, [::1], localhost), or any
// http:// when `insecure` is kAllow. Host and scheme are read by libcurl's own parser.
// Fails with kInvalidInput naming the URL, `origin` (where it was set, for the message, may
// be empty) and the --insecure-endpoint flag.
Status CheckEndpoint(const std::string& url, const std::string& origin, InsecureEndpoint insecure);

// Where each service's requests go.
class Endpoints {
 public:
  // `override_url` may contain "{service}", e.g. "https://{service}.ap-guangzhou.tencentcloudapi.com".
  // Without it, every service goes to the same URL (the emulator serves them all).
  void SetOverride(std::string override_url) { override_ = std::move(override_url); }
  void SetForService(const std::string& service, std::string url) { per_service_[service] = std::move(url); }
  std::string For(const std::string& service) const;
  // Every URL set, with "{service}" standing for a service name, checked by CheckEndpoint.
  // `override_origin` says where the override came from, for the message.
  Status Check(const std::string& override_origin, InsecureEndpoint insecure) const;

 private:
  std::string override_;
  std::map<std::string, std::string> per_service_;
};

// Everything the environment and the profile say about how to reach the cloud.
struct CloudConfig {
  Credentials credentials;
  CredentialRenewer renew;  // set when `credentials` expire (the metadata service's role)
  std::string region;  // may be empty; callers that need one say so
  Endpoints endpoints;
  // Checked again for every request (ApiClient::Call). Default: plain http only to loopback.
  InsecureEndpoint insecure_endpoint = InsecureEndpoint::kRefuse;
};

struct ConfigSources {
  // Reads an environment variable; returns nullptr when unset. Default: ::getenv.
  std::function<const char*(const char*)> getenv;
  std::string home;          // default: $HOME
  std::string profile;       // explicit: --profile, else the project's; default: see above
  // Reads the metadata service; nullptr: a libcurl transport with short timeouts.
  HttpTransport* metadata_transport = nullptr;
  std::string endpoint;      // explicit override (flag or project file); beats the environment
  std::string endpoint_origin;  // where `endpoint` was written, for messages: "--endpoint", "file:line:col"
  InsecureEndpoint insecure_endpoint = InsecureEndpoint::kRefuse;  // --insecure-endpoint
};

// Returns kAuth when no credentials are found, naming every source it checked (or when the
// metadata service refuses the role's credentials), and
// kInvalidInput when a source exists but is malformed (saying which file and why), or when
// an endpoint fails CheckEndpoint.
Result<CloudConfig> LoadCloudConfig(const ConfigSources& sources);

}  // namespace reconciler::tencentcloud
