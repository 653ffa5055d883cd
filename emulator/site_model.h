#pragma once

// SiteModel: which request parameters each action takes on the emulated site, with their
// JSON types, and the checks that hold a request to it.
//
// The models come from the official SDKs (tools/sdk-conformance/models.json, compiled into
// the binary as SdkModelsJson()), so the emulator checks a client against what Tencent
// Cloud publishes rather than against the client's own beliefs. An action that a site's
// SDK does not describe (params null or absent, e.g. an action the SDK already dropped)
// falls back to the emulator's own list, taken from the API pages, and says so in its
// "from". Project decision: the two create actions also take "DryRun" (boolean) unless the
// world says dryRun: unsupported.
//
// Types are "string", "number", "boolean" or a struct name, each optionally followed by
// "[]". A struct's fields are checked recursively. Immutable after construction, so it is
// safe to share between threads.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "emulator/world.h"

namespace reconciler::tencentcloud::emulator {

// The models.json text compiled into the binary; "null" when the build had none.
std::string_view SdkModelsJson();

// A refused request: an API error code and its message.
struct ModelError {
  std::string code;  // UnknownParameter | InvalidParameter
  std::string message;
};

// One action the emulator serves, with its own parameter list (name -> type), used when
// the site's SDK model has none.
struct ServedAction {
  std::string service;
  std::string action;
  std::map<std::string, std::string> params;
};

class SiteModel {
 public:
  // `sdk_models` is the models.json document (null: none). `served` lists every action the
  // emulator serves; only those are in the effective model.
  SiteModel(Site site, DryRunSupport dry_run, const nlohmann::json& sdk_models,
            const std::vector<ServedAction>& served);

  // Checks every parameter of `params` (a JSON object) against the model of `action`:
  // UnknownParameter for a name the model lacks (also inside structs), InvalidParameter for
  // a value of the wrong JSON type, naming the path (e.g. `Filters.0.Values`) and the type
  // expected. REQUIRES: the action is served.
  std::optional<ModelError> Check(const std::string& service, const std::string& action,
                                  const nlohmann::json& params) const;

  // Builds the JSON parameters of a GET request from its decoded query pairs, whose names
  // are flattened as Name.N and Name.N.Field. Values are converted by the model's types
  // (numbers, booleans in any letter case); common parameters (Action, Version, ...) that a
  // client may repeat in the query are dropped. REQUIRES: the action is served.
  std::variant<nlohmann::json, ModelError> FromForm(
      const std::string& service, const std::string& action,
      const std::vector<std::pair<std::string, std::string>>& pairs) const;

  // {"site","dryRun","actions":{service:{action:{"from","params"}}},"structs":{name:{field:type}}}
  nlohmann::json ToJson() const;

 private:
  struct ActionModel {
    std::string from;
    std::map<std::string, std::string> params;
  };
  using Struct = std::map<std::string, std::string>;

  const ActionModel& Find(const std::string& service, const std::string& action) const;
  const Struct* FindStruct(const std::string& service, const std::string& name) const;
  std::optional<ModelError> CheckValue(const std::string& service, const std::string& type,
                                       const nlohmann::json& v, const std::string& path) const;
  struct FormNode;
  std::variant<nlohmann::json, ModelError> Convert(const std::string& service,
                                                   const std::string& type, const FormNode& node,
                                                   const std::string& path) const;

  Site site_;
  DryRunSupport dry_run_;
  std::map<std::string, std::map<std::string, ActionModel>> actions_;  // service -> action -> model
  std::map<std::string, Struct> structs_;                              // "Tag" or "service.Tag"
};

}  // namespace reconciler::tencentcloud::emulator
