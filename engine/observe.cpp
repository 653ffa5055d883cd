#include "engine/observe.h"

#include <functional>
#include <map>

#include <nlohmann/json.hpp>
#include <set>

#include "base/parallel.h"
#include "base/retry_policy.h"
#include "engine/identity.h"

namespace reconciler {

using nlohmann::json;

Result<RecordedState> LoadRecorded(StateStore* store) {
  RecordedState r;
  Result<std::vector<ResourceRecord>> resources = store->Resources();
  if (!resources.ok()) return resources.status();
  for (ResourceRecord& rec : *resources) r.resources[rec.key] = std::move(rec);
  Result<std::vector<InstanceRecord>> instances = store->Instances();
  if (!instances.ok()) return instances.status();
  for (InstanceRecord& rec : *instances) r.instances[rec.id] = std::move(rec);
  Result<std::vector<Operation>> ops = store->InFlight();
  if (!ops.ok()) return ops.status();
  r.in_flight = std::move(ops).value();
  Result<std::vector<Operation>> all = store->Operations();
  if (!all.ok()) return all.status();
  r.failures = TerminalFailures(*all);
  Result<int64_t> generation = store->Generation();
  if (!generation.ok()) return generation.status();
  r.generation = *generation;
  return r;
}

ObserveScope ScopeOf(const specs::DesiredState& desired, const RecordedState& recorded) {
  std::set<std::string> regions;
  std::set<std::pair<std::string, std::string>> masters;  // region, master id
  for (const specs::Resource& r : desired.resources) {
    if (!r.region().empty()) regions.insert(r.region());
    if (const auto* g = r.group()) masters.insert({g->region, g->master_instance_id});
    if (const auto* s = r.replica(); s && (!s->read_only_group.empty() || !s->read_only_group_id.empty())) {
      masters.insert({s->region, s->master_instance_id});
    }
  }
  for (const auto& [key, rec] : recorded.resources) {
    if (!rec.region.empty()) regions.insert(rec.region);
    if (!rec.group_id.empty()) {
      json spec = json::parse(rec.spec_json, nullptr, false);
      if (spec.is_object() && spec.contains("masterInstanceId") && spec["masterInstanceId"].is_string()) {
        masters.insert({rec.region, spec["masterInstanceId"].get<std::string>()});
      }
    }
  }
  for (const Operation& op : recorded.in_flight) regions.insert(op.region);
  std::vector<std::pair<std::string, std::string>> known;
  for (const auto& [id, rec] : recorded.instances) {
    auto key = specs::ParseResourceKey(rec.resource_key);
    if (key && key->kind == specs::Kind::kReadOnlyInstance) known.emplace_back(rec.region, id);
  }
  return {{regions.begin(), regions.end()}, {masters.begin(), masters.end()}, std::move(known)};
}

namespace {

// Every recorded replica the listing omits is looked up by id (see Observe).
Status CheckRecordedListed(cloud::Cloud* cloud, const std::string& stack, const ObserveScope& scope,
                           const ObservedState& observed) {
  std::set<std::string> listed;
  for (const cloud::Instance& i : observed.instances) listed.insert(i.id);
  for (const auto& [region, id] : scope.recorded) {
    if (listed.count(id)) continue;
    Result<cloud::Instance> found = cloud->DescribeInstance(region, id);
    if (!found.ok() && found.status().code() == Code::kNotFound) continue;  // proven gone
    if (!found.ok()) {
      return found.status().Annotate(id + " is recorded in state but missing from the listing of " + region +
                                     ", and looking it up by id failed");
    }
    if (found->state() == cloud::InstanceState::kGoing) continue;
    Normalize(&*found);
    const std::string seen = "DescribeDBInstanceAttribute finds it (" + found->status + ")";
    if (BelongsTo(*found, stack)) {
      return Status(Code::kRetryable, "the listing of " + region + " omits " + id + ", which the state records and " +
                                          seen + ": the cloud's listing lags behind, so nothing is planned from "
                                          "it; plan again in a moment");
    }
    return Status(Code::kRetryable, id + " is recorded in state and " + seen + ", but it carries none of stack " + stack +
                                        "'s tags: if its tags lag, plan again in a moment; if someone removed "
                                        "them, take it back with `reconciler import` or rebuild the state");
  }
  return Status::Ok();
}

// Moves `from` to the end of `to`; the first region's listing is taken whole.
void Append(std::vector<cloud::Instance>* to, std::vector<cloud::Instance> from) {
  if (to->empty()) {
    *to = std::move(from);
    return;
  }
  to->reserve(to->size() + from.size());
  for (cloud::Instance& x : from) to->push_back(std::move(x));
}

// Runs every task at once, each on its own thread, and waits for all.
void RunAll(std::vector<std::function<void()>>& tasks) {
  ParallelFor(tasks.size(), tasks.size(), [&](size_t i) { tasks[i](); });
}

}  // namespace

// Every listing is made at once: each region's instances and serverless instances, then each
// master's groups. The result is in the same order as listing them one after another.
Result<ObservedState> Observe(cloud::Cloud* cloud, const std::string& stack, const ObserveScope& scope) {
  ObservedState observed;
  const size_t n = scope.regions.size();
  std::vector<Result<std::vector<cloud::Instance>>> instances(n, std::vector<cloud::Instance>{});
  std::vector<Result<std::vector<cloud::Instance>>> serverless(n, std::vector<cloud::Instance>{});
  std::vector<std::function<void()>> tasks;
  for (size_t i = 0; i < n; ++i) {
    tasks.push_back([&, i] { instances[i] = ListStackInstances(cloud, scope.regions[i], stack); });
    tasks.push_back([&, i] { serverless[i] = ListStackServerless(cloud, scope.regions[i], stack); });
  }
  RunAll(tasks);
  for (size_t i = 0; i < n; ++i) {
    const std::string& region = scope.regions[i];
    if (!instances[i].ok()) return instances[i].status().Annotate("listing instances in " + region);
    Append(&observed.instances, std::move(instances[i]).value());
    if (!serverless[i].ok()) return serverless[i].status().Annotate("listing serverless instances in " + region);
    Append(&observed.serverless, std::move(serverless[i]).value());
  }
  Status checked = CheckRecordedListed(cloud, stack, scope, observed);
  if (!checked.ok()) return checked;
  std::vector<Result<std::vector<cloud::Group>>> groups(scope.masters.size(), std::vector<cloud::Group>{});
  tasks.clear();
  for (size_t i = 0; i < scope.masters.size(); ++i) {
    tasks.push_back([&, i] { groups[i] = cloud->ListGroups(scope.masters[i].first, scope.masters[i].second); });
  }
  RunAll(tasks);
  for (size_t i = 0; i < scope.masters.size(); ++i) {
    if (!groups[i].ok()) return groups[i].status().Annotate("listing read-only groups of " + scope.masters[i].second);
    for (cloud::Group& g : *groups[i]) observed.groups.push_back(std::move(g));
  }
  // The instance listing does not say which group a replica is in; the group listing does.
  std::map<std::string, std::string> group_of;
  for (const cloud::Group& g : observed.groups) {
    for (const std::string& id : g.member_ids) group_of[id] = g.id;
  }
  for (cloud::Instance& i : observed.instances) {
    if (auto it = group_of.find(i.id); it != group_of.end()) i.read_only_group_id = it->second;
  }
  return observed;
}

std::vector<Operation> TerminalFailures(const std::vector<Operation>& operations) {
  // `operations` is in creation order (Operations()), so the last one seen per resource is
  // its newest purchase. Purchases one change sent at once are one attempt: the newest
  // attempt is that purchase's whole batch, and its first refusal holds the resource.
  std::map<std::string, const Operation*> newest;
  for (const Operation& op : operations) {
    if (op.kind != OperationKind::kModifySpec) newest[op.resource_key] = &op;
  }
  std::vector<Operation> out;
  std::set<std::string> held;
  for (const Operation& op : operations) {
    auto it = newest.find(op.resource_key);
    if (it == newest.end() || held.count(op.resource_key)) continue;
    const bool in_newest = it->second == &op || (!op.batch.empty() && op.batch == it->second->batch);
    if (in_newest && op.phase == Phase::kFailed && HoldsResource(op.error_code)) {
      out.push_back(op);
      held.insert(op.resource_key);
    }
  }
  return out;
}

}  // namespace reconciler
