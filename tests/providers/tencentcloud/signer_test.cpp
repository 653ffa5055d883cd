#include "providers/tencentcloud/signer.h"

#include <doctest/doctest.h>

namespace reconciler::tencentcloud {
namespace {

// The keys the official documentation signs with.
constexpr const char* kDocSecretId = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
constexpr const char* kDocSecretKey = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

// Vector A's body, exactly as the doc sends it: ASCII \u escapes, not raw UTF-8.
constexpr const char* kVectorABody =
    R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})";

SignInput VectorA() {
  SignInput in;
  in.method = "POST";
  in.headers = {{"Content-Type", "application/json; charset=utf-8"},
                {"Host", "cvm.tencentcloudapi.com"}};
  in.payload = kVectorABody;
  in.service = "cvm";
  in.timestamp = 1551113065;
  in.secret_id = kDocSecretId;
  in.secret_key = kDocSecretKey;
  return in;
}

TEST_CASE("signer: official POST vector A byte for byte") {
  Signature sig = Sign(VectorA());
  CHECK(Sha256Hex(kVectorABody) == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  CHECK(sig.canonical_request ==
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
        "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  CHECK(sig.hashed_canonical_request ==
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  CHECK(sig.credential_scope == "2019-02-25/cvm/tc3_request");
  CHECK(sig.string_to_sign ==
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  CHECK(sig.signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
  CHECK(sig.authorization ==
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
}

TEST_CASE("signer: kSigning of vector A matches the derived key") {
  std::string k_date = HmacSha256(std::string("TC3") + kDocSecretKey, "2019-02-25");
  std::string k_signing = HmacSha256(HmacSha256(k_date, "cvm"), "tc3_request");
  CHECK(HexEncode(k_signing) == "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1");
}

TEST_CASE("signer: official GET vector B byte for byte") {
  SignInput in;
  in.method = "GET";
  in.canonical_query = "Limit=10&Offset=0";
  in.headers = {{"content-type", "application/x-www-form-urlencoded"},
                {"host", "cvm.tencentcloudapi.com"}};
  in.payload = "";
  in.service = "cvm";
  in.timestamp = 1539084154;
  in.secret_id = kDocSecretId;
  in.secret_key = kDocSecretKey;
  Signature sig = Sign(in);
  CHECK(sig.canonical_request ==
        "GET\n/\nLimit=10&Offset=0\ncontent-type:application/x-www-form-urlencoded\n"
        "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sig.hashed_canonical_request ==
        "91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7");
  CHECK(sig.credential_scope == "2018-10-09/cvm/tc3_request");
  CHECK(sig.signature == "5da7a33f6993f0614b047e5df4582db9e9bf4672ba50567dba16c6ccf174c474");
}

TEST_CASE("signer: raw UTF-8 body changes the signature (self-computed vector)") {
  SignInput in = VectorA();
  std::string body =
      "{\"Limit\": 1, \"Filters\": [{\"Values\": [\"\xe6\x9c\xaa\xe5\x91\xbd\xe5\x90\x8d\"], "
      "\"Name\": \"instance-name\"}]}";
  in.payload = body;
  Signature sig = Sign(in);
  CHECK(Sha256Hex(body).substr(0, 8) == "1e07682a");
  CHECK(Sha256Hex(body).substr(60) == "a716");
  CHECK(sig.signature == "57ed31a395c63c472410096cc67e56aa39aa2b06b960d4f31beea21236106ca9");
}

TEST_CASE("signer: x-tc-action signed (self-computed vector)") {
  SignInput in = VectorA();
  in.headers.emplace_back("X-TC-Action", "DescribeInstances");
  Signature sig = Sign(in);
  CHECK(sig.signed_headers == "content-type;host;x-tc-action");
  CHECK(sig.canonical_request.find("x-tc-action:describeinstances\n") != std::string::npos);
  CHECK(sig.hashed_canonical_request ==
        "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84");
  CHECK(sig.signature == "644be983de9a8a3f00db8eadaba61467c3b429e2215758ba897b738ca469fd26");
}

TEST_CASE("signer: header order does not change the signature") {
  SignInput a = VectorA();
  SignInput b = VectorA();
  std::swap(b.headers[0], b.headers[1]);
  CHECK(Sign(a).signature == Sign(b).signature);
}

TEST_CASE("signer: the scope date is the UTC date") {
  CHECK(UtcDate(1551113065) == "2019-02-25");  // 2019-02-26 00:44 in UTC+8
  CHECK(UtcDate(0) == "1970-01-01");
}

TEST_CASE("signer: ParseAuthorization round-trips Sign") {
  Signature sig = Sign(VectorA());
  ParsedAuthorization parsed;
  std::string error;
  REQUIRE(ParseAuthorization(sig.authorization, &parsed, &error));
  CHECK(parsed.secret_id == kDocSecretId);
  CHECK(parsed.date == "2019-02-25");
  CHECK(parsed.service == "cvm");
  CHECK(parsed.terminator == "tc3_request");
  CHECK(parsed.signed_headers == std::vector<std::string>{"content-type", "host"});
  CHECK(parsed.signature == sig.signature);
}

TEST_CASE("signer: ParseAuthorization rejects malformed headers") {
  ParsedAuthorization parsed;
  std::string error;
  CHECK_FALSE(ParseAuthorization("HMAC-SHA1 Credential=x", &parsed, &error));
  CHECK(error.find("TC3-HMAC-SHA256") != std::string::npos);
  CHECK_FALSE(ParseAuthorization("TC3-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host", &parsed, &error));
  CHECK_FALSE(ParseAuthorization(
      "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm, SignedHeaders=host, Signature=ab", &parsed, &error));
  CHECK_FALSE(ParseAuthorization(
      "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, Bogus=1, SignedHeaders=host, Signature=ab",
      &parsed, &error));
  CHECK(error.find("Bogus") != std::string::npos);
}

TEST_CASE("signer: ConstantTimeEquals") {
  CHECK(ConstantTimeEquals("abc", "abc"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abd"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace reconciler::tencentcloud
