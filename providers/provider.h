#pragma once

// The provider contract: what the engine asks of a cloud, as plain request and response
// structs. TencentCloud (providers/tencentcloud/tencent_cloud.h) implements it over the real
// API; tests implement it in memory (tests/support/fake_cloud.h).
//
// Failures come back as Status codes the engine branches on (reconciler/status.h):
// kNotSent and kThrottled prove a call had no effect; kOutcomeUnknown does not.
// No method retries a purchase; read methods may retry internally.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace reconciler::cloud {

using Tags = std::map<std::string, std::string>;

// The three tags every instance we buy ends up with. reconciler/operation is the one a
// replica purchase can carry on every site (see reconciler/identity.h for its value).
inline constexpr const char* kStackTag = "reconciler/stack";
inline constexpr const char* kResourceTag = "reconciler/resource";
inline constexpr const char* kOperationTag = "reconciler/operation";

enum class DryRun { kNo, kYes };

// DBInstanceStatus as the engine reasons about it (tencent-api.md lists the words). The
// cloud's own word stays in Instance::status, for people (plans, errors, digests).
enum class InstanceState {
  kStarting,   // applying, init, initing: bought, not running yet
  kRunning,    // running
  kExpanding,  // expanding: a spec change under way
  kIsolating,  // isolating
  kIsolated,   // isolated
  kGoing,      // offlining, offline, recycling, recycled, deleting, deleted: leaving for good
  kOther,      // every other word (maintenance: restarting, migrating, ...), and any the cloud adds
};

inline InstanceState StateOf(std::string_view status) {
  if (status == "running") return InstanceState::kRunning;
  if (status == "applying" || status == "init" || status == "initing") return InstanceState::kStarting;
  if (status == "expanding") return InstanceState::kExpanding;
  if (status == "isolating") return InstanceState::kIsolating;
  if (status == "isolated") return InstanceState::kIsolated;
  if (status == "offlining" || status == "offline" || status == "recycling" || status == "recycled" ||
      status == "deleting" || status == "deleted") {
    return InstanceState::kGoing;
  }
  return InstanceState::kOther;
}

// Isolating or isolated: in the recycle bin, restorable.
inline bool IsIsolated(InstanceState s) { return s == InstanceState::kIsolating || s == InstanceState::kIsolated; }

// A read-only group's status, as the engine reasons about it.
enum class GroupState { kOk, kDeleting, kOther };
inline GroupState GroupStateOf(std::string_view status) {
  if (status == "ok") return GroupState::kOk;
  if (status == "deleting") return GroupState::kDeleting;
  return GroupState::kOther;
}

struct Instance {
  std::string id;
  std::string name;
  std::string region;
  std::string zone;
  std::string type;  // "readonly", "primary" or "serverless"
  std::string master_id;
  std::string status;  // DBInstanceStatus as the cloud says it, e.g. "running", "limited run"
  InstanceState state() const { return StateOf(status); }
  std::string spec_code;
  uint64_t cpu = 0;
  uint64_t memory_gb = 0;
  uint64_t storage_gb = 0;
  std::string pay_type;  // "prepaid" or "postpaid"
  bool auto_renew = false;
  uint64_t project_id = 0;
  std::string vpc_id;
  std::string subnet_id;
  Tags tags;
  bool deletion_protection = false;
  bool ipv6 = false;
  std::string dedicated_cluster_id;
  std::string db_version;
  std::string charset;
  std::string create_time;
  std::string read_only_group_id;  // filled from the group listing; the instance listing lacks it
  // The private network address of DBInstanceNetInfo (NetType "private", else "inner"), from
  // the listing.
  std::string private_address;  // host name
  std::string private_ip;
  uint64_t private_port = 0;
  // Set by the engine (reconciler/identity.h): the instance carries only the tag it was
  // bought with, and the stack, resource and user tags still have to go on.
  bool tagging_incomplete = false;
};

struct Group {
  std::string id;
  std::string name;
  std::string region;
  std::string master_id;
  std::string status;  // as the cloud says it
  GroupState state() const { return GroupStateOf(status); }
  uint64_t project_id = 0;
  std::string vpc_id;
  std::string subnet_id;
  bool replay_lag_eliminate = false;
  bool replay_latency_eliminate = false;
  uint64_t max_replay_lag_seconds = 0;
  uint64_t max_replay_latency_mb = 0;
  uint64_t min_delay_eliminate_reserve = 0;
  std::vector<std::string> member_ids;
};

struct ListFilter {
  std::vector<std::string> tag_keys;      // db-tag-key: instances that carry any of these keys
  std::vector<std::string> instance_ids;  // db-instance-id (at most 100)
};

struct ReplicaRequest {
  std::string region;
  std::string zone;
  std::string master_id;
  std::string spec_code;
  uint64_t storage_gb = 0;
  uint64_t count = 1;  // 1-6
  uint64_t period_months = 1;
  std::string vpc_id;
  std::string subnet_id;
  bool prepaid = false;
  bool auto_voucher = false;
  std::vector<std::string> voucher_ids;
  bool auto_renew = false;
  uint64_t project_id = 0;
  std::optional<int64_t> activity_id;
  std::string group_id;
  std::vector<std::string> security_group_ids;
  bool ipv6 = false;
  std::string name;
  std::string dedicated_cluster_id;
  bool deletion_protection = false;
  // Every tag the instances should carry, reconciler/operation included. A site whose
  // create takes one tag (TagList) gets only reconciler/operation; see Purchase::tags_complete.
  Tags tags;
};

struct Purchase {
  std::vector<std::string> deal_names;
  std::string bill_id;
  std::vector<std::string> instance_ids;  // at once for postpaid only
  // False when the create could carry only reconciler/operation: the other tags must then
  // go on through TagInstances once the instance ids are known.
  bool tags_complete = true;
};

struct ServerlessRequest {
  std::string region;
  std::string zone;
  std::string name;
  std::string db_version;
  std::string charset;
  uint64_t project_id = 0;
  std::string vpc_id;
  std::string subnet_id;
  Tags tags;
};

struct GroupRequest {
  std::string region;
  std::string master_id;
  std::string name;
  uint64_t project_id = 0;
  std::string vpc_id;
  std::string subnet_id;
  bool replay_lag_eliminate = false;
  bool replay_latency_eliminate = false;
  uint64_t max_replay_lag_seconds = 0;
  uint64_t max_replay_latency_mb = 0;
  uint64_t min_delay_eliminate_reserve = 0;
  std::vector<std::string> security_group_ids;
};

// The settings of a read-only group that ModifyReadOnlyGroupConfig changes in place. Every
// field is sent, so the call is safe to repeat.
struct GroupConfig {
  std::string name;
  bool replay_lag_eliminate = false;
  bool replay_latency_eliminate = false;
  uint64_t max_replay_lag_seconds = 0;
  uint64_t max_replay_latency_mb = 0;
  uint64_t min_delay_eliminate_reserve = 0;
};

struct PriceQuery {
  std::string region;
  std::string zone;
  std::string spec_code;
  uint64_t storage_gb = 0;
  uint64_t count = 1;
  uint64_t period_months = 1;
  bool prepaid = false;
};

struct Price {
  uint64_t original_cents = 0;
  uint64_t cents = 0;  // prepaid: the whole period; postpaid: one hour
  std::string currency = "CNY";
};

struct SpecClass {
  std::string spec_code;
  uint64_t cpu = 0;
  uint64_t memory_mb = 0;
  uint64_t min_storage_gb = 0;
  uint64_t max_storage_gb = 0;
};

struct ZoneInfo {
  std::string zone;
  std::string state;  // AVAILABLE | UNAVAILABLE | SELLOUT | SUPPORTMODIFYONLY
};

struct Deal {
  std::string deal_name;
  std::vector<std::string> instance_ids;  // empty until delivered
};

class Cloud {
 public:
  virtual ~Cloud() = default;

  // Lists, paging internally (100 per page).
  virtual Result<std::vector<Instance>> ListInstances(const std::string& region, const ListFilter& filter) = 0;
  virtual Result<std::vector<Instance>> ListServerless(const std::string& region, const std::string& tag_key) = 0;
  virtual Result<std::vector<Group>> ListGroups(const std::string& region, const std::string& master_id) = 0;
  virtual Result<Instance> DescribeInstance(const std::string& region, const std::string& id) = 0;
  virtual Result<std::vector<ZoneInfo>> DescribeZones(const std::string& region) = 0;
  virtual Result<std::vector<SpecClass>> DescribeClasses(const std::string& region, const std::string& zone,
                                                         const std::string& major_version) = 0;
  virtual Result<Price> InquiryPrice(const PriceQuery& query) = 0;
  virtual Result<std::vector<Deal>> DescribeOrders(const std::string& region,
                                                   const std::vector<std::string>& deal_names) = 0;

  // Purchases. Never retried inside. A success that lacks what proves the purchase (DealNames,
  // the new instance's or group's id, the spec change's DealName) is kOutcomeUnknown.
  virtual Result<Purchase> CreateReplicas(const ReplicaRequest& request, DryRun dry_run) = 0;
  // Returns the new instance's id ("" for a dry run).
  virtual Result<std::string> CreateServerless(const ServerlessRequest& request, DryRun dry_run) = 0;
  virtual Result<std::string> CreateGroup(const GroupRequest& request) = 0;
  // Returns the deal name of the spec change.
  virtual Result<std::string> ModifySpec(const std::string& region, const std::string& id, uint64_t memory_gb,
                                         uint64_t cpu, uint64_t storage_gb) = 0;

  // Changes in place.
  virtual Status ModifyName(const std::string& region, const std::string& id, const std::string& name) = 0;
  virtual Status ModifyDeletionProtection(const std::string& region, const std::string& id, bool on) = 0;
  // Whether ModifyDeletionProtection exists where this cloud is (the international site has
  // no such action). The plan does not propose what cannot be carried out.
  virtual bool CanModifyDeletionProtection() const { return true; }
  virtual Status ModifySecurityGroups(const std::string& region, const std::string& id,
                                      const std::vector<std::string>& security_group_ids) = 0;
  virtual Status MoveToGroup(const std::string& region, const std::string& id, const std::string& from_group,
                             const std::string& to_group) = 0;
  // ModifyReadOnlyGroupConfig: sets every field of `config` on group `group_id`. Costs
  // nothing and is safe to repeat; an unknown outcome is left for the next plan to observe.
  virtual Status ModifyGroupConfig(const std::string& region, const std::string& group_id,
                                   const GroupConfig& config) = 0;
  // Sets `replace` and removes `remove` (keys) in one change.
  virtual Status ModifyTags(const std::string& region, const std::string& id, const Tags& replace,
                            const std::vector<std::string>& remove) = 0;
  // Adds `tags` to every instance of `ids` (keys they already carry keep their values only if
  // `tags` does not name them). Safe to repeat.
  virtual Status TagInstances(const std::string& region, const std::vector<std::string>& ids, const Tags& tags) = 0;

  // Deletion.
  virtual Status Isolate(const std::string& region, const std::string& id) = 0;
  virtual Status Restore(const std::string& region, const std::string& id) = 0;
  virtual Status Destroy(const std::string& region, const std::string& id) = 0;
  virtual Status DeleteServerless(const std::string& region, const std::string& id) = 0;
  virtual Status DeleteGroup(const std::string& region, const std::string& id) = 0;
};

}  // namespace reconciler::cloud
