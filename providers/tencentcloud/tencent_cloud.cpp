#include "providers/tencentcloud/tencent_cloud.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "base/parallel.h"
#include "providers/tencentcloud/listing.h"

namespace reconciler::tencentcloud {

using nlohmann::json;
namespace c = reconciler::cloud;

namespace {

constexpr size_t kPageSize = 100;

json TagList(const c::Tags& tags) {
  json list = json::array();
  for (const auto& [k, v] : tags) list.push_back({{"TagKey", k}, {"TagValue", v}});
  return list;
}

c::Group GroupOf(const json& d) {
  c::Group g;
  g.id = Str(d, "ReadOnlyGroupId");
  g.name = Str(d, "ReadOnlyGroupName");
  g.region = Str(d, "Region");
  g.master_id = Str(d, "MasterDBInstanceId");
  g.status = Str(d, "Status");
  g.project_id = U64(d, "ProjectId");
  g.vpc_id = Str(d, "VpcId");
  g.subnet_id = Str(d, "SubnetId");
  g.replay_lag_eliminate = U64(d, "ReplayLagEliminate") == 1;
  g.replay_latency_eliminate = U64(d, "ReplayLatencyEliminate") == 1;
  g.max_replay_lag_seconds = U64(d, "MaxReplayLag");
  g.max_replay_latency_mb = U64(d, "MaxReplayLatency");
  g.min_delay_eliminate_reserve = U64(d, "MinDelayEliminateReserve");
  if (auto members = d.find("ReadOnlyDBInstanceList"); members != d.end() && members->is_array()) {
    for (const json& m : *members) g.member_ids.push_back(Str(m, "DBInstanceId"));
  }
  return g;
}

// The list `key` of `action`'s answer, every item of it an object. A listing that lacks its
// list, or holds anything else, proves nothing about what exists: it is an error, never an
// empty list.
Result<const json*> ObjectList(const json& answer, const char* key, const std::string& action) {
  auto it = answer.find(key);
  if (it == answer.end() || !it->is_array()) {
    return Status(Code::kRetryable, action + ": the answer has no " + key + " list, so nothing can be concluded from it");
  }
  for (const json& item : *it) {
    if (!item.is_object()) {
      return Status(Code::kRetryable, action + ": an item of " + key + " is " + item.type_name() + ", not an object");
    }
  }
  return &*it;
}

}  // namespace

std::string PostgresResourceName(const std::string& region, const std::string& id) {
  // The owner uin may be left empty, as the Terraform provider does.
  return "qcs::postgres:" + region + ":uin/:DBInstanceId/" + id;
}

TencentCloud::TencentCloud(ApiClient* client, RateBudget* budget, Clock* clock, TencentCloudOptions options)
    : client_(client), budget_(budget), clock_(clock), options_(options) {}

Result<json> TencentCloud::Call(const std::string& action, const std::string& region, const json& params,
                                Effect effect, const std::string& service, AnswerReader* reader) {
  ApiCall call;
  call.service = service;
  call.version = service == "tag" ? "2018-08-13" : "2017-03-12";
  call.action = action;
  call.region = region;
  call.effect = effect;
  // The retry table decides. A purchase is never repeated here, whatever the verdict: the
  // executor repeats it, after recording the attempt.
  Backoff backoff(options_.backoff, options_.backoff_cap, options_.jitter_seed);
  for (int attempt = 1;; ++attempt) {
    if (!budget_->Acquire(action, options_.stop)) return Status(Code::kCancelled, action + ": interrupted before sending");
    Result<json> r = client_->Call(call, params, reader);
    if (r.ok()) return r;
    if (r.status().code() == Code::kThrottled) budget_->Throttled(action);
    const bool retry = Decide(r.status(), effect) == Verdict::kRetry && effect != Effect::kPurchase;
    if (!retry || attempt >= options_.read_attempts) return r;
    if (!clock_->SleepFor(backoff.Next(), options_.stop)) return r;
  }
}

struct TencentCloud::Page {
  Status status;
  uint64_t total = 0;
  std::vector<c::Instance> instances;
};

TencentCloud::Page TencentCloud::FetchPage(const std::string& action, const std::string& region, json params,
                                           uint64_t offset) {
  Page page;
  params["Limit"] = kPageSize;
  params["Offset"] = offset;
  const bool serverless = action == "DescribeServerlessDBInstances";
  ListingReader reader(serverless);
  Result<json> r = Call(action, region, params, Effect::kRead, "postgres", &reader);
  if (!r.ok()) {
    page.status = r.status();
    return page;
  }
  if (reader.taken()) {
    page.total = reader.total();
    page.instances = reader.TakeInstances();
    return page;
  }
  // The reader declined the answer; this path reads it and says what is wrong with it.
  Result<const json*> set = ObjectList(*r, "DBInstanceSet", action);
  if (!set.ok()) {
    page.status = set.status();
    return page;
  }
  auto total = r->find("TotalCount");
  if (total == r->end() || !total->is_number_unsigned()) {
    page.status = Status(Code::kRetryable, action + ": the answer has no TotalCount, so the listing cannot be known complete");
    return page;
  }
  page.total = total->get<uint64_t>();
  page.instances.reserve((*set)->size());
  for (const json& d : **set) {
    page.instances.push_back(InstanceOf(d));
    if (serverless) page.instances.back().type = "serverless";
  }
  return page;
}

// The listing is in creation order, so what is bought while it is read lands after the pages
// already planned: a total that grows is followed by the pages it adds. A page short of the
// total, or a total that shrinks (an instance gone, which shifts every later one a place
// back, so one may fall between two pages), leaves the listing unproven: kRetryable.
Result<std::vector<c::Instance>> TencentCloud::ListAllPages(const std::string& action, const std::string& region,
                                                           json params) {
  std::vector<Page> pages;
  pages.push_back(FetchPage(action, region, params, 0));
  if (!pages[0].status.ok()) return pages[0].status;
  const uint64_t first_total = pages[0].total;
  uint64_t total = first_total;
  // Rounds: every page the total calls for that is missing, or that was read short while
  // the total was lower (instances bought since landed on it), is fetched, at once.
  for (int round = 0;; ++round) {
    const uint64_t needed = (total + kPageSize - 1) / kPageSize;
    std::vector<size_t> todo;
    for (size_t i = 0; i < needed; ++i) {
      const uint64_t expect = std::min<uint64_t>(kPageSize, total - i * kPageSize);
      if (i >= pages.size() || (pages[i].instances.size() < expect && pages[i].total < total)) todo.push_back(i);
    }
    if (todo.empty()) break;
    if (round >= 20) {
      return Status(Code::kRetryable, action + ": the listing kept growing while it was read (" +
                                          std::to_string(first_total) + " to " + std::to_string(total) + " instances)");
    }
    if (pages.size() < needed) pages.resize(needed);
    std::atomic<bool> failed{false};  // one failed page fails the listing: fetch no more
    ParallelFor(todo.size(), static_cast<size_t>(std::max(1, options_.page_parallelism)), [&](size_t k) {
      if (failed) return;
      const size_t i = todo[k];
      pages[i] = FetchPage(action, region, params, i * kPageSize);
      if (!pages[i].status.ok()) failed = true;
    });
    for (size_t i : todo) {
      if (!pages[i].status.ok()) return pages[i].status;
    }
    for (size_t i : todo) {
      if (pages[i].total < first_total) {
        return Status(Code::kRetryable, action + ": the listing shrank from " + std::to_string(first_total) + " to " +
                                            std::to_string(pages[i].total) + " instances while it was read; it is inconsistent");
      }
      total = std::max(total, pages[i].total);
    }
  }
  uint64_t seen = 0;
  for (size_t i = 0; i < pages.size(); ++i) {
    const Page& p = pages[i];
    seen += p.instances.size();
    if (i + 1 < pages.size() && p.instances.size() < kPageSize) {
      // A short page before the total: the listing changed while it was read, or lies.
      return Status(Code::kRetryable, action + ": a page ended at " + std::to_string(seen) + " of " +
                                          std::to_string(total) + " instances; the listing is inconsistent");
    }
  }
  if (seen < total) {
    return Status(Code::kRetryable, action + ": the pages hold " + std::to_string(seen) + " of " + std::to_string(total) +
                                        " instances; the listing is inconsistent");
  }
  std::vector<c::Instance> out;
  out.reserve(seen);
  std::unordered_set<std::string> ids;
  ids.reserve(seen);
  for (Page& p : pages) {
    for (c::Instance& i : p.instances) {
      if (ids.insert(i.id).second) out.push_back(std::move(i));  // one listed twice is counted once
    }
    p.instances = {};  // a 100,000-instance listing is not held twice
  }
  return out;
}

Result<std::vector<c::Instance>> TencentCloud::ListInstances(const std::string& region, const c::ListFilter& filter) {
  json filters = json::array();
  if (!filter.tag_keys.empty()) filters.push_back({{"Name", "db-tag-key"}, {"Values", filter.tag_keys}});
  if (!filter.instance_ids.empty()) filters.push_back({{"Name", "db-instance-id"}, {"Values", filter.instance_ids}});
  // In creation order, so instances bought while we page land after the pages already read.
  json params = {{"OrderBy", "CreateTime"}, {"OrderByType", "asc"}};
  if (!filters.empty()) params["Filters"] = filters;
  return ListAllPages("DescribeDBInstances", region, std::move(params));
}

Result<std::vector<c::Instance>> TencentCloud::ListServerless(const std::string& region, const std::string& tag_key) {
  json params = json::object();
  if (!tag_key.empty()) params["Filter"] = json::array({{{"Name", "db-tag-key"}, {"Values", {tag_key}}}});
  return ListAllPages("DescribeServerlessDBInstances", region, std::move(params));
}

Result<std::vector<c::Group>> TencentCloud::ListGroups(const std::string& region, const std::string& master_id) {
  std::vector<c::Group> out;
  constexpr int64_t kGroupPage = 99;
  for (int64_t page = 1;; ++page) {
    json params = {{"Filters", {{{"Name", "db-master-instance-id"}, {"Values", {master_id}}}}},
                   {"PageSize", kGroupPage},
                   {"PageNumber", page}};
    Result<json> r = Call("DescribeReadOnlyGroups", region, params, Effect::kRead);
    if (!r.ok()) return r.status();
    Result<const json*> list = ObjectList(*r, "ReadOnlyGroupList", "DescribeReadOnlyGroups");
    if (!list.ok()) return list.status();
    for (const json& d : **list) out.push_back(GroupOf(d));
    if (static_cast<int64_t>((*list)->size()) < kGroupPage) break;
  }
  return out;
}

Result<c::Instance> TencentCloud::DescribeInstance(const std::string& region, const std::string& id) {
  Result<json> r = Call("DescribeDBInstanceAttribute", region, {{"DBInstanceId", id}}, Effect::kRead);
  if (!r.ok()) {
    if (r.status().api_code() == "ResourceNotFound.InstanceNotFoundError" ||
        r.status().api_code() == "InvalidParameterValue.InstanceNotExist") {
      return Status(Code::kNotFound, r.status().message(), r.status().api_code(), r.status().request_id());
    }
    return r.status();
  }
  auto d = r->find("DBInstance");
  if (d == r->end() || !d->is_object() || Str(*d, "DBInstanceId") != id) {
    return Status(Code::kRetryable, "DescribeDBInstanceAttribute: the answer does not describe " + id);
  }
  return InstanceOf(*d);
}

Result<std::vector<c::ZoneInfo>> TencentCloud::DescribeZones(const std::string& region) {
  Result<json> r = Call("DescribeZones", region, json::object(), Effect::kRead);
  if (!r.ok()) return r.status();
  std::vector<c::ZoneInfo> out;
  Result<const json*> zones = ObjectList(*r, "ZoneSet", "DescribeZones");
  if (!zones.ok()) return zones.status();
  for (const json& z : **zones) out.push_back({Str(z, "Zone"), Str(z, "ZoneState")});
  return out;
}

Result<std::vector<c::SpecClass>> TencentCloud::DescribeClasses(const std::string& region, const std::string& zone,
                                                                const std::string& major_version) {
  Result<json> r = Call("DescribeClasses", region,
                        {{"Zone", zone}, {"DBEngine", "postgresql"}, {"DBMajorVersion", major_version}}, Effect::kRead);
  if (!r.ok()) return r.status();
  std::vector<c::SpecClass> out;
  Result<const json*> classes = ObjectList(*r, "ClassInfoSet", "DescribeClasses");
  if (!classes.ok()) return classes.status();
  for (const json& k : **classes) {
    out.push_back({Str(k, "SpecCode"), U64(k, "CPU"), U64(k, "Memory"), U64(k, "MinStorage"), U64(k, "MaxStorage")});
  }
  return out;
}

Result<c::Price> TencentCloud::InquiryPrice(const c::PriceQuery& q) {
  // This action spells postpaid "POSTPAID", unlike the create actions.
  json params = {{"Zone", q.zone}, {"SpecCode", q.spec_code}, {"Storage", q.storage_gb},
                 {"InstanceCount", q.count}, {"Period", q.prepaid ? q.period_months : 1},
                 {"InstanceChargeType", q.prepaid ? "PREPAID" : "POSTPAID"}, {"InstanceType", "readonly"},
                 {"DBEngine", "postgresql"}};
  Result<json> r = Call("InquiryPriceCreateDBInstances", q.region, params, Effect::kRead);
  if (!r.ok()) return r.status();
  return c::Price{U64(*r, "OriginalPrice"), U64(*r, "Price"), Str(*r, "Currency")};
}

Result<std::vector<c::Deal>> TencentCloud::DescribeOrders(const std::string& region,
                                                          const std::vector<std::string>& deal_names) {
  Result<json> r = Call("DescribeOrders", region, {{"DealNames", deal_names}}, Effect::kRead);
  if (!r.ok()) return r.status();
  std::vector<c::Deal> out;
  Result<const json*> deals = ObjectList(*r, "Deals", "DescribeOrders");
  if (!deals.ok()) return deals.status();
  for (const json& d : **deals) {
    c::Deal deal;
    deal.deal_name = Str(d, "DealName");
    deal.instance_ids = StringList(d, "DBInstanceIdSet");
    out.push_back(std::move(deal));
  }
  return out;
}

Result<c::Purchase> TencentCloud::CreateReplicas(const c::ReplicaRequest& q, c::DryRun dry_run) {
  json params = {{"Zone", q.zone},
                 {"MasterDBInstanceId", q.master_id},
                 {"SpecCode", q.spec_code},
                 {"Storage", q.storage_gb},
                 {"InstanceCount", q.count},
                 {"Period", q.prepaid ? q.period_months : 1},
                 {"VpcId", q.vpc_id},
                 {"SubnetId", q.subnet_id},
                 {"InstanceChargeType", q.prepaid ? "PREPAID" : "POSTPAID_BY_HOUR"},
                 {"AutoVoucher", q.auto_voucher ? 1 : 0},
                 {"AutoRenewFlag", q.auto_renew ? 1 : 0},
                 {"ProjectId", q.project_id},
                 {"NeedSupportIpv6", q.ipv6 ? 1 : 0},
                 {"DeletionProtection", q.deletion_protection}};
  // The international site's create takes one Tag object, TagList, and has no Tags; the
  // China site takes them all in Tags. Only the operation tag proves a purchase happened, so
  // it is the one that rides on the create everywhere.
  bool tags_complete = true;
  if (options_.site == Site::kChina) {
    if (!q.tags.empty()) params["Tags"] = TagList(q.tags);
  } else if (auto op = q.tags.find(c::kOperationTag); op != q.tags.end()) {
    params["TagList"] = {{"TagKey", op->first}, {"TagValue", op->second}};
    tags_complete = q.tags.size() == 1;
  } else if (!q.tags.empty()) {
    params["TagList"] = {{"TagKey", q.tags.begin()->first}, {"TagValue", q.tags.begin()->second}};
    tags_complete = q.tags.size() == 1;
  }
  if (!q.voucher_ids.empty()) params["VoucherIds"] = q.voucher_ids;
  if (q.activity_id) params["ActivityId"] = *q.activity_id;
  if (!q.group_id.empty()) params["ReadOnlyGroupId"] = q.group_id;
  if (!q.security_group_ids.empty()) params["SecurityGroupIds"] = q.security_group_ids;
  if (!q.name.empty()) params["Name"] = q.name;
  if (!q.dedicated_cluster_id.empty()) params["DedicatedClusterId"] = q.dedicated_cluster_id;
  if (dry_run == c::DryRun::kYes) params["DryRun"] = true;
  Result<json> r = Call("CreateReadOnlyDBInstance", q.region, params,
                        dry_run == c::DryRun::kYes ? Effect::kRead : Effect::kPurchase);
  if (!r.ok()) return r.status();
  c::Purchase p;
  p.deal_names = StringList(*r, "DealNames");
  p.bill_id = Str(*r, "BillId");
  p.instance_ids = StringList(*r, "DBInstanceIdSet");
  p.tags_complete = tags_complete;
  if (dry_run == c::DryRun::kNo && p.deal_names.empty()) {
    // A purchase answers with one deal per instance. Without them the answer proves
    // nothing about what was bought: the tags must decide.
    return Status(Code::kOutcomeUnknown, "CreateReadOnlyDBInstance answered success without DealNames", "",
                  Str(*r, "RequestId"));
  }
  return p;
}

Result<std::string> TencentCloud::CreateServerless(const c::ServerlessRequest& q, c::DryRun dry_run) {
  json params = {{"Zone", q.zone}, {"DBInstanceName", q.name}, {"DBVersion", q.db_version},
                 {"DBCharset", q.charset}, {"ProjectId", q.project_id}, {"TagList", TagList(q.tags)}};
  if (!q.vpc_id.empty()) {
    params["VpcId"] = q.vpc_id;
    params["SubnetId"] = q.subnet_id;
  }
  if (dry_run == c::DryRun::kYes) params["DryRun"] = true;
  Result<json> r = Call("CreateServerlessDBInstance", q.region, params,
                        dry_run == c::DryRun::kYes ? Effect::kRead : Effect::kPurchase);
  if (!r.ok()) return r.status();
  std::string id = Str(*r, "DBInstanceId");
  if (dry_run == c::DryRun::kNo && id.empty()) {
    // As a replica purchase without DealNames: the answer proves nothing; the tag decides.
    return Status(Code::kOutcomeUnknown, "CreateServerlessDBInstance answered success without DBInstanceId", "",
                  Str(*r, "RequestId"));
  }
  return id;
}

Result<std::string> TencentCloud::CreateGroup(const c::GroupRequest& q) {
  json params = {{"MasterDBInstanceId", q.master_id},
                 {"Name", q.name},
                 {"ProjectId", q.project_id},
                 {"VpcId", q.vpc_id},
                 {"SubnetId", q.subnet_id},
                 {"ReplayLagEliminate", q.replay_lag_eliminate ? 1 : 0},
                 {"ReplayLatencyEliminate", q.replay_latency_eliminate ? 1 : 0},
                 {"MaxReplayLag", q.max_replay_lag_seconds},
                 {"MaxReplayLatency", q.max_replay_latency_mb},
                 {"MinDelayEliminateReserve", q.min_delay_eliminate_reserve}};
  if (!q.security_group_ids.empty()) params["SecurityGroupIds"] = q.security_group_ids;
  Result<json> r = Call("CreateReadOnlyGroup", q.region, params, Effect::kPurchase);
  if (!r.ok()) return r.status();
  std::string id = Str(*r, "ReadOnlyGroupId");
  if (id.empty()) {
    return Status(Code::kOutcomeUnknown, "CreateReadOnlyGroup answered success without ReadOnlyGroupId", "",
                  Str(*r, "RequestId"));
  }
  return id;
}

Result<std::string> TencentCloud::ModifySpec(const std::string& region, const std::string& id, uint64_t memory_gb,
                                             uint64_t cpu, uint64_t storage_gb) {
  json params = {{"DBInstanceId", id}, {"Memory", memory_gb}, {"Storage", storage_gb}};
  if (cpu > 0) params["Cpu"] = cpu;
  Result<json> r = Call("ModifyDBInstanceSpec", region, params, Effect::kPurchase);
  if (!r.ok()) return r.status();
  std::string deal = Str(*r, "DealName");
  if (deal.empty()) {
    return Status(Code::kOutcomeUnknown, "ModifyDBInstanceSpec answered success without DealName", "",
                  Str(*r, "RequestId"));
  }
  return deal;
}

Status TencentCloud::ModifyName(const std::string& region, const std::string& id, const std::string& name) {
  return Call("ModifyDBInstanceName", region, {{"DBInstanceId", id}, {"InstanceName", name}}, Effect::kMutate).status();
}

Status TencentCloud::ModifyDeletionProtection(const std::string& region, const std::string& id, bool on) {
  if (options_.site == Site::kIntl) {
    return Status(Code::kPermanent,
                  "the international site has no ModifyDBInstanceDeletionProtection: deletion protection is set at "
                  "purchase, and changed afterwards only in the console",
                  "InvalidAction");
  }
  return Call("ModifyDBInstanceDeletionProtection", region, {{"DBInstanceId", id}, {"DeletionProtection", on}},
              Effect::kMutate)
      .status();
}

Status TencentCloud::ModifySecurityGroups(const std::string& region, const std::string& id,
                                          const std::vector<std::string>& security_group_ids) {
  return Call("ModifyDBInstanceSecurityGroups", region, {{"DBInstanceId", id}, {"SecurityGroupIdSet", security_group_ids}},
              Effect::kMutate)
      .status();
}

Status TencentCloud::ModifyGroupConfig(const std::string& region, const std::string& group_id,
                                       const c::GroupConfig& config) {
  json params = {{"ReadOnlyGroupId", group_id},
                 {"ReadOnlyGroupName", config.name},
                 {"ReplayLagEliminate", config.replay_lag_eliminate ? 1 : 0},
                 {"ReplayLatencyEliminate", config.replay_latency_eliminate ? 1 : 0},
                 {"MaxReplayLag", config.max_replay_lag_seconds},
                 {"MaxReplayLatency", config.max_replay_latency_mb},
                 {"MinDelayEliminateReserve", config.min_delay_eliminate_reserve}};
  return Call("ModifyReadOnlyGroupConfig", region, params, Effect::kMutate).status();
}

Status TencentCloud::MoveToGroup(const std::string& region, const std::string& id, const std::string& from_group,
                                 const std::string& to_group) {
  return Call("ModifyDBInstanceReadOnlyGroup", region,
              {{"DBInstanceId", id}, {"ReadOnlyGroupId", from_group}, {"NewReadOnlyGroupId", to_group}}, Effect::kMutate)
      .status();
}

Status TencentCloud::ModifyTags(const std::string& region, const std::string& id, const c::Tags& replace,
                                const std::vector<std::string>& remove) {
  // ModifyResourceTags takes at most 10 of each per call, and neither list may be empty.
  std::vector<std::pair<std::string, std::string>> sets(replace.begin(), replace.end());
  size_t s = 0, d = 0;
  while (s < sets.size() || d < remove.size()) {
    json params = {{"Resource", PostgresResourceName(region, id)}};
    json replace_tags = json::array(), delete_tags = json::array();
    for (size_t n = 0; n < 10 && s < sets.size(); ++n, ++s) {
      replace_tags.push_back({{"TagKey", sets[s].first}, {"TagValue", sets[s].second}});
    }
    for (size_t n = 0; n < 10 && d < remove.size(); ++n, ++d) delete_tags.push_back({{"TagKey", remove[d]}});
    if (!replace_tags.empty()) params["ReplaceTags"] = replace_tags;
    if (!delete_tags.empty()) params["DeleteTags"] = delete_tags;
    Status st = Call("ModifyResourceTags", "", params, Effect::kMutate, "tag").status();
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status TencentCloud::TagInstances(const std::string& region, const std::vector<std::string>& ids, const c::Tags& tags) {
  // TagResources takes at most 10 resources and 10 tags per call. A resource it could not tag
  // comes back in FailedResources of an answer that is otherwise a success.
  constexpr size_t kPerCall = 10;
  const std::vector<std::pair<std::string, std::string>> pairs(tags.begin(), tags.end());
  for (size_t i = 0; i < ids.size(); i += kPerCall) {
    json resources = json::array();
    for (size_t j = i; j < std::min(ids.size(), i + kPerCall); ++j) resources.push_back(PostgresResourceName(region, ids[j]));
    for (size_t t = 0; t < pairs.size(); t += kPerCall) {
      json list = json::array();
      for (size_t k = t; k < std::min(pairs.size(), t + kPerCall); ++k) {
        list.push_back({{"TagKey", pairs[k].first}, {"TagValue", pairs[k].second}});
      }
      Result<json> r = Call("TagResources", "", {{"ResourceList", resources}, {"Tags", list}}, Effect::kMutate, "tag");
      if (!r.ok()) return r.status();
      auto failed = r->find("FailedResources");
      if (failed != r->end() && failed->is_array() && !failed->empty()) {
        const json& first = (*failed)[0];
        return Status(Code::kRetryable, "TagResources could not tag " + std::to_string(failed->size()) +
                                            " resource(s): " + Str(first, "Resource") + ": " + Str(first, "Code") +
                                            " " + Str(first, "Message"));
      }
    }
  }
  return Status::Ok();
}

Status TencentCloud::Isolate(const std::string& region, const std::string& id) {
  return Call("IsolateDBInstances", region, {{"DBInstanceIdSet", {id}}}, Effect::kMutate).status();
}

Status TencentCloud::Restore(const std::string& region, const std::string& id) {
  return Call("DisIsolateDBInstances", region, {{"DBInstanceIdSet", {id}}}, Effect::kMutate).status();
}

Status TencentCloud::Destroy(const std::string& region, const std::string& id) {
  return Call("DestroyDBInstance", region, {{"DBInstanceId", id}}, Effect::kMutate).status();
}

Status TencentCloud::DeleteServerless(const std::string& region, const std::string& id) {
  return Call("DeleteServerlessDBInstance", region, {{"DBInstanceId", id}}, Effect::kMutate).status();
}

Status TencentCloud::DeleteGroup(const std::string& region, const std::string& id) {
  return Call("DeleteReadOnlyGroup", region, {{"ReadOnlyGroupId", id}}, Effect::kMutate).status();
}

}  // namespace reconciler::tencentcloud
