// Webhook verification without a server: every source with good, bad, missing and oversize
// signatures, GitHub's SHA-1-only, ping and replay, and an empty secret. The HMAC itself is
// checked against published vectors, not against itself.

#include "daemon/webhooks.h"

#include <doctest/doctest.h>

#include <cctype>
#include <string>

namespace reconciler::testing {
namespace {

using daemon::HmacSha256Hex;
using daemon::WebhookVerdict;
using daemon::WebhookVerifier;

const std::string kSecret = "s3cret-Webhook-key";
const std::string kBody = R"({"ref":"refs/heads/main","after":"0123abcd"})";

std::string Sign(const std::string& body, const std::string& key = kSecret) {
  return "sha256=" + HmacSha256Hex(key, body);
}

void CheckRefused(const WebhookVerdict& v, int status, const std::string& result) {
  CHECK(v.http_status == status);
  CHECK_FALSE(v.trigger);
  CHECK(v.result == result);
}

void CheckAccepted(const WebhookVerdict& v) {
  CHECK(v.http_status == 202);
  CHECK(v.trigger);
  CHECK(v.result == "accepted");
}

// Neither the secret nor the signature the sender sent is ever echoed.
void CheckNoLeak(const WebhookVerdict& v, const std::string& signature) {
  CHECK(v.body.find(kSecret) == std::string::npos);
  if (!signature.empty()) CHECK(v.body.find(signature) == std::string::npos);
  CHECK(v.body.find(HmacSha256Hex(kSecret, kBody)) == std::string::npos);
}

TEST_CASE("daemon webhooks: HMAC-SHA256 matches RFC 4231 test cases 1 and 2") {
  CHECK(HmacSha256Hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(HmacSha256Hex(std::string(20, '\x0b'), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
  CHECK(HmacSha256Hex("It's a Secret to Everybody", "Hello, World!") ==
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST_CASE("daemon webhooks: constant-time equality compares whole strings") {
  CHECK(daemon::ConstantTimeEquals("abc", "abc"));
  CHECK(daemon::ConstantTimeEquals("", ""));
  CHECK_FALSE(daemon::ConstantTimeEquals("abc", "abd"));
  CHECK_FALSE(daemon::ConstantTimeEquals("abc", "abcd"));
  CHECK_FALSE(daemon::ConstantTimeEquals("xbc", "abc"));
  CHECK_FALSE(daemon::ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST_CASE("daemon webhooks: github accepts a good X-Hub-Signature-256 and refuses the rest") {
  WebhookVerifier v(kSecret);
  SUBCASE("good") {
    WebhookVerdict r = v.Check(
        "github", {{"X-Hub-Signature-256", Sign(kBody)}, {"X-GitHub-Event", "push"}}, kBody);
    CheckAccepted(r);
    CheckNoLeak(r, Sign(kBody));
  }
  SUBCASE("header names in any case, hex in upper case") {
    std::string sig = Sign(kBody);
    for (size_t i = 7; i < sig.size(); ++i)
      sig[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(sig[i])));
    CheckAccepted(v.Check("github", {{"x-hub-signature-256", sig}}, kBody));
  }
  SUBCASE("missing") {
    CheckRefused(v.Check("github", {{"X-GitHub-Event", "push"}}, kBody), 401, "unsigned");
  }
  SUBCASE("signed with another key") {
    WebhookVerdict r = v.Check("github", {{"X-Hub-Signature-256", Sign(kBody, "other")}}, kBody);
    CheckRefused(r, 401, "bad-signature");
    CheckNoLeak(r, Sign(kBody, "other"));
  }
  SUBCASE("a body changed after signing") {
    CheckRefused(v.Check("github", {{"X-Hub-Signature-256", Sign(kBody)}}, kBody + " "), 401,
                 "bad-signature");
  }
  SUBCASE("no sha256= prefix, or a truncated digest") {
    CheckRefused(v.Check("github", {{"X-Hub-Signature-256", HmacSha256Hex(kSecret, kBody)}}, kBody),
                 401, "bad-signature");
    CheckRefused(v.Check("github", {{"X-Hub-Signature-256", Sign(kBody).substr(0, 40)}}, kBody),
                 401, "bad-signature");
    CheckRefused(v.Check("github", {{"X-Hub-Signature-256", "sha256="}}, kBody), 401,
                 "bad-signature");
  }
  SUBCASE("SHA-1 alone is refused, even when it is right") {
    CheckRefused(
        v.Check("github", {{"X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567"}},
                kBody),
        401, "sha1-refused");
  }
  SUBCASE("SHA-1 beside a good SHA-256 does not matter") {
    CheckAccepted(v.Check(
        "github", {{"X-Hub-Signature", "sha1=00"}, {"X-Hub-Signature-256", Sign(kBody)}}, kBody));
  }
}

TEST_CASE("daemon webhooks: github answers ping and ignores a repeated delivery") {
  WebhookVerifier v(kSecret);
  WebhookVerdict ping = v.Check("github",
                                {{"X-Hub-Signature-256", Sign(kBody)},
                                 {"X-GitHub-Event", "ping"},
                                 {"X-GitHub-Delivery", "d-ping"}},
                                kBody);
  CHECK(ping.http_status == 200);
  CHECK_FALSE(ping.trigger);
  CHECK(ping.result == "ping");

  std::map<std::string, std::string> push = {{"X-Hub-Signature-256", Sign(kBody)},
                                             {"X-GitHub-Event", "push"},
                                             {"X-GitHub-Delivery", "d-1"}};
  CheckAccepted(v.Check("github", push, kBody));
  WebhookVerdict again = v.Check("github", push, kBody);
  CHECK(again.http_status == 200);
  CHECK_FALSE(again.trigger);
  CHECK(again.result == "replayed");

  // A forged copy of a known delivery is refused as forged, not reported as a replay.
  push["X-Hub-Signature-256"] = Sign(kBody, "other");
  CheckRefused(v.Check("github", push, kBody), 401, "bad-signature");

  // An unsigned request cannot spend a delivery id: the genuine one still triggers.
  CheckRefused(v.Check("github", {{"X-GitHub-Delivery", "d-2"}}, kBody), 401, "unsigned");
  CheckAccepted(v.Check(
      "github", {{"X-Hub-Signature-256", Sign(kBody)}, {"X-GitHub-Delivery", "d-2"}}, kBody));
}

TEST_CASE("daemon webhooks: github remembers the last 1000 deliveries, no more") {
  WebhookVerifier v(kSecret);
  auto deliver = [&](int i) {
    return v.Check(
        "github",
        {{"X-Hub-Signature-256", Sign(kBody)}, {"X-GitHub-Delivery", "id-" + std::to_string(i)}},
        kBody);
  };
  for (int i = 0; i < 1001; ++i) REQUIRE(deliver(i).trigger);
  CHECK(deliver(1000).result == "replayed");  // the newest is remembered
  CHECK(deliver(1).result == "replayed");     // so is the oldest of the last 1000
  CHECK(deliver(0).result == "accepted");     // the one before them is forgotten
}

TEST_CASE("daemon webhooks: gitlab compares X-Gitlab-Token with the secret") {
  WebhookVerifier v(kSecret);
  CheckAccepted(v.Check("gitlab", {{"X-Gitlab-Token", kSecret}}, kBody));
  CheckAccepted(v.Check("gitlab", {{"x-gitlab-token", kSecret}}, ""));
  CheckRefused(v.Check("gitlab", {}, kBody), 401, "unsigned");
  CheckRefused(v.Check("gitlab", {{"X-Gitlab-Token", kSecret + "x"}}, kBody), 401, "bad-signature");
  CheckRefused(
      v.Check("gitlab", {{"X-Gitlab-Token", kSecret.substr(0, kSecret.size() - 1)}}, kBody), 401,
      "bad-signature");
  CheckRefused(v.Check("gitlab", {{"X-Gitlab-Token", ""}}, kBody), 401, "bad-signature");
  // A GitHub-style signature is not a GitLab token.
  CheckRefused(v.Check("gitlab", {{"X-Hub-Signature-256", Sign(kBody)}}, kBody), 401, "unsigned");
  WebhookVerdict r = v.Check("gitlab", {{"X-Gitlab-Token", "guess"}}, kBody);
  CheckNoLeak(r, "guess");
}

TEST_CASE("daemon webhooks: generic checks X-Signature sha256=") {
  WebhookVerifier v(kSecret);
  CheckAccepted(v.Check("generic", {{"X-Signature", Sign(kBody)}}, kBody));
  CheckAccepted(v.Check("generic", {{"X-Signature", Sign("")}}, ""));
  CheckRefused(v.Check("generic", {}, kBody), 401, "unsigned");
  CheckRefused(v.Check("generic", {{"X-Signature", Sign(kBody, "nope")}}, kBody), 401,
               "bad-signature");
  CheckRefused(
      v.Check("generic", {{"X-Signature", "sha1=" + HmacSha256Hex(kSecret, kBody)}}, kBody), 401,
      "bad-signature");
  // GitHub's header is not the generic one.
  CheckRefused(v.Check("generic", {{"X-Hub-Signature-256", Sign(kBody)}}, kBody), 401, "unsigned");
}

TEST_CASE(
    "daemon webhooks: a body over 1 MiB is 413 before anything is verified, for every source") {
  WebhookVerifier v(kSecret);
  std::string big(daemon::kMaxWebhookBody + 1, 'x');
  std::string at_limit(daemon::kMaxWebhookBody, 'x');
  CheckRefused(v.Check("github", {{"X-Hub-Signature-256", Sign(big)}}, big), 413, "too-large");
  CheckRefused(v.Check("gitlab", {{"X-Gitlab-Token", kSecret}}, big), 413, "too-large");
  CheckRefused(v.Check("generic", {{"X-Signature", Sign(big)}}, big), 413, "too-large");
  CheckRefused(v.Check("generic", {}, big), 413, "too-large");  // unsigned too: size comes first
  CheckAccepted(v.Check("generic", {{"X-Signature", Sign(at_limit)}}, at_limit));
}

TEST_CASE("daemon webhooks: no secret refuses every webhook, even one signed with the empty key") {
  WebhookVerifier v("");
  CheckRefused(v.Check("github", {{"X-Hub-Signature-256", Sign(kBody, "")}}, kBody), 401,
               "no-secret");
  CheckRefused(
      v.Check("github", {{"X-Hub-Signature-256", Sign(kBody, "")}, {"X-GitHub-Event", "ping"}},
              kBody),
      401, "no-secret");
  CheckRefused(v.Check("gitlab", {{"X-Gitlab-Token", ""}}, kBody), 401, "no-secret");
  CheckRefused(v.Check("gitlab", {}, kBody), 401, "no-secret");
  CheckRefused(v.Check("generic", {{"X-Signature", Sign(kBody, "")}}, kBody), 401, "no-secret");
}

TEST_CASE("daemon webhooks: an unknown source is 404") {
  WebhookVerifier v(kSecret);
  CheckRefused(v.Check("bitbucket", {{"X-Signature", Sign(kBody)}}, kBody), 404, "unknown-source");
  CheckRefused(v.Check("", {}, kBody), 404, "unknown-source");
}

}  // namespace
}  // namespace reconciler::testing
