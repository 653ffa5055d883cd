#include "emulator/site_model.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace reconciler::tencentcloud::emulator {

using nlohmann::json;

namespace {

constexpr const char* kEmulatorSource = "emulator: the API pages (no SDK model at this site)";

// Project decision (tencent-api.md, "Decisions"): the seed documents a validation mode for
// the creates, so these two take DryRun unless the world turns it off.
bool TakesDryRun(const std::string& action) {
  return action == "CreateReadOnlyDBInstance" || action == "CreateServerlessDBInstance";
}

// The structs the emulator's own parameter lists use, from the API pages; an SDK model's
// definitions take precedence.
const std::map<std::string, std::map<std::string, std::string>>& OwnStructs() {
  static const std::map<std::string, std::map<std::string, std::string>> kStructs = {
      {"Tag", {{"TagKey", "string"}, {"TagValue", "string"}}},
      {"Filter", {{"Name", "string"}, {"Values", "string[]"}}},
      {"TagKeyObject", {{"TagKey", "string"}}},
  };
  return kStructs;
}

bool IsArray(const std::string& type) {
  return type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0;
}
std::string ElementOf(const std::string& type) { return type.substr(0, type.size() - 2); }
bool IsScalar(const std::string& type) {
  return type == "string" || type == "number" || type == "boolean";
}

std::string TypeWord(const std::string& type) {
  if (IsArray(type)) return "Array of " + TypeWord(ElementOf(type));
  if (type == "string") return "String";
  if (type == "number") return "Number";
  if (type == "boolean") return "Boolean";
  return type;
}

const char* KindOf(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "String";
    case json::value_t::boolean:
      return "Boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "Number";
    case json::value_t::object:
      return "Object";
    case json::value_t::array:
      return "Array";
    default:
      return "null";
  }
}

ModelError Unknown(const std::string& path) {
  return {"UnknownParameter", "The parameter `" + path + "` is not recognized."};
}

ModelError WrongType(const std::string& path, const std::string& type, const std::string& got) {
  return {"InvalidParameter", "The value type of parameter `" + path + "` should be " +
                                  TypeWord(type) + ", got " + got + "."};
}

// Parameters every API 3.0 request has; clients put them in headers, some repeat them in a
// GET query.
bool IsCommonParameter(const std::string& name) {
  static const std::set<std::string> kCommon = {
      "Action", "Version",  "Region",    "Timestamp",       "Nonce",        "SecretId",
      "Token",  "Language", "Signature", "SignatureMethod", "RequestClient"};
  return kCommon.count(name) > 0;
}

std::map<std::string, std::string> TypeMap(const json& object) {
  std::map<std::string, std::string> out;
  for (const auto& [name, type] : object.items()) {
    if (type.is_string()) out[name] = type.get<std::string>();
  }
  return out;
}

std::optional<json> ParseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const bool integral = text.find_first_not_of("-0123456789") == std::string::npos;
  if (integral && text[0] == '-') {
    long long v = std::strtoll(begin, &end, 10);
    if (*end == '\0' && errno == 0) return json(static_cast<int64_t>(v));
  } else if (integral) {
    unsigned long long v = std::strtoull(begin, &end, 10);
    if (*end == '\0' && errno == 0) return json(static_cast<uint64_t>(v));
  }
  errno = 0;
  double d = std::strtod(begin, &end);
  if (*end != '\0' || errno != 0 || !std::isfinite(d)) return std::nullopt;
  return json(d);
}

}  // namespace

// A GET query rebuilt as a tree: "Filters.0.Name=x" is children Filters -> 0 -> Name.
struct SiteModel::FormNode {
  std::optional<std::string> value;
  std::map<std::string, FormNode> children;
};

SiteModel::SiteModel(Site site, DryRunSupport dry_run, const json& sdk_models,
                     const std::vector<ServedAction>& served)
    : site_(site), dry_run_(dry_run) {
  const std::string site_name = SiteName(site);
  const json* site_doc = nullptr;
  if (sdk_models.is_object() && sdk_models.contains("sites") &&
      sdk_models["sites"].contains(site_name)) {
    site_doc = &sdk_models["sites"][site_name];
  }
  for (const ServedAction& a : served) {
    ActionModel model{kEmulatorSource, a.params};
    if (site_doc && site_doc->contains(a.service) && (*site_doc)[a.service].contains(a.action)) {
      const json& entry = (*site_doc)[a.service][a.action];
      if (entry.is_object() && entry.contains("params") && entry["params"].is_object()) {
        model.from = entry.value("from", std::string("the SDK model"));
        model.params = TypeMap(entry["params"]);
      }
    }
    if (dry_run == DryRunSupport::kSupported && TakesDryRun(a.action))
      model.params["DryRun"] = "boolean";
    actions_[a.service][a.action] = std::move(model);
  }
  if (sdk_models.is_object() && sdk_models.contains("structs") &&
      sdk_models["structs"].contains(site_name)) {
    for (const auto& [name, fields] : sdk_models["structs"][site_name].items()) {
      if (fields.is_object()) structs_[name] = TypeMap(fields);
    }
  }
  for (const auto& [name, fields] : OwnStructs()) structs_.emplace(name, fields);
}

const SiteModel::ActionModel& SiteModel::Find(const std::string& service,
                                              const std::string& action) const {
  return actions_.at(service).at(action);
}

const SiteModel::Struct* SiteModel::FindStruct(const std::string& service,
                                               const std::string& name) const {
  auto it = structs_.find(service + "." + name);
  if (it == structs_.end()) it = structs_.find(name);
  return it == structs_.end() ? nullptr : &it->second;
}

std::optional<ModelError> SiteModel::Check(const std::string& service, const std::string& action,
                                           const json& params) const {
  const ActionModel& model = Find(service, action);
  for (const auto& [name, value] : params.items()) {
    auto it = model.params.find(name);
    if (it == model.params.end()) return Unknown(name);
    if (auto bad = CheckValue(service, it->second, value, name)) return bad;
  }
  return std::nullopt;
}

std::optional<ModelError> SiteModel::CheckValue(const std::string& service, const std::string& type,
                                                const json& v, const std::string& path) const {
  if (IsArray(type)) {
    if (!v.is_array()) return WrongType(path, type, KindOf(v));
    for (size_t i = 0; i < v.size(); ++i) {
      if (auto bad = CheckValue(service, ElementOf(type), v[i], path + "." + std::to_string(i)))
        return bad;
    }
    return std::nullopt;
  }
  if (type == "string")
    return v.is_string() ? std::nullopt : std::optional(WrongType(path, type, KindOf(v)));
  if (type == "number")
    return v.is_number() ? std::nullopt : std::optional(WrongType(path, type, KindOf(v)));
  if (type == "boolean")
    return v.is_boolean() ? std::nullopt : std::optional(WrongType(path, type, KindOf(v)));
  if (!v.is_object()) return WrongType(path, type, KindOf(v));
  const Struct* fields = FindStruct(service, type);
  if (!fields) return std::nullopt;  // a struct no model defines: any object
  for (const auto& [name, value] : v.items()) {
    auto it = fields->find(name);
    if (it == fields->end()) return Unknown(path + "." + name);
    if (auto bad = CheckValue(service, it->second, value, path + "." + name)) return bad;
  }
  return std::nullopt;
}

std::variant<json, ModelError> SiteModel::FromForm(
    const std::string& service, const std::string& action,
    const std::vector<std::pair<std::string, std::string>>& pairs) const {
  FormNode root;
  for (const auto& [key, value] : pairs) {
    FormNode* node = &root;
    size_t start = 0;
    for (;;) {
      const size_t dot = key.find('.', start);
      node = &node->children[key.substr(
          start, dot == std::string::npos ? std::string::npos : dot - start)];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (node->value)
      return ModelError{"InvalidParameter", "The parameter `" + key + "` is given twice."};
    node->value = value;
  }
  const ActionModel& model = Find(service, action);
  json params = json::object();
  for (const auto& [name, node] : root.children) {
    if (IsCommonParameter(name)) continue;
    auto it = model.params.find(name);
    if (it == model.params.end()) return Unknown(name);
    auto converted = Convert(service, it->second, node, name);
    if (auto* bad = std::get_if<ModelError>(&converted)) return *bad;
    params[name] = std::move(std::get<json>(converted));
  }
  return params;
}

std::variant<json, ModelError> SiteModel::Convert(const std::string& service,
                                                  const std::string& type, const FormNode& node,
                                                  const std::string& path) const {
  if (IsScalar(type)) {
    if (!node.value || !node.children.empty()) return WrongType(path, type, "Object");
    const std::string& text = *node.value;
    if (type == "string") return json(text);
    if (type == "number") {
      if (std::optional<json> n = ParseNumber(text)) return *n;
      return WrongType(path, type, "`" + text + "`");
    }
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower == "true" || lower == "false") return json(lower == "true");
    return WrongType(path, type, "`" + text + "`");
  }
  if (node.value) return WrongType(path, type, "`" + *node.value + "`");
  if (IsArray(type)) {
    std::map<uint64_t, const FormNode*> items;
    for (const auto& [index, child] : node.children) {
      if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos ||
          index.size() > 9) {
        return ModelError{"InvalidParameter",
                          "The parameter `" + path + "." + index + "` needs a numeric index."};
      }
      items[std::stoull(index)] = &child;
    }
    json out = json::array();
    for (const auto& [index, child] : items) {
      auto converted =
          Convert(service, ElementOf(type), *child, path + "." + std::to_string(index));
      if (auto* bad = std::get_if<ModelError>(&converted)) return *bad;
      out.push_back(std::move(std::get<json>(converted)));
    }
    return out;
  }
  const Struct* fields = FindStruct(service, type);
  json out = json::object();
  for (const auto& [name, child] : node.children) {
    std::string field_type = "string";
    if (fields) {
      auto it = fields->find(name);
      if (it == fields->end()) return Unknown(path + "." + name);
      field_type = it->second;
    }
    auto converted = Convert(service, field_type, child, path + "." + name);
    if (auto* bad = std::get_if<ModelError>(&converted)) return *bad;
    out[name] = std::move(std::get<json>(converted));
  }
  return out;
}

json SiteModel::ToJson() const {
  json out = {{"site", SiteName(site_)},
              {"dryRun", dry_run_ == DryRunSupport::kSupported ? "supported" : "unsupported"}};
  json& actions = out["actions"] = json::object();
  std::set<std::string> used;
  std::vector<std::pair<std::string, std::string>> pending;  // (service, type)
  for (const auto& [service, list] : actions_) {
    for (const auto& [action, model] : list) {
      actions[service][action] = {{"from", model.from}, {"params", model.params}};
      for (const auto& [name, type] : model.params) pending.emplace_back(service, type);
    }
  }
  json& structs = out["structs"] = json::object();
  while (!pending.empty()) {
    auto [service, type] = pending.back();
    pending.pop_back();
    while (IsArray(type)) type = ElementOf(type);
    if (IsScalar(type)) continue;
    const Struct* fields = FindStruct(service, type);
    const std::string key = structs_.count(service + "." + type) ? service + "." + type : type;
    if (!fields || !used.insert(key).second) continue;
    structs[key] = *fields;
    for (const auto& [name, field_type] : *fields) pending.emplace_back(service, field_type);
  }
  return out;
}

}  // namespace reconciler::tencentcloud::emulator
