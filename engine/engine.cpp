#include "engine/engine.h"

#include <ctime>
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "engine/diff.h"
#include "engine/preflight.h"

namespace reconciler {

using nlohmann::json;

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

// The stack directory relative to the working directory, so a saved plan applies from
// another checkout of the same commit (another CI job's workspace) as it does from this one.
std::string PortableStackDir(const std::string& stack_dir) {
  std::error_code ec;  // a working directory that was deleted has no absolute path
  std::filesystem::path dir = std::filesystem::absolute(stack_dir, ec);
  std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (ec) return std::filesystem::path(stack_dir).lexically_normal().string();
  std::filesystem::path relative = dir.lexically_normal().lexically_relative(cwd);
  return relative.empty() ? dir.lexically_normal().string() : relative.string();
}

// What a recorded resource depends on: a replica's read-only group of this stack, as last
// applied (the specs may no longer name it).
std::vector<specs::ResourceKey> RecordedDependencies(const ResourceRecord& r) {
  json spec = json::parse(r.spec_json, nullptr, false);
  if (!spec.is_object() || !spec.contains("readOnlyGroup") || !spec["readOnlyGroup"].is_string()) return {};
  return {{specs::Kind::kReadOnlyGroup, spec["readOnlyGroup"].get<std::string>()}};
}

// Every resource's dependencies, from the specs and the state.
std::map<std::string, std::set<std::string>> DependencyEdges(const specs::DesiredState& desired,
                                                             const RecordedState& recorded) {
  std::map<std::string, std::set<std::string>> edges;
  for (const specs::Resource& r : desired.resources) {
    for (const specs::ResourceKey& d : r.depends_on) edges[r.key.ToString()].insert(d.ToString());
  }
  for (const auto& [key, r] : recorded.resources) {
    for (const specs::ResourceKey& d : RecordedDependencies(r)) edges[key].insert(d.ToString());
  }
  return edges;
}

// The targets with what they depend on (`dependents` false) or what depends on them (true).
std::set<std::string> TargetClosure(const std::vector<specs::ResourceKey>& targets,
                                    const std::map<std::string, std::set<std::string>>& edges, bool dependents) {
  std::set<std::string> out;
  std::vector<std::string> todo;
  for (const specs::ResourceKey& t : targets) todo.push_back(t.ToString());
  while (!todo.empty()) {
    std::string key = todo.back();
    todo.pop_back();
    if (!out.insert(key).second) continue;
    for (const auto& [from, to] : edges) {
      if (dependents && to.count(key)) todo.push_back(from);
      if (!dependents && from == key) todo.insert(todo.end(), to.begin(), to.end());
    }
  }
  return out;
}

// A target must name a resource the stack has, in the specs or in the state.
Status CheckTargets(const std::vector<specs::ResourceKey>& targets, const specs::DesiredState& desired,
                    const RecordedState& recorded) {
  for (const specs::ResourceKey& t : targets) {
    if (desired.Find(t) || recorded.resources.count(t.ToString())) continue;
    bool owned = std::any_of(recorded.instances.begin(), recorded.instances.end(),
                             [&](const auto& i) { return i.second.resource_key == t.ToString(); });
    if (!owned) {
      return Status(Code::kInvalidInput, "target " + t.ToString() + " is neither in the specs of stack " +
                                             desired.project.stack + " nor in its state");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Plan> MakePlan(cloud::Cloud* cloud, StateStore* store, Clock* clock, const specs::DesiredState& specified,
                      const std::string& stack_dir, const PlanOptions& options) {
  Result<RecordedState> recorded = LoadRecorded(store);
  if (!recorded.ok()) return recorded.status();
  if (Status s = CheckTargets(options.targets, specified, *recorded); !s.ok()) return s;
  const auto edges = DependencyEdges(specified, *recorded);
  // Planned: the targets with their dependencies, or for a destroy with their dependents
  // (a group goes only after the replicas in it).
  std::optional<std::set<std::string>> scoped;
  if (!options.targets.empty()) scoped = TargetClosure(options.targets, edges, options.destroy);
  specs::DesiredState desired = specified;
  if (options.destroy) {
    std::erase_if(desired.resources,
                  [&](const specs::Resource& r) { return !scoped || scoped->count(r.key.ToString()); });
  }
  Result<int64_t> rebuilt_at = store->RebuiltAt();
  if (!rebuilt_at.ok()) return rebuilt_at.status();
  ObserveScope scope = ScopeOf(desired, *recorded);
  Result<ObservedState> observed = Observe(cloud, desired.project.stack, scope);
  if (!observed.ok()) return observed.status();
  DiffResult diff = Diff(desired, *observed, *recorded,
                         {options.allow_destroy, cloud->CanModifyDeletionProtection(), options.retry_failed});
  if (scoped) {
    std::erase_if(diff.changes, [&](const Change& c) { return !scoped->count(c.key.ToString()); });
    std::erase_if(diff.failures, [&](const Failure& f) { return !scoped->count(f.key.ToString()); });
    // A change left out is not waited for: it is not part of this plan.
    std::set<std::string> kept;
    for (const Change& c : diff.changes) kept.insert(c.id);
    for (Change& c : diff.changes) std::erase_if(c.after, [&](const std::string& id) { return !kept.count(id); });
  }
  HoldPurchasesAfterRebuild(*rebuilt_at, desired.project.purchase_search_window_seconds, clock, &diff.changes);
  RunPreflight(cloud, *observed, &diff.changes);

  Plan plan;
  plan.stack = desired.project.stack;
  plan.created_at = NowText(clock);
  plan.stack_dir = PortableStackDir(stack_dir);
  plan.regions = scope.regions;
  plan.masters = scope.masters;
  plan.allow_destroy = options.allow_destroy;
  plan.destroy = options.destroy;
  for (const specs::ResourceKey& t : options.targets) plan.targets.push_back(t.ToString());
  if (scoped) {
    std::string names;
    for (const std::string& k : *scoped) names += (names.empty() ? "" : ", ") + k;
    diff.warnings.insert(diff.warnings.begin(),
                         "targeted plan: only " + names + " planned; the rest of the stack may differ from its specs "
                         "(use -target for exceptions, not routinely)");
  }
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
