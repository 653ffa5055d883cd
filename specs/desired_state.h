#pragma once

// DesiredState: what the specs of a stack ask for, as plain data.
//
// Every default lives here, next to its field, and nowhere else. A field's YAML name is the
// camelCase form shown in its comment; units are part of the name.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "specs/diagnostics.h"

namespace reconciler::specs {

enum class Kind { kReadOnlyInstance, kReadOnlyGroup, kServerlessInstance };

const char* KindName(Kind kind);  // "ReadOnlyInstance"
std::optional<Kind> ParseKind(const std::string& name);

// Identifies a resource within a stack: "ReadOnlyInstance/reports".
struct ResourceKey {
  Kind kind = Kind::kReadOnlyInstance;
  std::string name;
  std::string ToString() const;
  bool operator<(const ResourceKey& o) const { return std::tie(kind, name) < std::tie(o.kind, o.name); }
  bool operator==(const ResourceKey& o) const { return kind == o.kind && name == o.name; }
};
std::optional<ResourceKey> ParseResourceKey(const std::string& text);

enum class ChargeType { kPrepaid, kPostpaidByHour };
const char* ChargeTypeName(ChargeType t);  // "PREPAID", "POSTPAID_BY_HOUR"

// What happens to the cloud resource when its spec is removed from the stack.
enum class DeletionPolicy {
  kOrphan,  // remove our tags and forget it (default)
  kDelete,  // isolate and destroy it, when the apply allows destroys
};
const char* DeletionPolicyName(DeletionPolicy p);

// kind: ReadOnlyInstance -> CreateReadOnlyDBInstance.
struct ReadOnlyInstanceSpec {
  std::string region;              // region; default: provider.tencentcloud.region
  std::string zone;                // zone (required)
  std::string master_instance_id;  // masterInstanceId (required), postgres-...
  std::string spec_code;           // specCode (required), e.g. pg.it.small2
  uint64_t storage_gb = 0;         // storageGB (required), a multiple of 10
  uint64_t count = 1;              // count: replicas wanted; default 1
  uint64_t period_months = 1;      // periodMonths: 1-12, 24, 36; default 1
  std::string vpc_id;              // vpcId (required)
  std::string subnet_id;           // subnetId (required)
  ChargeType charge_type = ChargeType::kPostpaidByHour;  // chargeType; default POSTPAID_BY_HOUR
  bool auto_voucher = false;                // autoVoucher; default false
  std::vector<std::string> voucher_ids;     // voucherIds: at most 1
  bool auto_renew = false;                  // autoRenew; default false
  uint64_t project_id = 0;                  // projectId; default 0 (the default project)
  std::optional<int64_t> activity_id;       // activityId
  std::string read_only_group;              // readOnlyGroup: a ReadOnlyGroup of this stack
  std::string read_only_group_id;           // readOnlyGroupId: an existing pgrogrp-...
  std::vector<std::string> security_group_ids;  // securityGroupIds; default: the VPC's default group
  bool need_support_ipv6 = false;           // needSupportIpv6; default false
  std::string instance_name;                // instanceName; default metadata.name
  std::string dedicated_cluster_id;         // dedicatedClusterId
  bool deletion_protection = false;         // deletionProtection; default false
  std::string db_version;                   // dbVersion: deprecated by the API (follows the master)
  std::map<std::string, std::string> tags;  // tags; merged over defaults.tags
  DeletionPolicy deletion_policy = DeletionPolicy::kOrphan;  // deletionPolicy; default Orphan
};

// kind: ReadOnlyGroup -> CreateReadOnlyGroup.
struct ReadOnlyGroupSpec {
  std::string region;              // region; default: provider.tencentcloud.region
  std::string master_instance_id;  // masterInstanceId (required)
  std::string group_name;          // groupName; default metadata.name
  uint64_t project_id = 0;         // projectId; default 0
  std::string vpc_id;              // vpcId (required)
  std::string subnet_id;           // subnetId (required)
  bool replay_lag_eliminate = false;      // replayLagEliminate; default false
  bool replay_latency_eliminate = false;  // replayLatencyEliminate; default: replayLagEliminate
  uint64_t max_replay_lag_seconds = 0;    // maxReplayLagSeconds
  uint64_t max_replay_latency_mb = 0;     // maxReplayLatencyMB
  uint64_t min_delay_eliminate_reserve = 0;  // minDelayEliminateReserve: 0-100
  std::vector<std::string> security_group_ids;  // securityGroupIds
  DeletionPolicy deletion_policy = DeletionPolicy::kOrphan;  // deletionPolicy; default Orphan
};

// kind: ServerlessInstance -> CreateServerlessDBInstance.
struct ServerlessInstanceSpec {
  std::string region;         // region; default: provider.tencentcloud.region
  std::string zone;           // zone (required): ap-shanghai-2, ap-beijing-1 or ap-guangzhou-2
  std::string instance_name;  // instanceName (DBInstanceName); default metadata.name
  std::string db_version = "10.4";  // dbVersion; default "10.4", the only one offered
  std::string db_charset = "UTF8";  // dbCharset; default UTF8, the only one offered
  uint64_t project_id = 0;          // projectId; default 0
  std::string vpc_id;               // vpcId
  std::string subnet_id;            // subnetId
  std::map<std::string, std::string> tags;  // tags
  DeletionPolicy deletion_policy = DeletionPolicy::kOrphan;  // deletionPolicy; default Orphan
};

using Spec = std::variant<ReadOnlyInstanceSpec, ReadOnlyGroupSpec, ServerlessInstanceSpec>;

struct Resource {
  ResourceKey key;
  Spec spec;
  Location at;                               // where the document starts
  std::map<std::string, Location> fields;    // where each given field was written
  // Resources this one depends on (created first): a replica's readOnlyGroup.
  std::vector<ResourceKey> depends_on;

  const ReadOnlyInstanceSpec* replica() const { return std::get_if<ReadOnlyInstanceSpec>(&spec); }
  const ReadOnlyGroupSpec* group() const { return std::get_if<ReadOnlyGroupSpec>(&spec); }
  const ServerlessInstanceSpec* serverless() const { return std::get_if<ServerlessInstanceSpec>(&spec); }
  const std::string& region() const;
  DeletionPolicy deletion_policy() const;
};

// reconciler.yaml
struct Project {
  std::string stack;   // stack (required): the name every resource's tags carry
  std::string region;  // provider.tencentcloud.region
  std::string endpoint;  // provider.tencentcloud.endpoint; default: environment, then the cloud
  std::string profile;   // provider.tencentcloud.profile; default: environment, then "default"
  std::string site;      // provider.tencentcloud.site: "intl", "china" or "" (follow the endpoint)
  Location site_at;      // where `site` (else `endpoint`) is written, for messages
  Location endpoint_at;  // where `endpoint` is written (line 0 when it is not)
  std::map<std::string, int> rate_limits;  // provider.tencentcloud.rateLimits, per action per second
  // provider.tencentcloud.purchaseSearchWindow: after a create whose outcome is unknown,
  // how long its operation tag is searched for before anything is bought again. Default 6m
  // (the cloud refuses requests signed more than 5 minutes earlier; see executor.h).
  int64_t purchase_search_window_seconds = 360;
  // provider.tencentcloud.orderDeadline: how long an order may take to list its instances
  // before its purchase fails (default 30m), and runningDeadline: how long its instances may
  // take to run after that (default 60m). 1m to 7d each. Kept in the state when a wait begins.
  int64_t order_deadline_seconds = 1800;
  int64_t running_deadline_seconds = 3600;
  // provider.tencentcloud.preflightMaxAge: how long a plan's DryRuns stand for the apply of
  // that plan (default 15m; 0: every apply proves each request shape again, once).
  int64_t preflight_max_age_seconds = 900;
  std::string state = "sqlite:.reconciler/state.db";  // state; relative to the stack directory
  struct Notify {
    std::string url;            // an http(s) URL; it may carry a token, so it is never logged whole
    std::string format = "json";  // json | slack
    Location at;
  };
  struct Daemon {
    int64_t interval_seconds = 60;       // daemon.interval; default 60s: the resync period
    bool auto_apply = true;              // daemon.autoApply; default true; false: plan and report only
    bool allow_destroy = false;          // daemon.allowDestroy; default false
    std::string listen = "127.0.0.1:9464";  // daemon.listen
    std::string drift = "correct";       // daemon.drift: correct | report
    std::string webhook_secret_file;     // daemon.webhookSecretFile: relative to the stack directory
    int64_t poll_seconds = 30;           // daemon.gitPoll: how often `run --git` looks for a new commit
    int64_t reminder_seconds = 3600;     // daemon.reminder: repeat a standing notice this often
    std::vector<Notify> notify;          // daemon.notify
  } daemon;
  Location at;
};

struct DesiredState {
  Project project;
  std::vector<Resource> resources;  // in dependency order: groups before their replicas

  const Resource* Find(const ResourceKey& key) const;
};

}  // namespace reconciler::specs
