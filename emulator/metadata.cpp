#include "emulator/metadata.h"

#include <httplib.h>
#include <openssl/rand.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace reconciler::tencentcloud::emulator {

namespace {

using nlohmann::json;

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  RAND_bytes(raw.data(), static_cast<int>(raw.size()));
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string Rfc3339(double unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace

MetadataService::MetadataService(std::function<double()> wall) : wall_(std::move(wall)) {}

IssuedCredentials MetadataService::Mint() {
  IssuedCredentials c;
  c.secret_id = "AKIDROLE" + RandomHex(14);
  c.secret_key = RandomHex(20);
  c.token = "role-token-" + RandomHex(24);
  std::lock_guard<std::mutex> lock(mu_);
  c.expires_at = wall_() + static_cast<double>(ttl_seconds_);
  issued_.push_back(c);
  return c;
}

void MetadataService::Route(httplib::Server& server) {
  server.Get(kMetadataRolePath, [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (role_.empty()) {
      res.status = 404;
      return;
    }
    res.set_content(role_, "text/plain");
  });
  server.Get(std::string(kMetadataRolePath) + "([^/]+)", [this](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (role_.empty() || req.matches[1] != role_) {
        res.status = 404;
        return;
      }
    }
    IssuedCredentials c = Mint();
    json body = {{"TmpSecretId", c.secret_id}, {"TmpSecretKey", c.secret_key}, {"Token", c.token},
                 {"ExpiredTime", static_cast<int64_t>(c.expires_at)}, {"Expiration", Rfc3339(c.expires_at)},
                 {"Code", "Success"}};
    res.set_content(body.dump(), "application/json");
  });
}

std::optional<IssuedCredentials> MetadataService::Find(const std::string& secret_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const IssuedCredentials& c : issued_) {
    if (c.secret_id == secret_id) return c;
  }
  return std::nullopt;
}

Status MetadataService::Configure(const json& body) {
  if (!body.is_object()) return Status(Code::kInvalidInput, "the body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key != "role" && key != "ttlSeconds") return Status(Code::kInvalidInput, "unknown field " + key);
  }
  auto role = body.find("role");
  auto ttl = body.find("ttlSeconds");
  if (role != body.end() && !role->is_string()) return Status(Code::kInvalidInput, "role must be a string");
  if (ttl != body.end() && (!ttl->is_number_integer() || *ttl <= 0)) {
    return Status(Code::kInvalidInput, "ttlSeconds must be a positive integer");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (role != body.end()) role_ = role->get<std::string>();
  if (ttl != body.end()) ttl_seconds_ = ttl->get<int64_t>();
  return Status::Ok();
}

json MetadataService::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {{"role", role_}, {"ttlSeconds", ttl_seconds_}, {"issued", issued_.size()}};
}

}  // namespace reconciler::tencentcloud::emulator
