#include "specs/rules.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace reconciler::specs {

const std::vector<std::string>& SupportedRegions() {
  static const std::vector<std::string> kRegions = {
      "ap-bangkok",  "ap-beijing",  "ap-chengdu",      "ap-chongqing",    "ap-guangzhou", "ap-hongkong",
      "ap-jakarta",  "ap-nanjing",  "ap-seoul",        "ap-shanghai",     "ap-shanghai-fsi", "ap-shenzhen-fsi",
      "ap-singapore", "ap-tokyo",   "eu-frankfurt",    "na-ashburn",      "na-siliconvalley", "sa-saopaulo"};
  return kRegions;
}

bool IsSupportedRegion(const std::string& region) {
  const auto& all = SupportedRegions();
  return std::find(all.begin(), all.end(), region) != all.end();
}

bool ZoneInRegion(const std::string& zone, const std::string& region) {
  if (zone.size() <= region.size() + 1 || zone.compare(0, region.size(), region) != 0 || zone[region.size()] != '-') {
    return false;
  }
  return std::all_of(zone.begin() + static_cast<long>(region.size()) + 1, zone.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

const std::vector<std::string>& ServerlessZones() {
  static const std::vector<std::string> kZones = {"ap-shanghai-2", "ap-beijing-1", "ap-guangzhou-2"};
  return kZones;
}

bool IdHasForm(const std::string& id, const std::string& prefix) {
  if (id.size() <= prefix.size() || id.size() > prefix.size() + 32 || id.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  return std::all_of(id.begin() + static_cast<long>(prefix.size()), id.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c));
  });
}

long CloudNameChars(const std::string& name) {
  long chars = 0;
  for (size_t i = 0; i < name.size(); ++chars) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      if (!std::isalnum(c) && c != '_' && c != '-') return -1;
      ++i;
      continue;
    }
    // A three-byte UTF-8 sequence in the CJK blocks U+3400..U+9FFF.
    if ((c & 0xF0) != 0xE0 || i + 2 >= name.size() || (name[i + 1] & 0xC0) != 0x80 || (name[i + 2] & 0xC0) != 0x80) {
      return -1;
    }
    uint32_t cp = ((c & 0x0Fu) << 12) | ((name[i + 1] & 0x3Fu) << 6) | (name[i + 2] & 0x3Fu);
    if (cp < 0x3400 || cp > 0x9FFF) return -1;
    i += 3;
  }
  return chars;
}

std::string CheckCloudName(const std::string& name) {
  long chars = CloudNameChars(name);
  if (chars < 0) return "may hold only Chinese characters, letters, digits, '_' and '-'";
  if (chars == 0) return "must not be empty";
  if (chars >= 60) return "must be shorter than 60 characters, got " + std::to_string(chars);
  return "";
}

std::string CheckLabel(const std::string& name) {
  if (name.empty() || name.size() > 63) return "must be 1 to 63 characters";
  for (char c : name) {
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
      return "may hold only lower-case letters, digits and '-'";
    }
  }
  if (name.front() == '-' || name.back() == '-') return "must start and end with a letter or digit";
  return "";
}

std::string CheckTag(const std::string& key, const std::string& value) {
  if (key.empty() || key.size() > 127) return "tag keys must be 1 to 127 bytes";
  if (value.size() > 255) return "tag values must be at most 255 bytes";
  if (key.rfind("qcloud:", 0) == 0) return "tag keys starting with \"qcloud:\" are reserved by Tencent Cloud";
  if (key.rfind("reconciler/", 0) == 0) return "tag keys starting with \"reconciler/\" are set by the reconciler";
  return "";
}

bool ValidPeriodMonths(uint64_t months) { return (months >= 1 && months <= 12) || months == 24 || months == 36; }

namespace {

size_t Distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  // A word that starts a candidate ("POSTPAID" for "POSTPAID_BY_HOUR") is a hint too.
  if (word.size() >= 4) {
    for (const std::string& c : candidates) {
      if (c.size() > word.size() && lower(c).rfind(lower(word), 0) == 0) return c;
    }
  }
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    size_t d = Distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace reconciler::specs
