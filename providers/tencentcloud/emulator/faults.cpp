#include "providers/tencentcloud/emulator/faults.h"

#include <nlohmann/json.hpp>

namespace reconciler::tencentcloud::emulator {

namespace {

using nlohmann::json;

struct TypeName {
  FaultType type;
  const char* name;
};

constexpr TypeName kTypes[] = {
    {FaultType::kLatency, "latency"},
    {FaultType::kHttpError, "httpError"},
    {FaultType::kResetBeforeProcessing, "resetBeforeProcessing"},
    {FaultType::kDropAfterCommit, "dropAfterCommit"},
    {FaultType::kThrottle, "throttle"},
    {FaultType::kOrderNeverDelivered, "orderNeverDelivered"},
    {FaultType::kOrderShort, "orderShort"},
    {FaultType::kStuckIniting, "stuckIniting"},
};

const char* NameOf(FaultType type) {
  for (const TypeName& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "?";
}

Result<FaultRule> Parse(const json& j, const std::string& where) {
  if (!j.is_object()) return Status(Code::kInvalidInput, where + ": a fault rule is a JSON object");
  FaultRule rule;
  bool typed = false;
  for (const auto& [key, value] : j.items()) {
    auto need_int = [&](int64_t* out) -> bool {
      if (!value.is_number_integer()) return false;
      *out = value.get<int64_t>();
      return true;
    };
    if (key == "type") {
      for (const TypeName& t : kTypes) {
        if (value.is_string() && value == t.name) {
          rule.type = t.type;
          typed = true;
        }
      }
      if (!typed) return Status(Code::kInvalidInput, where + ".type: unknown fault type " + value.dump());
    } else if (key == "action") {
      if (!value.is_string()) return Status(Code::kInvalidInput, where + ".action: expected a string");
      rule.action = value;
    } else if (key == "times") {
      if (!need_int(&rule.remaining) || rule.remaining == 0 || rule.remaining < -1) {
        return Status(Code::kInvalidInput, where + ".times: expected a positive integer or -1 (forever)");
      }
    } else if (key == "ms") {
      if (!need_int(&rule.ms) || rule.ms < 0 || rule.ms > 600000) {
        return Status(Code::kInvalidInput, where + ".ms: expected 0..600000");
      }
    } else if (key == "status") {
      if (!need_int(&rule.status) || rule.status < 400 || rule.status > 599) {
        return Status(Code::kInvalidInput, where + ".status: expected an HTTP error status");
      }
    } else if (key == "missing") {
      if (!need_int(&rule.missing) || rule.missing < 1) {
        return Status(Code::kInvalidInput, where + ".missing: expected a positive integer");
      }
    } else {
      return Status(Code::kInvalidInput, where + "." + key + ": unknown field");
    }
  }
  if (!typed) return Status(Code::kInvalidInput, where + ".type: is required");
  return rule;
}

}  // namespace

Status Faults::Add(const json& rules) {
  std::vector<FaultRule> parsed;
  if (rules.is_array()) {
    for (size_t i = 0; i < rules.size(); ++i) {
      Result<FaultRule> r = Parse(rules[i], "faults[" + std::to_string(i) + "]");
      if (!r.ok()) return r.status();
      parsed.push_back(*r);
    }
  } else {
    Result<FaultRule> r = Parse(rules, "fault");
    if (!r.ok()) return r.status();
    parsed.push_back(*r);
  }
  std::lock_guard<std::mutex> lock(mu_);
  rules_.insert(rules_.end(), parsed.begin(), parsed.end());
  return Status::Ok();
}

void Faults::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

std::optional<FaultRule> Faults::Take(FaultType type, const std::string& action) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (it->type != type || (!it->action.empty() && it->action != action)) continue;
    FaultRule fired = *it;
    if (it->remaining > 0 && --it->remaining == 0) rules_.erase(it);
    return fired;
  }
  return std::nullopt;
}

json Faults::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  for (const FaultRule& r : rules_) {
    json j = {{"type", NameOf(r.type)}, {"times", r.remaining}};
    if (!r.action.empty()) j["action"] = r.action;
    if (r.type == FaultType::kLatency) j["ms"] = r.ms;
    if (r.type == FaultType::kHttpError) j["status"] = r.status;
    if (r.type == FaultType::kOrderShort) j["missing"] = r.missing;
    out.push_back(j);
  }
  return out;
}

}  // namespace reconciler::tencentcloud::emulator
