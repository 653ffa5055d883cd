#pragma once

// Value rules from the API pages (the seeds and tencent-api.md), shared by the spec loader,
// the JSON Schema and the commands that take IDs on the command line. Each Check*
// function returns an empty string when the value is fine, else the reason it is not.

#include <string>
#include <vector>

namespace reconciler::specs {

// The regions CreateReadOnlyDBInstance supports, from the seed page.
const std::vector<std::string>& SupportedRegions();
bool IsSupportedRegion(const std::string& region);
// "ap-beijing-4" belongs to "ap-beijing": the region, a dash, and a zone number.
bool ZoneInRegion(const std::string& zone, const std::string& region);
// The three zones serverless was offered in during its beta.
const std::vector<std::string>& ServerlessZones();

// IDs: prefix, then lower-case letters and digits (e.g. postgres-abcdef, pgrogrp-1a2b3c4d).
bool IdHasForm(const std::string& id, const std::string& prefix);

// An instance or group name: Chinese characters, letters, digits, '_' and '-', fewer than
// 60 characters. CloudNameChars counts the characters, or returns -1 at the first one
// outside that set; the emulator uses it too, to tell its two error codes apart.
long CloudNameChars(const std::string& name);
std::string CheckCloudName(const std::string& name);
// metadata.name and the stack name: a DNS label (lower-case letters, digits, '-'; 1-63).
std::string CheckLabel(const std::string& name);
// A user tag: key 1-127 bytes, value at most 255, no reserved prefix (qcloud:, reconciler/).
std::string CheckTag(const std::string& key, const std::string& value);
inline constexpr int kMaxUserTags = 47;  // 50 per resource, less the three the reconciler sets

bool ValidPeriodMonths(uint64_t months);

// The closest of `candidates` to `word` when it is close enough to be a typo, else "".
std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace reconciler::specs
