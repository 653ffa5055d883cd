#pragma once

// SHA-256 for content digests and names derived from content (OpenSSL underneath).

#include <string>
#include <string_view>

namespace reconciler {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// Lower-case hex of raw bytes.
std::string HexEncode(std::string_view bytes);

}  // namespace reconciler
