#include "base/json_input.h"

#include <nlohmann/json.hpp>
#include <string>

namespace reconciler {

using nlohmann::json;

size_t JsonDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<json> ParseJsonInput(std::string_view text, size_t max_depth) {
  // nlohmann ends its input at a NUL byte and would accept `{}` followed by anything. JSON text
  // holds no raw NUL (a string spells it \u0000), so text with one is not JSON.
  if (text.find('\0') != std::string_view::npos) return Status(Code::kInvalidInput, "not valid JSON");
  if (size_t depth = JsonDepth(text); depth > max_depth) {
    return Status(Code::kInvalidInput, "JSON nested " + std::to_string(depth) + " levels deep; the limit is " +
                                           std::to_string(max_depth));
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(Code::kInvalidInput, "not valid JSON");
  return j;
}

namespace {

bool HoldsFractionAt(const json& j, size_t depth) {
  if (j.is_number_float()) return true;
  if (!j.is_structured()) return false;
  if (depth >= kMaxJsonDepth) return false;  // parsed input never gets here (ParseJsonInput)
  for (const json& item : j) {
    if (HoldsFractionAt(item, depth + 1)) return true;
  }
  return false;
}

}  // namespace

bool HoldsFraction(const json& j) { return HoldsFractionAt(j, 0); }

}  // namespace reconciler
