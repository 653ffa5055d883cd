#pragma once

// Webhook verification. A webhook only ever triggers a pass: its payload is never read as
// state, so all this decides is whether the sender knew the secret and whether the delivery
// is new.
//
//   github   X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>; X-GitHub-Event: ping
//            is answered and triggers nothing; a repeated X-GitHub-Delivery is ignored.
//            X-Hub-Signature (SHA-1) alone is refused.
//   gitlab   X-Gitlab-Token: the secret itself.
//   generic  X-Signature: sha256=<hex HMAC-SHA256 of the body>.
// Every comparison runs in constant time. A missing secret refuses every webhook.

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace reconciler::daemon {

inline constexpr size_t kMaxWebhookBody = 1 << 20;  // 1 MiB; larger gets 413

struct WebhookVerdict {
  int http_status = 401;  // 200, 202, 401, 404, 413
  bool trigger = false;   // start a pass
  std::string body;       // the answer's body (JSON), never echoing the secret
  // For metrics and logs, one of: "accepted" (202), "ping", "replayed" (200), "unsigned",
  // "bad-signature", "sha1-refused", "no-secret" (401), "too-large" (413), "unknown-source" (404).
  std::string result;
};

class WebhookVerifier {
 public:
  explicit WebhookVerifier(std::string secret);

  // `source` is "github", "gitlab" or "generic"; header names are matched case-insensitively.
  WebhookVerdict Check(const std::string& source, const std::map<std::string, std::string>& headers,
                       const std::string& body);

 private:
  std::string secret_;
  std::mutex mu_;
  std::deque<std::string> delivery_order_;  // the last 1,000 GitHub delivery ids
  std::set<std::string> deliveries_;
};

// Hex HMAC-SHA256 of `body` under `key`, lower case.
std::string HmacSha256Hex(const std::string& key, const std::string& body);
// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace reconciler::daemon
