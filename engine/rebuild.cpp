#include "engine/rebuild.h"

#include <set>
#include <string>
#include <vector>

#include "engine/diff.h"
#include "engine/observe.h"
#include "engine/requests.h"

namespace reconciler {

Result<RebuildSummary> RebuildState(const specs::DesiredState& desired, StateStore* store, cloud::Cloud* cloud) {
  Result<RecordedState> recorded = LoadRecorded(store);
  if (!recorded.ok()) return recorded.status();
  ObserveScope scope = ScopeOf(desired, *recorded);
  Result<ObservedState> observed = Observe(cloud, desired.project.stack, scope);
  if (!observed.ok()) return observed.status();
  std::vector<ResourceRecord> resources;
  std::vector<InstanceRecord> instances;
  std::set<std::string> keys;
  for (const specs::Resource& r : desired.resources) {
    ResourceRecord rec = RecordFor(r);
    if (const auto* g = r.group()) {
      for (const cloud::Group& found : observed->groups) {
        if (found.master_id == g->master_instance_id && found.name == g->group_name) rec.group_id = found.id;
      }
      if (rec.group_id.empty()) continue;  // not in the cloud: nothing to remember
    }
    resources.push_back(rec);
    keys.insert(rec.key);
  }
  auto add = [&](const cloud::Instance& i) {
    auto res = i.tags.find(cloud::kResourceTag);
    auto op = i.tags.find(cloud::kOperationTag);
    if (res == i.tags.end()) return;
    instances.push_back({i.id, res->second, i.region, op == i.tags.end() ? "" : op->second, ""});
    if (keys.insert(res->second).second) {
      // Tagged for a resource the specs no longer hold: remember it, to be orphaned by policy.
      resources.push_back({res->second, i.region, "Orphan", "{}", "", ""});
    }
  };
  for (const cloud::Instance& i : observed->instances) add(i);
  for (const cloud::Instance& i : observed->serverless) add(i);
  Status s = store->ReplaceAll(resources, instances);
  if (!s.ok()) return s;
  return RebuildSummary{resources.size(), instances.size()};
}

}  // namespace reconciler
