// The catalogue and the orders: zones, classes, regions, prices, DescribeOrders.

#include <algorithm>

#include "emulator/cloud.h"
#include "emulator/rules.h"

namespace reconciler::tencentcloud::emulator {

using nlohmann::json;

Reply EmulatedCloud::DescribeOrders(const std::string&, const json& p) {
  if (p["DealNames"].empty()) {
    return Error("InvalidParameterValue.NullDealNames", "DealNames must not be empty.");
  }
  json deals = json::array();
  const double now = clock_.Now();
  for (const json& name : p["DealNames"]) {
    auto it = state_.deals.find(name);
    if (it == state_.deals.end()) continue;
    const Deal& d = it->second;
    const bool delivered = !d.never_delivered && now >= d.deliver_at;
    deals.push_back({{"DealName", d.deal_name},
                     {"OwnerUin", world_.catalogue.uin},
                     {"Count", d.count},
                     {"PayMode", d.pay_mode},
                     {"FlowId", d.flow_id},
                     {"DBInstanceIdSet", delivered ? json(d.instance_ids) : json::array()}});
  }
  Reply reply;
  reply.body = {{"TotalCount", deals.size()}, {"Deals", std::move(deals)}};
  return reply;
}

Reply EmulatedCloud::DescribeZones(const std::string& region, const json& p) {
  const std::string storage = p.value("StorageType", std::string("PHYSICAL_LOCAL_SSD"));
  static const std::vector<std::string> kStorage = {"PHYSICAL_LOCAL_SSD", "CLOUD_PREMIUM", "CLOUD_SSD", "CLOUD_HSSD"};
  if (std::find(kStorage.begin(), kStorage.end(), storage) == kStorage.end()) {
    return Error("InvalidParameterValue.InvalidParameterValueError", "Unknown StorageType `" + storage + "`.");
  }
  json zones = json::array();
  for (const Zone& z : world_.catalogue.FindRegion(region)->zones) {
    zones.push_back({{"Zone", z.zone},
                     {"ZoneName", z.name},
                     {"ZoneId", z.zone_id},
                     {"ZoneState", z.state},
                     {"ZoneSupportIpv6", z.ipv6 ? 1 : 0},
                     {"StandbyZoneSet", json::array()}});
  }
  Reply reply;
  reply.body = {{"TotalCount", zones.size()}, {"ZoneSet", std::move(zones)}};
  return reply;
}

Reply EmulatedCloud::DescribeClasses(const std::string& region, const json& p) {
  const std::string zone = p["Zone"];
  if (auto bad = CheckZone(region, zone)) return *bad;
  const std::string engine = p["DBEngine"];
  if (engine != "postgresql" && engine != "mssql_compatible") {
    return Error("InvalidParameterValue.InvalidParameterValueError", "DBEngine must be postgresql or mssql_compatible.");
  }
  json classes = json::array();
  for (const SpecClass& k : world_.catalogue.classes) {
    if (!k.zones.empty() && std::find(k.zones.begin(), k.zones.end(), zone) == k.zones.end()) continue;
    classes.push_back({{"SpecCode", k.spec_code},
                       {"CPU", k.cpu},
                       {"Memory", k.memory_mb},
                       {"MaxStorage", k.max_storage_gb},
                       {"MinStorage", k.min_storage_gb},
                       {"QPS", k.qps}});
  }
  Reply reply;
  reply.body = {{"ClassInfoSet", std::move(classes)}};
  return reply;
}

Reply EmulatedCloud::DescribeRegions(const std::string&, const json&) {
  json regions = json::array();
  for (const Region& r : world_.catalogue.regions) {
    regions.push_back({{"Region", r.region},
                       {"RegionName", r.name},
                       {"RegionId", r.region_id},
                       {"RegionState", r.state},
                       {"SupportInternational", 1}});
  }
  Reply reply;
  reply.body = {{"TotalCount", regions.size()}, {"RegionSet", std::move(regions)}};
  return reply;
}

Reply EmulatedCloud::InquiryPriceCreateDBInstances(const std::string& region, const json& p) {
  const std::string zone = p["Zone"];
  if (auto bad = CheckZone(region, zone)) return *bad;
  const uint64_t storage = p["Storage"], count = p["InstanceCount"], period = p["Period"];
  const std::string charge = p.value("InstanceChargeType", std::string(rules::kPrepaid));
  // This action spells postpaid "POSTPAID", unlike the create actions' POSTPAID_BY_HOUR.
  if (charge != rules::kPrepaid && charge != rules::kInquiryPostpaid) {
    return Error("InvalidParameterValue.IllegalInstanceChargeType",
                 "InstanceChargeType must be PREPAID or POSTPAID, got `" + charge + "`.");
  }
  const std::string type = p.value("InstanceType", std::string("primary"));
  if (type != "primary" && type != "readonly") {
    return Error("InvalidParameterValue.InvalidParameterValueError", "InstanceType must be primary or readonly.");
  }
  if (count < 1 || count > rules::kMaxInquiryCount) {
    return Error("InvalidParameterValue.InvalidInstanceNum", "InstanceCount must be 1 to 100.");
  }
  if (!rules::IsValidPeriod(period)) {
    return Error("InvalidParameterValue.InvalidParameterValueError", "Period must be 1-12, 24 or 36 months.");
  }
  const SpecClass* k = world_.catalogue.FindClass(p["SpecCode"]);
  if (!k || (!k->zones.empty() && std::find(k->zones.begin(), k->zones.end(), zone) == k->zones.end())) {
    return Error("InvalidParameterValue.BadSpec",
                 "The specification `" + p["SpecCode"].get<std::string>() + "` is not purchasable in " + zone + ".");
  }
  if (storage % rules::kStorageStepGB != 0 || storage < k->min_storage_gb || storage > k->max_storage_gb) {
    return Error("InvalidParameterValue.InvalidParameterValueError",
                 "Storage must be a multiple of 10 between " + std::to_string(k->min_storage_gb) + " and " +
                     std::to_string(k->max_storage_gb) + " GB.");
  }
  // Prepaid: the whole period. Postpaid: one hour (a month is 720 hours).
  const uint64_t monthly = MonthlyCents(*k, storage) * count;
  const uint64_t original = charge == rules::kPrepaid ? monthly * period : (monthly + 719) / 720;
  Reply reply;
  reply.body = {{"OriginalPrice", original}, {"Price", Discounted(original)}, {"Currency", "CNY"}};
  return reply;
}

}  // namespace reconciler::tencentcloud::emulator
