#include "engine/requests.h"

#include <nlohmann/json.hpp>

namespace reconciler {

using nlohmann::json;
using specs::Resource;

cloud::Tags StackTags(const std::string& stack, const specs::ResourceKey& key) {
  return {{cloud::kStackTag, stack}, {cloud::kResourceTag, key.ToString()}};
}

cloud::ReplicaRequest ReplicaRequestFor(const Resource& r, const std::string& stack) {
  const specs::ReadOnlyInstanceSpec& s = *r.replica();
  cloud::ReplicaRequest q;
  q.region = s.region;
  q.zone = s.zone;
  q.master_id = s.master_instance_id;
  q.spec_code = s.spec_code;
  q.storage_gb = s.storage_gb;
  q.period_months = s.period_months;
  q.vpc_id = s.vpc_id;
  q.subnet_id = s.subnet_id;
  q.prepaid = s.charge_type == specs::ChargeType::kPrepaid;
  q.auto_voucher = s.auto_voucher;
  q.voucher_ids = s.voucher_ids;
  q.auto_renew = s.auto_renew;
  q.project_id = s.project_id;
  q.activity_id = s.activity_id;
  q.security_group_ids = s.security_group_ids;
  q.ipv6 = s.need_support_ipv6;
  q.name = s.instance_name;
  q.dedicated_cluster_id = s.dedicated_cluster_id;
  q.deletion_protection = s.deletion_protection;
  q.tags = s.tags;
  for (const auto& [k, v] : StackTags(stack, r.key)) q.tags[k] = v;
  return q;
}

cloud::ServerlessRequest ServerlessRequestFor(const Resource& r, const std::string& stack) {
  const specs::ServerlessInstanceSpec& s = *r.serverless();
  cloud::ServerlessRequest q;
  q.region = s.region;
  q.zone = s.zone;
  q.name = s.instance_name;
  q.db_version = s.db_version;
  q.charset = s.db_charset;
  q.project_id = s.project_id;
  q.vpc_id = s.vpc_id;
  q.subnet_id = s.subnet_id;
  q.tags = s.tags;
  for (const auto& [k, v] : StackTags(stack, r.key)) q.tags[k] = v;
  return q;
}

cloud::GroupRequest GroupRequestFor(const Resource& r) {
  const specs::ReadOnlyGroupSpec& s = *r.group();
  cloud::GroupRequest q;
  q.region = s.region;
  q.master_id = s.master_instance_id;
  q.name = s.group_name;
  q.project_id = s.project_id;
  q.vpc_id = s.vpc_id;
  q.subnet_id = s.subnet_id;
  q.replay_lag_eliminate = s.replay_lag_eliminate;
  q.replay_latency_eliminate = s.replay_latency_eliminate;
  q.max_replay_lag_seconds = s.max_replay_lag_seconds;
  q.max_replay_latency_mb = s.max_replay_latency_mb;
  q.min_delay_eliminate_reserve = s.min_delay_eliminate_reserve;
  q.security_group_ids = s.security_group_ids;
  return q;
}

cloud::GroupConfig GroupConfigOf(const cloud::GroupRequest& q) {
  return {q.name, q.replay_lag_eliminate, q.replay_latency_eliminate, q.max_replay_lag_seconds,
          q.max_replay_latency_mb, q.min_delay_eliminate_reserve};
}

// Derived from the request, so a group is changed in place to exactly what buying it anew
// would ask for.
cloud::GroupConfig GroupConfigFor(const Resource& r) { return GroupConfigOf(GroupRequestFor(r)); }

std::string SpecJson(const Resource& r) {
  json j = {{"kind", specs::KindName(r.key.kind)}, {"name", r.key.name}, {"region", r.region()},
            {"deletionPolicy", specs::DeletionPolicyName(r.deletion_policy())}};
  if (const auto* s = r.replica()) {
    j.update({{"zone", s->zone}, {"masterInstanceId", s->master_instance_id}, {"specCode", s->spec_code},
              {"storageGB", s->storage_gb}, {"count", s->count}, {"chargeType", specs::ChargeTypeName(s->charge_type)},
              {"vpcId", s->vpc_id}, {"subnetId", s->subnet_id}, {"securityGroupIds", s->security_group_ids},
              {"readOnlyGroup", s->read_only_group}, {"readOnlyGroupId", s->read_only_group_id},
              {"instanceName", s->instance_name}, {"deletionProtection", s->deletion_protection}, {"tags", s->tags}});
  } else if (const auto* g = r.group()) {
    j.update({{"masterInstanceId", g->master_instance_id}, {"groupName", g->group_name}, {"vpcId", g->vpc_id},
              {"subnetId", g->subnet_id}, {"securityGroupIds", g->security_group_ids}});
  } else if (const auto* sl = r.serverless()) {
    j.update({{"zone", sl->zone}, {"instanceName", sl->instance_name}, {"dbVersion", sl->db_version},
              {"vpcId", sl->vpc_id}, {"subnetId", sl->subnet_id}, {"tags", sl->tags}});
  }
  return j.dump();
}

ResourceRecord RecordFor(const Resource& r, const std::string& group_id) {
  return {r.key.ToString(), r.region(), specs::DeletionPolicyName(r.deletion_policy()), SpecJson(r), group_id, ""};
}

}  // namespace reconciler
