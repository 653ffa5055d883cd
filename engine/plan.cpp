#include "engine/plan.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "base/json_input.h"
#include "engine/requests.h"

namespace reconciler {

using nlohmann::json;

namespace {

// A value of a plan file in a message: bounded, and never throwing on bad UTF-8.
std::string Shown(const json& j) {
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 4096 ? text.substr(0, 4096) + "..." : text;
}

}  // namespace

const char* ActionName(Action a) {
  switch (a) {
    case Action::kCreate: return "create";
    case Action::kUpdate: return "update";
    case Action::kReplace: return "replace";
    case Action::kDelete: return "delete";
    case Action::kOrphan: return "orphan";
    case Action::kAdopt: return "adopt";
    case Action::kRestore: return "restore";
    case Action::kResume: return "resume";
  }
  return "?";
}

const char* ActionSymbol(Action a) {
  switch (a) {
    case Action::kCreate: return "+";
    case Action::kUpdate: return "~";
    case Action::kReplace: return "-/+";
    case Action::kDelete: return "-";
    case Action::kOrphan: return "-";
    case Action::kAdopt: return "<=";
    case Action::kRestore: return "~";
    case Action::kResume: return "~";
  }
  return "?";
}

const char* PreflightStateName(PreflightState s) {
  switch (s) {
    case PreflightState::kNotNeeded: return "not-needed";
    case PreflightState::kPassed: return "passed";
    case PreflightState::kFallback: return "passed-read-only-checks";
    case PreflightState::kFailed: return "failed";
  }
  return "?";
}

bool UpdateCalls::empty() const {
  return !name && !deletion_protection && !spec && !security_groups && !group && !group_config && tags_set.empty() &&
         tags_remove.empty();
}

bool Plan::HasHeldFailures() const {
  return std::any_of(failures.begin(), failures.end(), [](const Failure& f) { return !f.retrying; });
}

bool Plan::HasErrors() const {
  for (const Change& c : changes) {
    if (c.blocked || c.preflight.state == PreflightState::kFailed) return true;
  }
  return false;
}

PlanSummary Plan::Summary() const {
  PlanSummary s;
  for (const Change& c : changes) {
    switch (c.action) {
      case Action::kCreate: ++s.create; break;
      case Action::kUpdate: ++s.update; break;
      case Action::kReplace: ++s.create, ++s.destroy; break;
      case Action::kDelete: ++s.destroy; break;
      case Action::kOrphan: ++s.orphan; break;
      case Action::kAdopt: ++s.adopt; break;
      case Action::kRestore: ++s.restore; break;
      case Action::kResume: ++s.resume; break;
    }
    if (c.cost) {
      for (const auto& [key, cents] : *c.cost) s.cost[key] += cents;
    } else if (c.action == Action::kCreate || c.action == Action::kReplace || c.action == Action::kDelete) s.price_complete = false;
  }
  return s;
}

std::string CostKey(const std::string& currency, const std::string& unit) {
  return (currency.empty() ? std::string("CNY") : currency) + "/" + unit;
}

std::string FormatCost(const std::map<std::string, int64_t>& cost) {
  std::string out;
  if (cost.empty()) return out.append("+").append(FormatYuan(0));
  for (const auto& [key, cents] : cost) {
    const size_t slash = key.find('/');
    const std::string currency = key.substr(0, slash);
    const std::string unit = slash == std::string::npos ? "" : key.substr(slash);
    std::string amount = FormatYuan(cents);  // "¥1.00" or "-¥1.00"
    if (currency != "CNY") amount.replace(amount.find("\xc2\xa5"), 2, currency + " ");
    out += (out.empty() ? "" : ", ") + std::string(cents >= 0 ? "+" : "") + amount + unit;
  }
  return out;
}

std::string FormatYuan(int64_t cents) {
  bool negative = cents < 0;
  uint64_t abs = static_cast<uint64_t>(negative ? -cents : cents);
  const std::string digits = std::to_string(abs / 100);
  std::string whole;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) whole.push_back(',');
    whole.push_back(digits[i]);
  }
  char frac[4];
  std::snprintf(frac, sizeof frac, "%02u", static_cast<unsigned>(abs % 100));
  std::string out = negative ? "-" : "";
  out.append("\xc2\xa5").append(whole).append(".").append(frac);
  return out;
}

json ReplicaRequestJson(const cloud::ReplicaRequest& q) {
  json j = {{"region", q.region}, {"zone", q.zone}, {"masterInstanceId", q.master_id}, {"specCode", q.spec_code},
            {"storageGB", q.storage_gb}, {"periodMonths", q.period_months}, {"vpcId", q.vpc_id},
            {"subnetId", q.subnet_id}, {"prepaid", q.prepaid}, {"autoVoucher", q.auto_voucher},
            {"voucherIds", q.voucher_ids}, {"autoRenew", q.auto_renew}, {"projectId", q.project_id},
            {"readOnlyGroupId", q.group_id}, {"securityGroupIds", q.security_group_ids},
            {"needSupportIpv6", q.ipv6}, {"instanceName", q.name}, {"dedicatedClusterId", q.dedicated_cluster_id},
            {"deletionProtection", q.deletion_protection}, {"tags", q.tags}};
  if (q.activity_id) j["activityId"] = *q.activity_id;
  return j;
}

cloud::ReplicaRequest ReplicaRequestFromJson(const json& j) {
  cloud::ReplicaRequest q;
  q.region = j.at("region");
  q.zone = j.at("zone");
  q.master_id = j.at("masterInstanceId");
  q.spec_code = j.at("specCode");
  q.storage_gb = j.at("storageGB");
  q.period_months = j.at("periodMonths");
  q.vpc_id = j.at("vpcId");
  q.subnet_id = j.at("subnetId");
  q.prepaid = j.at("prepaid");
  q.auto_voucher = j.at("autoVoucher");
  q.voucher_ids = j.at("voucherIds").get<std::vector<std::string>>();
  q.auto_renew = j.at("autoRenew");
  q.project_id = j.at("projectId");
  if (j.contains("activityId")) q.activity_id = j.at("activityId").get<int64_t>();
  q.group_id = j.at("readOnlyGroupId");
  q.security_group_ids = j.at("securityGroupIds").get<std::vector<std::string>>();
  q.ipv6 = j.at("needSupportIpv6");
  q.name = j.at("instanceName");
  q.dedicated_cluster_id = j.at("dedicatedClusterId");
  q.deletion_protection = j.at("deletionProtection");
  q.tags = j.at("tags").get<cloud::Tags>();
  return q;
}

json ServerlessRequestJson(const cloud::ServerlessRequest& q) {
  return {{"region", q.region}, {"zone", q.zone}, {"instanceName", q.name}, {"dbVersion", q.db_version},
          {"dbCharset", q.charset}, {"projectId", q.project_id}, {"vpcId", q.vpc_id}, {"subnetId", q.subnet_id},
          {"tags", q.tags}};
}

cloud::ServerlessRequest ServerlessRequestFromJson(const json& j) {
  cloud::ServerlessRequest q;
  q.region = j.at("region");
  q.zone = j.at("zone");
  q.name = j.at("instanceName");
  q.db_version = j.at("dbVersion");
  q.charset = j.at("dbCharset");
  q.project_id = j.at("projectId");
  q.vpc_id = j.at("vpcId");
  q.subnet_id = j.at("subnetId");
  q.tags = j.at("tags").get<cloud::Tags>();
  return q;
}

namespace {

// A group's settings are written alike in a group request and in the in-place update of a
// plan (readOnlyGroupConfig), so one pair of functions holds their names.
json GroupConfigJson(const cloud::GroupConfig& g) {
  return {{"groupName", g.name},
          {"replayLagEliminate", g.replay_lag_eliminate},
          {"replayLatencyEliminate", g.replay_latency_eliminate},
          {"maxReplayLagSeconds", g.max_replay_lag_seconds},
          {"maxReplayLatencyMB", g.max_replay_latency_mb},
          {"minDelayEliminateReserve", g.min_delay_eliminate_reserve}};
}

cloud::GroupConfig GroupConfigFromJson(const json& j) {
  return {j.at("groupName"),           j.at("replayLagEliminate"), j.at("replayLatencyEliminate"),
          j.at("maxReplayLagSeconds"), j.at("maxReplayLatencyMB"), j.at("minDelayEliminateReserve")};
}

}  // namespace

json GroupRequestJson(const cloud::GroupRequest& q) {
  json j = GroupConfigJson(GroupConfigOf(q));
  j.update({{"region", q.region}, {"masterInstanceId", q.master_id}, {"projectId", q.project_id},
            {"vpcId", q.vpc_id}, {"subnetId", q.subnet_id}, {"securityGroupIds", q.security_group_ids}});
  return j;
}

cloud::GroupRequest GroupRequestFromJson(const json& j) {
  cloud::GroupRequest q;
  q.region = j.at("region");
  q.master_id = j.at("masterInstanceId");
  q.project_id = j.at("projectId");
  q.vpc_id = j.at("vpcId");
  q.subnet_id = j.at("subnetId");
  q.security_group_ids = j.at("securityGroupIds").get<std::vector<std::string>>();
  const cloud::GroupConfig g = GroupConfigFromJson(j);
  q.name = g.name;
  q.replay_lag_eliminate = g.replay_lag_eliminate;
  q.replay_latency_eliminate = g.replay_latency_eliminate;
  q.max_replay_lag_seconds = g.max_replay_lag_seconds;
  q.max_replay_latency_mb = g.max_replay_latency_mb;
  q.min_delay_eliminate_reserve = g.min_delay_eliminate_reserve;
  return q;
}

namespace {

json UpdateJson(const UpdateCalls& u) {
  json j = json::object();
  if (u.name) j["instanceName"] = *u.name;
  if (u.deletion_protection) j["deletionProtection"] = *u.deletion_protection;
  if (u.spec) {
    j["spec"] = {{"specCode", u.spec->spec_code}, {"memoryGB", u.spec->memory_gb}, {"cpu", u.spec->cpu},
                 {"storageGB", u.spec->storage_gb}};
  }
  if (u.security_groups) j["securityGroupIds"] = *u.security_groups;
  if (u.group) j["readOnlyGroup"] = {{"from", u.group->from}, {"toId", u.group->to_id}, {"toKey", u.group->to_key}};
  if (u.group_config) j["readOnlyGroupConfig"] = GroupConfigJson(*u.group_config);
  if (!u.tags_set.empty()) j["tagsSet"] = u.tags_set;
  if (!u.tags_remove.empty()) j["tagsRemove"] = u.tags_remove;
  return j;
}

UpdateCalls UpdateFrom(const json& j) {
  UpdateCalls u;
  if (j.contains("instanceName")) u.name = j["instanceName"].get<std::string>();
  if (j.contains("deletionProtection")) u.deletion_protection = j["deletionProtection"].get<bool>();
  if (j.contains("spec")) {
    const json& s = j["spec"];
    u.spec = UpdateCalls::Spec{s.at("specCode"), s.at("memoryGB"), s.at("cpu"), s.at("storageGB")};
  }
  if (j.contains("securityGroupIds")) u.security_groups = j["securityGroupIds"].get<std::vector<std::string>>();
  if (j.contains("readOnlyGroup")) {
    const json& g = j["readOnlyGroup"];
    u.group = UpdateCalls::Move{g.at("from"), g.at("toId"), g.at("toKey")};
  }
  if (j.contains("readOnlyGroupConfig")) u.group_config = GroupConfigFromJson(j["readOnlyGroupConfig"]);
  if (j.contains("tagsSet")) u.tags_set = j["tagsSet"].get<cloud::Tags>();
  if (j.contains("tagsRemove")) u.tags_remove = j["tagsRemove"].get<std::vector<std::string>>();
  return u;
}

Result<Action> ActionFrom(const std::string& name) {
  for (Action a : {Action::kCreate, Action::kUpdate, Action::kReplace, Action::kDelete, Action::kOrphan,
                   Action::kAdopt, Action::kRestore, Action::kResume}) {
    if (name == ActionName(a)) return a;
  }
  return Status(Code::kInvalidInput, "unknown action \"" + name + "\"");
}

Result<PreflightState> PreflightFrom(const std::string& name) {
  for (PreflightState s : {PreflightState::kNotNeeded, PreflightState::kPassed, PreflightState::kFallback,
                           PreflightState::kFailed}) {
    if (name == PreflightStateName(s)) return s;
  }
  return Status(Code::kInvalidInput, "unknown preflight state \"" + name + "\"");
}

// The path of the first floating-point number in `j`, or "" when it holds none. A plan
// holds only integers, and converting a float that no integer type can hold (1e300 as a
// count) is undefined behaviour, so a plan file with one is refused before any conversion.
std::string FirstFloat(const json& j, const std::string& path) {
  if (j.is_number_float()) return path.empty() ? "/" : path;
  if (!j.is_structured()) return "";
  for (const auto& [key, value] : j.items()) {
    std::string found = FirstFloat(value, path + "/" + key);
    if (!found.empty()) return found;
  }
  return "";
}

}  // namespace

namespace {

json ChangeToJson(const Change& c) {
  json fields = json::array();
  for (const FieldDiff& f : c.fields) fields.push_back({{"field", f.field}, {"before", f.before}, {"after", f.after}});
  json j = {{"id", c.id},
            {"action", ActionName(c.action)},
            {"resource", c.key.ToString()},
            {"region", c.region},
            {"reason", c.reason},
            {"fields", fields},
            {"instanceIds", c.instance_ids},
            {"count", c.count},
            {"groupRef", c.group_ref},
            {"update", UpdateJson(c.update)},
            {"operationId", c.operation_id},
            {"after", c.after},
            {"spec", c.spec_json},
            {"deletionPolicy", c.deletion_policy},
            {"destroys", c.destroys},
            {"preflight", {{"state", PreflightStateName(c.preflight.state)}, {"calls", c.preflight.calls},
                           {"code", c.preflight.code}, {"message", c.preflight.message},
                           {"requestId", c.preflight.request_id}, {"note", c.preflight.note}}},
            {"cost", c.cost ? json(*c.cost) : json(nullptr)},
            {"priceNote", c.price_note},
            {"drift", c.drift},
            {"blocked", c.blocked},
            {"blockedReason", c.blocked_reason}};
  if (c.replica) j["replicaRequest"] = ReplicaRequestJson(*c.replica);
  if (c.serverless) j["serverlessRequest"] = ServerlessRequestJson(*c.serverless);
  if (c.group) j["groupRequest"] = GroupRequestJson(*c.group);
  return j;
}

}  // namespace

json PlanToJson(const Plan& plan) {
  json changes = json::array();
  for (const Change& c : plan.changes) changes.push_back(ChangeToJson(c));
  json failures = json::array();
  for (const Failure& f : plan.failures) {
    failures.push_back({{"resource", f.key.ToString()}, {"operationId", f.operation_id}, {"code", f.code},
                        {"message", f.message}, {"remedy", f.remedy}, {"dealNames", f.deal_names},
                        {"instanceIds", f.instance_ids}, {"withheld", f.withheld}, {"retrying", f.retrying}});
  }
  PlanSummary s = plan.Summary();
  return {{"formatVersion", Plan::kFormatVersion},
          {"stack", plan.stack},
          {"createdAt", plan.created_at},
          {"stackDir", plan.stack_dir},
          {"regions", plan.regions},
          {"masters", plan.masters},
          {"allowDestroy", plan.allow_destroy},
          {"changes", changes},
          {"warnings", plan.warnings},
          {"failures", failures},
          {"retryFailed", plan.retry_failed},
          {"targets", plan.targets},
          {"destroy", plan.destroy},
          {"summary", {{"create", s.create}, {"update", s.update}, {"destroy", s.destroy}, {"orphan", s.orphan},
                       {"adopt", s.adopt}, {"restore", s.restore}, {"resume", s.resume},
                       {"cost", s.cost}, {"priceComplete", s.price_complete},
                       {"hasErrors", plan.HasErrors()}}},
          {"observed", plan.observed},
          {"stateGeneration", plan.state_generation}};
}

Result<Plan> PlanFromJson(const json& j) {
  try {
    if (!j.is_object() || !j.contains("formatVersion")) {
      return Status(Code::kInvalidInput, "not a reconciler plan file (no formatVersion)");
    }
    if (j.at("formatVersion") != Plan::kFormatVersion) {
      return Status(Code::kInvalidInput, "plan format version " + Shown(j.at("formatVersion")) +
                                             " is not the one this reconciler writes (" +
                                             std::to_string(Plan::kFormatVersion) + ")");
    }
    if (std::string at = FirstFloat(j, ""); !at.empty()) {
      return Status(Code::kInvalidInput, "the plan file is damaged: the number at " + at + " is not an integer");
    }
    Plan plan;
    plan.stack = j.at("stack");
    plan.created_at = j.at("createdAt");
    plan.stack_dir = j.at("stackDir");
    plan.regions = j.at("regions").get<std::vector<std::string>>();
    plan.masters = j.at("masters").get<std::vector<std::pair<std::string, std::string>>>();
    plan.allow_destroy = j.at("allowDestroy");
    plan.warnings = j.at("warnings").get<std::vector<std::string>>();
    plan.retry_failed = j.value("retryFailed", false);  // added within version 1
    plan.targets = j.value("targets", std::vector<std::string>{});
    for (const std::string& t : plan.targets) {
      if (!specs::ParseResourceKey(t)) return Status(Code::kInvalidInput, "bad target " + Shown(json(t)));
    }
    plan.destroy = j.value("destroy", false);
    for (const json& fj : j.value("failures", json::array())) {
      Failure f;
      auto key = specs::ParseResourceKey(fj.at("resource").get<std::string>());
      if (!key) return Status(Code::kInvalidInput, "failure of unknown resource " + fj.at("resource").dump());
      f.key = *key;
      f.operation_id = fj.at("operationId");
      f.code = fj.at("code");
      f.message = fj.at("message");
      f.remedy = fj.at("remedy");
      f.deal_names = fj.at("dealNames").get<std::vector<std::string>>();
      f.instance_ids = fj.at("instanceIds").get<std::vector<std::string>>();
      f.withheld = fj.at("withheld");
      f.retrying = fj.at("retrying");
      plan.failures.push_back(std::move(f));
    }
    plan.observed = j.at("observed").get<std::map<std::string, std::string>>();
    plan.state_generation = j.at("stateGeneration");
    for (const json& cj : j.at("changes")) {
      Change c;
      c.id = cj.at("id");
      Result<Action> action = ActionFrom(cj.at("action"));
      if (!action.ok()) return action.status();
      c.action = *action;
      auto key = specs::ParseResourceKey(cj.at("resource"));
      if (!key) return Status(Code::kInvalidInput, "bad resource " + Shown(cj.at("resource")));
      c.key = *key;
      c.region = cj.at("region");
      c.reason = cj.at("reason");
      for (const json& f : cj.at("fields")) c.fields.push_back({f.at("field"), f.at("before"), f.at("after")});
      c.instance_ids = cj.at("instanceIds").get<std::vector<std::string>>();
      c.count = cj.at("count");
      c.group_ref = cj.at("groupRef");
      c.update = UpdateFrom(cj.at("update"));
      c.operation_id = cj.at("operationId");
      c.after = cj.at("after").get<std::vector<std::string>>();
      c.spec_json = cj.at("spec");
      c.deletion_policy = cj.at("deletionPolicy");
      c.destroys = cj.at("destroys");
      const json& pf = cj.at("preflight");
      Result<PreflightState> state = PreflightFrom(pf.at("state"));
      if (!state.ok()) return state.status();
      c.preflight = {*state, pf.at("calls"), pf.at("code"), pf.at("message"), pf.at("requestId"), pf.at("note")};
      if (cj.contains("cost") && !cj.at("cost").is_null()) c.cost = cj.at("cost").get<std::map<std::string, int64_t>>();
      c.price_note = cj.at("priceNote");
      c.drift = cj.value("drift", false);  // absent in plans saved before it existed
      c.blocked = cj.at("blocked");
      c.blocked_reason = cj.at("blockedReason");
      if (cj.contains("replicaRequest")) c.replica = ReplicaRequestFromJson(cj["replicaRequest"]);
      if (cj.contains("serverlessRequest")) c.serverless = ServerlessRequestFromJson(cj["serverlessRequest"]);
      if (cj.contains("groupRequest")) c.group = GroupRequestFromJson(cj["groupRequest"]);
      plan.changes.push_back(std::move(c));
    }
    return plan;
  } catch (const json::exception& e) {
    return Status(Code::kInvalidInput, std::string("the plan file is damaged: ") + e.what());
  }
}

namespace {

// A change as it acts: what the reader is told about it (reason, field diffs, preflight,
// price, why it is blocked) is left out, since it may differ without changing what is done.
json EffectOf(const Change& c) {
  json j = ChangeToJson(c);
  for (const char* key : {"reason", "fields", "preflight", "cost", "priceNote", "drift", "blocked", "blockedReason"}) {
    j.erase(key);
  }
  return j;
}

std::string Describe(const Change& c) { return c.id + " (" + ActionName(c.action) + " " + c.key.ToString() + ")"; }

}  // namespace

std::vector<std::string> PlanDifferences(const Plan& saved, const Plan& now) {
  std::vector<std::string> out;
  if (saved.stack != now.stack) out.push_back("the plan is for stack " + saved.stack + ", not " + now.stack);
  if (saved.retry_failed != now.retry_failed) {
    out.push_back(saved.retry_failed ? "the plan was made with --retry-failed: pass it to apply the plan"
                                     : "the plan was made without --retry-failed: apply it without the flag");
  }
  if (saved.targets != now.targets) out.push_back("the plan was made for other targets");
  if (saved.destroy != now.destroy) {
    out.push_back(saved.destroy ? "the plan is a destroy plan" : "the plan is not a destroy plan");
  }
  if (saved.state_generation != now.state_generation) {
    out.push_back("the state was written since the plan was made (generation " +
                  std::to_string(saved.state_generation) + " -> " + std::to_string(now.state_generation) + ")");
  }
  for (const auto& [id, digest] : saved.observed) {
    auto it = now.observed.find(id);
    if (it == now.observed.end()) out.push_back(id + " is gone (was: " + digest + ")");
    else if (it->second != digest) out.push_back(id + " changed: " + digest + " -> " + it->second);
  }
  for (const auto& [id, digest] : now.observed) {
    if (!saved.observed.count(id)) out.push_back(id + " appeared: " + digest);
  }
  std::map<std::string, const Change*> planned;
  for (const Change& c : now.changes) planned[c.id] = &c;
  std::set<std::string> in_file;
  for (const Change& c : saved.changes) {
    if (!in_file.insert(c.id).second) {
      out.push_back("the file lists change " + c.id + " twice");
      continue;
    }
    auto it = planned.find(c.id);
    if (it == planned.end()) {
      out.push_back(Describe(c) + " is in the file but would not be planned now");
      continue;
    }
    json was = EffectOf(c), is = EffectOf(*it->second);
    if (was == is) continue;
    for (const auto& [key, value] : is.items()) {
      json old = was.contains(key) ? was[key] : json(nullptr);
      if (old != value) out.push_back(Describe(*it->second) + ": " + key + " is " + Shown(old) + " in the file, " + Shown(value) + " now");
    }
    for (const auto& [key, value] : was.items()) {
      if (!is.contains(key)) out.push_back(Describe(c) + ": " + key + " is in the file only");
    }
  }
  for (const Change& c : now.changes) {
    if (!in_file.count(c.id)) out.push_back(Describe(c) + " would be planned now but is not in the file");
  }
  return out;
}

}  // namespace reconciler
