#include "daemon/webhooks.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/sha256.h"

namespace reconciler::daemon {

namespace {

constexpr size_t kRememberedDeliveries = 1000;

bool SameNameIgnoringCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> Header(const std::map<std::string, std::string>& headers,
                                  const std::string& name) {
  for (const auto& [key, value] : headers) {
    if (SameNameIgnoringCase(key, name)) return value;
  }
  return std::nullopt;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

WebhookVerdict Verdict(int http_status, std::string result, bool trigger = false) {
  WebhookVerdict v;
  v.http_status = http_status;
  v.trigger = trigger;
  v.result = std::move(result);
  // Only our own fixed words go into the answer: nothing the sender wrote, nothing secret.
  v.body = nlohmann::json{{"result", v.result}, {"trigger", trigger}}.dump();
  return v;
}

// "sha256=<hex>" carrying the HMAC of `body`. A missing header is "unsigned" so the metrics
// tell a misconfigured sender from a forger.
std::optional<WebhookVerdict> CheckSha256Header(const std::optional<std::string>& header,
                                                const std::string& secret,
                                                const std::string& body) {
  if (!header) return Verdict(401, "unsigned");
  static const std::string kPrefix = "sha256=";
  if (header->size() <= kPrefix.size() || Lower(header->substr(0, kPrefix.size())) != kPrefix) {
    return Verdict(401, "bad-signature");
  }
  if (!ConstantTimeEquals(Lower(header->substr(kPrefix.size())), HmacSha256Hex(secret, body))) {
    return Verdict(401, "bad-signature");
  }
  return std::nullopt;
}

}  // namespace

std::string HmacSha256Hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

WebhookVerifier::WebhookVerifier(std::string secret) : secret_(std::move(secret)) {}

WebhookVerdict WebhookVerifier::Check(const std::string& source,
                                      const std::map<std::string, std::string>& headers,
                                      const std::string& body) {
  if (source != "github" && source != "gitlab" && source != "generic")
    return Verdict(404, "unknown-source");
  // Size first: verifying costs a pass over the body, and a refusal must not depend on it.
  if (body.size() > kMaxWebhookBody) return Verdict(413, "too-large");
  if (secret_.empty()) return Verdict(401, "no-secret");

  if (source == "gitlab") {
    std::optional<std::string> token = Header(headers, "X-Gitlab-Token");
    if (!token) return Verdict(401, "unsigned");
    // Digests first, so the comparison takes the same time whatever the token's length.
    if (!ConstantTimeEquals(Sha256Hex(*token), Sha256Hex(secret_)))
      return Verdict(401, "bad-signature");
    return Verdict(202, "accepted", true);
  }

  if (source == "generic") {
    if (auto refused = CheckSha256Header(Header(headers, "X-Signature"), secret_, body))
      return *refused;
    return Verdict(202, "accepted", true);
  }

  std::optional<std::string> sha256 = Header(headers, "X-Hub-Signature-256");
  if (!sha256 && Header(headers, "X-Hub-Signature")) return Verdict(401, "sha1-refused");
  if (auto refused = CheckSha256Header(sha256, secret_, body)) return *refused;

  // Deliveries are remembered only once signed, so nobody without the secret can fill the
  // memory with ids and shut out a genuine delivery.
  if (std::optional<std::string> delivery = Header(headers, "X-GitHub-Delivery");
      delivery && !delivery->empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (deliveries_.count(*delivery)) return Verdict(200, "replayed");
    deliveries_.insert(*delivery);
    delivery_order_.push_back(*delivery);
    if (delivery_order_.size() > kRememberedDeliveries) {
      deliveries_.erase(delivery_order_.front());
      delivery_order_.pop_front();
    }
  }
  if (std::optional<std::string> event = Header(headers, "X-GitHub-Event");
      event && *event == "ping") {
    return Verdict(200, "ping");
  }
  return Verdict(202, "accepted", true);
}

}  // namespace reconciler::daemon
