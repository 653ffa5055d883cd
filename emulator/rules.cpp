#include "emulator/rules.h"

#include <algorithm>
#include <cctype>

namespace reconciler::tencentcloud::emulator::rules {

namespace {

// The CreateReadOnlyDBInstance seed's "This API only supports" list, verbatim.
const std::vector<std::string>& PostgresRegions() {
  static const std::vector<std::string> kRegions = {
      "ap-bangkok",      "ap-beijing",       "ap-chengdu",   "ap-chongqing", "ap-guangzhou",
      "ap-hongkong",     "ap-jakarta",       "ap-nanjing",   "ap-seoul",     "ap-shanghai",
      "ap-shanghai-fsi", "ap-shenzhen-fsi",  "ap-singapore", "ap-tokyo",     "eu-frankfurt",
      "na-ashburn",      "na-siliconvalley", "sa-saopaulo"};
  return kRegions;
}

// The regions the Go SDK knows that postgres does not serve (tencent-api.md section 2).
const std::vector<std::string>& OtherRegions() {
  static const std::vector<std::string> kRegions = {"ap-guangzhou-open", "ap-mumbai", "eu-moscow",
                                                    "na-toronto"};
  return kRegions;
}

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool IsChineseCharacter(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF);
}

}  // namespace

bool IsKnownRegion(const std::string& region) {
  return Contains(PostgresRegions(), region) || Contains(OtherRegions(), region);
}

bool IsPostgresRegion(const std::string& region) { return Contains(PostgresRegions(), region); }

bool IsValidPeriod(uint64_t months) {
  return (months >= 1 && months <= 12) || months == 24 || months == 36;
}

long NameChars(const std::string& name) {
  long chars = 0;
  size_t i = 0;
  while (i < name.size()) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      if (!std::isalnum(c) && c != '_' && c != '-') return -1;
      ++i;
    } else {
      // Every Chinese character of the accepted blocks is a three-byte UTF-8 sequence.
      if ((c & 0xF0) != 0xE0 || i + 2 >= name.size()) return -1;
      const unsigned char c1 = static_cast<unsigned char>(name[i + 1]);
      const unsigned char c2 = static_cast<unsigned char>(name[i + 2]);
      if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80) return -1;
      const uint32_t cp = ((c & 0x0Fu) << 12) | ((c1 & 0x3Fu) << 6) | (c2 & 0x3Fu);
      if (!IsChineseCharacter(cp)) return -1;
      i += 3;
    }
    ++chars;
  }
  return chars;
}

}  // namespace reconciler::tencentcloud::emulator::rules
