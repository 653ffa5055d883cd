#include "emulator/request_parts.h"

#include <algorithm>
#include <cctype>

namespace reconciler::tencentcloud::emulator {

namespace {

std::string WithoutScheme(const std::string& host) {
  for (const char* scheme : {"http://", "https://"}) {
    const std::string s = scheme;
    if (host.size() > s.size() && std::equal(s.begin(), s.end(), host.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      return host.substr(s.size());
    }
  }
  return host;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string HostWithoutPort(const std::string& host) {
  const size_t colon = host.rfind(':');
  if (colon == std::string::npos || colon + 1 == host.size()) return host;
  // "http://h" has a colon but no port; "[::1]" has colons inside its brackets.
  const std::string port = host.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
    return host;
  if (host.find(']', colon) != std::string::npos) return host;
  return host.substr(0, colon);
}

bool IsFirstHostLabel(const std::string& service, const std::string& host) {
  if (service.empty()) return false;
  const std::string bare = WithoutScheme(host);
  for (const std::string& h : {bare, HostWithoutPort(bare)}) {
    if (h.substr(0, h.find('.')) == service) return true;
  }
  return false;
}

std::string RawQuery(const std::string& target) {
  const size_t q = target.find('?');
  return q == std::string::npos ? std::string() : target.substr(q + 1);
}

std::vector<std::pair<std::string, std::string>> ParseQuery(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string part = query.substr(start, end - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      pairs.emplace_back(Decode(part.substr(0, eq)),
                         eq == std::string::npos ? "" : Decode(part.substr(eq + 1)));
    }
    start = end + 1;
  }
  return pairs;
}

std::string MediaType(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(
      std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
      type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return type;
}

}  // namespace reconciler::tencentcloud::emulator
