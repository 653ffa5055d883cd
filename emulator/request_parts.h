#pragma once

// Pieces of an API request that the emulator reads the way the official SDKs write them:
// the Host a client may have signed, the service a credential scope may name instead of
// the real one, the raw query of a GET and its parameters, the media type.
//
// What the SDKs do (read from their sources and checked against captured requests):
//   - Python, Go, Java and C++ sign the Host header as sent, port included; tccli sends and
//     signs "http://127.0.0.1:PORT" when given a URL endpoint;
//   - the Node SDK signs the URL's hostname without the port while its Host header has it;
//   - Node, Java and C++ take the scope's service from the endpoint's first dot-separated
//     label ("127" for 127.0.0.1:PORT, "localhost:PORT" for Java on localhost:PORT);
//   - GET flattens parameters into Name.N.Field pairs, URL-encoded ('+' or %20 for a
//     space), in any key order, and signs the query string exactly as sent.

#include <string>
#include <utility>
#include <vector>

namespace reconciler::tencentcloud::emulator {

// "127.0.0.1:41234" -> "127.0.0.1", "[::1]:80" -> "[::1]", "http://h:1" -> "http://h".
// A host without a port is returned unchanged.
std::string HostWithoutPort(const std::string& host);

// True when `service` is the first dot-separated label of `host`, taken with or without
// its port and after any "http://" or "https://" prefix.
bool IsFirstHostLabel(const std::string& service, const std::string& host);

// The query of a request target ("/?a=1&b=2" -> "a=1&b=2"), byte for byte.
std::string RawQuery(const std::string& target);

// Splits and percent-decodes a query ("A.0=x+y&B=%E4%B8%AD") into (name, value) pairs in
// their order. '+' is a space.
std::vector<std::pair<std::string, std::string>> ParseQuery(const std::string& query);

// The media type of a Content-Type value, lower-cased, without parameters:
// "Application/JSON; charset=utf-8" -> "application/json".
std::string MediaType(const std::string& content_type);

}  // namespace reconciler::tencentcloud::emulator
