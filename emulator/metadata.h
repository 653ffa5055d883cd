#pragma once

// The instance metadata service's CVM role credentials, as a CVM sees them, so clients
// that take the role's temporary credentials can be tested end to end:
//   GET /latest/meta-data/cam/security-credentials/       the role's name; 404 when unbound
//   GET /latest/meta-data/cam/security-credentials/ROLE   {"TmpSecretId","TmpSecretKey","Token",
//        "ExpiredTime" (UNIX seconds),"Expiration" (RFC 3339),"Code":"Success"}; 404 for another role
// Each fetch mints a new key, token and expiry (now + ttl on the wall clock). The API's
// signature check accepts a minted key with its token until it expires, then answers
// AuthFailure.TokenFailure.
//   POST /_admin/metadata  {"role": "NAME" ("" unbinds), "ttlSeconds": N}: changes either;
//                          answers {"role","ttlSeconds","issued"}

#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace reconciler::tencentcloud::emulator {

inline constexpr const char* kMetadataRolePath = "/latest/meta-data/cam/security-credentials/";

struct IssuedCredentials {
  std::string secret_id;
  std::string secret_key;
  std::string token;
  double expires_at = 0;  // wall-clock UNIX seconds
};

class MetadataService {
 public:
  // `wall` reads the wall clock (the one clients sign with) in UNIX seconds.
  explicit MetadataService(std::function<double()> wall);

  // Adds the GET routes to `server`. Call before any catch-all route.
  void Route(httplib::Server& server);

  // The credentials minted with `secret_id`, expired or not; nullopt when never minted.
  std::optional<IssuedCredentials> Find(const std::string& secret_id) const;

  // POST /_admin/metadata's body. kInvalidInput says which field is wrong.
  Status Configure(const nlohmann::json& body);
  nlohmann::json ToJson() const;

 private:
  IssuedCredentials Mint();

  std::function<double()> wall_;
  mutable std::mutex mu_;
  std::string role_ = "reconciler-emulator-role";
  int64_t ttl_seconds_ = 7200;  // as a CVM's role credentials; tests set a short one
  std::vector<IssuedCredentials> issued_;
};

}  // namespace reconciler::tencentcloud::emulator
