#include "emulator/world.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace reconciler::tencentcloud::emulator {

namespace {

using nlohmann::json;

// Reads typed values out of a YAML tree, remembering the first error with its position.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  bool Fail(const YAML::Node& at, const std::string& path, const std::string& message) {
    if (error_.empty()) {
      std::ostringstream out;
      out << file_;
      if (at.Mark().line >= 0) out << ":" << at.Mark().line + 1 << ":" << at.Mark().column + 1;
      out << ": " << path << ": " << message;
      error_ = out.str();
    }
    return false;
  }

  // Fails on any key of `map` not in `allowed`.
  bool Keys(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> allowed) {
    if (!map.IsMap()) return Fail(map, path, "expected a mapping");
    for (const auto& kv : map) {
      std::string key = kv.first.as<std::string>();
      bool known = false;
      for (const char* a : allowed) known = known || key == a;
      if (!known) return Fail(kv.first, path + "." + key, "unknown field");
    }
    return true;
  }

  template <typename T>
  bool Get(const YAML::Node& map, const char* key, const std::string& path, T* out, bool required = false) {
    YAML::Node n = map[key];
    if (!n) return required ? Fail(map, path + "." + key, "is required") : true;
    try {
      *out = n.as<T>();
    } catch (const YAML::Exception&) {
      return Fail(n, path + "." + key, std::string("expected ") + TypeName<T>());
    }
    return true;
  }

  // Yuan with up to two decimals, stored as cents.
  bool Money(const YAML::Node& map, const char* key, const std::string& path, int64_t* cents) {
    double yuan = 0;
    if (!map[key]) return true;
    if (!Get(map, key, path, &yuan)) return false;
    *cents = static_cast<int64_t>(std::llround(yuan * 100));
    return true;
  }

  bool Tags(const YAML::Node& map, const char* key, const std::string& path, std::vector<TagPair>* out) {
    YAML::Node n = map[key];
    if (!n) return true;
    if (!n.IsMap()) return Fail(n, path + "." + key, "expected a mapping of tag key to value");
    for (const auto& kv : n) out->push_back({kv.first.as<std::string>(), kv.second.as<std::string>()});
    return true;
  }

 private:
  template <typename T>
  static const char* TypeName() {
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    else if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (std::is_integral_v<T>) return "an integer";
    else return "a list of strings";
  }

  std::string file_;
  std::string error_;
};

bool ReadSite(Reader& r, const YAML::Node& root, Catalogue* c) {
  std::string site = "intl", dry_run = "supported";
  if (!r.Get(root, "site", "world", &site) || !r.Get(root, "dryRun", "world", &dry_run)) return false;
  if (site != "intl" && site != "china") return r.Fail(root["site"], "site", "must be intl or china");
  if (dry_run != "supported" && dry_run != "unsupported") {
    return r.Fail(root["dryRun"], "dryRun", "must be supported or unsupported");
  }
  c->site = site == "china" ? Site::kChina : Site::kIntl;
  c->dry_run = dry_run == "supported" ? DryRunSupport::kSupported : DryRunSupport::kUnsupported;
  return true;
}

bool ReadClock(Reader& r, const YAML::Node& n, Catalogue* c) {
  if (!n) return true;
  if (!r.Keys(n, "clock", {"mode", "timeScale"})) return false;
  std::string mode = "real";
  if (!r.Get(n, "mode", "clock", &mode) || !r.Get(n, "timeScale", "clock", &c->clock.time_scale)) return false;
  if (mode != "real" && mode != "manual") return r.Fail(n["mode"], "clock.mode", "must be real or manual");
  if (c->clock.time_scale < 0) return r.Fail(n["timeScale"], "clock.timeScale", "must not be negative");
  c->clock.manual = mode == "manual";
  return true;
}

bool ReadTimings(Reader& r, const YAML::Node& n, Timings* t) {
  if (!n) return true;
  if (!r.Keys(n, "timings", {"orderDelivery", "applying", "initing", "isolating", "disisolating",
                             "destroying", "specChange", "groupCreate", "serverlessCreate"})) {
    return false;
  }
  return r.Get(n, "orderDelivery", "timings", &t->order_delivery) && r.Get(n, "applying", "timings", &t->applying) &&
         r.Get(n, "initing", "timings", &t->initing) && r.Get(n, "isolating", "timings", &t->isolating) &&
         r.Get(n, "disisolating", "timings", &t->disisolating) && r.Get(n, "destroying", "timings", &t->destroying) &&
         r.Get(n, "specChange", "timings", &t->spec_change) && r.Get(n, "groupCreate", "timings", &t->group_create) &&
         r.Get(n, "serverlessCreate", "timings", &t->serverless_create);
}

bool ReadAccount(Reader& r, const YAML::Node& n, Catalogue* c, Dynamic* d) {
  if (!n) return r.Fail(n, "account", "is required");
  if (!r.Keys(n, "account", {"uin", "appId", "balance", "replicaQuotaPerMaster", "groupQuotaPerMaster",
                             "discountPercent", "credentials"})) {
    return false;
  }
  if (!r.Get(n, "uin", "account", &c->uin) || !r.Get(n, "appId", "account", &c->app_id) ||
      !r.Money(n, "balance", "account", &d->balance_cents) ||
      !r.Get(n, "replicaQuotaPerMaster", "account", &c->replica_quota_per_master) ||
      !r.Get(n, "groupQuotaPerMaster", "account", &c->group_quota_per_master) ||
      !r.Get(n, "discountPercent", "account", &c->discount_percent)) {
    return false;
  }
  YAML::Node creds = n["credentials"];
  if (!creds || !creds.IsSequence() || creds.size() == 0) {
    return r.Fail(n, "account.credentials", "needs at least one {secretId, secretKey} pair");
  }
  for (size_t i = 0; i < creds.size(); ++i) {
    std::string path = "account.credentials[" + std::to_string(i) + "]";
    CredentialPair p;
    if (!r.Keys(creds[i], path, {"secretId", "secretKey", "token"}) ||
        !r.Get(creds[i], "secretId", path, &p.secret_id, true) ||
        !r.Get(creds[i], "secretKey", path, &p.secret_key, true) || !r.Get(creds[i], "token", path, &p.token)) {
      return false;
    }
    c->credentials.push_back(p);
  }
  return true;
}

bool ReadRegions(Reader& r, const YAML::Node& n, Catalogue* c) {
  if (!n || !n.IsSequence()) return r.Fail(n, "regions", "needs a list of regions");
  for (size_t i = 0; i < n.size(); ++i) {
    std::string path = "regions[" + std::to_string(i) + "]";
    Region reg;
    const YAML::Node& rn = n[i];
    if (!r.Keys(rn, path, {"region", "name", "regionId", "state", "zones"}) ||
        !r.Get(rn, "region", path, &reg.region, true) || !r.Get(rn, "name", path, &reg.name) ||
        !r.Get(rn, "regionId", path, &reg.region_id) || !r.Get(rn, "state", path, &reg.state)) {
      return false;
    }
    YAML::Node zones = rn["zones"];
    for (size_t j = 0; zones && j < zones.size(); ++j) {
      std::string zpath = path + ".zones[" + std::to_string(j) + "]";
      Zone z;
      if (!r.Keys(zones[j], zpath, {"zone", "name", "zoneId", "state", "ipv6", "serverless"}) ||
          !r.Get(zones[j], "zone", zpath, &z.zone, true) || !r.Get(zones[j], "name", zpath, &z.name) ||
          !r.Get(zones[j], "zoneId", zpath, &z.zone_id) || !r.Get(zones[j], "state", zpath, &z.state) ||
          !r.Get(zones[j], "ipv6", zpath, &z.ipv6) || !r.Get(zones[j], "serverless", zpath, &z.serverless)) {
        return false;
      }
      static const std::set<std::string> kStates = {"AVAILABLE", "UNAVAILABLE", "SELLOUT", "SUPPORTMODIFYONLY"};
      if (!kStates.count(z.state)) return r.Fail(zones[j]["state"], zpath + ".state", "unknown zone state");
      reg.zones.push_back(z);
    }
    c->regions.push_back(reg);
  }
  return true;
}

bool ReadClasses(Reader& r, const YAML::Node& n, Catalogue* c) {
  for (size_t i = 0; n && i < n.size(); ++i) {
    std::string path = "classes[" + std::to_string(i) + "]";
    SpecClass k;
    int64_t monthly = 0, storage = 0;
    if (!r.Keys(n[i], path, {"specCode", "cpu", "memoryMB", "minStorageGB", "maxStorageGB", "qps",
                             "monthlyPrice", "storagePricePerGBMonth", "zones"}) ||
        !r.Get(n[i], "specCode", path, &k.spec_code, true) || !r.Get(n[i], "cpu", path, &k.cpu) ||
        !r.Get(n[i], "memoryMB", path, &k.memory_mb) || !r.Get(n[i], "minStorageGB", path, &k.min_storage_gb) ||
        !r.Get(n[i], "maxStorageGB", path, &k.max_storage_gb) || !r.Get(n[i], "qps", path, &k.qps) ||
        !r.Money(n[i], "monthlyPrice", path, &monthly) ||
        !r.Money(n[i], "storagePricePerGBMonth", path, &storage) || !r.Get(n[i], "zones", path, &k.zones)) {
      return false;
    }
    k.monthly_cents = static_cast<uint64_t>(monthly);
    k.storage_cents_per_gb_month = static_cast<uint64_t>(storage);
    c->classes.push_back(k);
  }
  return true;
}

bool ReadNetworks(Reader& r, const YAML::Node& root, Catalogue* c) {
  YAML::Node vpcs = root["vpcs"];
  for (size_t i = 0; vpcs && i < vpcs.size(); ++i) {
    std::string path = "vpcs[" + std::to_string(i) + "]";
    Vpc v;
    if (!r.Keys(vpcs[i], path, {"vpcId", "region", "subnets"}) || !r.Get(vpcs[i], "vpcId", path, &v.vpc_id, true) ||
        !r.Get(vpcs[i], "region", path, &v.region, true)) {
      return false;
    }
    YAML::Node subnets = vpcs[i]["subnets"];
    for (size_t j = 0; subnets && j < subnets.size(); ++j) {
      std::string spath = path + ".subnets[" + std::to_string(j) + "]";
      Subnet s;
      if (!r.Keys(subnets[j], spath, {"subnetId", "zone"}) || !r.Get(subnets[j], "subnetId", spath, &s.subnet_id, true) ||
          !r.Get(subnets[j], "zone", spath, &s.zone, true)) {
        return false;
      }
      v.subnets.push_back(s);
    }
    c->vpcs.push_back(v);
  }
  YAML::Node sgs = root["securityGroups"];
  for (size_t i = 0; sgs && i < sgs.size(); ++i) {
    std::string path = "securityGroups[" + std::to_string(i) + "]";
    SecurityGroup g;
    if (!r.Keys(sgs[i], path, {"sgId", "region"}) || !r.Get(sgs[i], "sgId", path, &g.sg_id, true) ||
        !r.Get(sgs[i], "region", path, &g.region, true)) {
      return false;
    }
    c->security_groups.push_back(g);
  }
  if (root["projects"] && !r.Get(root, "projects", "", &c->projects)) return false;
  if (root["dedicatedClusters"] && !r.Get(root, "dedicatedClusters", "", &c->dedicated_clusters)) return false;
  return true;
}

// Fills the size of `inst` from its spec class.
bool SizeFromClass(Reader& r, const YAML::Node& at, const std::string& path, const Catalogue& c, Instance* inst) {
  const SpecClass* k = c.FindClass(inst->spec_code);
  if (!k) return r.Fail(at, path + ".specCode", "no class '" + inst->spec_code + "' in classes");
  inst->cpu = k->cpu;
  inst->memory_gb = k->memory_mb / 1024;
  return true;
}

std::string SyntheticIp(uint64_t serial) {
  return "10." + std::to_string((serial >> 16) & 0xff) + "." + std::to_string((serial >> 8) & 0xff) + "." +
         std::to_string(serial & 0xff);
}

bool ReadInstances(Reader& r, const YAML::Node& n, const Catalogue& c, Dynamic* d) {
  for (size_t i = 0; n && i < n.size(); ++i) {
    std::string path = "instances[" + std::to_string(i) + "]";
    const YAML::Node& in = n[i];
    Instance inst;
    inst.type = "primary";
    if (!r.Keys(in, path, {"id", "name", "region", "zone", "type", "masterId", "specCode", "storageGB", "payType",
                           "status", "vpcId", "subnetId", "securityGroupIds", "projectId", "dbVersion",
                           "majorVersion", "kernelVersion", "charset", "tags", "deletionProtection",
                           "readOnlyGroupId"}) ||
        !r.Get(in, "id", path, &inst.id, true) || !r.Get(in, "name", path, &inst.name) ||
        !r.Get(in, "region", path, &inst.region, true) || !r.Get(in, "zone", path, &inst.zone, true) ||
        !r.Get(in, "type", path, &inst.type) || !r.Get(in, "masterId", path, &inst.master_id) ||
        !r.Get(in, "specCode", path, &inst.spec_code, true) || !r.Get(in, "storageGB", path, &inst.storage_gb) ||
        !r.Get(in, "payType", path, &inst.pay_type) || !r.Get(in, "status", path, &inst.final_status) ||
        !r.Get(in, "vpcId", path, &inst.vpc_id) || !r.Get(in, "subnetId", path, &inst.subnet_id) ||
        !r.Get(in, "securityGroupIds", path, &inst.security_groups) ||
        !r.Get(in, "projectId", path, &inst.project_id) || !r.Get(in, "dbVersion", path, &inst.db_version) ||
        !r.Get(in, "majorVersion", path, &inst.major_version) ||
        !r.Get(in, "kernelVersion", path, &inst.kernel_version) || !r.Get(in, "charset", path, &inst.charset) ||
        !r.Tags(in, "tags", path, &inst.tags) || !r.Get(in, "deletionProtection", path, &inst.deletion_protection) ||
        !r.Get(in, "readOnlyGroupId", path, &inst.ro_group_id)) {
      return false;
    }
    if (inst.pay_type != "prepaid" && inst.pay_type != "postpaid") {
      return r.Fail(in["payType"], path + ".payType", "must be prepaid or postpaid");
    }
    if (!c.FindZone(inst.region, inst.zone)) {
      return r.Fail(in["zone"], path + ".zone", "zone '" + inst.zone + "' is not in region '" + inst.region + "'");
    }
    if (!SizeFromClass(r, in, path, c, &inst)) return false;
    if (d->instances.count(inst.id)) return r.Fail(in["id"], path + ".id", "duplicate instance id");
    if (inst.final_status == "isolated") inst.isolated_at = 1;
    inst.serial = d->next_serial++;
    inst.ip = SyntheticIp(inst.serial);
    d->instances[inst.id] = inst;
  }
  return true;
}

// `generate` fills the world with many similar instances, for scale tests.
bool ReadGenerate(Reader& r, const YAML::Node& n, const Catalogue& c, Dynamic* d) {
  for (size_t i = 0; n && i < n.size(); ++i) {
    std::string path = "generate[" + std::to_string(i) + "]";
    const YAML::Node& g = n[i];
    uint64_t count = 0;
    Instance proto;
    std::string id_prefix = "pgro-gen";
    std::string name_prefix = "generated-";
    if (!r.Keys(g, path, {"count", "type", "masterId", "region", "zone", "specCode", "storageGB", "payType",
                          "vpcId", "subnetId", "namePrefix", "idPrefix", "tags"}) ||
        !r.Get(g, "count", path, &count, true) || !r.Get(g, "type", path, &proto.type) ||
        !r.Get(g, "masterId", path, &proto.master_id) || !r.Get(g, "region", path, &proto.region, true) ||
        !r.Get(g, "zone", path, &proto.zone, true) || !r.Get(g, "specCode", path, &proto.spec_code, true) ||
        !r.Get(g, "storageGB", path, &proto.storage_gb) || !r.Get(g, "payType", path, &proto.pay_type) ||
        !r.Get(g, "vpcId", path, &proto.vpc_id) || !r.Get(g, "subnetId", path, &proto.subnet_id) ||
        !r.Get(g, "namePrefix", path, &name_prefix) || !r.Get(g, "idPrefix", path, &id_prefix) ||
        !r.Tags(g, "tags", path, &proto.tags) || !SizeFromClass(r, g, path, c, &proto)) {
      return false;
    }
    for (uint64_t k = 0; k < count; ++k) {
      Instance inst = proto;
      char suffix[24];
      std::snprintf(suffix, sizeof suffix, "%06llu", static_cast<unsigned long long>(k));
      inst.id = id_prefix + suffix;
      inst.name = name_prefix + suffix;
      for (TagPair& t : inst.tags) {
        for (size_t at; (at = t.value.find("{i}")) != std::string::npos;) t.value.replace(at, 3, suffix);
      }
      inst.serial = d->next_serial++;
      inst.ip = SyntheticIp(inst.serial);
      d->instances[inst.id] = std::move(inst);
    }
  }
  return true;
}

// Plain scalars become numbers, booleans or null when they read as one; quoted ones stay strings.
json YamlToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    json out = json::object();
    for (const auto& kv : n) out[kv.first.as<std::string>()] = YamlToJson(kv.second);
    return out;
  }
  if (n.IsSequence()) {
    json out = json::array();
    for (const auto& item : n) out.push_back(YamlToJson(item));
    return out;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& text = n.Scalar();
  if (n.Tag() == "!") return text;  // quoted
  if (text == "true" || text == "false") return text == "true";
  if (text == "~" || text == "null") return nullptr;
  json number = json::parse(text, nullptr, false);
  if (!number.is_discarded() && number.is_number()) return number;
  return text;
}

Result<World> Parse(const YAML::Node& root, const std::string& name) {
  Reader r(name);
  World w;
  Catalogue& c = w.catalogue;
  if (!root.IsMap()) return Status(Code::kInvalidInput, name + ": a world file is a YAML mapping");
  r.Keys(root, "world", {"site", "dryRun", "clock", "timings", "account", "limits", "regions", "classes",
                         "projects", "vpcs", "securityGroups", "dedicatedClusters", "instances", "generate",
                         "faults"});
  if (!r.failed()) ReadSite(r, root, &c);
  if (!r.failed()) ReadClock(r, root["clock"], &c);
  if (!r.failed()) ReadTimings(r, root["timings"], &c.timings);
  if (!r.failed()) ReadAccount(r, root["account"], &c, &w.initial);
  if (!r.failed() && root["limits"]) {
    YAML::Node limits = root["limits"];
    if (r.Keys(limits, "limits", {"maxRequestBytes", "rateLimits"}) &&
        r.Get(limits, "maxRequestBytes", "limits", &c.max_request_bytes)) {
      r.Get(limits, "rateLimits", "limits", &c.rate_limits);
    }
  }
  if (!r.failed()) ReadRegions(r, root["regions"], &c);
  if (!r.failed()) ReadClasses(r, root["classes"], &c);
  if (!r.failed()) ReadNetworks(r, root, &c);
  if (!r.failed()) ReadInstances(r, root["instances"], c, &w.initial);
  if (!r.failed()) ReadGenerate(r, root["generate"], c, &w.initial);
  if (!r.failed() && root["faults"]) {
    // Fault rules are checked by the Faults parser; here they only travel as JSON.
    json faults = YamlToJson(root["faults"]);
    if (!faults.is_array()) r.Fail(root["faults"], "faults", "must be a list of fault rules");
    else w.faults_json = faults.dump();
  }
  if (r.failed()) return Status(Code::kInvalidInput, r.error());
  return w;
}

json InstanceToJson(const Instance& i) {
  json tags = json::array();
  for (const TagPair& t : i.tags) tags.push_back({{"key", t.key}, {"value", t.value}});
  json phases = json::array();
  for (const Phase& p : i.phases) phases.push_back({{"status", p.status}, {"until", p.until}});
  return {{"id", i.id}, {"name", i.name}, {"region", i.region}, {"zone", i.zone}, {"type", i.type},
          {"masterId", i.master_id}, {"specCode", i.spec_code}, {"cpu", i.cpu}, {"memoryGB", i.memory_gb},
          {"storageGB", i.storage_gb}, {"payType", i.pay_type}, {"autoRenew", i.auto_renew},
          {"projectId", i.project_id}, {"vpcId", i.vpc_id}, {"subnetId", i.subnet_id},
          {"securityGroups", i.security_groups}, {"tags", tags}, {"deletionProtection", i.deletion_protection},
          {"ipv6", i.ipv6}, {"dedicatedClusterId", i.dedicated_cluster_id}, {"roGroupId", i.ro_group_id},
          {"dbVersion", i.db_version}, {"majorVersion", i.major_version}, {"kernelVersion", i.kernel_version},
          {"charset", i.charset}, {"ip", i.ip}, {"createdAt", i.created_at}, {"updatedAt", i.updated_at},
          {"expireAt", i.expire_at}, {"isolatedAt", i.isolated_at}, {"serial", i.serial},
          {"finalStatus", i.final_status}, {"phases", phases},
          {"pendingSpec", i.pending_spec ? json(*i.pending_spec) : json(nullptr)},
          {"pendingStorageGB", i.pending_storage_gb}};
}

Instance InstanceFromJson(const json& j) {
  Instance i;
  i.id = j.at("id");
  i.name = j.at("name");
  i.region = j.at("region");
  i.zone = j.at("zone");
  i.type = j.at("type");
  i.master_id = j.at("masterId");
  i.spec_code = j.at("specCode");
  i.cpu = j.at("cpu");
  i.memory_gb = j.at("memoryGB");
  i.storage_gb = j.at("storageGB");
  i.pay_type = j.at("payType");
  i.auto_renew = j.at("autoRenew");
  i.project_id = j.at("projectId");
  i.vpc_id = j.at("vpcId");
  i.subnet_id = j.at("subnetId");
  i.security_groups = j.at("securityGroups").get<std::vector<std::string>>();
  for (const json& t : j.at("tags")) i.tags.push_back({t.at("key"), t.at("value")});
  i.deletion_protection = j.at("deletionProtection");
  i.ipv6 = j.at("ipv6");
  i.dedicated_cluster_id = j.at("dedicatedClusterId");
  i.ro_group_id = j.at("roGroupId");
  i.db_version = j.at("dbVersion");
  i.major_version = j.at("majorVersion");
  i.kernel_version = j.at("kernelVersion");
  i.charset = j.at("charset");
  i.ip = j.at("ip");
  i.created_at = j.at("createdAt");
  i.updated_at = j.at("updatedAt");
  i.expire_at = j.at("expireAt");
  i.isolated_at = j.at("isolatedAt");
  i.serial = j.at("serial");
  i.final_status = j.at("finalStatus");
  for (const json& p : j.at("phases")) i.phases.push_back({p.at("status"), p.at("until")});
  if (!j.at("pendingSpec").is_null()) i.pending_spec = j.at("pendingSpec").get<std::string>();
  i.pending_storage_gb = j.at("pendingStorageGB");
  return i;
}

}  // namespace

const Region* Catalogue::FindRegion(const std::string& region) const {
  for (const Region& r : regions) {
    if (r.region == region) return &r;
  }
  return nullptr;
}

const Zone* Catalogue::FindZone(const std::string& region, const std::string& zone) const {
  const Region* r = FindRegion(region);
  if (!r) return nullptr;
  for (const Zone& z : r->zones) {
    if (z.zone == zone) return &z;
  }
  return nullptr;
}

const SpecClass* Catalogue::FindClass(const std::string& spec_code) const {
  for (const SpecClass& k : classes) {
    if (k.spec_code == spec_code) return &k;
  }
  return nullptr;
}

const Vpc* Catalogue::FindVpc(const std::string& vpc_id) const {
  for (const Vpc& v : vpcs) {
    if (v.vpc_id == vpc_id) return &v;
  }
  return nullptr;
}

bool Catalogue::HasSecurityGroup(const std::string& sg_id, const std::string& region) const {
  for (const SecurityGroup& g : security_groups) {
    if (g.sg_id == sg_id && g.region == region) return true;
  }
  return false;
}

bool Catalogue::HasProject(uint64_t project_id) const {
  for (uint64_t p : projects) {
    if (p == project_id) return true;
  }
  return false;
}

const char* SiteName(Site site) { return site == Site::kChina ? "china" : "intl"; }

Result<World> LoadWorldText(const std::string& text, const std::string& name) {
  try {
    return Parse(YAML::Load(text), name);
  } catch (const YAML::Exception& e) {
    return Status(Code::kInvalidInput, name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<World> LoadWorldFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kInvalidInput, path + ": cannot open the world file");
  std::stringstream buf;
  buf << in.rdbuf();
  return LoadWorldText(buf.str(), path);
}

json DynamicToJson(const Dynamic& d) {
  json out = {{"version", 1}, {"balanceCents", d.balance_cents}, {"nextSerial", d.next_serial},
              {"clockOffset", d.clock_offset}};
  json& instances = out["instances"] = json::array();
  for (const auto& [id, i] : d.instances) instances.push_back(InstanceToJson(i));
  json& groups = out["groups"] = json::array();
  for (const auto& [id, g] : d.groups) {
    groups.push_back({{"id", g.id}, {"name", g.name}, {"masterId", g.master_id}, {"region", g.region},
                      {"zone", g.zone}, {"projectId", g.project_id}, {"vpcId", g.vpc_id},
                      {"subnetId", g.subnet_id}, {"securityGroups", g.security_groups},
                      {"replayLagEliminate", g.replay_lag_eliminate},
                      {"replayLatencyEliminate", g.replay_latency_eliminate}, {"maxReplayLag", g.max_replay_lag},
                      {"maxReplayLatency", g.max_replay_latency},
                      {"minDelayEliminateReserve", g.min_delay_eliminate_reserve}, {"rebalance", g.rebalance},
                      {"createdAt", g.created_at},
                      {"readyAt", g.ready_at}, {"serial", g.serial}});
  }
  json& deals = out["deals"] = json::array();
  for (const auto& [name, deal] : d.deals) {
    deals.push_back({{"dealName", deal.deal_name}, {"billId", deal.bill_id}, {"count", deal.count},
                     {"payMode", deal.pay_mode}, {"flowId", deal.flow_id}, {"instanceIds", deal.instance_ids},
                     {"createdAt", deal.created_at}, {"deliverAt", deal.deliver_at},
                     {"neverDelivered", deal.never_delivered}});
  }
  return out;
}

Result<Dynamic> DynamicFromJson(const json& j) {
  try {
    if (j.at("version") != 1) return Status(Code::kInvalidInput, "unknown data file version");
    Dynamic d;
    d.balance_cents = j.at("balanceCents");
    d.next_serial = j.at("nextSerial");
    d.clock_offset = j.at("clockOffset");
    for (const json& i : j.at("instances")) {
      Instance inst = InstanceFromJson(i);
      d.instances[inst.id] = std::move(inst);
    }
    for (const json& g : j.at("groups")) {
      ReadOnlyGroup grp;
      grp.id = g.at("id");
      grp.name = g.at("name");
      grp.master_id = g.at("masterId");
      grp.region = g.at("region");
      grp.zone = g.at("zone");
      grp.project_id = g.at("projectId");
      grp.vpc_id = g.at("vpcId");
      grp.subnet_id = g.at("subnetId");
      grp.security_groups = g.at("securityGroups").get<std::vector<std::string>>();
      grp.replay_lag_eliminate = g.at("replayLagEliminate");
      grp.replay_latency_eliminate = g.at("replayLatencyEliminate");
      grp.max_replay_lag = g.at("maxReplayLag");
      grp.max_replay_latency = g.at("maxReplayLatency");
      grp.min_delay_eliminate_reserve = g.at("minDelayEliminateReserve");
      grp.rebalance = g.value("rebalance", int64_t{0});  // absent in files written before it existed
      grp.created_at = g.at("createdAt");
      grp.ready_at = g.at("readyAt");
      grp.serial = g.at("serial");
      d.groups[grp.id] = grp;
    }
    for (const json& x : j.at("deals")) {
      Deal deal;
      deal.deal_name = x.at("dealName");
      deal.bill_id = x.at("billId");
      deal.count = x.at("count");
      deal.pay_mode = x.at("payMode");
      deal.flow_id = x.at("flowId");
      deal.instance_ids = x.at("instanceIds").get<std::vector<std::string>>();
      deal.created_at = x.at("createdAt");
      deal.deliver_at = x.at("deliverAt");
      deal.never_delivered = x.at("neverDelivered");
      d.deals[deal.deal_name] = deal;
    }
    return d;
  } catch (const json::exception& e) {
    return Status(Code::kInvalidInput, std::string("data file is damaged: ") + e.what());
  }
}

}  // namespace reconciler::tencentcloud::emulator
