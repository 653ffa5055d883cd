#pragma once

// EmulatedCloud: the account's behaviour behind the HTTP front. It checks parameters the
// way API 3.0 does (UnknownParameter, MissingParameter, InvalidParameter), runs each
// action's validations in the documented order, and moves instances, groups and orders
// through their lifecycles on the emulator's clock.
//
// Thread-safe: one mutex guards the whole account, as one region's control plane would.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <variant>
#include <string>

#include "emulator/cached_answer.h"
#include "emulator/faults.h"
#include "emulator/json_writer.h"
#include "emulator/site_model.h"
#include "emulator/world.h"

namespace reconciler::tencentcloud::emulator {

// The emulator's notion of now, in UNIX seconds. Real mode follows the wall clock; manual
// mode starts at the wall clock and then moves only through Advance(). Both add the
// advances made so far, so an advance also skips ahead in real mode.
class EmuClock {
 public:
  EmuClock(ClockSettings settings, std::function<double()> wall);
  double Now() const;
  // A world duration after the time scale.
  double Scaled(double seconds) const { return seconds * settings_.time_scale; }
  bool manual() const { return settings_.manual; }
  double offset() const { return offset_; }
  void set_offset(double offset) { offset_ = offset; }

 private:
  ClockSettings settings_;
  std::function<double()> wall_;
  double start_;
  double offset_ = 0;
};

// What one action returns: the Response fields (RequestId is added by the server), or an
// error code and message.
struct Reply {
  bool ok = true;
  nlohmann::json body = nlohmann::json::object();
  // When set, the Response members as JSON text ("\"A\":1,\"B\":[...]"), used instead of
  // `body` for large answers.
  std::string raw;
  // When set, the Response members as text shared with other requests (a kept page), used
  // instead of `raw` and `body`.
  std::shared_ptr<const CachedAnswer> cached;
  std::string code;
  std::string message;
  bool dry_run = false;    // a validated DryRun that bought nothing
  bool committed = false;  // the call changed the account (bought, modified, deleted)
};

Reply Error(std::string code, std::string message);

enum class ParamType { kString, kInt, kUint, kBool, kStringList, kFilterList, kTag, kTagList, kTagKeyList };

struct ParamSpec {
  const char* name;
  ParamType type;
  bool required = false;
};

class EmulatedCloud;

struct ActionSpec {
  const char* service;  // "postgres" or "tag"
  const char* name;
  bool needs_region;
  std::vector<ParamSpec> params;
  Reply (EmulatedCloud::*handler)(const std::string& region, const nlohmann::json& p);
};

// Every action the emulator serves, with the parameters its handler reads and their
// requiredness. Which parameters a request may carry is the site model's call (SiteModel);
// these lists are the model only where a site's SDK has none.
const std::vector<ActionSpec>& Actions();
const ActionSpec* FindAction(const std::string& service, const std::string& action);
// The service that has `action`, or empty.
std::string ServiceOfAction(const std::string& action);

class EmulatedCloud {
 public:
  // `wall` returns the wall clock in UNIX seconds (tests may pass a fixed one).
  EmulatedCloud(World world, Faults* faults, std::function<double()> wall);

  // Runs one action: the site model's checks, then the action's own. REQUIRES: the action
  // exists in `service`.
  Reply Handle(const std::string& service, const std::string& action, const std::string& region,
               const nlohmann::json& params);

  const Catalogue& catalogue() const { return world_.catalogue; }
  const SiteModel& model() const { return model_; }
  double Now() const;

  // Admin operations.
  nlohmann::json StateJson();
  void Reset();
  void Advance(double seconds);
  nlohmann::json SaveJson() const;              // the dynamic state, for --data
  Status LoadJson(const nlohmann::json& data);  // replaces the dynamic state

  // Postgres actions (actions_*.cpp).
  Reply CreateReadOnlyDBInstance(const std::string& region, const nlohmann::json& p);
  Reply DescribeDBInstances(const std::string& region, const nlohmann::json& p);
  Reply DescribeDBInstanceAttribute(const std::string& region, const nlohmann::json& p);
  Reply ModifyDBInstanceName(const std::string& region, const nlohmann::json& p);
  Reply ModifyDBInstanceDeletionProtection(const std::string& region, const nlohmann::json& p);
  Reply ModifyDBInstanceSpec(const std::string& region, const nlohmann::json& p);
  Reply ModifyDBInstanceSecurityGroups(const std::string& region, const nlohmann::json& p);
  Reply IsolateDBInstances(const std::string& region, const nlohmann::json& p);
  Reply DisIsolateDBInstances(const std::string& region, const nlohmann::json& p);
  Reply DestroyDBInstance(const std::string& region, const nlohmann::json& p);
  Reply CreateReadOnlyGroup(const std::string& region, const nlohmann::json& p);
  Reply DescribeReadOnlyGroups(const std::string& region, const nlohmann::json& p);
  Reply DeleteReadOnlyGroup(const std::string& region, const nlohmann::json& p);
  Reply ModifyDBInstanceReadOnlyGroup(const std::string& region, const nlohmann::json& p);
  Reply ModifyReadOnlyGroupConfig(const std::string& region, const nlohmann::json& p);
  Reply CreateServerlessDBInstance(const std::string& region, const nlohmann::json& p);
  Reply DescribeServerlessDBInstances(const std::string& region, const nlohmann::json& p);
  Reply DeleteServerlessDBInstance(const std::string& region, const nlohmann::json& p);
  Reply DescribeOrders(const std::string& region, const nlohmann::json& p);
  Reply DescribeZones(const std::string& region, const nlohmann::json& p);
  Reply DescribeClasses(const std::string& region, const nlohmann::json& p);
  Reply DescribeRegions(const std::string& region, const nlohmann::json& p);
  Reply InquiryPriceCreateDBInstances(const std::string& region, const nlohmann::json& p);
  // Tag service.
  Reply TagResources(const std::string& region, const nlohmann::json& p);
  Reply UnTagResources(const std::string& region, const nlohmann::json& p);
  Reply ModifyResourceTags(const std::string& region, const nlohmann::json& p);

 private:
  // Applies every lifecycle step due by now.
  void Settle();
  void Track(const std::string& id) { unsettled_.insert(id); }

  // Validation helpers; each returns an error Reply or nullopt.
  std::optional<Reply> CheckRegion(const std::string& region) const;
  std::optional<Reply> CheckZone(const std::string& region, const std::string& zone) const;
  std::optional<Reply> CheckName(const std::string& name, const char* param) const;
  std::optional<Reply> CheckNetwork(const std::string& region, const nlohmann::json& p, bool required) const;
  std::optional<Reply> CheckSecurityGroups(const std::string& region, const nlohmann::json& ids) const;
  std::optional<Reply> CheckProject(const nlohmann::json& p) const;
  std::optional<Reply> CheckTags(const std::vector<TagPair>& tags) const;
  // The running primary `id` in `region`, or an error.
  std::variant<Instance*, Reply> Master(const std::string& region, const std::string& id);
  // Adds or replaces an instance; every insertion goes through here to keep the index true.
  void AddInstance(Instance inst);
  // Marks everything derived from the instances (the region index, the cached listings) out of
  // date. Called after anything that may have changed an instance: every action that is not a
  // read (see Handle), a lifecycle step, a reset or a load.
  void Changed();
  // The instances of `region` in creation order. Rebuilt after the set of instances changes.
  const std::vector<const Instance*>& InRegion(const std::string& region);
  // A listing (the filtered instances in the order asked for) and the pages of it already
  // served, kept since the last Changed().
  struct KeptListing {
    std::vector<const Instance*> instances;
    // By the positions [first, end) they show. A page's text holds the instances' fields as
    // they were when it was written; that stays true because every change to an instance goes
    // through Changed(): an action that is not a read, a lifecycle step (Settle), a reset, a load.
    std::map<std::pair<size_t, size_t>, std::shared_ptr<const CachedAnswer>> pages;
  };
  // The listing kept under `key`, or nullptr.
  KeptListing* CachedListing(const std::string& key);
  KeptListing& CacheListing(std::string key, std::vector<const Instance*> listing);
  // The page [first, end) of `listing` as text, kept with it after the first request.
  std::shared_ptr<const CachedAnswer> InstancesPage(KeptListing& listing, size_t first, size_t end);
  // Writes the members of a DescribeDBInstances answer: TotalCount, then [first, end).
  void WriteInstancesPage(const std::vector<const Instance*>& listing, size_t first, size_t end,
                          std::string* out) const;
  // An instance visible to DescribeDBInstances-style actions in `region`.
  Instance* FindInstance(const std::string& region, const std::string& id);

  std::string NewId(const std::string& prefix);
  std::string NewDealName();
  std::string NewBillId();
  int64_t NewFlowId() { return next_flow_id_++; }
  Instance NewInstance(const std::string& id, const std::string& region, const std::string& zone);
  uint64_t ReplicaCount(const std::string& master_id) const;

  void WriteDBInstance(const Instance& i, JsonWriter& w) const;
  nlohmann::json DBInstanceJson(const Instance& i) const;
  nlohmann::json ServerlessJson(const Instance& i) const;
  void WriteGroup(const ReadOnlyGroup& g, JsonWriter& w) const;
  std::string FormatTime(double unix_seconds) const;

  // Prices in cents.
  uint64_t MonthlyCents(const SpecClass& k, uint64_t storage_gb) const;
  uint64_t Discounted(uint64_t cents) const;

  World world_;
  SiteModel model_;
  Dynamic state_;
  Faults* faults_;
  EmuClock clock_;
  std::set<std::string> unsettled_;  // instances with lifecycle phases ahead
  bool index_dirty_ = true;
  std::map<std::string, std::vector<const Instance*>> by_region_;
  // Listings by action, region, filters and order; cleared by Changed(). Paging through N
  // instances would otherwise filter and sort all N for every page.
  std::map<std::string, KeptListing> listings_;
  size_t page_bytes_ = 0;  // the text of every kept page, bounded (see InstancesPage)
  int64_t next_flow_id_ = 1000;
  mutable std::mutex mu_;
};

// Parses a tag list ([{TagKey, TagValue}]) already type-checked by the action spec.
std::vector<TagPair> ParseTags(const nlohmann::json& list);

}  // namespace reconciler::tencentcloud::emulator
