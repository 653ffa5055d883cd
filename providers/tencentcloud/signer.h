#pragma once

// TC3-HMAC-SHA256, the Tencent Cloud API 3.0 request signature.
//
// Sign() is a pure function of its input, so both the client and the emulator's verifier
// use it, and tests reproduce the official vectors byte for byte, including the
// intermediate canonical request and string to sign.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/sha256.h"  // Sha256Hex, HexEncode: the signature is built from them

namespace reconciler::tencentcloud {

// Raw 32-byte HMAC-SHA256 of `msg` under `key`.
std::string HmacSha256(std::string_view key, std::string_view msg);
// "YYYY-MM-DD" of a UNIX timestamp in UTC (the credential scope's date).
std::string UtcDate(int64_t unix_seconds);

struct SignInput {
  std::string method = "POST";
  // The URL query for GET, already RFC 3986 encoded; empty for POST.
  std::string canonical_query;
  // The headers to sign, with names in any case and values exactly as sent. They must
  // include content-type and host. Order does not matter: Sign() sorts them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view payload;
  std::string service;  // the credential scope's service, e.g. "postgres"
  int64_t timestamp = 0;
  std::string secret_id;
  std::string_view secret_key;  // never copied into the output
};

struct Signature {
  std::string canonical_request;
  std::string hashed_canonical_request;
  std::string credential_scope;  // "2019-02-25/cvm/tc3_request"
  std::string string_to_sign;
  std::string signed_headers;  // "content-type;host"
  std::string signature;       // lower-case hex
  std::string authorization;   // the Authorization header value
};

Signature Sign(const SignInput& in);

// The parts of an Authorization header, for the verifier.
struct ParsedAuthorization {
  std::string secret_id;
  std::string date;
  std::string service;
  std::string terminator;  // must be "tc3_request"
  std::vector<std::string> signed_headers;
  std::string signature;
};

// Parses "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=a;b,
// Signature=HEX". Returns false and sets *error when the header is malformed.
bool ParseAuthorization(std::string_view header, ParsedAuthorization* out, std::string* error);

// Compares two strings in time independent of where they first differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace reconciler::tencentcloud
