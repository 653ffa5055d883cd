#include "emulator/faults.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
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
    {FaultType::kThrottle, "throttle"},
    {FaultType::kClockSkew, "clockSkew"},
    {FaultType::kTokenExpiry, "tokenExpiry"},
    {FaultType::kDropAfterCommit, "dropAfterCommit"},
    {FaultType::kErrorAfterCommit, "errorAfterCommit"},
    {FaultType::kLateAnswer, "lateAnswer"},
    {FaultType::kMalformedAnswer, "malformedAnswer"},
    {FaultType::kListingLag, "listingLag"},
    {FaultType::kOrderNeverDelivered, "orderNeverDelivered"},
    {FaultType::kOrderShort, "orderShort"},
    {FaultType::kOrderFailed, "orderFailed"},
    {FaultType::kOrderRefunded, "orderRefunded"},
    {FaultType::kOrderOverDelivered, "orderOverDelivered"},
    {FaultType::kStuck, "stuck"},
};

// Every DBInstanceStatus the API documents (tencent-api.md, section 4), spaces included.
const std::vector<std::string>& InstanceStatuses() {
  static const std::vector<std::string> kStatuses = {
      "applying",  "init",       "initing",           "running",      "limited run",       "isolating",
      "isolated",  "disisolating", "recycling",       "recycled",     "job running",       "offline",
      "migrating", "expanding",  "waitSwitch",        "switching",    "readonly",          "restarting",
      "network changing", "upgrading", "audit-switching", "primary-switching", "offlining",
      "deployment changing", "cloning", "parameter modifying", "log-switching", "restoring"};
  return kStatuses;
}

const char* NameOf(FaultType type) {
  for (const TypeName& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "?";
}

const char* ScopeName(FaultScope scope) {
  switch (scope) {
    case FaultScope::kAny: return "any";
    case FaultScope::kDryRun: return "dryRun";
    case FaultScope::kReal: return "real";
  }
  return "?";
}

const char* LagModeName(LagMode mode) { return mode == LagMode::kAbsent ? "absent" : "untagged"; }

const char* MalformationName(Malformation m) {
  switch (m) {
    case Malformation::kWrongTypes: return "wrongTypes";
    case Malformation::kTruncated: return "truncated";
    case Malformation::kMissingSet: return "missingSet";
  }
  return "?";
}

Status Bad(const std::string& where, const std::string& key, const std::string& what) {
  return Status(Code::kInvalidInput, where + "." + key + ": " + what);
}

// The type-dependent fields: "status" and "mode".
Status ParseStatus(const json& value, const std::string& where, FaultRule* rule) {
  if (rule->type == FaultType::kStuck) {
    const auto& all = InstanceStatuses();
    if (!value.is_string() || std::find(all.begin(), all.end(), value.get<std::string>()) == all.end()) {
      return Bad(where, "status", "expected a DBInstanceStatus such as \"initing\", got " + value.dump());
    }
    rule->instance_status = value;
    return Status::Ok();
  }
  // After a commit, any error status but 429: something between the client and the cloud
  // (a proxy, a gateway) passed the request on and answered with its own status. A 429 is a
  // throttle, which says the request went nowhere; it belongs to httpError.
  const bool after_commit = rule->type == FaultType::kErrorAfterCommit;
  if (!value.is_number_integer() || value.get<int64_t>() < 400 || value.get<int64_t>() > 599 ||
      (after_commit && value.get<int64_t>() == 429)) {
    return Bad(where, "status",
               after_commit ? "expected an HTTP 4xx or 5xx status other than 429" : "expected an HTTP error status");
  }
  rule->status = value.get<int64_t>();
  return Status::Ok();
}

Status ParseMode(const json& value, const std::string& where, FaultRule* rule) {
  const std::string mode = value.is_string() ? value.get<std::string>() : std::string();
  if (rule->type == FaultType::kListingLag) {
    if (mode == "absent") rule->lag_mode = LagMode::kAbsent;
    else if (mode == "untagged") rule->lag_mode = LagMode::kUntagged;
    else return Bad(where, "mode", "expected \"absent\" or \"untagged\", got " + value.dump());
    return Status::Ok();
  }
  if (mode == "wrongTypes") rule->malformation = Malformation::kWrongTypes;
  else if (mode == "truncated") rule->malformation = Malformation::kTruncated;
  else if (mode == "missingSet") rule->malformation = Malformation::kMissingSet;
  else return Bad(where, "mode", "expected \"wrongTypes\", \"truncated\" or \"missingSet\", got " + value.dump());
  return Status::Ok();
}

Status ParseField(const std::string& key, const json& value, const std::string& where, FaultRule* rule) {
  auto integer = [&](int64_t* out, int64_t low, int64_t high, const char* what) -> Status {
    if (!value.is_number_integer() || value.get<int64_t>() < low || value.get<int64_t>() > high) {
      return Bad(where, key, what);
    }
    *out = value.get<int64_t>();
    return Status::Ok();
  };
  if (key == "action") {
    if (!value.is_string()) return Bad(where, key, "expected a string");
    rule->action = value;
  } else if (key == "scope") {
    if (value == "any") rule->scope = FaultScope::kAny;
    else if (value == "dryRun") rule->scope = FaultScope::kDryRun;
    else if (value == "real") rule->scope = FaultScope::kReal;
    else return Bad(where, key, "expected \"dryRun\", \"real\" or \"any\", got " + value.dump());
  } else if (key == "times") {
    if (!value.is_number_integer() || value.get<int64_t>() == 0 || value.get<int64_t>() < -1) {
      return Bad(where, key, "expected a positive integer or -1 (forever)");
    }
    rule->remaining = value.get<int64_t>();
  } else if (key == "after") {
    return integer(&rule->after, 0, INT64_MAX, "expected a non-negative integer");
  } else if (key == "ms") {
    return integer(&rule->ms, 0, 600000, "expected 0..600000");
  } else if (key == "missing") {
    return integer(&rule->missing, 1, INT64_MAX, "expected a positive integer");
  } else if (key == "extra") {
    return integer(&rule->extra, 1, 100, "expected 1..100");
  } else if (key == "seconds") {
    if (!value.is_number() || std::abs(value.get<double>()) > 10 * 365 * 86400.0) {
      return Bad(where, key, "expected a number of seconds");
    }
    rule->seconds = value.get<double>();
  } else if (key == "status") {
    return ParseStatus(value, where, rule);
  } else if (key == "mode") {
    return ParseMode(value, where, rule);
  } else {
    return Bad(where, key, "unknown field");
  }
  return Status::Ok();
}

// What a type needs beyond its defaults.
Status CheckRequired(const json& j, const std::string& where, const FaultRule& rule) {
  switch (rule.type) {
    case FaultType::kLateAnswer:
      if (rule.ms <= 0) return Bad(where, "ms", "is required and must be positive for lateAnswer");
      break;
    case FaultType::kListingLag:
      if (rule.seconds <= 0) return Bad(where, "seconds", "is required and must be positive for listingLag");
      break;
    case FaultType::kClockSkew:
      if (!j.contains("seconds")) return Bad(where, "seconds", "is required for clockSkew");
      break;
    case FaultType::kMalformedAnswer:
      if (!j.contains("mode")) return Bad(where, "mode", "is required for malformedAnswer");
      break;
    case FaultType::kStuck:
      if (rule.instance_status.empty()) return Bad(where, "status", "is required for stuck");
      break;
    default:
      break;
  }
  return Status::Ok();
}

Result<FaultRule> Parse(const json& j, const std::string& where) {
  if (!j.is_object()) return Status(Code::kInvalidInput, where + ": a fault rule is a JSON object");
  FaultRule rule;
  // The type first: what "status" and "mode" mean depends on it.
  auto type = j.find("type");
  if (type == j.end()) return Status(Code::kInvalidInput, where + ".type: is required");
  bool typed = false;
  for (const TypeName& t : kTypes) {
    if (type->is_string() && *type == t.name) {
      rule.type = t.type;
      typed = true;
    }
  }
  if (type->is_string() && *type == "stuckIniting") {  // the older name of stuck/initing
    rule.type = FaultType::kStuck;
    rule.instance_status = "initing";
    typed = true;
  }
  if (!typed) return Status(Code::kInvalidInput, where + ".type: unknown fault type " + type->dump());
  for (const auto& [key, value] : j.items()) {
    if (key == "type") continue;
    Status field = ParseField(key, value, where, &rule);
    if (!field.ok()) return field;
  }
  Status required = CheckRequired(j, where, rule);
  if (!required.ok()) return required;
  return rule;
}

bool ScopeMatches(FaultScope scope, CallKind kind) {
  switch (scope) {
    case FaultScope::kAny: return true;
    case FaultScope::kDryRun: return kind == CallKind::kDryRun;
    case FaultScope::kReal: return kind == CallKind::kReal;
  }
  return false;
}

json RuleJson(const FaultRule& r) {
  json j = {{"type", NameOf(r.type)}, {"times", r.remaining}};
  if (!r.action.empty()) j["action"] = r.action;
  if (r.scope != FaultScope::kAny) j["scope"] = ScopeName(r.scope);
  if (r.after > 0) j["after"] = r.after;
  switch (r.type) {
    case FaultType::kLatency:
    case FaultType::kLateAnswer: j["ms"] = r.ms; break;
    case FaultType::kHttpError:
    case FaultType::kErrorAfterCommit: j["status"] = r.status; break;
    case FaultType::kOrderShort: j["missing"] = r.missing; break;
    case FaultType::kOrderOverDelivered: j["extra"] = r.extra; break;
    case FaultType::kClockSkew: j["seconds"] = r.seconds; break;
    case FaultType::kListingLag:
      j["seconds"] = r.seconds;
      j["mode"] = LagModeName(r.lag_mode);
      break;
    case FaultType::kMalformedAnswer: j["mode"] = MalformationName(r.malformation); break;
    case FaultType::kStuck: j["status"] = r.instance_status; break;
    default: break;
  }
  return j;
}

// Every leaf of `v` with the wrong JSON type: numbers and booleans become strings, strings
// become numbers (their length), arrays become objects keyed by index.
json WrongTypes(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, x] : v.items()) out[k] = WrongTypes(x);
    return out;
  }
  if (v.is_array()) {
    json out = json::object();
    for (size_t i = 0; i < v.size(); ++i) out[std::to_string(i)] = WrongTypes(v[i]);
    return out;
  }
  if (v.is_string()) return v.get<std::string>().size();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return v;
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    rules_.clear();
    ++generation_;
  }
  // Answers held by cleared rules go out now, so a reset frees the workers they hold.
  wake_.notify_all();
}

bool Faults::empty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rules_.empty();
}

std::optional<FaultRule> Faults::Take(FaultType type, const std::string& action, CallKind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (it->type != type || (!it->action.empty() && it->action != action) || !ScopeMatches(it->scope, kind)) continue;
    if (it->after > 0) {
      --it->after;
      continue;
    }
    FaultRule fired = *it;
    if (it->remaining > 0 && --it->remaining == 0) rules_.erase(it);
    return fired;
  }
  return std::nullopt;
}

json Faults::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  for (const FaultRule& r : rules_) out.push_back(RuleJson(r));
  return out;
}

std::optional<FaultRefusal> Faults::CheckCredentials(const std::string& action, CallKind kind,
                                                     const std::string& timestamp, bool has_token, double wall) {
  if (auto skew = Take(FaultType::kClockSkew, action, kind)) {
    char* end = nullptr;
    const long long ts = std::strtoll(timestamp.c_str(), &end, 10);
    const double now = wall + skew->seconds;
    // The same 5 minutes the signature check allows; a malformed timestamp is left to it.
    if (!timestamp.empty() && *end == '\0' && std::abs(now - static_cast<double>(ts)) > 300) {
      return FaultRefusal{"AuthFailure.SignatureExpire",
                          "Signature expired: X-TC-Timestamp " + timestamp +
                              " is more than 5 minutes from the server time " +
                              std::to_string(static_cast<long long>(now)) + "."};
    }
  }
  if (has_token && Take(FaultType::kTokenExpiry, action, kind)) {
    return FaultRefusal{"AuthFailure.TokenFailure",
                        "The X-TC-Token has expired; request new temporary credentials."};
  }
  return std::nullopt;
}

void Faults::Delay(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t generation = generation_;
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return interrupted_ || generation_ != generation; });
}

void Faults::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
  }
  wake_.notify_all();
}

CallKind CallKindOfQuery(const std::string& dry_run) {
  return dry_run == "true" || dry_run == "True" ? CallKind::kDryRun : CallKind::kReal;
}

CallKind CallKindOf(const std::string& body) {
  json params = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!params.is_object()) return CallKind::kReal;
  auto dry = params.find("DryRun");
  return dry != params.end() && dry->is_boolean() && dry->get<bool>() ? CallKind::kDryRun : CallKind::kReal;
}

std::string MalformAnswer(Malformation how, const std::string& envelope) {
  if (how == Malformation::kTruncated) return envelope.substr(0, envelope.size() / 2);
  json doc = json::parse(envelope, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("Response") || !doc["Response"].is_object()) return envelope;
  json& response = doc["Response"];
  if (how == Malformation::kMissingSet) {
    for (auto it = response.begin(); it != response.end();) {
      it = it->is_array() ? response.erase(it) : std::next(it);
    }
    return doc.dump();
  }
  // The RequestId stays readable: it is the envelope's, not the answer's.
  json request_id = response.value("RequestId", json());
  response = WrongTypes(response);
  if (!request_id.is_null()) response["RequestId"] = request_id;
  return doc.dump();
}

void StickInStatus(const std::string& status, Instance* inst) {
  auto at = std::find_if(inst->phases.begin(), inst->phases.end(), [&](const Phase& p) { return p.status == status; });
  if (at != inst->phases.end()) {
    inst->phases.erase(at, inst->phases.end());
  } else if (inst->final_status != status) {
    inst->phases.clear();
  }
  inst->final_status = status;
  // A spec change that never completes never applies.
  if (status != "running") inst->pending_spec.reset();
}

bool LagsBehind(const FaultRule& rule, double created_at, double now) { return now - created_at < rule.seconds; }

}  // namespace reconciler::tencentcloud::emulator
