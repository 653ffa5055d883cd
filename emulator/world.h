#pragma once

// The emulated account: the static catalogue (regions, zones, classes, networks) that a
// world file describes, and the dynamic state (instances, groups, orders, balance) that the
// emulator's actions change. Times are seconds on the emulator's clock (see EmuClock).

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace reconciler::tencentcloud::emulator {

struct TagPair {
  std::string key;
  std::string value;
};

struct CredentialPair {
  std::string secret_id;
  std::string secret_key;
  std::string token;  // non-empty: requests must carry this X-TC-Token
};

struct Zone {
  std::string zone;  // "ap-beijing-4"
  std::string name;
  uint64_t zone_id = 0;
  std::string state = "AVAILABLE";  // AVAILABLE | UNAVAILABLE | SELLOUT | SUPPORTMODIFYONLY
  bool ipv6 = true;
  bool serverless = false;  // one of the serverless beta zones
};

struct Region {
  std::string region;
  std::string name;
  uint64_t region_id = 0;
  std::string state = "AVAILABLE";
  std::vector<Zone> zones;
};

struct SpecClass {
  std::string spec_code;
  uint64_t cpu = 1;
  uint64_t memory_mb = 2048;
  uint64_t min_storage_gb = 10;
  uint64_t max_storage_gb = 3000;
  uint64_t qps = 1000;
  uint64_t monthly_cents = 0;               // instance price per month
  uint64_t storage_cents_per_gb_month = 0;  // disk price per GB per month
  std::vector<std::string> zones;           // where it is sold; empty: everywhere
};

struct Subnet {
  std::string subnet_id;
  std::string zone;
};

struct Vpc {
  std::string vpc_id;
  std::string region;
  std::vector<Subnet> subnets;
};

struct SecurityGroup {
  std::string sg_id;
  std::string region;
};

// One lifecycle phase: the instance shows `status` until `until`.
struct Phase {
  std::string status;
  double until = 0;
};

struct Instance {
  std::string id;
  std::string name;
  std::string region;
  std::string zone;
  std::string type = "readonly";  // primary | readonly | serverless
  std::string master_id;
  std::string spec_code;
  uint64_t cpu = 1;
  uint64_t memory_gb = 2;
  uint64_t storage_gb = 10;
  std::string pay_type = "postpaid";  // prepaid | postpaid
  uint64_t auto_renew = 0;
  uint64_t project_id = 0;
  std::string vpc_id;
  std::string subnet_id;
  std::vector<std::string> security_groups;
  std::vector<TagPair> tags;
  bool deletion_protection = false;
  bool ipv6 = false;
  std::string dedicated_cluster_id;
  std::string ro_group_id;
  std::string db_version = "12.22";
  std::string major_version = "12";
  std::string kernel_version = "v12.22_r1.0";
  std::string charset = "UTF8";
  std::string ip;
  double created_at = 0;
  double updated_at = 0;
  double expire_at = 0;    // prepaid only
  double isolated_at = 0;  // 0: never isolated
  uint64_t serial = 0;     // creation order, for the default CreateTime ordering

  // The settled status, and phases still ahead of it (earliest first). A phase list that
  // ends in final_status "gone" removes the instance when it completes.
  std::string final_status = "running";
  std::vector<Phase> phases;
  // A spec change waiting for its phase to end.
  std::optional<std::string> pending_spec;
  uint64_t pending_storage_gb = 0;

  std::string Status() const { return phases.empty() ? final_status : phases.front().status; }
};

struct ReadOnlyGroup {
  std::string id;
  std::string name;
  std::string master_id;
  std::string region;
  std::string zone;
  uint64_t project_id = 0;
  std::string vpc_id;
  std::string subnet_id;
  std::vector<std::string> security_groups;
  int64_t replay_lag_eliminate = 0;
  int64_t replay_latency_eliminate = 0;
  int64_t max_replay_lag = 0;
  int64_t max_replay_latency = 0;
  int64_t min_delay_eliminate_reserve = 0;
  int64_t rebalance = 0;
  double created_at = 0;
  double ready_at = 0;  // "creating" until then, "ok" after
  uint64_t serial = 0;
};

struct Deal {
  std::string deal_name;
  std::string bill_id;
  int64_t count = 1;
  int64_t pay_mode = 0;  // 1 prepaid, 0 postpaid
  int64_t flow_id = 0;
  std::vector<std::string> instance_ids;  // listed once delivered
  double created_at = 0;
  double deliver_at = 0;
  bool never_delivered = false;  // the order failed: nothing is ever listed
};

struct Timings {  // seconds, before the clock's time scale is applied
  double order_delivery = 30;
  double applying = 20;
  double initing = 60;
  double isolating = 10;
  double disisolating = 10;
  double destroying = 10;
  double spec_change = 60;
  double group_create = 5;
  double serverless_create = 30;
};

// Which Tencent Cloud site the emulator stands in for. The sites' request models differ
// (intl's CreateReadOnlyDBInstance has TagList as one Tag and no Tags; China's has both), and
// a request may carry only what its site's model defines.
//
// Default: kIntl. The seed pages, which win over every other source, are the international
// site's (postgres.intl.tencentcloudapi.com), and intl is the stricter of the two for the
// parameters the product sends, so a product that passes here passes on both.
enum class Site { kIntl, kChina };
const char* SiteName(Site site);  // "intl" | "china"

// Whether the two create actions take the project's "DryRun" validation mode. kUnsupported
// makes DryRun an UnknownParameter like any other, to test a client's fallback.
enum class DryRunSupport { kSupported, kUnsupported };

struct ClockSettings {
  bool manual = false;     // manual: time moves only through POST /_admin/advance
  double time_scale = 1;   // every duration is multiplied by this
};

// The catalogue: what a world file fixes and actions never change.
struct Catalogue {
  std::string uin = "100000000001";
  uint64_t app_id = 1250000000;
  std::vector<CredentialPair> credentials;
  std::vector<Region> regions;
  std::vector<SpecClass> classes;
  std::vector<uint64_t> projects = {0};
  std::vector<Vpc> vpcs;
  std::vector<SecurityGroup> security_groups;
  std::vector<std::string> dedicated_clusters;
  int replica_quota_per_master = 6;
  int group_quota_per_master = 5;
  int discount_percent = 0;  // Price = OriginalPrice * (100 - discount) / 100
  uint64_t max_request_bytes = 10u << 20;
  std::map<std::string, int> rate_limits;  // action -> requests per second
  Timings timings;
  ClockSettings clock;
  Site site = Site::kIntl;
  DryRunSupport dry_run = DryRunSupport::kSupported;

  const Region* FindRegion(const std::string& region) const;
  const Zone* FindZone(const std::string& region, const std::string& zone) const;
  const SpecClass* FindClass(const std::string& spec_code) const;
  const Vpc* FindVpc(const std::string& vpc_id) const;
  bool HasSecurityGroup(const std::string& sg_id, const std::string& region) const;
  bool HasProject(uint64_t project_id) const;
};

// The state actions change. Serialisable, so --data can persist it.
struct Dynamic {
  int64_t balance_cents = 0;
  std::map<std::string, Instance> instances;  // by id
  std::map<std::string, ReadOnlyGroup> groups;
  std::map<std::string, Deal> deals;
  uint64_t next_serial = 1;
  double clock_offset = 0;  // manual advances, seconds
};

struct World {
  Catalogue catalogue;
  Dynamic initial;  // as the world file describes it, for POST /_admin/reset
  std::string faults_json = "[]";  // fault rules from the world file, as a JSON array
};

// Loads a world file. Errors name the file, the line and the field.
Result<World> LoadWorldFile(const std::string& path);
Result<World> LoadWorldText(const std::string& text, const std::string& name);

nlohmann::json DynamicToJson(const Dynamic& d);
Result<Dynamic> DynamicFromJson(const nlohmann::json& j);

}  // namespace reconciler::tencentcloud::emulator
