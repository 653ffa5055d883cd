#pragma once

// The provider contract over the Tencent Cloud API (postgres 2017-03-12, tag 2018-08-13).
//
// Every call first takes a token from the RateBudget. A call the retry table
// (reconciler/retry_policy.h) says to retry is sent again after a full-jitter backoff: a read
// when throttled, not sent, or answered with a server fault or not at all; a write only when
// throttled or not sent. Purchases (CreateReplicas, CreateServerless, CreateGroup,
// ModifySpec) are sent once, on a fresh connection, and their outcome is returned as is: the
// executor decides, having recorded the attempt.

#include "providers/provider.h"
#include "providers/tencentcloud/api_client.h"
#include "providers/tencentcloud/site.h"
#include "providers/tencentcloud/rate_budget.h"

namespace reconciler::tencentcloud {

struct TencentCloudOptions {
  int read_attempts = 6;  // tries per call before giving up (default 6)
  std::chrono::milliseconds backoff{200};       // first backoff ceiling (default 200 ms); doubles ...
  std::chrono::milliseconds backoff_cap{5000};  // ... to this (default 5 s); each wait is uniform below it
  uint64_t jitter_seed = 0;                     // 0: random (default); tests fix it
  Site site = Site::kIntl;  // decides the request shapes; see site.h (default intl)
  // Pages of one listing fetched at once after the first (default 64). The rate budget still
  // paces them; 64 in flight hold DescribeDBInstances' 1,000/s at a 64 ms round trip, and at
  // 30 ms they leave the listing of 100,000 bound by parsing, not by round trips (2.25 s with
  // 32, 1.74 s with 64: bench, no-op plan).
  int page_parallelism = 64;
  // Stops this session's waits (the rate budget, retry backoffs): its stack's stop token, so
  // stopping one stack never cuts short another's calls.
  std::stop_token stop;
};

class TencentCloud final : public cloud::Cloud {
 public:
  // `client`, `budget` and `clock` must outlive this object.
  TencentCloud(ApiClient* client, RateBudget* budget, Clock* clock, TencentCloudOptions options = {});

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
  // Not on the international site, which lacks the action: kPermanent, nothing sent.
  Status ModifyDeletionProtection(const std::string& region, const std::string& id, bool on) override;
  bool CanModifyDeletionProtection() const override { return options_.site == Site::kChina; }
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
  // One call, budgeted. Repeats it per the read policy when `effect` allows.
  Result<nlohmann::json> Call(const std::string& action, const std::string& region, const nlohmann::json& params,
                              Effect effect, const std::string& service = "postgres", AnswerReader* reader = nullptr);
  // Every page of an offset-paged action that answers with DBInstanceSet and TotalCount:
  // the first page gives the total, and the rest are fetched concurrently.
  Result<std::vector<cloud::Instance>> ListAllPages(const std::string& action, const std::string& region,
                                                    nlohmann::json params);
  struct Page;
  Page FetchPage(const std::string& action, const std::string& region, nlohmann::json params, uint64_t offset);

  ApiClient* client_;
  RateBudget* budget_;
  Clock* clock_;
  TencentCloudOptions options_;
};

// The six-segment resource name the tag service takes for a postgres instance.
std::string PostgresResourceName(const std::string& region, const std::string& id);

}  // namespace reconciler::tencentcloud
