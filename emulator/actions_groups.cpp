// Read-only groups: create, describe, delete, move instances between them.

#include <algorithm>

#include "emulator/cloud.h"
#include "emulator/rules.h"

namespace reconciler::tencentcloud::emulator {

using nlohmann::json;

namespace {

Reply GroupNotFound(const std::string& id) {
  return Error("FailedOperation.ROGroupNotFoundError", "The RO group `" + id + "` does not exist.");
}

}  // namespace

void EmulatedCloud::WriteGroup(const ReadOnlyGroup& g, JsonWriter& w) const {
  w.BeginObject();
  w.Key("ReadOnlyGroupId").String(g.id).Key("ReadOnlyGroupName").String(g.name).Key("ProjectId").Uint(g.project_id);
  w.Key("MasterDBInstanceId").String(g.master_id);
  w.Key("MinDelayEliminateReserve").Int(g.min_delay_eliminate_reserve).Key("MaxReplayLatency").Int(g.max_replay_latency);
  w.Key("ReplayLatencyEliminate").Int(g.replay_latency_eliminate);
  // MaxReplayLag is a Float in the API.
  w.Key("MaxReplayLag").Raw(std::to_string(g.max_replay_lag) + ".0").Key("ReplayLagEliminate").Int(g.replay_lag_eliminate);
  w.Key("VpcId").String(g.vpc_id).Key("SubnetId").String(g.subnet_id).Key("Region").String(g.region);
  w.Key("Zone").String(g.zone).Key("Status").String(clock_.Now() >= g.ready_at ? "ok" : "creating");
  w.Key("ReadOnlyDBInstanceList").BeginArray();
  for (const auto& [id, inst] : state_.instances) {
    if (inst.ro_group_id == g.id) WriteDBInstance(inst, w);
  }
  w.EndArray();
  w.Key("Rebalance").Int(g.rebalance).Key("DBInstanceNetInfo").BeginArray().EndArray().Key("NetworkAccessList").Null();
  w.EndObject();
}

Reply EmulatedCloud::CreateReadOnlyGroup(const std::string& region, const json& p) {
  auto master_or = Master(region, p["MasterDBInstanceId"]);
  if (auto* bad = std::get_if<Reply>(&master_or)) return *bad;
  Instance* master = std::get<Instance*>(master_or);
  if (auto bad = CheckName(p["Name"], "Name")) return *bad;
  if (auto bad = CheckProject(p)) return *bad;
  if (auto bad = CheckNetwork(region, p, /*required=*/true)) return *bad;
  if (p.contains("SecurityGroupIds")) {
    if (auto bad = CheckSecurityGroups(region, p["SecurityGroupIds"])) return *bad;
  }
  const uint64_t lag_eliminate = p.value("ReplayLagEliminate", uint64_t{0});
  const uint64_t latency_eliminate = p.value("ReplayLatencyEliminate", lag_eliminate);
  if (lag_eliminate > 1 || latency_eliminate > 1) {
    return Error("InvalidParameterValue.InvalidParameterValueError", "ReplayLagEliminate and ReplayLatencyEliminate must be 0 or 1.");
  }
  if (lag_eliminate != latency_eliminate) {
    return Error("InvalidParameterValue.InvalidParameterValueError", "ReplayLatencyEliminate must equal ReplayLagEliminate.");
  }
  if (p.value("MinDelayEliminateReserve", uint64_t{0}) > rules::kMaxMinDelayEliminateReserve) {
    return Error("InvalidParameterValue.InvalidParameterValueError", "MinDelayEliminateReserve must be 0 to 100.");
  }
  int existing = 0;
  for (const auto& [id, g] : state_.groups) existing += g.master_id == master->id;
  if (existing >= world_.catalogue.group_quota_per_master) {
    return Error("FailedOperation.ROGroupNumExceedError",
                 "The maximum number of RO groups (" + std::to_string(world_.catalogue.group_quota_per_master) +
                     ") of " + master->id + " has been reached.");
  }
  ReadOnlyGroup g;
  g.id = NewId("pgrogrp-");
  g.name = p["Name"];
  g.master_id = master->id;
  g.region = region;
  g.zone = master->zone;
  g.project_id = p.value("ProjectId", uint64_t{0});
  g.vpc_id = p.value("VpcId", std::string());
  g.subnet_id = p.value("SubnetId", std::string());
  g.security_groups = p.value("SecurityGroupIds", std::vector<std::string>{});
  g.replay_lag_eliminate = static_cast<int64_t>(lag_eliminate);
  g.replay_latency_eliminate = static_cast<int64_t>(latency_eliminate);
  g.max_replay_lag = static_cast<int64_t>(p.value("MaxReplayLag", uint64_t{0}));
  g.max_replay_latency = static_cast<int64_t>(p.value("MaxReplayLatency", uint64_t{0}));
  g.min_delay_eliminate_reserve = static_cast<int64_t>(p.value("MinDelayEliminateReserve", uint64_t{0}));
  g.created_at = clock_.Now();
  g.ready_at = g.created_at + clock_.Scaled(world_.catalogue.timings.group_create);
  g.serial = state_.next_serial++;
  const int64_t flow = NewFlowId();
  Reply reply;
  reply.committed = true;
  reply.body = {{"ReadOnlyGroupId", g.id}, {"FlowId", flow}, {"TaskId", flow}};
  state_.groups[g.id] = std::move(g);
  return reply;
}

Reply EmulatedCloud::DescribeReadOnlyGroups(const std::string& region, const json& p) {
  std::vector<std::string> masters, ids;
  bool has_master_filter = false;
  for (const json& f : p.value("Filters", json::array())) {
    const std::string name = f["Name"];
    std::vector<std::string> values = f.value("Values", std::vector<std::string>{});
    if (name == "db-master-instance-id") {
      has_master_filter = true;
      masters.insert(masters.end(), values.begin(), values.end());
    } else if (name == "read-only-group-id") {
      ids.insert(ids.end(), values.begin(), values.end());
    } else {
      return Error("InvalidParameterValue.InvalidParameterValueError", "Unknown filter name `" + name + "`.");
    }
  }
  if (!has_master_filter) {
    return Error("InvalidParameterValue.InvalidParameterValueError", "The filter db-master-instance-id must be given.");
  }
  const int64_t page_size = p.value("PageSize", int64_t{10});
  const int64_t page_number = p.value("PageNumber", int64_t{1});
  if (page_size < 1 || page_size > rules::kMaxGroupPageSize) {
    return Error("InvalidParameterValue.InvalidParameterValueError", "PageSize must be 1 to 99.");
  }
  if (page_number < 1) return Error("InvalidParameterValue.InvalidParameterValueError", "PageNumber starts at 1.");
  const std::string order_by = p.value("OrderBy", std::string("CreateTime"));
  const std::string order_type = p.value("OrderByType", std::string("asc"));
  if (order_by != "ROGroupId" && order_by != "CreateTime" && order_by != "Name") {
    return Error("InvalidParameterValue.InvalidParameterValueError", "OrderBy must be ROGroupId, CreateTime or Name.");
  }
  if (order_type != "asc" && order_type != "desc") {
    return Error("InvalidParameterValue.InvalidParameterValueError", "OrderByType must be asc or desc.");
  }
  auto listed = [](const std::vector<std::string>& values, const std::string& v) {
    return values.empty() || std::find(values.begin(), values.end(), v) != values.end();
  };
  std::vector<const ReadOnlyGroup*> hits;
  for (const auto& [id, g] : state_.groups) {
    if (g.region == region && listed(masters, g.master_id) && listed(ids, g.id)) hits.push_back(&g);
  }
  std::stable_sort(hits.begin(), hits.end(), [&](const ReadOnlyGroup* a, const ReadOnlyGroup* b) {
    if (order_by == "ROGroupId") return a->id < b->id;
    if (order_by == "Name") return a->name < b->name;
    return a->serial < b->serial;
  });
  if (order_type == "desc") std::reverse(hits.begin(), hits.end());
  Reply reply;
  JsonWriter w(&reply.raw);
  w.Key("ReadOnlyGroupList").BeginArray();
  const size_t start = static_cast<size_t>((page_number - 1) * page_size);
  for (size_t i = start; i < hits.size() && i < start + static_cast<size_t>(page_size); ++i) WriteGroup(*hits[i], w);
  w.EndArray();
  return reply;
}

Reply EmulatedCloud::DeleteReadOnlyGroup(const std::string& region, const json& p) {
  auto it = state_.groups.find(p["ReadOnlyGroupId"]);
  if (it == state_.groups.end() || it->second.region != region) return GroupNotFound(p["ReadOnlyGroupId"]);
  for (const auto& [id, inst] : state_.instances) {
    if (inst.ro_group_id == it->first) {
      return Error("OperationDenied.ROGroupStatusError",
                   "The RO group `" + it->first + "` still has read-only instances; move or destroy them first.");
    }
  }
  state_.groups.erase(it);
  Reply reply;
  reply.committed = true;
  reply.body = {{"FlowId", NewFlowId()}};
  return reply;
}

Reply EmulatedCloud::ModifyDBInstanceReadOnlyGroup(const std::string& region, const json& p) {
  Instance* inst = FindInstance(region, p["DBInstanceId"]);
  if (!inst || inst->type != "readonly") {
    return Error("ResourceNotFound.InstanceNotFoundError",
                 "The read-only instance `" + p["DBInstanceId"].get<std::string>() + "` does not exist.");
  }
  const std::string from = p["ReadOnlyGroupId"], to = p["NewReadOnlyGroupId"];
  // UNCONFIRMED: the API requires both group IDs; the emulator reads "" as "no group", so
  // an instance can join its first group or leave its group through this one action.
  if (from != inst->ro_group_id) {
    return Error("InvalidParameterValue.InvalidParameterValueError",
                 "Instance `" + inst->id + "` is not in RO group `" + from + "`.");
  }
  if (!to.empty()) {
    auto g = state_.groups.find(to);
    if (g == state_.groups.end() || g->second.master_id != inst->master_id) return GroupNotFound(to);
  }
  if (inst->Status() != "running") {
    return Error("OperationDenied.InstanceStatusLimitOpError",
                 "This operation cannot be performed on instance `" + inst->id + "` in status `" + inst->Status() + "`.");
  }
  inst->ro_group_id = to;
  inst->updated_at = clock_.Now();
  const int64_t flow = NewFlowId();
  Reply reply;
  reply.committed = true;
  reply.body = {{"FlowId", flow}, {"TaskId", flow}};
  return reply;
}

// Written from the SDK model (both sites) and the China page's field notes: the switches are
// 0 or 1, a threshold whose switch the request turns on must be positive, the reserve is 0 to
// 100, the name follows the create's rules. Only what the request names changes. UNCONFIRMED:
// the codes for a group that is still being created, and for a threshold of 0 with its switch on.
Reply EmulatedCloud::ModifyReadOnlyGroupConfig(const std::string& region, const json& p) {
  auto it = state_.groups.find(p["ReadOnlyGroupId"]);
  if (it == state_.groups.end() || it->second.region != region) return GroupNotFound(p["ReadOnlyGroupId"]);
  ReadOnlyGroup& g = it->second;
  if (p.contains("ReadOnlyGroupName")) {
    if (auto bad = CheckName(p["ReadOnlyGroupName"], "ReadOnlyGroupName")) return *bad;
  }
  for (const char* flag : {"ReplayLagEliminate", "ReplayLatencyEliminate", "Rebalance"}) {
    if (p.value(flag, uint64_t{0}) > 1) {
      return Error("InvalidParameterValue.InvalidParameterValueError", std::string(flag) + " must be 0 or 1.");
    }
  }
  if (p.value("ReplayLagEliminate", uint64_t{0}) == 1 && p.contains("MaxReplayLag") && p["MaxReplayLag"] == 0) {
    return Error("InvalidParameterValue.InvalidParameterValueError",
                 "MaxReplayLag must be a positive integer when ReplayLagEliminate is 1.");
  }
  if (p.value("ReplayLatencyEliminate", uint64_t{0}) == 1 && p.contains("MaxReplayLatency") &&
      p["MaxReplayLatency"] == 0) {
    return Error("InvalidParameterValue.InvalidParameterValueError",
                 "MaxReplayLatency must be a positive integer when ReplayLatencyEliminate is 1.");
  }
  if (p.value("MinDelayEliminateReserve", uint64_t{0}) > rules::kMaxMinDelayEliminateReserve) {
    return Error("InvalidParameterValue.InvalidParameterValueError", "MinDelayEliminateReserve must be 0 to 100.");
  }
  if (clock_.Now() < g.ready_at) {
    return Error("OperationDenied.ROGroupStatusError", "The RO group `" + g.id + "` is being created; try again later.");
  }
  if (p.contains("ReadOnlyGroupName")) g.name = p["ReadOnlyGroupName"];
  auto set = [&](const char* key, int64_t* field) {
    if (p.contains(key)) *field = static_cast<int64_t>(p[key].get<uint64_t>());
  };
  set("ReplayLagEliminate", &g.replay_lag_eliminate);
  set("ReplayLatencyEliminate", &g.replay_latency_eliminate);
  set("MaxReplayLag", &g.max_replay_lag);
  set("MaxReplayLatency", &g.max_replay_latency);
  set("Rebalance", &g.rebalance);
  set("MinDelayEliminateReserve", &g.min_delay_eliminate_reserve);
  Reply reply;
  reply.committed = true;
  return reply;
}

}  // namespace reconciler::tencentcloud::emulator
