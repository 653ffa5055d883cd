#pragma once

// An in-memory cloud behind the real provider contract, for unit tests of the engine: no
// server, no sockets. Instances and orders follow the injected clock (deliveries and
// boot-up take configured times), and every call is counted.
//
// FaultyCloud forwards to another Cloud and injects failures per action, so retry and
// crash tests run the real executor against known faults.

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "providers/provider.h"
#include "base/clock.h"

namespace reconciler::testing {

class FakeCloud : public cloud::Cloud {
 public:
  explicit FakeCloud(Clock* clock);

  // A running primary.
  void AddPrimary(const std::string& id, const std::string& region = "ap-beijing",
                  const std::string& zone = "ap-beijing-4", const std::string& pay_type = "postpaid");
  // Any instance, as is (status fixed unless phases apply).
  void AddInstance(const cloud::Instance& i);
  void SetStatus(const std::string& id, const std::string& status);
  std::vector<cloud::Instance> Replicas();  // every read-only instance, status as of now
  int Calls(const std::string& action) const;
  int TotalCalls() const;

  std::chrono::seconds delivery_delay{10};  // DescribeOrders lists ids this long after a prepaid create
  std::chrono::seconds boot_delay{20};      // instances run this long after creation
  bool supports_dry_run = true;
  bool has_deletion_protection_action = true;  // false: as the international site
  std::set<std::string> unlisted;              // ids a lagging listing omits; lookups by id find them
  bool CanModifyDeletionProtection() const override { return has_deletion_protection_action; }
  // The international site: a replica create carries only its operation tag (TagList);
  // false: every tag, as the China site's Tags does.
  bool one_create_tag = true;
  bool deliver_short = false;      // the next prepaid purchase delivers one instance less
  bool never_deliver = false;      // the next prepaid purchase delivers nothing
  bool stuck_initing = false;      // instances bought from now on never run
  std::set<std::string> sold_out;  // zones
  std::map<std::string, uint64_t> monthly_cents = {{"pg.it.small2", 18000}, {"pg.it.medium4", 36000}};

  Result<std::vector<cloud::Instance>> ListInstances(const std::string& region, const cloud::ListFilter& filter) override;
  Result<std::vector<cloud::Instance>> ListServerless(const std::string& region, const std::string& tag_key) override;
  Result<std::vector<cloud::Group>> ListGroups(const std::string& region, const std::string& master_id) override;
  Result<cloud::Instance> DescribeInstance(const std::string& region, const std::string& id) override;
  Result<std::vector<cloud::ZoneInfo>> DescribeZones(const std::string& region) override;
  Result<std::vector<cloud::SpecClass>> DescribeClasses(const std::string& region, const std::string& zone,
                                                        const std::string& major_version) override;
  Result<cloud::Price> InquiryPrice(const cloud::PriceQuery& query) override;
  Result<std::vector<cloud::Deal>> DescribeOrders(const std::string& region,
                                                  const std::vector<std::string>& deal_names) override;
  Result<cloud::Purchase> CreateReplicas(const cloud::ReplicaRequest& request, cloud::DryRun dry_run) override;
  Result<std::string> CreateServerless(const cloud::ServerlessRequest& request, cloud::DryRun dry_run) override;
  Result<std::string> CreateGroup(const cloud::GroupRequest& request) override;
  Result<std::string> ModifySpec(const std::string& region, const std::string& id, uint64_t memory_gb, uint64_t cpu,
                                 uint64_t storage_gb) override;
  Status ModifyName(const std::string& region, const std::string& id, const std::string& name) override;
  Status ModifyDeletionProtection(const std::string& region, const std::string& id, bool on) override;
  Status ModifySecurityGroups(const std::string& region, const std::string& id,
                              const std::vector<std::string>& security_group_ids) override;
  Status ModifyGroupConfig(const std::string& region, const std::string& group_id,
                           const cloud::GroupConfig& config) override;
  Status MoveToGroup(const std::string& region, const std::string& id, const std::string& from_group,
                     const std::string& to_group) override;
  Status ModifyTags(const std::string& region, const std::string& id, const cloud::Tags& replace,
                    const std::vector<std::string>& remove) override;
  Status TagInstances(const std::string& region, const std::vector<std::string>& ids,
                      const cloud::Tags& tags) override;
  Status Isolate(const std::string& region, const std::string& id) override;
  Status Restore(const std::string& region, const std::string& id) override;
  Status Destroy(const std::string& region, const std::string& id) override;
  Status DeleteServerless(const std::string& region, const std::string& id) override;
  Status DeleteGroup(const std::string& region, const std::string& id) override;

 private:
  struct Stored {
    cloud::Instance instance;
    double created = 0;       // seconds
    bool stuck = false;
    std::string pending_spec;  // a spec change in progress
    double spec_done = 0;
    double isolate_done = 0;   // isolating until then
  };
  struct StoredDeal {
    std::vector<std::string> ids;
    double deliver_at = 0;
  };
  double Now() const;
  void Count(const std::string& action);
  cloud::Instance View(const Stored& s) const;
  std::string NewId(const std::string& prefix);
  Stored* Find(const std::string& id);

  Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, Stored> instances_;
  std::map<std::string, cloud::Group> groups_;
  std::map<std::string, StoredDeal> deals_;
  std::map<std::string, int> calls_;
  int next_ = 1;
};

// Faults for one action, consumed in order.
enum class Fault {
  kThrottle,       // RequestLimitExceeded, nothing done
  kRefuse,         // a permanent error, nothing done
  kLoseAnswer,     // the call takes effect, and the answer is lost (outcome unknown)
  kDropRequest,    // the call never reaches the cloud, and the client cannot tell (outcome unknown)
  kNotSent,        // the connection was refused
  kServerFault,    // InternalError before anything was done (the caller cannot tell)
  kServerFaultAfterCommit,  // the call takes effect, then the cloud answers InternalError
  kUnauthorized,   // UnauthorizedOperation (CAM), nothing done
};

class FaultyCloud : public cloud::Cloud {
 public:
  explicit FaultyCloud(cloud::Cloud* inner) : inner_(inner) {}
  void Inject(const std::string& action, Fault fault, int times = 1);

  Result<std::vector<cloud::Instance>> ListInstances(const std::string& r, const cloud::ListFilter& f) override;
  Result<std::vector<cloud::Instance>> ListServerless(const std::string& r, const std::string& t) override;
  Result<std::vector<cloud::Group>> ListGroups(const std::string& r, const std::string& m) override;
  Result<cloud::Instance> DescribeInstance(const std::string& r, const std::string& id) override;
  Result<std::vector<cloud::ZoneInfo>> DescribeZones(const std::string& r) override;
  Result<std::vector<cloud::SpecClass>> DescribeClasses(const std::string& r, const std::string& z, const std::string& v) override;
  Result<cloud::Price> InquiryPrice(const cloud::PriceQuery& q) override;
  Result<std::vector<cloud::Deal>> DescribeOrders(const std::string& r, const std::vector<std::string>& d) override;
  Result<cloud::Purchase> CreateReplicas(const cloud::ReplicaRequest& q, cloud::DryRun dry) override;
  Result<std::string> CreateServerless(const cloud::ServerlessRequest& q, cloud::DryRun dry) override;
  Result<std::string> CreateGroup(const cloud::GroupRequest& q) override;
  Result<std::string> ModifySpec(const std::string& r, const std::string& id, uint64_t m, uint64_t c, uint64_t s) override;
  Status ModifyName(const std::string& r, const std::string& id, const std::string& n) override;
  Status ModifyDeletionProtection(const std::string& r, const std::string& id, bool on) override;
  bool CanModifyDeletionProtection() const override { return inner_->CanModifyDeletionProtection(); }
  Status ModifySecurityGroups(const std::string& r, const std::string& id, const std::vector<std::string>& g) override;
  Status ModifyGroupConfig(const std::string& r, const std::string& id, const cloud::GroupConfig& config) override;
  Status MoveToGroup(const std::string& r, const std::string& id, const std::string& f, const std::string& t) override;
  Status ModifyTags(const std::string& r, const std::string& id, const cloud::Tags& s, const std::vector<std::string>& d) override;
  Status TagInstances(const std::string& r, const std::vector<std::string>& ids, const cloud::Tags& t) override;
  Status Isolate(const std::string& r, const std::string& id) override;
  Status Restore(const std::string& r, const std::string& id) override;
  Status Destroy(const std::string& r, const std::string& id) override;
  Status DeleteServerless(const std::string& r, const std::string& id) override;
  Status DeleteGroup(const std::string& r, const std::string& id) override;

 private:
  // Runs `call` through the fault queue of `action`.
  template <typename R>
  R Through(const std::string& action, const std::function<R()>& call);

  cloud::Cloud* inner_;
  std::mutex mu_;
  std::map<std::string, std::deque<Fault>> faults_;
};

}  // namespace reconciler::testing
