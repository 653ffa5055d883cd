#include "engine/engine.h"

#include <ctime>
#include <filesystem>

#include "engine/diff.h"
#include "engine/preflight.h"

namespace reconciler {

ExecutorOptions ExecutorOptionsFor(const specs::Project& project) {
  ExecutorOptions options;
  options.search_window = std::chrono::seconds(project.purchase_search_window_seconds);
  options.order_deadline = std::chrono::seconds(project.order_deadline_seconds);
  options.running_deadline = std::chrono::seconds(project.running_deadline_seconds);
  options.preflight_max_age = std::chrono::seconds(project.preflight_max_age_seconds);
  return options;
}

namespace {

std::string NowText(Clock* clock) { return UtcText(clock->Now()); }

}  // namespace

namespace {

// A purchase in flight when the state was lost is unknown to a rebuilt state, and may not
// show in listings yet. Until the visibility window has passed since the rebuild, nothing is
// bought: the listing's silence proves nothing before then.
void HoldPurchasesAfterRebuild(int64_t rebuilt_at, int64_t window_seconds, Clock* clock, std::vector<Change>* changes) {
  if (rebuilt_at <= 0) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(clock->Now().time_since_epoch()).count();
  const int64_t left = rebuilt_at + window_seconds - now;
  if (left <= 0) return;
  for (Change& c : *changes) {
    if (c.action != Action::kCreate && c.action != Action::kReplace) continue;
    c.blocked = true;
    c.blocked_reason = "the state was rebuilt " + std::to_string(now - rebuilt_at) +
                       "s ago: a purchase in flight when it was lost may not be visible yet, so nothing is bought "
                       "for another " + std::to_string(left) + "s (purchaseSearchWindow)";
  }
}

}  // namespace

Result<Plan> MakePlan(cloud::Cloud* cloud, StateStore* store, Clock* clock, const specs::DesiredState& desired,
                      const std::string& stack_dir, const PlanOptions& options) {
  Result<RecordedState> recorded = LoadRecorded(store);
  if (!recorded.ok()) return recorded.status();
  Result<int64_t> rebuilt_at = store->RebuiltAt();
  if (!rebuilt_at.ok()) return rebuilt_at.status();
  ObserveScope scope = ScopeOf(desired, *recorded);
  Result<ObservedState> observed = Observe(cloud, desired.project.stack, scope);
  if (!observed.ok()) return observed.status();
  DiffResult diff = Diff(desired, *observed, *recorded,
                         {options.allow_destroy, cloud->CanModifyDeletionProtection(), options.retry_failed});
  HoldPurchasesAfterRebuild(*rebuilt_at, desired.project.purchase_search_window_seconds, clock, &diff.changes);
  RunPreflight(cloud, *observed, &diff.changes);

  Plan plan;
  plan.stack = desired.project.stack;
  plan.created_at = NowText(clock);
  std::error_code ec;  // a working directory that was deleted has no absolute path
  std::filesystem::path dir = std::filesystem::absolute(stack_dir, ec);
  plan.stack_dir = (ec ? std::filesystem::path(stack_dir) : dir).lexically_normal().string();
  plan.regions = scope.regions;
  plan.masters = scope.masters;
  plan.allow_destroy = options.allow_destroy;
  plan.changes = std::move(diff.changes);
  plan.warnings = std::move(diff.warnings);
  plan.failures = std::move(diff.failures);
  plan.retry_failed = options.retry_failed;
  plan.observed = DigestAll(*observed);
  for (const auto* list : {&observed->instances, &observed->serverless}) {
    for (const cloud::Instance& i : *list) {
      auto tag = i.tags.find(cloud::kResourceTag);
      if (tag != i.tags.end() && i.state() != cloud::InstanceState::kGoing) ++plan.observed_counts[tag->second];
    }
  }
  for (const auto& [key, r] : recorded->resources) {
    if (r.group_id.empty()) continue;
    for (const cloud::Group& g : observed->groups) {
      if (g.id == r.group_id) plan.observed_counts[key] = 1;
    }
  }
  plan.state_generation = recorded->generation;
  return plan;
}

}  // namespace reconciler
