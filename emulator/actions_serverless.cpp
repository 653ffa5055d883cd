// Serverless instances (the second seed page): create, describe, delete.

#include <algorithm>
#include <deque>

#include "emulator/cloud.h"
#include "emulator/rules.h"
#include "base/sha256.h"

namespace reconciler::tencentcloud::emulator {

using nlohmann::json;

json EmulatedCloud::ServerlessJson(const Instance& i) const {
  json tags = json::array();
  for (const TagPair& t : i.tags) tags.push_back({{"TagKey", t.key}, {"TagValue", t.value}});
  // The real answer carries the admin account's password; the emulator makes one up from
  // the instance id so answers are stable, and clients must keep it out of their output.
  std::string password = "Pw" + Sha256Hex("serverless:" + i.id).substr(0, 14);
  return {{"DBInstanceId", i.id},
          {"DBInstanceName", i.name},
          {"DBInstanceStatus", i.Status()},
          {"Region", i.region},
          {"Zone", i.zone},
          {"ProjectId", i.project_id},
          {"VpcId", i.vpc_id},
          {"SubnetId", i.subnet_id},
          {"DBCharset", i.charset},
          {"DBVersion", i.db_version},
          {"CreateTime", FormatTime(i.created_at)},
          {"DBInstanceNetInfo", json::array({{{"Address", i.id + ".sl.pg.tencentcdb.com"},
                                              {"Ip", i.ip},
                                              {"Port", 5432},
                                              {"Status", "opened"},
                                              {"NetType", "private"}}})},
          {"DBAccountSet", json::array({{{"DBUser", "root"}, {"DBPassword", password}, {"DBConnLimit", 100}}})},
          {"DBDatabaseList", nullptr},
          {"TagList", tags},
          {"DBKernelVersion", i.kernel_version},
          {"DBMajorVersion", i.major_version}};
}

Reply EmulatedCloud::CreateServerlessDBInstance(const std::string& region, const json& p) {
  const std::string zone = p["Zone"], name = p["DBInstanceName"];
  if (auto bad = CheckZone(region, zone)) return *bad;
  if (!world_.catalogue.FindZone(region, zone)->serverless) {
    return Error("OperationDenied.NotSupportZoneError",
                 "Serverless is not supported in zone " + zone + " (beta zones only).");
  }
  if (p["DBVersion"] != rules::kServerlessVersion) {
    return Error("OperationDenied.VersionNotSupportError",
                 "Serverless is not supported on PostgreSQL " + p["DBVersion"].get<std::string>() + "; only 10.4.");
  }
  if (p["DBCharset"] != rules::kServerlessCharset) {
    return Error("InvalidParameterValue.InvalidCharset", "Only the UTF8 character set is supported for serverless.");
  }
  if (auto bad = CheckName(name, "DBInstanceName")) return *bad;
  for (const auto& [id, inst] : state_.instances) {
    if (inst.type == "serverless" && inst.name == name) {
      return Error("InvalidParameter.InstanceNameExist", "The instance name `" + name + "` already exists.");
    }
  }
  if (auto bad = CheckProject(p)) return *bad;
  if (auto bad = CheckNetwork(region, p, /*required=*/false)) return *bad;
  std::vector<TagPair> tags = p.contains("TagList") ? ParseTags(p["TagList"]) : std::vector<TagPair>{};
  if (auto bad = CheckTags(tags)) return *bad;

  Reply reply;
  if (p.value("DryRun", false)) {
    reply.dry_run = true;
    reply.body = {{"DBInstanceId", ""}};
    return reply;
  }
  Instance inst = NewInstance(NewId("postgres-"), region, zone);
  inst.type = "serverless";
  inst.name = name;
  inst.spec_code = "serverless";
  inst.project_id = p.value("ProjectId", uint64_t{0});
  inst.vpc_id = p.value("VpcId", std::string());
  inst.subnet_id = p.value("SubnetId", std::string());
  inst.tags = tags;
  inst.db_version = rules::kServerlessVersion;
  inst.major_version = "10";
  inst.kernel_version = "v10.4_r1.0";
  inst.charset = rules::kServerlessCharset;
  inst.phases.push_back({"initing", clock_.Now() + clock_.Scaled(world_.catalogue.timings.serverless_create)});
  if (auto stuck = faults_->Take(FaultType::kStuck, "CreateServerlessDBInstance")) {
    StickInStatus(stuck->instance_status, &inst);
  }
  reply.committed = true;
  reply.body = {{"DBInstanceId", inst.id}};
  Track(inst.id);
  AddInstance(std::move(inst));
  return reply;
}

Reply EmulatedCloud::DescribeServerlessDBInstances(const std::string& region, const json& p) {
  const uint64_t limit = p.value("Limit", uint64_t{0}) == 0 ? rules::kDefaultListLimit : p["Limit"].get<uint64_t>();
  if (limit > rules::kMaxListLimit) {
    return Error("InvalidParameterValue.InvalidParameterValueError",
                 "Limit must be 0 to " + std::to_string(rules::kMaxListLimit) + ".");
  }
  const uint64_t offset = p.value("Offset", uint64_t{0});
  if (p.value("OrderBy", std::string("CreateTime")) != "CreateTime") {
    return Error("InvalidParameterValue.InvalidParameterValueError", "OrderBy only supports CreateTime.");
  }
  const std::string order_type = p.value("OrderByType", std::string("asc"));
  if (order_type != "asc" && order_type != "desc") {
    return Error("InvalidParameterValue.InvalidParameterValueError", "OrderByType must be asc or desc.");
  }
  // A lagging listing leaves recent instances out, or shows them without their tags. It
  // depends on the clock, so it is never cached; every other listing is kept until the next
  // change (see CacheListing).
  std::optional<FaultRule> lag = faults_->Take(FaultType::kListingLag, "DescribeServerlessDBInstances");
  const std::string key = "DescribeServerlessDBInstances\n" + region + "\n" + order_type + "\n" +
                          p.value("Filter", json::array()).dump();
  KeptListing* kept = lag ? nullptr : CachedListing(key);
  std::deque<Instance> untagged;
  std::vector<const Instance*> hits;
  if (kept == nullptr) {
    const double now = clock_.Now();
    for (const Instance* in_region : InRegion(region)) {
      const Instance& listed = *in_region;
      if (listed.type != "serverless") continue;
      const bool lags = lag && LagsBehind(*lag, listed.created_at, now);
      if (lags && lag->lag_mode == LagMode::kAbsent) continue;
      if (lags) {
        untagged.push_back(listed);
        untagged.back().tags.clear();
      }
      const Instance& inst = lags ? untagged.back() : listed;
      bool keep = true;
      for (const json& f : p.value("Filter", json::array())) {
        const std::string name = f["Name"];
        std::vector<std::string> values = f.value("Values", std::vector<std::string>{});
        auto any = [&](auto pred) { return std::any_of(values.begin(), values.end(), pred); };
        if (name == "db-instance-id") keep = keep && any([&](const std::string& v) { return inst.id == v; });
        else if (name == "db-instance-name") keep = keep && any([&](const std::string& v) { return inst.name == v; });
        else if (name == "db-tag-key") {
          keep = keep && any([&](const std::string& v) {
                   return std::any_of(inst.tags.begin(), inst.tags.end(), [&](const TagPair& t) { return t.key == v; });
                 });
        } else {
          return Error("InvalidParameterValue.InvalidParameterValueError", "Unknown filter name `" + name + "`.");
        }
      }
      if (keep) hits.push_back(&inst);
    }
    // The region index is in creation order already.
    if (order_type == "desc") std::reverse(hits.begin(), hits.end());
    if (!lag) kept = &CacheListing(key, std::move(hits));
  }
  const std::vector<const Instance*>& listing = kept ? kept->instances : hits;
  json set = json::array();
  for (uint64_t i = offset; i < listing.size() && i < offset + limit; ++i) {
    set.push_back(ServerlessJson(*listing[i]));
  }
  Reply reply;
  reply.body = {{"TotalCount", listing.size()}, {"DBInstanceSet", std::move(set)}};
  return reply;
}

Reply EmulatedCloud::DeleteServerlessDBInstance(const std::string& region, const json& p) {
  const std::string id = p.value("DBInstanceId", std::string()), name = p.value("DBInstanceName", std::string());
  if (id.empty() && name.empty()) {
    return Error("MissingParameter", "The request is missing a required parameter `DBInstanceId` or `DBInstanceName`.");
  }
  for (auto it = state_.instances.begin(); it != state_.instances.end(); ++it) {
    const Instance& inst = it->second;
    if (inst.type != "serverless" || inst.region != region) continue;
    // The ID wins when both are given.
    if (id.empty() ? inst.name == name : inst.id == id) {
      state_.instances.erase(it);
      Changed();
      Reply reply;
      reply.committed = true;
      return reply;
    }
  }
  return Error("ResourceNotFound.InstanceNotFoundError",
               "The serverless instance `" + (id.empty() ? name : id) + "` does not exist.");
}

}  // namespace reconciler::tencentcloud::emulator
