#include "emulator/cloud.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fmt/chrono.h>

#include "emulator/rules.h"

namespace reconciler::tencentcloud::emulator {

using nlohmann::json;

namespace {

constexpr ParamType S = ParamType::kString, I = ParamType::kInt, U = ParamType::kUint, B = ParamType::kBool,
                    SL = ParamType::kStringList, FL = ParamType::kFilterList, T = ParamType::kTag,
                    TL = ParamType::kTagList, TK = ParamType::kTagKeyList;
constexpr bool R = true;

const char* TypeWord(ParamType t) {
  switch (t) {
    case ParamType::kString: return "String";
    case ParamType::kInt:
    case ParamType::kUint: return "Integer";
    case ParamType::kBool: return "Boolean";
    case ParamType::kStringList: return "Array of String";
    case ParamType::kFilterList: return "Array of Filter";
    case ParamType::kTag: return "Tag";
    case ParamType::kTagList: return "Array of Tag";
    case ParamType::kTagKeyList: return "Array of TagKeyObject";
  }
  return "?";
}

bool IsStringArray(const json& v) {
  if (!v.is_array()) return false;
  for (const json& e : v) {
    if (!e.is_string()) return false;
  }
  return true;
}

bool IsTag(const json& v) {
  if (!v.is_object() || !v.contains("TagKey") || !v["TagKey"].is_string()) return false;
  for (const auto& [k, x] : v.items()) {
    if ((k != "TagKey" && k != "TagValue" && k != "Category") || !x.is_string()) return false;
  }
  return true;
}

bool TypeMatches(ParamType t, const json& v) {
  switch (t) {
    case ParamType::kString: return v.is_string();
    case ParamType::kInt: return v.is_number_integer();
    case ParamType::kUint: return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    case ParamType::kBool: return v.is_boolean();
    case ParamType::kStringList: return IsStringArray(v);
    case ParamType::kFilterList:
      if (!v.is_array()) return false;
      for (const json& f : v) {
        if (!f.is_object() || !f.contains("Name") || !f["Name"].is_string()) return false;
        for (const auto& [k, x] : f.items()) {
          if (k == "Values" ? !IsStringArray(x) : k != "Name") return false;
        }
      }
      return true;
    case ParamType::kTag: return IsTag(v);
    case ParamType::kTagList:
      if (!v.is_array()) return false;
      for (const json& e : v) {
        if (!IsTag(e)) return false;
      }
      return true;
    case ParamType::kTagKeyList:
      if (!v.is_array()) return false;
      for (const json& e : v) {
        if (!e.is_object() || e.size() != 1 || !e.contains("TagKey") || !e["TagKey"].is_string()) return false;
      }
      return true;
  }
  return false;
}

// The parameter as a site model type (site_model.h), for actions no SDK model describes.
const char* ModelType(ParamType t) {
  switch (t) {
    case ParamType::kString: return "string";
    case ParamType::kInt:
    case ParamType::kUint: return "number";
    case ParamType::kBool: return "boolean";
    case ParamType::kStringList: return "string[]";
    case ParamType::kFilterList: return "Filter[]";
    case ParamType::kTag: return "Tag";
    case ParamType::kTagList: return "Tag[]";
    case ParamType::kTagKeyList: return "TagKeyObject[]";
  }
  return "string";
}

std::vector<ServedAction> ServedActions() {
  std::vector<ServedAction> served;
  for (const ActionSpec& a : Actions()) {
    ServedAction s{a.service, a.name, {}};
    for (const ParamSpec& p : a.params) s.params[p.name] = ModelType(p.type);
    served.push_back(std::move(s));
  }
  return served;
}

const json& SdkModels() {
  static const json kModels = json::parse(SdkModelsJson(), nullptr, /*allow_exceptions=*/false);
  return kModels;
}

// The action's own checks, after the site model has passed the request: the stricter
// types its handler relies on (integers, a Tag with its TagKey) and the required
// parameters. A parameter the site model allows but the handler does not read is ignored.
std::optional<Reply> CheckParams(const ActionSpec& spec, const json& p) {
  for (const auto& [key, value] : p.items()) {
    const ParamSpec* found = nullptr;
    for (const ParamSpec& ps : spec.params) {
      if (key == ps.name) found = &ps;
    }
    if (!found) continue;
    if (!TypeMatches(found->type, value)) {
      return Error("InvalidParameter", "The value type of parameter `" + key + "` should be " +
                                           TypeWord(found->type) + ".");
    }
  }
  for (const ParamSpec& ps : spec.params) {
    if (ps.required && !p.contains(ps.name)) {
      return Error("MissingParameter", std::string("The request is missing a required parameter `") + ps.name + "`.");
    }
  }
  return std::nullopt;
}

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Reply Error(std::string code, std::string message) {
  Reply r;
  r.ok = false;
  r.code = std::move(code);
  r.message = std::move(message);
  return r;
}

std::vector<TagPair> ParseTags(const json& list) {
  std::vector<TagPair> tags;
  for (const json& t : list) tags.push_back({t["TagKey"], t.value("TagValue", "")});
  return tags;
}

const std::vector<ActionSpec>& Actions() {
  using C = EmulatedCloud;
  static const std::vector<ActionSpec> kActions = {
      {"postgres", "CreateReadOnlyDBInstance", true,
       {{"Zone", S, R}, {"MasterDBInstanceId", S, R}, {"SpecCode", S, R}, {"Storage", U, R},
        {"InstanceCount", U, R}, {"Period", U, R}, {"VpcId", S}, {"SubnetId", S}, {"InstanceChargeType", S},
        {"AutoVoucher", U}, {"VoucherIds", SL}, {"AutoRenewFlag", I}, {"ProjectId", U}, {"ActivityId", I},
        {"ReadOnlyGroupId", S}, {"TagList", T}, {"Tags", TL}, {"SecurityGroupIds", SL}, {"NeedSupportIpv6", U},
        {"Name", S}, {"DBVersion", S}, {"DedicatedClusterId", S}, {"DeletionProtection", B}},
       &C::CreateReadOnlyDBInstance},
      {"postgres", "DescribeDBInstances", true,
       {{"Filters", FL}, {"Limit", U}, {"Offset", U}, {"OrderBy", S}, {"OrderByType", S}},
       &C::DescribeDBInstances},
      {"postgres", "DescribeDBInstanceAttribute", true, {{"DBInstanceId", S, R}}, &C::DescribeDBInstanceAttribute},
      {"postgres", "ModifyDBInstanceName", true, {{"DBInstanceId", S, R}, {"InstanceName", S, R}},
       &C::ModifyDBInstanceName},
      {"postgres", "ModifyDBInstanceDeletionProtection", true,
       {{"DBInstanceId", S, R}, {"DeletionProtection", B, R}}, &C::ModifyDBInstanceDeletionProtection},
      {"postgres", "ModifyDBInstanceSpec", true,
       {{"DBInstanceId", S, R}, {"Memory", U, R}, {"Storage", U, R}, {"Cpu", U}, {"AutoVoucher", U},
        {"VoucherIds", SL}, {"ActivityId", I}, {"SwitchTag", U}, {"SwitchStartTime", S}, {"SwitchEndTime", S}},
       &C::ModifyDBInstanceSpec},
      {"postgres", "ModifyDBInstanceSecurityGroups", true,
       {{"SecurityGroupIdSet", SL, R}, {"DBInstanceId", S}, {"ReadOnlyGroupId", S}},
       &C::ModifyDBInstanceSecurityGroups},
      {"postgres", "IsolateDBInstances", true, {{"DBInstanceIdSet", SL, R}}, &C::IsolateDBInstances},
      {"postgres", "DisIsolateDBInstances", true,
       {{"DBInstanceIdSet", SL, R}, {"Period", I}, {"AutoVoucher", B}, {"VoucherIds", SL}},
       &C::DisIsolateDBInstances},
      {"postgres", "DestroyDBInstance", true, {{"DBInstanceId", S, R}}, &C::DestroyDBInstance},
      {"postgres", "CreateReadOnlyGroup", true,
       {{"MasterDBInstanceId", S, R}, {"Name", S, R}, {"ProjectId", U}, {"VpcId", S}, {"SubnetId", S},
        {"ReplayLagEliminate", U}, {"ReplayLatencyEliminate", U}, {"MaxReplayLag", U}, {"MaxReplayLatency", U},
        {"MinDelayEliminateReserve", U}, {"SecurityGroupIds", SL}},
       &C::CreateReadOnlyGroup},
      {"postgres", "DescribeReadOnlyGroups", true,
       {{"Filters", FL}, {"PageSize", I}, {"PageNumber", I}, {"OrderBy", S}, {"OrderByType", S}},
       &C::DescribeReadOnlyGroups},
      {"postgres", "DeleteReadOnlyGroup", true, {{"ReadOnlyGroupId", S, R}}, &C::DeleteReadOnlyGroup},
      {"postgres", "ModifyDBInstanceReadOnlyGroup", true,
       {{"DBInstanceId", S, R}, {"ReadOnlyGroupId", S, R}, {"NewReadOnlyGroupId", S, R}},
       &C::ModifyDBInstanceReadOnlyGroup},
      {"postgres", "ModifyReadOnlyGroupConfig", true,
       {{"ReadOnlyGroupId", S, R}, {"ReadOnlyGroupName", S}, {"ReplayLagEliminate", U}, {"ReplayLatencyEliminate", U},
        {"MaxReplayLatency", U}, {"MaxReplayLag", U}, {"Rebalance", U}, {"MinDelayEliminateReserve", U}},
       &C::ModifyReadOnlyGroupConfig},
      {"postgres", "CreateServerlessDBInstance", true,
       {{"Zone", S, R}, {"DBInstanceName", S, R}, {"DBVersion", S, R}, {"DBCharset", S, R}, {"ProjectId", U},
        {"VpcId", S}, {"SubnetId", S}, {"TagList", TL}},
       &C::CreateServerlessDBInstance},
      {"postgres", "DescribeServerlessDBInstances", true,
       {{"Filter", FL}, {"Limit", U}, {"Offset", U}, {"OrderBy", S}, {"OrderByType", S}},
       &C::DescribeServerlessDBInstances},
      {"postgres", "DeleteServerlessDBInstance", true, {{"DBInstanceName", S}, {"DBInstanceId", S}},
       &C::DeleteServerlessDBInstance},
      {"postgres", "DescribeOrders", true, {{"DealNames", SL, R}}, &C::DescribeOrders},
      {"postgres", "DescribeZones", true, {{"StorageType", S}}, &C::DescribeZones},
      {"postgres", "DescribeClasses", true,
       {{"Zone", S, R}, {"DBEngine", S, R}, {"DBMajorVersion", S, R}, {"StorageType", S}}, &C::DescribeClasses},
      {"postgres", "DescribeRegions", false, {}, &C::DescribeRegions},
      {"postgres", "InquiryPriceCreateDBInstances", true,
       {{"Zone", S, R}, {"SpecCode", S, R}, {"Storage", U, R}, {"InstanceCount", U, R}, {"Period", U, R},
        {"Pid", U}, {"InstanceChargeType", S}, {"InstanceType", S}, {"DBEngine", S}, {"StorageType", S}},
       &C::InquiryPriceCreateDBInstances},
      {"tag", "TagResources", false, {{"ResourceList", SL, R}, {"Tags", TL, R}}, &C::TagResources},
      {"tag", "UnTagResources", false, {{"ResourceList", SL, R}, {"TagKeys", SL, R}}, &C::UnTagResources},
      {"tag", "ModifyResourceTags", false, {{"Resource", S, R}, {"ReplaceTags", TL}, {"DeleteTags", TK}},
       &C::ModifyResourceTags},
  };
  return kActions;
}

const ActionSpec* FindAction(const std::string& service, const std::string& action) {
  for (const ActionSpec& a : Actions()) {
    if (service == a.service && action == a.name) return &a;
  }
  return nullptr;
}

std::string ServiceOfAction(const std::string& action) {
  for (const ActionSpec& a : Actions()) {
    if (action == a.name) return a.service;
  }
  return "";
}

EmuClock::EmuClock(ClockSettings settings, std::function<double()> wall)
    : settings_(settings), wall_(std::move(wall)), start_(wall_()) {}

double EmuClock::Now() const { return (settings_.manual ? start_ : wall_()) + offset_; }

EmulatedCloud::EmulatedCloud(World world, Faults* faults, std::function<double()> wall)
    : world_(std::move(world)),
      model_(world_.catalogue.site, world_.catalogue.dry_run, SdkModels(), ServedActions()),
      faults_(faults),
      clock_(world_.catalogue.clock, std::move(wall)) {
  Reset();
}

double EmulatedCloud::Now() const { return clock_.Now(); }

Reply EmulatedCloud::Handle(const std::string& service, const std::string& action, const std::string& region,
                            const json& params) {
  std::lock_guard<std::mutex> lock(mu_);
  const ActionSpec* spec = FindAction(service, action);
  Reply reply = [&] {
    if (std::optional<ModelError> bad = model_.Check(service, action, params)) return Error(bad->code, bad->message);
    if (std::optional<Reply> bad = CheckParams(*spec, params)) return *bad;
    if (spec->needs_region) {
      if (std::optional<Reply> bad = CheckRegion(region)) return *bad;
    }
    Settle();
    return (this->*spec->handler)(region, params);
  }();
  // Reads change nothing (by the API's naming: Describe*, InquiryPrice*); anything else may have,
  // even when it failed halfway, so the cached listings go.
  if (action.rfind("Describe", 0) != 0 && action.rfind("InquiryPrice", 0) != 0) Changed();
  // A request that asked for DryRun counts as one whether or not it passed.
  if (params.contains("DryRun") && params["DryRun"].is_boolean() && params["DryRun"].get<bool>()) reply.dry_run = true;
  return reply;
}

void EmulatedCloud::Settle() {
  const double now = clock_.Now();
  bool changed = false;
  for (auto it = unsettled_.begin(); it != unsettled_.end();) {
    auto found = state_.instances.find(*it);
    if (found == state_.instances.end()) {
      it = unsettled_.erase(it);
      continue;
    }
    Instance& inst = found->second;
    while (!inst.phases.empty() && inst.phases.front().until <= now) {
      inst.phases.erase(inst.phases.begin());
      changed = true;
    }
    if (!inst.phases.empty()) {
      ++it;
      continue;
    }
    if (inst.pending_spec) {
      const SpecClass* k = world_.catalogue.FindClass(*inst.pending_spec);
      inst.spec_code = *inst.pending_spec;
      inst.cpu = k ? k->cpu : inst.cpu;
      inst.memory_gb = k ? k->memory_mb / 1024 : inst.memory_gb;
      inst.storage_gb = inst.pending_storage_gb;
      inst.pending_spec.reset();
    }
    if (inst.final_status == "gone") state_.instances.erase(found);
    it = unsettled_.erase(it);
    changed = true;
  }
  if (changed) Changed();
}

std::optional<Reply> EmulatedCloud::CheckRegion(const std::string& region) const {
  if (region.empty()) return Error("MissingParameter", "The request is missing a required parameter `Region`.");
  if (!rules::IsKnownRegion(region)) {
    return Error("UnsupportedRegion", "The region `" + region + "` is not supported by this API.");
  }
  if (!rules::IsPostgresRegion(region)) {
    return Error("InvalidParameterValue.RegionNotSupported", "The current region `" + region + "` is not supported.");
  }
  const Region* r = world_.catalogue.FindRegion(region);
  if (!r || r->state != "AVAILABLE") {
    return Error("InvalidParameterValue.IllegalRegion", "Invalid Region parameter: `" + region + "`.");
  }
  return std::nullopt;
}

std::optional<Reply> EmulatedCloud::CheckZone(const std::string& region, const std::string& zone) const {
  const Zone* z = world_.catalogue.FindZone(region, zone);
  if (!z || z->state == "UNAVAILABLE") {
    return Error("InvalidParameterValue.IllegalZone",
                 "Invalid Zone parameter: `" + zone + "` is not an available zone of " + region + ".");
  }
  return std::nullopt;
}

std::optional<Reply> EmulatedCloud::CheckName(const std::string& name, const char* param) const {
  long chars = rules::NameChars(name);
  if (chars < 0) {
    return Error("InvalidParameterValue.ParameterCharacterError",
                 std::string("Invalid parameter `") + param +
                     "`: only Chinese characters, letters, digits, `_` and `-` are allowed.");
  }
  if (chars == 0 || chars > rules::kMaxNameChars) {
    return Error("InvalidParameterValue.ParameterLengthLimitError",
                 std::string("The length of parameter `") + param + "` must be 1 to " +
                     std::to_string(rules::kMaxNameChars) + " characters.");
  }
  return std::nullopt;
}

std::optional<Reply> EmulatedCloud::CheckNetwork(const std::string& region, const json& p, bool required) const {
  std::string vpc_id = p.value("VpcId", "");
  std::string subnet_id = p.value("SubnetId", "");
  if (vpc_id.empty() && subnet_id.empty()) {
    if (!required) return std::nullopt;
    return Error("FailedOperation.CreateBasicNetworkDeniedError",
                 "Classic network creation is unsupported; VpcId and SubnetId are required.");
  }
  const Vpc* vpc = world_.catalogue.FindVpc(vpc_id);
  if (!vpc || vpc->region != region) {
    return Error("InvalidParameter.VpcNotFoundError", "Failed to query VPC information: `" + vpc_id + "` not found.");
  }
  for (const Subnet& s : vpc->subnets) {
    if (s.subnet_id == subnet_id) return std::nullopt;
  }
  return Error("FailedOperation.GetSubnetError",
               "Failed to query VPC subnets: `" + subnet_id + "` is not a subnet of " + vpc_id + ".");
}

std::optional<Reply> EmulatedCloud::CheckSecurityGroups(const std::string& region, const json& ids) const {
  for (const json& id : ids) {
    if (!world_.catalogue.HasSecurityGroup(id, region)) {
      return Error("InvalidParameterValue.InvalidParameterValueError",
                   "Security group `" + id.get<std::string>() + "` does not exist in " + region + ".");
    }
  }
  return std::nullopt;
}

std::optional<Reply> EmulatedCloud::CheckProject(const json& p) const {
  if (p.contains("ProjectId") && !world_.catalogue.HasProject(p["ProjectId"].get<uint64_t>())) {
    return Error("InvalidParameterValue.IllegalProjectId",
                 "Invalid ProjectId: " + std::to_string(p["ProjectId"].get<uint64_t>()) + ".");
  }
  return std::nullopt;
}

std::optional<Reply> EmulatedCloud::CheckTags(const std::vector<TagPair>& tags) const {
  std::set<std::string> keys;
  for (const TagPair& t : tags) {
    if (t.key.empty() || t.key.size() > rules::kMaxTagKeyBytes) {
      return Error("InvalidParameterValue.TagKeyLengthExceeded", "Tag key `" + t.key + "` must be 1 to " +
                                                                     std::to_string(rules::kMaxTagKeyBytes) + " bytes.");
    }
    if (t.value.size() > rules::kMaxTagValueBytes) {
      return Error("InvalidParameterValue.TagValueLengthExceeded", "The value of tag `" + t.key + "` must be at most " +
                                                                       std::to_string(rules::kMaxTagValueBytes) + " bytes.");
    }
    if (t.key.rfind(rules::kReservedTagPrefix, 0) == 0) {
      return Error("InvalidParameterValue.TagKeyCharacterIllegal",
                   std::string("Tag keys may not start with `") + rules::kReservedTagPrefix + "`.");
    }
    // One value per key and resource: a key given twice in one call is refused.
    if (!keys.insert(t.key).second) {
      return Error("InvalidParameterValue.TagKeyDuplicate", "Tag key `" + t.key + "` is given twice.");
    }
  }
  if (tags.size() > rules::kMaxTagsPerResource) {
    return Error("LimitExceeded.TagNumberPerResourceExceed",
                 "A resource may carry at most " + std::to_string(rules::kMaxTagsPerResource) + " tags.");
  }
  return std::nullopt;
}

void EmulatedCloud::AddInstance(Instance inst) {
  std::string id = inst.id;
  state_.instances[id] = std::move(inst);
  Changed();
}

void EmulatedCloud::Changed() {
  index_dirty_ = true;
  listings_.clear();
  page_bytes_ = 0;
}

EmulatedCloud::KeptListing* EmulatedCloud::CachedListing(const std::string& key) {
  auto it = listings_.find(key);
  return it == listings_.end() ? nullptr : &it->second;
}

EmulatedCloud::KeptListing& EmulatedCloud::CacheListing(std::string key, std::vector<const Instance*> listing) {
  // Bounded, so a client that varies its filters cannot grow the emulator without end.
  constexpr size_t kMaxListings = 64;
  if (listings_.size() >= kMaxListings) {
    listings_.clear();
    page_bytes_ = 0;
  }
  KeptListing& kept = listings_[std::move(key)];
  kept.instances = std::move(listing);
  return kept;
}

std::shared_ptr<const CachedAnswer> EmulatedCloud::InstancesPage(KeptListing& listing, size_t first, size_t end) {
  std::shared_ptr<const CachedAnswer>& page = listing.pages[{first, end}];
  if (page) return page;
  // Written into this thread's buffer, which keeps its capacity: only the compressed page
  // is kept, so its text needs no fresh memory each time.
  thread_local std::string text;
  text.clear();
  WriteInstancesPage(listing.instances, first, end, &text);
  auto made = std::make_shared<const CachedAnswer>(text);
  // Paging through every instance keeps every page, about 80 bytes an instance; past the
  // bound (a client varying offsets and limits) the pages start over. Requests holding a
  // page keep their copy.
  constexpr size_t kMaxPageBytes = size_t{64} << 20;
  if (page_bytes_ + made->kept_bytes() > kMaxPageBytes) {
    for (auto& [key, kept] : listings_) kept.pages.clear();
    page_bytes_ = 0;
  }
  page_bytes_ += made->kept_bytes();
  listing.pages[{first, end}] = made;
  return made;
}

const std::vector<const Instance*>& EmulatedCloud::InRegion(const std::string& region) {
  if (index_dirty_) {
    by_region_.clear();
    for (const auto& [id, inst] : state_.instances) by_region_[inst.region].push_back(&inst);
    for (auto& [r, list] : by_region_) {
      std::sort(list.begin(), list.end(), [](const Instance* a, const Instance* b) { return a->serial < b->serial; });
    }
    index_dirty_ = false;
  }
  static const std::vector<const Instance*> kNone;
  auto it = by_region_.find(region);
  return it == by_region_.end() ? kNone : it->second;
}

Instance* EmulatedCloud::FindInstance(const std::string& region, const std::string& id) {
  auto it = state_.instances.find(id);
  if (it == state_.instances.end() || it->second.region != region) return nullptr;
  return &it->second;
}

std::variant<Instance*, Reply> EmulatedCloud::Master(const std::string& region, const std::string& id) {
  Instance* master = FindInstance(region, id);
  if (!master || master->type != "primary") {
    return Error("ResourceNotFound.InstanceNotFoundError", "The instance `" + id + "` does not exist.");
  }
  if (master->Status() != "running") {
    return Error("OperationDenied.InstanceStatusLimitOpError",
                 "This operation cannot be performed on instance `" + id + "` in status `" + master->Status() + "`.");
  }
  return master;
}

uint64_t EmulatedCloud::ReplicaCount(const std::string& master_id) const {
  uint64_t n = 0;
  for (const auto& [id, inst] : state_.instances) n += inst.type == "readonly" && inst.master_id == master_id;
  return n;
}

std::string EmulatedCloud::NewId(const std::string& prefix) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (;;) {
    uint64_t x = Mix(state_.next_serial++ ^ 0x5eedULL);
    std::string id = prefix;
    for (int i = 0; i < 8; ++i, x /= 36) id.push_back(kAlphabet[x % 36]);
    if (!state_.instances.count(id) && !state_.groups.count(id)) return id;
  }
}

std::string EmulatedCloud::NewDealName() {
  // Deal names look like 20251009929109544409421: the date, then fifteen digits.
  std::string date = FormatTime(clock_.Now()).substr(0, 10);
  date.erase(std::remove(date.begin(), date.end(), '-'), date.end());
  char digits[20];
  std::snprintf(digits, sizeof digits, "%015llu",
                static_cast<unsigned long long>(Mix(state_.next_serial++) % 1000000000000000ULL));
  return date + digits;
}

std::string EmulatedCloud::NewBillId() {
  return std::to_string(1000000000ULL + Mix(state_.next_serial++) % 9000000000ULL);
}

Instance EmulatedCloud::NewInstance(const std::string& id, const std::string& region, const std::string& zone) {
  Instance inst;
  inst.id = id;
  inst.region = region;
  inst.zone = zone;
  inst.created_at = inst.updated_at = clock_.Now();
  inst.serial = state_.next_serial++;
  inst.ip = "10." + std::to_string((inst.serial >> 16) & 0xff) + "." + std::to_string((inst.serial >> 8) & 0xff) +
            "." + std::to_string(inst.serial & 0xff);
  return inst;
}

std::string EmulatedCloud::FormatTime(double unix_seconds) const {
  if (unix_seconds <= 0) return "0000-00-00 00:00:00";
  // The API reports Beijing time (UTC+8).
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::gmtime(static_cast<std::time_t>(unix_seconds) + 8 * 3600));
}

uint64_t EmulatedCloud::MonthlyCents(const SpecClass& k, uint64_t storage_gb) const {
  return k.monthly_cents + k.storage_cents_per_gb_month * storage_gb;
}

uint64_t EmulatedCloud::Discounted(uint64_t cents) const {
  return cents * static_cast<uint64_t>(100 - world_.catalogue.discount_percent) / 100;
}

void EmulatedCloud::WriteDBInstance(const Instance& i, JsonWriter& w) const {
  const std::string status = i.Status();
  w.BeginObject();
  w.Key("Region").String(i.region).Key("Zone").String(i.zone).Key("VpcId").String(i.vpc_id);
  w.Key("SubnetId").String(i.subnet_id).Key("DBInstanceId").String(i.id).Key("DBInstanceName").String(i.name);
  w.Key("DBInstanceStatus").String(status).Key("DBInstanceMemory").Uint(i.memory_gb);
  w.Key("DBInstanceStorage").Uint(i.storage_gb).Key("DBInstanceCpu").Uint(i.cpu);
  w.Key("DBInstanceClass").String(i.spec_code).Key("DBMajorVersion").String(i.major_version);
  w.Key("DBVersion").String(i.db_version).Key("DBKernelVersion").String(i.kernel_version);
  w.Key("DBInstanceType").String(i.type).Key("DBInstanceVersion").String("standard");
  w.Key("DBCharset").String(i.charset).Key("CreateTime").String(FormatTime(i.created_at));
  w.Key("UpdateTime").String(FormatTime(i.updated_at)).Key("ExpireTime").String(FormatTime(i.expire_at));
  w.Key("IsolatedTime").String(FormatTime(i.isolated_at > 1 ? i.isolated_at : 0));
  w.Key("PayType").String(i.pay_type).Key("AutoRenew").Uint(i.auto_renew);
  w.Key("DBInstanceNetInfo").BeginArray().BeginObject();
  w.Key("Address").String(i.id + ".pg.tencentcdb.com").Key("Ip").String(i.ip).Key("Port").Uint(5432);
  w.Key("NetType").String("private").Key("Status").String("opened").Key("VpcId").String(i.vpc_id);
  w.Key("SubnetId").String(i.subnet_id).Key("ProtocolType").String("postgresql");
  w.EndObject().EndArray();
  w.Key("Type").String("TS85").Key("AppId").Uint(world_.catalogue.app_id).Key("Uid").Uint(0);
  w.Key("ProjectId").Uint(i.project_id);
  w.Key("TagList").BeginArray();
  for (const TagPair& t : i.tags) w.BeginObject().Key("TagKey").String(t.key).Key("TagValue").String(t.value).EndObject();
  w.EndArray();
  w.Key("MasterDBInstanceId").String(i.type == "readonly" ? i.master_id : "");
  w.Key("ReadOnlyInstanceNum").Uint(i.type == "primary" ? ReplicaCount(i.id) : 0);
  w.Key("StatusInReadonlyGroup").String(i.ro_group_id.empty() ? "" : (status == "running" ? "ok" : "creating"));
  w.Key("OfflineTime").String("0000-00-00 00:00:00");
  w.Key("DBNodeSet").BeginArray().BeginObject().Key("Role").String("Primary").Key("Zone").String(i.zone);
  w.Key("DedicatedClusterId").String(i.dedicated_cluster_id).EndObject().EndArray();
  w.Key("IsSupportTDE").Uint(0).Key("DBEngine").String("postgresql").Key("DBEngineConfig").String("");
  w.Key("NetworkAccessList").Null().Key("SupportIpv6").Uint(i.ipv6 ? 1 : 0).Key("ExpandedCpu").Uint(0);
  w.Key("DeletionProtection").Bool(i.deletion_protection).Key("DBInstanceStorageType").String("CLOUD_SSD");
  w.EndObject();
}

json EmulatedCloud::DBInstanceJson(const Instance& i) const {
  std::string text;
  JsonWriter w(&text);
  WriteDBInstance(i, w);
  return json::parse(text);
}

json EmulatedCloud::StateJson() {
  std::lock_guard<std::mutex> lock(mu_);
  Settle();
  json out = {{"now", clock_.Now()}, {"balanceCents", state_.balance_cents}};
  json& instances = out["instances"] = json::array();
  for (const auto& [id, i] : state_.instances) {
    json j = i.type == "serverless" ? ServerlessJson(i) : DBInstanceJson(i);
    j["DBInstanceType"] = i.type;
    j["ReadOnlyGroupId"] = i.ro_group_id;
    instances.push_back(std::move(j));
  }
  json& orders = out["orders"] = json::array();
  for (const auto& [name, d] : state_.deals) {
    bool delivered = !d.never_delivered && clock_.Now() >= d.deliver_at;
    orders.push_back({{"DealName", d.deal_name}, {"BillId", d.bill_id}, {"Count", d.count},
                      {"PayMode", d.pay_mode}, {"Delivered", delivered}, {"DBInstanceIdSet", d.instance_ids}});
  }
  std::string groups;
  JsonWriter w(&groups);
  w.BeginArray();
  for (const auto& [id, g] : state_.groups) WriteGroup(g, w);
  w.EndArray();
  out["readOnlyGroups"] = json::parse(groups);
  return out;
}

void EmulatedCloud::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  state_ = world_.initial;
  Changed();
  clock_.set_offset(state_.clock_offset);
  unsettled_.clear();
  // The world's own instances were bought before the emulator started.
  const double before = clock_.Now() - 90 * 86400.0;
  for (auto& [id, inst] : state_.instances) {
    if (inst.created_at == 0) inst.created_at = inst.updated_at = before;
    if (inst.isolated_at == 1) inst.isolated_at = before + 86400.0;
  }
}

void EmulatedCloud::Advance(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  state_.clock_offset += seconds;
  clock_.set_offset(state_.clock_offset);
  Settle();
}

json EmulatedCloud::SaveJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  return DynamicToJson(state_);
}

Status EmulatedCloud::LoadJson(const json& data) {
  Result<Dynamic> loaded = DynamicFromJson(data);
  if (!loaded.ok()) return loaded.status();
  std::lock_guard<std::mutex> lock(mu_);
  state_ = std::move(loaded).value();
  Changed();
  clock_.set_offset(state_.clock_offset);
  unsettled_.clear();
  for (const auto& [id, inst] : state_.instances) {
    if (!inst.phases.empty() || inst.pending_spec) unsettled_.insert(id);
  }
  return Status::Ok();
}

}  // namespace reconciler::tencentcloud::emulator
