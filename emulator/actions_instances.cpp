// Read-only instances: create, describe, modify, isolate, destroy.

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <tuple>

#include "emulator/cloud.h"
#include "emulator/rules.h"

namespace reconciler::tencentcloud::emulator {

using nlohmann::json;

namespace {

Reply BadValue(const std::string& message) {
  return Error("InvalidParameterValue.InvalidParameterValueError", message);
}

std::string Str(const json& p, const char* key) { return p.value(key, std::string()); }

}  // namespace

Reply EmulatedCloud::CreateReadOnlyDBInstance(const std::string& region, const json& p) {
  const Catalogue& cat = world_.catalogue;
  const std::string zone = p["Zone"];
  const uint64_t storage = p["Storage"], count = p["InstanceCount"], period = p["Period"];
  const std::string charge = p.value("InstanceChargeType", std::string(rules::kPrepaid));
  const bool prepaid = charge == rules::kPrepaid;

  if (auto bad = CheckZone(region, zone)) return *bad;
  if (count < rules::kMinReplicaCount || count > rules::kMaxReplicaCount) {
    return Error("InvalidParameterValue.InvalidInstanceNum", "InstanceCount must be " +
                                                                 std::to_string(rules::kMinReplicaCount) + " to " +
                                                                 std::to_string(rules::kMaxReplicaCount) + ", got " +
                                                                 std::to_string(count) + ".");
  }
  if (charge != rules::kPrepaid && charge != rules::kPostpaidByHour) {
    return Error("InvalidParameterValue.IllegalInstanceChargeType",
                 "InstanceChargeType must be PREPAID or POSTPAID_BY_HOUR, got `" + charge + "`.");
  }
  if (!rules::IsValidPeriod(period) || (!prepaid && period != 1)) {
    return BadValue("Period must be 1-12, 24 or 36 months (1 for POSTPAID_BY_HOUR), got " +
                    std::to_string(period) + ".");
  }
  auto master_or = Master(region, p["MasterDBInstanceId"]);
  if (auto* bad = std::get_if<Reply>(&master_or)) return *bad;
  Instance* master = std::get<Instance*>(master_or);
  if (prepaid && master->pay_type == "postpaid") {
    return Error("OperationDenied.PayModeError",
                 "Unsupported billing mode: the primary is postpaid, so its read-only instances must be POSTPAID_BY_HOUR.");
  }
  const SpecClass* k = cat.FindClass(p["SpecCode"]);
  if (!k || (!k->zones.empty() && std::find(k->zones.begin(), k->zones.end(), zone) == k->zones.end())) {
    return Error("InvalidParameterValue.BadSpec",
                 "The specification `" + p["SpecCode"].get<std::string>() + "` is not purchasable in " + zone + ".");
  }
  if (storage % rules::kStorageStepGB != 0 || storage < k->min_storage_gb || storage > k->max_storage_gb) {
    return BadValue("Storage must be a multiple of 10 between " + std::to_string(k->min_storage_gb) + " and " +
                    std::to_string(k->max_storage_gb) + " GB for " + k->spec_code + ", got " +
                    std::to_string(storage) + ".");
  }
  if (auto bad = CheckProject(p)) return *bad;
  if (auto bad = CheckNetwork(region, p, /*required=*/true)) return *bad;
  if (p.contains("SecurityGroupIds")) {
    if (auto bad = CheckSecurityGroups(region, p["SecurityGroupIds"])) return *bad;
  }
  const std::string group_id = Str(p, "ReadOnlyGroupId");
  if (!group_id.empty()) {
    auto g = state_.groups.find(group_id);
    if (g == state_.groups.end() || g->second.master_id != master->id) {
      return Error("FailedOperation.ROGroupNotFoundError", "The RO group `" + group_id + "` does not exist.");
    }
  }
  if (p.contains("Name")) {
    if (auto bad = CheckName(p["Name"], "Name")) return *bad;
  }
  if (p.contains("VoucherIds") && p["VoucherIds"].size() > rules::kMaxVouchers) {
    return BadValue("Only one voucher may be given.");
  }
  for (const char* flag : {"AutoVoucher", "NeedSupportIpv6"}) {
    if (p.value(flag, uint64_t{0}) > 1) return BadValue(std::string(flag) + " must be 0 or 1.");
  }
  if (p.contains("AutoRenewFlag") && (p["AutoRenewFlag"] < 0 || p["AutoRenewFlag"] > 1)) {
    return BadValue("AutoRenewFlag must be 0 or 1.");
  }
  if (p.value("NeedSupportIpv6", uint64_t{0}) == 1 && !cat.FindZone(region, zone)->ipv6) {
    return BadValue("Zone " + zone + " does not support IPv6.");
  }
  const std::string cluster = Str(p, "DedicatedClusterId");
  if (!cluster.empty() &&
      std::find(cat.dedicated_clusters.begin(), cat.dedicated_clusters.end(), cluster) == cat.dedicated_clusters.end()) {
    return BadValue("Dedicated cluster `" + cluster + "` does not exist.");
  }
  std::vector<TagPair> tags = p.contains("Tags") ? ParseTags(p["Tags"]) : std::vector<TagPair>{};
  if (p.contains("TagList")) tags.push_back({p["TagList"]["TagKey"], p["TagList"].value("TagValue", "")});
  if (auto bad = CheckTags(tags)) return *bad;
  if (ReplicaCount(master->id) + count > static_cast<uint64_t>(cat.replica_quota_per_master)) {
    return Error("OperationDenied.RoInstanceCountExeedError",
                 "The total number of read-only nodes of " + master->id + " would exceed " +
                     std::to_string(cat.replica_quota_per_master) + ".");
  }
  if (cat.FindZone(region, zone)->state == "SELLOUT") {
    return Error("ResourceInsufficient.ResourceNotEnough",
                 "There are not enough resources to purchase instances of this specification in " + zone + ".");
  }
  const uint64_t monthly = Discounted(MonthlyCents(*k, storage));
  const uint64_t cost = prepaid ? monthly * period * count : (monthly * count + 719) / 720;  // postpaid freezes an hour
  if (static_cast<int64_t>(cost) > state_.balance_cents) {
    return Error("OperationDenied.InsufficientBalanceError", "Insufficient account balance.");
  }

  Reply reply;
  if (p.value("DryRun", false)) {
    reply.dry_run = true;
    reply.body = {{"DealNames", json::array()}, {"BillId", ""}, {"DBInstanceIdSet", json::array()}};
    return reply;
  }

  // Commit: charge, create one order per instance, and start each instance's lifecycle.
  if (prepaid) state_.balance_cents -= static_cast<int64_t>(cost);
  const Timings& t = cat.timings;
  const double now = clock_.Now();
  const std::string action = "CreateReadOnlyDBInstance";
  const bool never = faults_->Take(FaultType::kOrderNeverDelivered, action).has_value();
  const bool failed = faults_->Take(FaultType::kOrderFailed, action).has_value();
  std::optional<FaultRule> short_by = faults_->Take(FaultType::kOrderShort, action);
  const bool refunded = faults_->Take(FaultType::kOrderRefunded, action).has_value();
  std::optional<FaultRule> over = faults_->Take(FaultType::kOrderOverDelivered, action);
  std::optional<FaultRule> stuck = faults_->Take(FaultType::kStuck, action);
  const uint64_t missing = never || failed ? count : short_by ? std::min<uint64_t>(count, short_by->missing) : 0;
  const uint64_t refund = refunded ? count : missing;
  if (prepaid && refund > 0) state_.balance_cents += static_cast<int64_t>(monthly * period * refund);

  std::string bill = NewBillId();
  json deal_names = json::array(), ids = json::array();
  for (uint64_t n = 0; n < count; ++n) {
    Deal deal;
    deal.deal_name = NewDealName();
    deal.bill_id = bill;
    deal.pay_mode = prepaid ? 1 : 0;
    deal.flow_id = NewFlowId();
    deal.created_at = now;
    deal.deliver_at = now + clock_.Scaled(t.order_delivery);
    deal.never_delivered = n >= count - missing;
    deal_names.push_back(deal.deal_name);
    if (!deal.never_delivered) {
      Instance inst = NewInstance(NewId("pgro-"), region, zone);
      inst.type = "readonly";
      inst.master_id = master->id;
      inst.name = p.contains("Name") ? Str(p, "Name") : inst.id;
      inst.spec_code = k->spec_code;
      inst.cpu = k->cpu;
      inst.memory_gb = k->memory_mb / 1024;
      inst.storage_gb = storage;
      inst.pay_type = prepaid ? "prepaid" : "postpaid";
      inst.auto_renew = static_cast<uint64_t>(p.value("AutoRenewFlag", int64_t{0}));
      inst.project_id = p.value("ProjectId", uint64_t{0});
      inst.vpc_id = Str(p, "VpcId");
      inst.subnet_id = Str(p, "SubnetId");
      inst.security_groups = p.value("SecurityGroupIds", std::vector<std::string>{});
      inst.tags = tags;
      inst.deletion_protection = p.value("DeletionProtection", false);
      inst.ipv6 = p.value("NeedSupportIpv6", uint64_t{0}) == 1;
      inst.dedicated_cluster_id = cluster;
      inst.ro_group_id = group_id;
      inst.db_version = master->db_version;
      inst.major_version = master->major_version;
      inst.kernel_version = master->kernel_version;
      inst.charset = master->charset;
      if (prepaid) inst.expire_at = now + period * 30 * 86400.0;
      inst.phases.push_back({"applying", now + clock_.Scaled(t.applying)});
      if (refunded) {
        // A refunded order takes back what it delivered: isolated, then removed.
        const double isolating = now + clock_.Scaled(t.applying + t.isolating);
        inst.phases.push_back({"isolating", isolating});
        inst.phases.push_back({"isolated", isolating + clock_.Scaled(t.isolating)});
        inst.phases.push_back({"offlining", isolating + clock_.Scaled(t.isolating + t.destroying)});
        inst.final_status = "gone";
        inst.isolated_at = isolating;
      } else {
        inst.phases.push_back({"initing", now + clock_.Scaled(t.applying + t.initing)});
      }
      if (stuck) StickInStatus(stuck->instance_status, &inst);
      deal.instance_ids.push_back(inst.id);
      ids.push_back(inst.id);
      Track(inst.id);
      AddInstance(std::move(inst));
    } else if (failed) {
      ids.push_back(NewId("pgro-"));  // allocated for the answer; the failed order never creates it
    }
    state_.deals[deal.deal_name] = std::move(deal);
  }
  Deal& last = state_.deals[deal_names.back().get<std::string>()];
  for (int64_t n = 0; over && !last.instance_ids.empty() && n < over->extra; ++n) {
    // The cloud's mistake: more instances than asked for, uncharged, like the last one.
    Instance twin = state_.instances.at(last.instance_ids.front());
    Instance fresh = NewInstance(NewId("pgro-"), region, zone);
    if (twin.name == twin.id) twin.name = fresh.id;
    twin.id = fresh.id;
    twin.serial = fresh.serial;
    twin.ip = fresh.ip;
    last.instance_ids.push_back(twin.id);
    Track(twin.id);
    AddInstance(std::move(twin));
  }
  reply.committed = true;
  reply.body = {{"DealNames", deal_names}, {"BillId", bill},
                {"DBInstanceIdSet", prepaid ? json::array() : ids}};
  return reply;
}

Reply EmulatedCloud::DescribeDBInstances(const std::string& region, const json& p) {
  const uint64_t limit = p.value("Limit", uint64_t{0}) == 0 ? rules::kDefaultListLimit : p["Limit"].get<uint64_t>();
  if (limit > rules::kMaxListLimit) {
    return BadValue("Limit must be 0 to " + std::to_string(rules::kMaxListLimit) + ", got " + std::to_string(limit) + ".");
  }
  const uint64_t offset = p.value("Offset", uint64_t{0});
  const std::string order_by = p.value("OrderBy", std::string("CreateTime"));
  const std::string order_type = p.value("OrderByType", std::string("asc"));
  if (order_by != "DBInstanceId" && order_by != "CreateTime" && order_by != "Name" && order_by != "EndTime") {
    return BadValue("OrderBy must be DBInstanceId, CreateTime, Name or EndTime, got `" + order_by + "`.");
  }
  if (order_type != "asc" && order_type != "desc") return BadValue("OrderByType must be asc or desc.");

  // Filters are ANDed; the values of one filter are ORed.
  enum class Field { kId, kName, kProject, kPayMode, kTagKey, kPrivateIp, kPublicAddress, kCluster };
  static const std::map<std::string, Field> kFilterNames = {
      {"db-instance-id", Field::kId},        {"db-instance-name", Field::kName},
      {"db-project-id", Field::kProject},    {"db-pay-mode", Field::kPayMode},
      {"db-tag-key", Field::kTagKey},        {"db-private-ip", Field::kPrivateIp},
      {"db-public-address", Field::kPublicAddress}, {"db-dedicated-cluster-id", Field::kCluster}};
  std::vector<std::pair<Field, std::vector<std::string>>> filters;
  for (const json& f : p.value("Filters", json::array())) {
    auto named = kFilterNames.find(f["Name"].get<std::string>());
    if (named == kFilterNames.end()) return BadValue("Unknown filter name `" + f["Name"].get<std::string>() + "`.");
    filters.emplace_back(named->second, f.value("Values", std::vector<std::string>{}));
  }
  auto matches = [](const Instance& i, Field field, const std::string& v) {
    switch (field) {
      case Field::kId: return i.id == v;
      case Field::kName: return i.name.find(v) != std::string::npos;  // fuzzy
      case Field::kProject: return std::to_string(i.project_id) == v;
      case Field::kPayMode: return i.pay_type == v;
      case Field::kTagKey:
        return std::any_of(i.tags.begin(), i.tags.end(), [&](const TagPair& t) { return t.key == v; });
      case Field::kPrivateIp: return i.ip == v;
      case Field::kPublicAddress: return false;  // no instance has a public address here
      case Field::kCluster: return i.dedicated_cluster_id == v;
    }
    return false;
  };

  // A lagging listing leaves recent instances out, or shows them without their tags. It
  // depends on the clock, so it is never cached; every other listing depends only on the
  // instances and these parameters, and is kept until the next change (see CacheListing).
  std::optional<FaultRule> lag = faults_->Take(FaultType::kListingLag, "DescribeDBInstances");
  const std::string key = "DescribeDBInstances\n" + region + "\n" + order_by + "\n" + order_type + "\n" +
                          p.value("Filters", json::array()).dump();
  KeptListing* kept = lag ? nullptr : CachedListing(key);
  std::deque<Instance> untagged;
  std::vector<const Instance*> hits;
  if (kept == nullptr) {
    const double now = clock_.Now();
    for (const Instance* listed : InRegion(region)) {
      if (listed->type == "serverless") continue;
      const bool lags = lag && LagsBehind(*lag, listed->created_at, now);
      if (lags && lag->lag_mode == LagMode::kAbsent) continue;
      if (lags) {
        untagged.push_back(*listed);
        untagged.back().tags.clear();
      }
      const Instance* inst = lags ? &untagged.back() : listed;
      bool keep = true;
      for (const auto& [field, values] : filters) {
        bool any = false;
        for (const std::string& v : values) any = any || matches(*inst, field, v);
        keep = keep && any;
      }
      if (keep) hits.push_back(inst);
    }
    // The index is in creation order, the default; the other orders break ties by creation
    // too, so the whole listing has one order however it is paged.
    auto sort = [&](auto less) {
      std::stable_sort(hits.begin(), hits.end(), [&](const Instance* a, const Instance* b) {
        return order_type == "desc" ? less(b, a) : less(a, b);
      });
    };
    if (order_by == "DBInstanceId") sort([](const Instance* a, const Instance* b) { return a->id < b->id; });
    else if (order_by == "Name") sort([](const Instance* a, const Instance* b) { return std::tie(a->name, a->serial) < std::tie(b->name, b->serial); });
    else if (order_by == "EndTime") sort([](const Instance* a, const Instance* b) { return std::tie(a->expire_at, a->serial) < std::tie(b->expire_at, b->serial); });
    else if (order_type == "desc") std::reverse(hits.begin(), hits.end());
    if (!lag) kept = &CacheListing(key, std::move(hits));
  }
  const std::vector<const Instance*>& listing = kept ? kept->instances : hits;
  const size_t first = std::min<size_t>(listing.size(), offset);
  const size_t end = std::min<size_t>(listing.size(), offset + limit);

  Reply reply;
  // A lagging page is written for this request alone (its instances are copies); any other
  // is kept with its listing and shared until the next change.
  if (kept) reply.cached = InstancesPage(*kept, first, end);
  else WriteInstancesPage(listing, first, end, &reply.raw);
  return reply;
}

void EmulatedCloud::WriteInstancesPage(const std::vector<const Instance*>& listing, size_t first, size_t end,
                                       std::string* out) const {
  out->reserve(out->size() + 64 + (end - first) * 1536);  // an instance is about 1.3 KB
  JsonWriter w(out);
  w.Key("TotalCount").Uint(listing.size()).Key("DBInstanceSet").BeginArray();
  for (size_t i = first; i < end; ++i) WriteDBInstance(*listing[i], w);
  w.EndArray();
}

Reply EmulatedCloud::DescribeDBInstanceAttribute(const std::string& region, const json& p) {
  Instance* inst = FindInstance(region, p["DBInstanceId"]);
  if (!inst || inst->type == "serverless") {
    return Error("ResourceNotFound.InstanceNotFoundError",
                 "The instance `" + p["DBInstanceId"].get<std::string>() + "` does not exist.");
  }
  Reply reply;
  reply.body = {{"DBInstance", DBInstanceJson(*inst)}};
  return reply;
}

namespace {

Reply NotFound(const std::string& id) {
  return Error("ResourceNotFound.InstanceNotFoundError", "The instance `" + id + "` does not exist.");
}

Reply StatusLimit(const Instance& inst, const std::string& why) {
  return Error("OperationDenied.InstanceStatusLimitOpError",
               "This operation cannot be performed on instance `" + inst.id + "` in status `" + inst.Status() +
                   "`" + (why.empty() ? "" : ": " + why) + ".");
}

Reply Committed(json body = json::object()) {
  Reply r;
  r.committed = true;
  r.body = std::move(body);
  return r;
}

}  // namespace

Reply EmulatedCloud::ModifyDBInstanceName(const std::string& region, const json& p) {
  Instance* inst = FindInstance(region, p["DBInstanceId"]);
  if (!inst || inst->type == "serverless") return NotFound(p["DBInstanceId"]);
  if (auto bad = CheckName(p["InstanceName"], "InstanceName")) return *bad;
  inst->name = p["InstanceName"];
  inst->updated_at = clock_.Now();
  return Committed();
}

Reply EmulatedCloud::ModifyDBInstanceDeletionProtection(const std::string& region, const json& p) {
  Instance* inst = FindInstance(region, p["DBInstanceId"]);
  if (!inst || inst->type == "serverless") return NotFound(p["DBInstanceId"]);
  const std::string status = inst->Status();
  if (status != "running" && status != "isolated") {
    return Error("OperationDenied.InstanceStatusLimitError",
                 "This operation cannot be performed on an instance in status `" + status + "`.");
  }
  inst->deletion_protection = p["DeletionProtection"];
  inst->updated_at = clock_.Now();
  return Committed();
}

Reply EmulatedCloud::ModifyDBInstanceSpec(const std::string& region, const json& p) {
  Instance* inst = FindInstance(region, p["DBInstanceId"]);
  if (!inst || inst->type == "serverless") return NotFound(p["DBInstanceId"]);
  if (inst->Status() != "running") return StatusLimit(*inst, "");
  const uint64_t memory = p["Memory"], storage = p["Storage"];
  const SpecClass* target = nullptr;
  for (const SpecClass& k : world_.catalogue.classes) {
    bool sold = k.zones.empty() || std::find(k.zones.begin(), k.zones.end(), inst->zone) != k.zones.end();
    if (sold && k.memory_mb / 1024 == memory && (!p.contains("Cpu") || k.cpu == p["Cpu"])) {
      target = &k;
      break;
    }
  }
  if (!target) {
    return Error("InvalidParameterValue.BadSpec",
                 "No purchasable specification with " + std::to_string(memory) + " GiB memory in " + inst->zone + ".");
  }
  if (storage % rules::kStorageStepGB != 0 || storage < target->min_storage_gb || storage > target->max_storage_gb) {
    return BadValue("Storage must be a multiple of 10 between " + std::to_string(target->min_storage_gb) + " and " +
                    std::to_string(target->max_storage_gb) + " GB, got " + std::to_string(storage) + ".");
  }
  if (target->spec_code == inst->spec_code && storage == inst->storage_gb) {
    return BadValue("The specification and storage are unchanged.");
  }
  const SpecClass* current = world_.catalogue.FindClass(inst->spec_code);
  const double now = clock_.Now();
  int64_t charge = 0;
  if (inst->pay_type == "prepaid" && current) {
    const int64_t diff = static_cast<int64_t>(Discounted(MonthlyCents(*target, storage))) -
                         static_cast<int64_t>(Discounted(MonthlyCents(*current, inst->storage_gb)));
    const int64_t months = std::max<int64_t>(1, static_cast<int64_t>(std::ceil((inst->expire_at - now) / (30 * 86400.0))));
    charge = std::max<int64_t>(0, diff * months);
  }
  if (charge > state_.balance_cents) return Error("OperationDenied.InsufficientBalanceError", "Insufficient account balance.");
  state_.balance_cents -= charge;

  Deal deal;
  deal.deal_name = NewDealName();
  deal.bill_id = NewBillId();
  deal.pay_mode = inst->pay_type == "prepaid" ? 1 : 0;
  deal.flow_id = NewFlowId();
  deal.created_at = now;
  deal.deliver_at = now + clock_.Scaled(world_.catalogue.timings.order_delivery);
  deal.instance_ids = {inst->id};
  inst->pending_spec = target->spec_code;
  inst->pending_storage_gb = storage;
  inst->phases = {{"expanding", now + clock_.Scaled(world_.catalogue.timings.spec_change)}};
  inst->updated_at = now;
  if (auto stuck = faults_->Take(FaultType::kStuck, "ModifyDBInstanceSpec")) StickInStatus(stuck->instance_status, inst);
  Track(inst->id);
  json body = {{"DealName", deal.deal_name}, {"BillId", deal.bill_id}};
  state_.deals[deal.deal_name] = std::move(deal);
  return Committed(std::move(body));
}

Reply EmulatedCloud::ModifyDBInstanceSecurityGroups(const std::string& region, const json& p) {
  if (auto bad = CheckSecurityGroups(region, p["SecurityGroupIdSet"])) return *bad;
  std::vector<std::string> sgs = p["SecurityGroupIdSet"];
  const std::string group_id = Str(p, "ReadOnlyGroupId");
  if (!group_id.empty()) {
    auto g = state_.groups.find(group_id);
    if (g == state_.groups.end() || g->second.region != region) {
      return Error("FailedOperation.ROGroupNotFoundError", "The RO group `" + group_id + "` does not exist.");
    }
    g->second.security_groups = sgs;
    return Committed();
  }
  if (!p.contains("DBInstanceId")) {
    return Error("MissingParameter", "The request is missing a required parameter `DBInstanceId` or `ReadOnlyGroupId`.");
  }
  Instance* inst = FindInstance(region, p["DBInstanceId"]);
  if (!inst || inst->type == "serverless") return NotFound(p["DBInstanceId"]);
  inst->security_groups = sgs;
  inst->updated_at = clock_.Now();
  return Committed();
}

Reply EmulatedCloud::IsolateDBInstances(const std::string& region, const json& p) {
  std::vector<Instance*> targets;
  for (const json& id : p["DBInstanceIdSet"]) {
    Instance* inst = FindInstance(region, id);
    if (!inst || inst->type == "serverless") return NotFound(id);
    if (inst->deletion_protection) return StatusLimit(*inst, "deletion protection is enabled");
    if (inst->Status() != "running") return StatusLimit(*inst, "");
    if (inst->type == "primary" && ReplicaCount(inst->id) > 0) {
      return StatusLimit(*inst, "the primary still has read-only instances");
    }
    targets.push_back(inst);
  }
  if (targets.empty()) return BadValue("DBInstanceIdSet must not be empty.");
  const double done = clock_.Now() + clock_.Scaled(world_.catalogue.timings.isolating);
  std::optional<FaultRule> stuck = faults_->Take(FaultType::kStuck, "IsolateDBInstances");
  for (Instance* inst : targets) {
    inst->phases = {{"isolating", done}};
    inst->final_status = "isolated";
    inst->isolated_at = done;
    if (stuck) StickInStatus(stuck->instance_status, inst);
    Track(inst->id);
  }
  return Committed();
}

Reply EmulatedCloud::DisIsolateDBInstances(const std::string& region, const json& p) {
  std::vector<Instance*> targets;
  for (const json& id : p["DBInstanceIdSet"]) {
    Instance* inst = FindInstance(region, id);
    if (!inst || inst->type == "serverless") return NotFound(id);
    if (inst->Status() != "isolated") return StatusLimit(*inst, "only isolated instances can be restored");
    targets.push_back(inst);
  }
  if (targets.empty()) return BadValue("DBInstanceIdSet must not be empty.");
  if (p.contains("Period") && !rules::IsValidPeriod(static_cast<uint64_t>(std::max<int64_t>(0, p["Period"])))) {
    return BadValue("Period must be 1-12, 24 or 36 months.");
  }
  const double now = clock_.Now();
  std::optional<FaultRule> stuck = faults_->Take(FaultType::kStuck, "DisIsolateDBInstances");
  for (Instance* inst : targets) {
    inst->phases = {{"disisolating", now + clock_.Scaled(world_.catalogue.timings.disisolating)}};
    inst->final_status = "running";
    inst->isolated_at = 0;
    if (inst->pay_type == "prepaid") inst->expire_at = now + p.value("Period", int64_t{1}) * 30 * 86400.0;
    if (stuck) StickInStatus(stuck->instance_status, inst);
    Track(inst->id);
  }
  return Committed();
}

Reply EmulatedCloud::DestroyDBInstance(const std::string& region, const json& p) {
  Instance* inst = FindInstance(region, p["DBInstanceId"]);
  if (!inst || inst->type == "serverless") return NotFound(p["DBInstanceId"]);
  if (inst->deletion_protection) return StatusLimit(*inst, "deletion protection is enabled");
  if (inst->Status() != "isolated") return StatusLimit(*inst, "only isolated instances can be destroyed");
  inst->phases = {{"offlining", clock_.Now() + clock_.Scaled(world_.catalogue.timings.destroying)}};
  inst->final_status = "gone";
  if (auto stuck = faults_->Take(FaultType::kStuck, "DestroyDBInstance")) StickInStatus(stuck->instance_status, inst);
  Track(inst->id);
  return Committed();
}

}  // namespace reconciler::tencentcloud::emulator
