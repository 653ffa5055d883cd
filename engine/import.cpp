#include "engine/import.h"

#include <algorithm>
#include <vector>

#include "engine/diff.h"
#include "engine/identity.h"
#include "engine/requests.h"

namespace reconciler {

namespace {

using specs::Kind;
using specs::Resource;

// An import whose instance differs from the spec where nothing changes in place would be
// replaced (and orphaned or destroyed) by the very next plan, so it is refused up front.
Status Mismatch(const std::string& id, const specs::ResourceKey& key, const std::vector<FieldDiff>& diffs,
                const std::string& consequence) {
  std::string message =
      id + " does not match the spec of " + key.ToString() + "; " + consequence + ". Nothing was changed:\n";
  for (const FieldDiff& f : diffs) {
    message += "  " + f.field + ": spec " + (f.after.empty() ? "(none)" : f.after) + ", instance " +
               (f.before.empty() ? "(none)" : f.before) + "\n";
  }
  return Status(Code::kPermanent, message + "fix the spec (or import the instance that matches it)");
}

Result<ImportSummary> ImportGroup(const Resource& r, const std::string& id, StateStore* store, cloud::Cloud* cloud) {
  const std::string& region = r.region();
  const std::string& master = r.group()->master_instance_id;
  Result<std::vector<cloud::Group>> groups = cloud->ListGroups(region, master);
  if (!groups.ok()) return groups.status();
  auto found = std::find_if(groups->begin(), groups->end(), [&](const cloud::Group& g) { return g.id == id; });
  if (found == groups->end()) {
    return Status(Code::kNotFound, "no group " + id + " on " + master + " in " + region +
                                       " (the spec's masterInstanceId and region); a group of another master or "
                                       "region cannot be imported into this spec. Nothing was changed");
  }
  std::vector<FieldDiff> fixed = GroupFixedDiffs(*r.group(), *found);
  if (!found->region.empty() && found->region != region) fixed.insert(fixed.begin(), {"region", found->region, region});
  if (!fixed.empty()) return Mismatch(id, r.key, fixed, "no API changes these on a group");
  Status s = store->PutResource(RecordFor(r, id));
  if (!s.ok()) return s;
  return ImportSummary{id, r.key, Imported::kGroup};
}

// A serverless listing holds no primaries or replicas: one with the id asked for is named
// by kind, since its id has the serverless form.
Result<cloud::Instance> FindServerless(const Resource& r, const std::string& id, cloud::Cloud* cloud) {
  Result<std::vector<cloud::Instance>> all = cloud->ListServerless(r.region(), "");
  if (!all.ok()) return all.status();
  for (const cloud::Instance& i : *all) {
    if (i.id == id) return i;
  }
  Result<cloud::Instance> other = cloud->DescribeInstance(r.region(), id);
  if (other.ok()) {
    return Mismatch(id, r.key, {{"kind", other->type + " instance", "serverless instance"}},
                    "it is not a serverless instance");
  }
  return Status(Code::kNotFound, "no instance " + id + " in " + r.region());
}

// The instance `id` in the spec's region, normalized (identity.h).
Result<cloud::Instance> FindInstance(const Resource& r, const std::string& id, cloud::Cloud* cloud) {
  Result<cloud::Instance> instance = r.key.kind == Kind::kServerlessInstance ? FindServerless(r, id, cloud)
                                                                             : cloud->DescribeInstance(r.region(), id);
  if (!instance.ok() && instance.status().code() == Code::kNotFound) {
    return Status(Code::kNotFound, "no instance " + id + " in " + r.region() +
                                       " (the spec's region); an instance of another region cannot be imported "
                                       "into this spec. Nothing was changed");
  }
  if (!instance.ok()) return instance.status();
  Normalize(&*instance);
  return instance;
}

// Where `i` differs from the spec in what nothing changes in place, region first.
std::vector<FieldDiff> FixedDiffs(const Resource& r, const cloud::Instance& i) {
  std::vector<FieldDiff> out;
  if (!i.region.empty() && i.region != r.region()) out.push_back({"region", i.region, r.region()});
  std::vector<FieldDiff> more;
  if (r.key.kind == Kind::kReadOnlyInstance) {
    if (i.type != "readonly") out.push_back({"kind", i.type + " instance", "read-only instance"});
    more = ReplicaImmutableDiffs(*r.replica(), i);
  } else {
    more = ServerlessImmutableDiffs(*r.serverless(), i);
  }
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

// Refuses an instance whose tags already give it to another stack or another resource.
Status CheckUnclaimed(const std::string& id, const cloud::Instance& i, const std::string& stack,
                      const specs::ResourceKey& key) {
  auto owner = i.tags.find(cloud::kStackTag);
  auto claimed = i.tags.find(cloud::kResourceTag);
  const bool other_stack = owner != i.tags.end() && owner->second != stack;
  const bool other_resource = claimed != i.tags.end() && claimed->second != key.ToString();
  if (!other_stack && !other_resource) return Status::Ok();
  return Status(Code::kConflict, id + " already belongs to " +
                                     (owner != i.tags.end() ? "stack " + owner->second : std::string("another stack")) +
                                     " as " + (claimed != i.tags.end() ? claimed->second : std::string("?")) +
                                     "; refusing to take it over");
}

Result<ImportSummary> ImportOne(const Resource& r, const std::string& stack, const std::string& id, StateStore* store,
                                cloud::Cloud* cloud) {
  Result<cloud::Instance> instance = FindInstance(r, id, cloud);
  if (!instance.ok()) return instance.status();
  std::vector<FieldDiff> fixed = FixedDiffs(r, *instance);
  if (!fixed.empty()) {
    return Mismatch(id, r.key, fixed,
                    "these cannot change in place, so the next plan would replace it and orphan or destroy it");
  }
  if (Status s = CheckUnclaimed(id, *instance, stack, r.key); !s.ok()) return s;
  // Tagged before it is recorded: a failure in between leaves an instance the next plan
  // adopts by its tags, never a record of an instance that does not say it is ours.
  Status s = cloud->ModifyTags(r.region(), id, StackTags(stack, r.key), {});
  if (s.ok()) s = store->PutInstance({id, r.key.ToString(), r.region(), "", ""});
  if (s.ok()) s = store->PutResource(RecordFor(r));
  if (!s.ok()) return s;
  return ImportSummary{id, r.key, Imported::kInstance};
}

}  // namespace

Result<ImportSummary> ImportInstance(const specs::DesiredState& desired, const specs::ResourceKey& key,
                                     const std::string& id, StateStore* store, cloud::Cloud* cloud) {
  const Resource* r = desired.Find(key);
  if (!r) {
    return Status(Code::kInvalidInput, key.ToString() + " is not in the specs of stack " + desired.project.stack +
                                           "; write its spec first, then import");
  }
  if (key.kind == Kind::kReadOnlyGroup) return ImportGroup(*r, id, store, cloud);
  return ImportOne(*r, desired.project.stack, id, store, cloud);
}

}  // namespace reconciler
