#include "providers/tencentcloud/signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fmt/chrono.h>

namespace reconciler::tencentcloud {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string UtcDate(int64_t unix_seconds) {
  return fmt::format("{:%Y-%m-%d}", fmt::gmtime(static_cast<std::time_t>(unix_seconds)));
}

Signature Sign(const SignInput& in) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(in.headers.size());
  for (const auto& [name, value] : in.headers) {
    headers.emplace_back(Lower(Trim(name)), Lower(Trim(value)));
  }
  std::sort(headers.begin(), headers.end());

  Signature sig;
  std::string canonical_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!sig.signed_headers.empty()) sig.signed_headers += ";";
    sig.signed_headers += name;
  }

  sig.canonical_request = in.method + "\n/\n" + in.canonical_query + "\n" + canonical_headers +
                          "\n" + sig.signed_headers + "\n" + Sha256Hex(in.payload);
  sig.hashed_canonical_request = Sha256Hex(sig.canonical_request);

  std::string date = UtcDate(in.timestamp);
  sig.credential_scope = date + "/" + in.service + "/tc3_request";
  sig.string_to_sign = "TC3-HMAC-SHA256\n" + std::to_string(in.timestamp) + "\n" +
                       sig.credential_scope + "\n" + sig.hashed_canonical_request;

  std::string key = "TC3";
  key.append(in.secret_key);
  std::string k_date = HmacSha256(key, date);
  OPENSSL_cleanse(key.data(), key.size());
  std::string k_service = HmacSha256(k_date, in.service);
  std::string k_signing = HmacSha256(k_service, "tc3_request");
  sig.signature = HexEncode(HmacSha256(k_signing, sig.string_to_sign));

  sig.authorization = "TC3-HMAC-SHA256 Credential=" + in.secret_id + "/" + sig.credential_scope +
                      ", SignedHeaders=" + sig.signed_headers + ", Signature=" + sig.signature;
  return sig;
}

bool ParseAuthorization(std::string_view header, ParsedAuthorization* out, std::string* error) {
  constexpr std::string_view kAlgorithm = "TC3-HMAC-SHA256 ";
  if (header.substr(0, kAlgorithm.size()) != kAlgorithm) {
    *error = "Authorization must start with 'TC3-HMAC-SHA256 '";
    return false;
  }
  header.remove_prefix(kAlgorithm.size());

  std::string credential, signed_headers, signature;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view part = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      *error = "Authorization part '" + std::string(part) + "' has no '='";
      return false;
    }
    std::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
    if (name == "Credential") credential = value;
    else if (name == "SignedHeaders") signed_headers = value;
    else if (name == "Signature") signature = value;
    else {
      *error = "Authorization has unknown part '" + std::string(name) + "'";
      return false;
    }
  }
  if (credential.empty() || signed_headers.empty() || signature.empty()) {
    *error = "Authorization must have Credential, SignedHeaders and Signature";
    return false;
  }

  // Credential = SecretId/Date/Service/tc3_request
  std::vector<std::string> scope;
  size_t start = 0;
  for (size_t slash; (slash = credential.find('/', start)) != std::string::npos;
       start = slash + 1) {
    scope.push_back(credential.substr(start, slash - start));
  }
  scope.push_back(credential.substr(start));
  if (scope.size() != 4 || scope[0].empty() || scope[1].size() != 10 || scope[2].empty()) {
    *error = "Credential must be SecretId/YYYY-MM-DD/service/tc3_request";
    return false;
  }
  out->secret_id = scope[0];
  out->date = scope[1];
  out->service = scope[2];
  out->terminator = scope[3];

  out->signed_headers.clear();
  start = 0;
  for (size_t semi; (semi = signed_headers.find(';', start)) != std::string::npos;
       start = semi + 1) {
    out->signed_headers.push_back(signed_headers.substr(start, semi - start));
  }
  out->signed_headers.push_back(signed_headers.substr(start));
  out->signature = signature;
  return true;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace reconciler::tencentcloud
