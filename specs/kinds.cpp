#include "specs/kinds.h"

#include <algorithm>
#include <functional>
#include <set>

#include "specs/rules.h"

namespace reconciler::specs {

namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// Region: the spec's own, else the project's.
std::string ReadRegion(FieldReader& r, const Project& project) {
  std::string region = project.region;
  if (r.String("region", &region) && !IsSupportedRegion(region)) {
    std::string hint = DidYouMean(region, SupportedRegions());
    r.Error("region", "region " + Quote(region) + " is not a region TencentDB for PostgreSQL supports" +
                          (hint.empty() ? "" : "; did you mean " + Quote(hint) + "?"));
  }
  if (region.empty()) {
    r.Error("", "no region: set region here or provider.tencentcloud.region in reconciler.yaml");
  }
  return region;
}

void ReadZone(FieldReader& r, const std::string& region, std::string* zone) {
  if (r.String("zone", zone) && !region.empty() && IsSupportedRegion(region) && !ZoneInRegion(*zone, region)) {
    r.Error("zone", "zone " + Quote(*zone) + " is not in region " + Quote(region));
  }
}

void ReadId(FieldReader& r, const char* key, const char* prefix, std::string* out) {
  if (r.String(key, out) && !IdHasForm(*out, prefix)) {
    r.Error(key, std::string(key) + " must look like " + prefix + "xxxxxxxx, got " + Quote(*out));
  }
}

void ReadIdList(FieldReader& r, const char* key, const char* prefix, std::vector<std::string>* out, Diagnostics* diags) {
  std::vector<Location> at;
  if (!r.StringList(key, out, &at)) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < out->size(); ++i) {
    const std::string& id = (*out)[i];
    if (!IdHasForm(id, prefix)) {
      diags->Error(at[i], std::string(key) + " items must look like " + prefix + "xxxxxxxx, got " + Quote(id));
    } else if (!seen.insert(id).second) {
      diags->Error(at[i], std::string(key) + " lists " + Quote(id) + " twice");
    }
  }
}

void ReadNetwork(FieldReader& r, std::string* vpc, std::string* subnet, bool required) {
  if (required) {
    r.Require("vpcId", " (the API no longer creates instances on the classic network)");
    r.Require("subnetId", " (the API no longer creates instances on the classic network)");
  }
  ReadId(r, "vpcId", "vpc-", vpc);
  ReadId(r, "subnetId", "subnet-", subnet);
  if (!required && vpc->empty() != subnet->empty()) {
    r.Error(vpc->empty() ? "subnetId" : "vpcId", "vpcId and subnetId go together: set both or neither");
  }
}

void ReadName(FieldReader& r, const char* key, const std::string& metadata_name, std::string* out) {
  *out = metadata_name;
  if (r.String(key, out)) {
    if (std::string why = CheckCloudName(*out); !why.empty()) r.Error(key, std::string(key) + " " + why);
  }
}

void ReadTags(FieldReader& r, std::map<std::string, std::string>* tags, Diagnostics* diags) {
  std::map<std::string, Location> at;
  if (!r.StringMap("tags", tags, &at)) return;
  for (const auto& [k, v] : *tags) {
    if (std::string why = CheckTag(k, v); !why.empty()) diags->Error(at[k], "tag " + Quote(k) + ": " + why);
  }
  if (tags->size() > kMaxUserTags) {
    r.Error("tags", "at most " + std::to_string(kMaxUserTags) + " tags (50 per instance, less the reconciler's 3), got " +
                        std::to_string(tags->size()));
  }
}

void ReadDeletionPolicy(FieldReader& r, DeletionPolicy* out) {
  std::string text;
  if (!r.String("deletionPolicy", &text)) return;
  if (text == "Orphan") *out = DeletionPolicy::kOrphan;
  else if (text == "Delete") *out = DeletionPolicy::kDelete;
  else {
    std::string hint = DidYouMean(text, {"Orphan", "Delete"});
    r.Error("deletionPolicy", "deletionPolicy must be Orphan or Delete, got " + Quote(text) +
                                  (hint.empty() ? "" : "; did you mean " + Quote(hint) + "?"));
  }
}

ReadOnlyInstanceSpec ReadReplica(FieldReader& r, const std::string& name, const Project& project,
                                 std::vector<ResourceKey>* depends_on, Diagnostics* diags) {
  ReadOnlyInstanceSpec s;
  s.region = ReadRegion(r, project);
  r.Require("zone");
  r.Require("masterInstanceId");
  r.Require("specCode");
  r.Require("storageGB");
  ReadZone(r, s.region, &s.zone);
  ReadId(r, "masterInstanceId", "postgres-", &s.master_instance_id);
  if (r.String("specCode", &s.spec_code) && (s.spec_code.empty() || s.spec_code.size() > 64)) {
    r.Error("specCode", "specCode must be a spec code from DescribeClasses, such as pg.it.small2");
  }
  if (r.Uint("storageGB", &s.storage_gb) && (s.storage_gb < 10 || s.storage_gb % 10 != 0 || s.storage_gb > 32000)) {
    r.Error("storageGB", "storageGB must be a multiple of 10 from 10 to 32000, got " + std::to_string(s.storage_gb));
  }
  // 0 scales the resource to nothing and keeps it: its deletionPolicy decides what happens
  // to the instances that go.
  if (r.Uint("count", &s.count) && s.count > 100) {
    r.Error("count", "count must be 0 to 100 replicas, got " + std::to_string(s.count));
  }
  std::string charge;
  if (r.String("chargeType", &charge)) {
    if (charge == "PREPAID") s.charge_type = ChargeType::kPrepaid;
    else if (charge == "POSTPAID_BY_HOUR") s.charge_type = ChargeType::kPostpaidByHour;
    else {
      std::string hint = DidYouMean(charge, {"PREPAID", "POSTPAID_BY_HOUR"});
      r.Error("chargeType", "chargeType must be PREPAID or POSTPAID_BY_HOUR, got " + Quote(charge) +
                                (hint.empty() ? "" : "; did you mean " + Quote(hint) + "?"));
    }
  }
  if (r.Uint("periodMonths", &s.period_months)) {
    if (!ValidPeriodMonths(s.period_months)) {
      r.Error("periodMonths", "periodMonths must be 1 to 12, 24 or 36, got " + std::to_string(s.period_months));
    } else if (s.charge_type == ChargeType::kPostpaidByHour && s.period_months != 1) {
      r.Error("periodMonths", "periodMonths applies to PREPAID replicas; POSTPAID_BY_HOUR takes 1, got " +
                                  std::to_string(s.period_months));
    }
  }
  ReadNetwork(r, &s.vpc_id, &s.subnet_id, /*required=*/true);
  r.Bool("autoVoucher", &s.auto_voucher);
  if (r.StringList("voucherIds", &s.voucher_ids) && s.voucher_ids.size() > 1) {
    r.Error("voucherIds", "voucherIds takes at most one voucher, got " + std::to_string(s.voucher_ids.size()));
  }
  r.Bool("autoRenew", &s.auto_renew);
  r.Uint("projectId", &s.project_id);
  int64_t activity = 0;
  if (r.Int("activityId", &activity)) s.activity_id = activity;
  if (r.String("readOnlyGroup", &s.read_only_group)) {
    if (std::string why = CheckLabel(s.read_only_group); !why.empty()) {
      r.Error("readOnlyGroup", "readOnlyGroup names a ReadOnlyGroup of this stack; " + Quote(s.read_only_group) + " " + why);
    } else {
      depends_on->push_back({Kind::kReadOnlyGroup, s.read_only_group});
    }
  }
  ReadId(r, "readOnlyGroupId", "pgrogrp-", &s.read_only_group_id);
  if (!s.read_only_group.empty() && r.Has("readOnlyGroupId")) {
    r.Error("readOnlyGroupId", "set readOnlyGroup (a group of this stack) or readOnlyGroupId (an existing group), not both");
  }
  ReadIdList(r, "securityGroupIds", "sg-", &s.security_group_ids, diags);
  r.Bool("needSupportIpv6", &s.need_support_ipv6);
  ReadName(r, "instanceName", name, &s.instance_name);
  if (r.String("dedicatedClusterId", &s.dedicated_cluster_id) && s.dedicated_cluster_id.empty()) {
    r.Error("dedicatedClusterId", "dedicatedClusterId must not be empty");
  }
  r.Bool("deletionProtection", &s.deletion_protection);
  if (r.String("dbVersion", &s.db_version)) {
    r.Warning("dbVersion", "dbVersion is ignored: the API deprecated it, and a replica runs its master's version");
  }
  ReadTags(r, &s.tags, diags);
  ReadDeletionPolicy(r, &s.deletion_policy);
  return s;
}

ReadOnlyGroupSpec ReadGroup(FieldReader& r, const std::string& name, const Project& project, Diagnostics* diags) {
  ReadOnlyGroupSpec s;
  s.region = ReadRegion(r, project);
  r.Require("masterInstanceId");
  ReadId(r, "masterInstanceId", "postgres-", &s.master_instance_id);
  ReadName(r, "groupName", name, &s.group_name);
  r.Uint("projectId", &s.project_id);
  ReadNetwork(r, &s.vpc_id, &s.subnet_id, /*required=*/true);
  r.Bool("replayLagEliminate", &s.replay_lag_eliminate);
  s.replay_latency_eliminate = s.replay_lag_eliminate;
  if (r.Bool("replayLatencyEliminate", &s.replay_latency_eliminate) &&
      s.replay_latency_eliminate != s.replay_lag_eliminate) {
    r.Error("replayLatencyEliminate", "replayLatencyEliminate must equal replayLagEliminate (the API requires it)");
  }
  r.Uint("maxReplayLagSeconds", &s.max_replay_lag_seconds);
  r.Uint("maxReplayLatencyMB", &s.max_replay_latency_mb);
  if (r.Uint("minDelayEliminateReserve", &s.min_delay_eliminate_reserve) && s.min_delay_eliminate_reserve > 100) {
    r.Error("minDelayEliminateReserve", "minDelayEliminateReserve must be 0 to 100, got " +
                                            std::to_string(s.min_delay_eliminate_reserve));
  }
  ReadIdList(r, "securityGroupIds", "sg-", &s.security_group_ids, diags);
  ReadDeletionPolicy(r, &s.deletion_policy);
  return s;
}

ServerlessInstanceSpec ReadServerless(FieldReader& r, const std::string& name, const Project& project,
                                      Diagnostics* diags) {
  ServerlessInstanceSpec s;
  s.region = ReadRegion(r, project);
  r.Require("zone");
  ReadZone(r, s.region, &s.zone);
  const auto& beta = ServerlessZones();
  if (!s.zone.empty() && std::find(beta.begin(), beta.end(), s.zone) == beta.end()) {
    r.Error("zone", "serverless is offered only in " + Join(beta) + ", not " + Quote(s.zone));
  }
  ReadName(r, "instanceName", name, &s.instance_name);
  if (r.String("dbVersion", &s.db_version) && s.db_version != "10.4") {
    r.Error("dbVersion", "serverless runs PostgreSQL 10.4 only, got " + Quote(s.db_version));
  }
  if (r.String("dbCharset", &s.db_charset) && s.db_charset != "UTF8") {
    r.Error("dbCharset", "serverless offers the UTF8 character set only, got " + Quote(s.db_charset));
  }
  r.Uint("projectId", &s.project_id);
  ReadNetwork(r, &s.vpc_id, &s.subnet_id, /*required=*/false);
  ReadTags(r, &s.tags, diags);
  ReadDeletionPolicy(r, &s.deletion_policy);
  return s;
}

}  // namespace

const std::vector<std::string>& FieldsOf(Kind kind) {
  static const std::vector<std::string> kReplica = {
      "region", "zone", "masterInstanceId", "specCode", "storageGB", "count", "periodMonths", "vpcId", "subnetId",
      "chargeType", "autoVoucher", "voucherIds", "autoRenew", "projectId", "activityId", "readOnlyGroup",
      "readOnlyGroupId", "securityGroupIds", "needSupportIpv6", "instanceName", "dedicatedClusterId",
      "deletionProtection", "dbVersion", "tags", "deletionPolicy"};
  static const std::vector<std::string> kGroup = {
      "region", "masterInstanceId", "groupName", "projectId", "vpcId", "subnetId", "replayLagEliminate",
      "replayLatencyEliminate", "maxReplayLagSeconds", "maxReplayLatencyMB", "minDelayEliminateReserve",
      "securityGroupIds", "deletionPolicy"};
  static const std::vector<std::string> kServerless = {
      "region", "zone", "instanceName", "dbVersion", "dbCharset", "projectId", "vpcId", "subnetId", "tags",
      "deletionPolicy"};
  switch (kind) {
    case Kind::kReadOnlyInstance: return kReplica;
    case Kind::kReadOnlyGroup: return kGroup;
    case Kind::kServerlessInstance: return kServerless;
  }
  return kReplica;
}

Spec ReadSpec(Kind kind, FieldReader& r, const std::string& name, const Project& project,
              std::vector<ResourceKey>* depends_on, Diagnostics* diags) {
  switch (kind) {
    case Kind::kReadOnlyInstance: return ReadReplica(r, name, project, depends_on, diags);
    case Kind::kReadOnlyGroup: return ReadGroup(r, name, project, diags);
    case Kind::kServerlessInstance: return ReadServerless(r, name, project, diags);
  }
  return ReadOnlyInstanceSpec{};
}

namespace {

void CheckUniqueCloudNames(const DesiredState& d, Diagnostics* diags) {
  // Serverless names are unique per account; group names we keep unique per master, since
  // groups carry no tags and are found by name.
  std::map<std::string, const Resource*> serverless;
  std::map<std::pair<std::string, std::string>, const Resource*> groups;
  for (const Resource& r : d.resources) {
    if (const auto* s = r.serverless()) {
      auto [it, fresh] = serverless.emplace(s->instance_name, &r);
      if (!fresh) {
        diags->Error(r.fields.count("instanceName") ? r.fields.at("instanceName") : r.at,
                     "serverless instance name " + Quote(s->instance_name) + " is also used by " +
                         it->second->key.ToString() + " (names are unique per account)");
      }
    } else if (const auto* g = r.group()) {
      auto [it, fresh] = groups.emplace(std::make_pair(g->master_instance_id, g->group_name), &r);
      if (!fresh) {
        diags->Error(r.fields.count("groupName") ? r.fields.at("groupName") : r.at,
                     "read-only group name " + Quote(g->group_name) + " is also used by " +
                         it->second->key.ToString() + " on the same master");
      }
    }
  }
}

void CheckReferences(const DesiredState& d, Diagnostics* diags) {
  // Groups by name, so a stack of many replicas is not scanned once per reference.
  std::vector<std::string> group_names;
  std::map<std::string, const Resource*, std::less<>> groups;
  for (const Resource& r : d.resources) {
    if (r.key.kind != Kind::kReadOnlyGroup) continue;
    group_names.push_back(r.key.name);
    groups.emplace(r.key.name, &r);
  }
  for (const Resource& r : d.resources) {
    const auto* replica = r.replica();
    if (!replica || replica->read_only_group.empty()) continue;
    Location at = r.fields.count("readOnlyGroup") ? r.fields.at("readOnlyGroup") : r.at;
    auto found = groups.find(replica->read_only_group);
    if (found == groups.end()) {
      std::string hint = DidYouMean(replica->read_only_group, group_names);
      diags->Error(at, "readOnlyGroup " + Quote(replica->read_only_group) + " is not a ReadOnlyGroup in this stack" +
                           (hint.empty() ? "" : "; did you mean " + Quote(hint) + "?"));
      continue;
    }
    const ReadOnlyGroupSpec* g = found->second->group();
    if (g->master_instance_id != replica->master_instance_id) {
      diags->Error(at, "readOnlyGroup " + Quote(replica->read_only_group) + " belongs to master " +
                           g->master_instance_id + ", but this replica's master is " + replica->master_instance_id);
    } else if (g->region != replica->region) {
      diags->Error(at, "readOnlyGroup " + Quote(replica->read_only_group) + " is in region " + g->region +
                           ", but this replica is in " + replica->region);
    }
  }
}

// Orders resources so dependencies come first, reporting cycles.
void Order(DesiredState* d, Diagnostics* diags) {
  if (std::all_of(d->resources.begin(), d->resources.end(), [](const Resource& r) { return r.depends_on.empty(); })) {
    return;  // nothing to order: the resources stay as written
  }
  std::map<ResourceKey, size_t> index;
  for (size_t i = 0; i < d->resources.size(); ++i) index[d->resources[i].key] = i;
  std::vector<int> mark(d->resources.size(), 0);  // 0 new, 1 on the path, 2 done
  std::vector<size_t> order, path;
  std::function<void(size_t)> visit = [&](size_t i) {
    if (mark[i] == 2) return;
    if (mark[i] == 1) {
      std::string cycle;
      auto from = std::find(path.begin(), path.end(), i);
      for (auto it = from; it != path.end(); ++it) cycle += d->resources[*it].key.ToString() + " -> ";
      diags->Error(d->resources[i].at, "dependency cycle: " + cycle + d->resources[i].key.ToString());
      return;
    }
    mark[i] = 1;
    path.push_back(i);
    for (const ResourceKey& dep : d->resources[i].depends_on) {
      auto it = index.find(dep);
      if (it != index.end()) visit(it->second);
    }
    path.pop_back();
    mark[i] = 2;
    order.push_back(i);
  };
  for (size_t i = 0; i < d->resources.size(); ++i) visit(i);
  // Most stacks are already in order (no references, or groups first): moving every
  // resource would then only cost time.
  bool in_place = true;
  for (size_t i = 0; in_place && i < order.size(); ++i) in_place = order[i] == i;
  if (in_place) return;
  std::vector<Resource> sorted;
  sorted.reserve(order.size());
  for (size_t i : order) sorted.push_back(std::move(d->resources[i]));
  d->resources = std::move(sorted);
}

}  // namespace

void CheckStack(DesiredState* desired, Diagnostics* diags) {
  CheckUniqueCloudNames(*desired, diags);
  CheckReferences(*desired, diags);
  Order(desired, diags);
}

}  // namespace reconciler::specs
