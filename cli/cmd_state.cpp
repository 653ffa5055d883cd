// reconciler state list | show KEY | rebuild, and reconciler import KIND/NAME ID.

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "engine/identity.h"
#include "app/stack.h"
#include "cli/commands.h"
#include "engine/diff.h"
#include "engine/engine.h"
#include "engine/rebuild.h"
#include "base/json_input.h"
#include "specs/rules.h"
#include "specs/spec_loader.h"

namespace reconciler {

using nlohmann::json;

namespace {

int Fail(Io io, const std::string& what, const Status& s) {
  io.err << "reconciler " << what << ": " << (s.api_code().empty() ? "" : s.api_code() + ": ") << s.message() << "\n";
  return s.code() == Code::kInvalidInput ? kExitInvalidInput : kExitError;
}

std::optional<specs::LoadedStack> Load(const std::string& dir, Io io) {
  specs::LoadedStack stack = specs::LoadStackDir(dir);
  io.err << stack.RenderDiagnostics(UseColor(STDERR_FILENO));
  if (!stack.ok()) return std::nullopt;
  return stack;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string UtcText(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Terminal failures that hold their resources, with what they named and what to do.
void ListFailures(const std::vector<Operation>& all, Io io) {
  std::vector<Operation> failures = TerminalFailures(all);
  if (failures.empty()) return;
  io.out << "\nFailed purchases (nothing is bought for these until you act; `reconciler plan` says what to do):\n";
  for (const Operation& op : failures) {
    io.out << "  " << op.id << "  " << op.resource_key << "  failed  " << op.error_code << "\n";
    io.out << "      " << op.error << "\n";
    if (!op.deal_names.empty()) io.out << "      deals " << Join(op.deal_names) << "\n";
    if (!op.instance_ids.empty()) io.out << "      instances " << Join(op.instance_ids) << "\n";
  }
}

int List(StateStore* store, Io io) {
  Result<std::vector<ResourceRecord>> resources = store->Resources();
  Result<std::vector<InstanceRecord>> instances = store->Instances();
  Result<std::vector<Operation>> ops = store->InFlight();
  Result<std::vector<Operation>> all = store->Operations();
  if (!resources.ok()) return Fail(io, "state list", resources.status());
  if (!instances.ok()) return Fail(io, "state list", instances.status());
  if (!ops.ok()) return Fail(io, "state list", ops.status());
  if (!all.ok()) return Fail(io, "state list", all.status());
  std::map<std::string, std::vector<std::string>> ids;
  for (const InstanceRecord& i : *instances) ids[i.resource_key].push_back(i.id);
  io.out << std::left << std::setw(36) << "RESOURCE" << std::setw(14) << "REGION" << std::setw(8) << "POLICY"
         << "INSTANCES\n";
  for (const ResourceRecord& r : *resources) {
    std::string owned = r.group_id.empty() ? Join(ids[r.key]) : r.group_id;
    io.out << std::left << std::setw(36) << r.key << std::setw(14) << r.region << std::setw(8) << r.deletion_policy
           << (owned.empty() ? "-" : owned) << "\n";
  }
  for (const auto& [key, list] : ids) {
    bool listed = std::any_of(resources->begin(), resources->end(), [&k = key](const ResourceRecord& r) { return r.key == k; });
    if (!listed) io.out << std::left << std::setw(36) << key << std::setw(14) << "" << std::setw(8) << "" << Join(list) << "\n";
  }
  if (!ops->empty()) {
    io.out << "\nPurchases in flight:\n";
    for (const Operation& op : *ops) {
      io.out << "  " << op.id << "  " << op.resource_key << "  " << PhaseName(op.phase) << "  attempts " << op.attempts;
      if (!op.deal_names.empty()) io.out << "  deals " << Join(op.deal_names);
      if (!op.instance_ids.empty()) io.out << "  instances " << Join(op.instance_ids);
      if (op.deadline_at > 0) io.out << "  deadline " << UtcText(op.deadline_at);
      io.out << "\n";
    }
  }
  ListFailures(*all, io);
  return kExitOk;
}

int Show(StateStore* store, const std::string& key, Io io) {
  Result<std::vector<ResourceRecord>> resources = store->Resources();
  if (!resources.ok()) return Fail(io, "state show", resources.status());
  json out = {{"key", key}};
  bool found = false;
  for (const ResourceRecord& r : *resources) {
    if (r.key != key) continue;
    found = true;
    Result<json> spec = ParseJsonInput(r.spec_json);
    out["region"] = r.region;
    out["deletionPolicy"] = r.deletion_policy;
    out["lastApplied"] = spec.ok() ? *spec : json(r.spec_json);
    if (!r.group_id.empty()) out["groupId"] = r.group_id;
    out["updatedAt"] = r.updated_at;
  }
  Result<std::vector<InstanceRecord>> recorded = store->Instances();
  Result<std::vector<Operation>> ops = store->Operations();
  if (!recorded.ok() || !ops.ok()) return Fail(io, "state show", recorded.ok() ? ops.status() : recorded.status());
  json instances = json::array();
  for (const InstanceRecord& i : *recorded) {
    if (i.resource_key == key) instances.push_back({{"id", i.id}, {"operation", i.operation_id}, {"recordedAt", i.recorded_at}});
  }
  json operations = json::array();
  for (const Operation& op : *ops) {
    if (op.resource_key != key) continue;
    json events = json::array();
    Result<std::vector<Event>> log = store->Events(op.id);
    if (!log.ok()) return Fail(io, "state show", log.status());
    for (const Event& e : *log) events.push_back({{"at", e.at}, {"phase", e.phase}, {"detail", e.detail}});
    operations.push_back({{"id", op.id}, {"kind", OperationKindName(op.kind)}, {"phase", PhaseName(op.phase)}, {"attempts", op.attempts},
                          {"dealNames", op.deal_names}, {"billId", op.bill_id}, {"instanceIds", op.instance_ids},
                          {"error", op.error}, {"errorCode", op.error_code},
                          {"waitingSince", op.waiting_since > 0 ? json(UtcText(op.waiting_since)) : json(nullptr)},
                          {"deadlineAt", op.deadline_at > 0 ? json(UtcText(op.deadline_at)) : json(nullptr)},
                          {"events", events}});
  }
  if (!found && instances.empty() && operations.empty()) {
    io.err << "reconciler state show: nothing is recorded for " << key << "\n";
    return kExitError;
  }
  out["instances"] = instances;
  out["operations"] = operations;
  io.out << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  return kExitOk;
}

int Rebuild(const specs::LoadedStack& stack, StateStore* store, cloud::Cloud* cloud, Io io) {
  Result<RebuildSummary> rebuilt = RebuildState(stack.desired, store, cloud);
  if (!rebuilt.ok()) return Fail(io, "state rebuild", rebuilt.status());
  io.out << "Rebuilt the state of stack " << stack.desired.project.stack << " from the cloud: " << rebuilt->resources
         << " resource(s), " << rebuilt->instances << " instance(s). Purchases in flight were kept.\n";
  return kExitOk;
}

}  // namespace

int RunStateCommand(const StateCommandOptions& options, Io io) {
  std::optional<specs::LoadedStack> stack = Load(options.stack, io);
  if (!stack) return kExitInvalidInput;
  SystemClock clock;
  StackOpenOptions open;
  if (options.action == "rebuild") {
    open.access = StackAccess::kWrite;
    open.insecure = options.insecure_endpoint ? tencentcloud::InsecureEndpoint::kAllow : tencentcloud::InsecureEndpoint::kRefuse;
  } else {
    open.cloud = false;
    open.create_state = false;
  }
  Result<OpenedStack> opened = OpenStack(options.stack, stack->desired.project, &clock, open);
  if (!opened.ok()) return Fail(io, options.action == "rebuild" ? "state rebuild" : "state", opened.status());
  StateStore* store = opened->store.get();
  if (options.action == "list") return List(store, io);
  if (options.action == "show") return Show(store, options.key, io);
  return Rebuild(*stack, store, opened->cloud(), io);
}

// Refuses an import whose instance differs from the spec where nothing changes in place: the
// plan would replace it (and orphan it) at once. Prints each field, spec and instance value.
int RefuseMismatch(Io io, const std::string& id, const specs::ResourceKey& key, const std::vector<FieldDiff>& diffs,
                   const std::string& consequence) {
  io.err << "reconciler import: " << id << " does not match the spec of " << key.ToString() << "; " << consequence
         << ". Nothing was changed:\n";
  for (const FieldDiff& f : diffs) {
    io.err << "  " << f.field << ": spec " << (f.after.empty() ? "(none)" : f.after) << ", instance "
           << (f.before.empty() ? "(none)" : f.before) << "\n";
  }
  io.err << "fix the spec (or import the instance that matches it)\n";
  return kExitError;
}

int RunImportCommand(const ImportCommandOptions& options, Io io) {
  auto key = specs::ParseResourceKey(options.resource);
  if (!key) {
    io.err << "reconciler import: " << options.resource
           << " is not KIND/NAME (kinds: ReadOnlyInstance, ReadOnlyGroup, ServerlessInstance)\n";
    return kExitInvalidInput;
  }
  const char* prefix = key->kind == specs::Kind::kReadOnlyInstance ? "pgro-"
                       : key->kind == specs::Kind::kReadOnlyGroup  ? "pgrogrp-"
                                                                   : "postgres-";
  if (!specs::IdHasForm(options.instance_id, prefix)) {
    io.err << "reconciler import: a " << specs::KindName(key->kind) << " id looks like " << prefix << "xxxxxxxx, not "
           << options.instance_id << "\n";
    return kExitInvalidInput;
  }
  std::optional<specs::LoadedStack> stack = Load(options.stack, io);
  if (!stack) return kExitInvalidInput;
  const specs::Resource* resource = stack->desired.Find(*key);
  if (!resource) {
    io.err << "reconciler import: " << key->ToString() << " is not in the specs of " << options.stack
           << "; write its spec first, then import\n";
    return kExitInvalidInput;
  }
  SystemClock clock;
  Result<OpenedStack> opened = OpenStack(options.stack, stack->desired.project, &clock,
                                         {StackAccess::kWrite, true, true,
                                          options.insecure_endpoint ? tencentcloud::InsecureEndpoint::kAllow
                                                                    : tencentcloud::InsecureEndpoint::kRefuse});
  if (!opened.ok()) return Fail(io, "import", opened.status());
  StateStore* store = opened->store.get();
  cloud::Cloud* cloud = opened->cloud();
  const std::string& region = resource->region();
  const std::string& stack_name = stack->desired.project.stack;

  if (key->kind == specs::Kind::kReadOnlyGroup) {
    Result<std::vector<cloud::Group>> groups = cloud->ListGroups(region, resource->group()->master_instance_id);
    if (!groups.ok()) return Fail(io, "import", groups.status());
    auto found = std::find_if(groups->begin(), groups->end(), [&](const cloud::Group& g) { return g.id == options.instance_id; });
    if (found == groups->end()) {
      io.err << "reconciler import: no group " << options.instance_id << " on " << resource->group()->master_instance_id
             << " in " << region << " (the spec's masterInstanceId and region); a group of another master or region "
             << "cannot be imported into this spec. Nothing was changed\n";
      return kExitError;
    }
    std::vector<FieldDiff> fixed = GroupFixedDiffs(*resource->group(), *found);
    if (!found->region.empty() && found->region != region) fixed.insert(fixed.begin(), {"region", found->region, region});
    if (!fixed.empty()) {
      return RefuseMismatch(io, options.instance_id, *key, fixed, "no API changes these on a group");
    }
    Status s = store->PutResource({key->ToString(), region, specs::DeletionPolicyName(resource->deletion_policy()),
                                      SpecJson(*resource), options.instance_id, ""});
    if (!s.ok()) return Fail(io, "import", s);
    io.out << "Imported " << options.instance_id << " as " << key->ToString() << ".\n";
    return kExitOk;
  }

  Result<cloud::Instance> instance = Status(Code::kNotFound, "no instance " + options.instance_id + " in " + region);
  if (key->kind == specs::Kind::kServerlessInstance) {
    Result<std::vector<cloud::Instance>> all = cloud->ListServerless(region, "");
    if (!all.ok()) return Fail(io, "import", all.status());
    for (const cloud::Instance& i : *all) {
      if (i.id == options.instance_id) instance = i;
    }
    if (!instance.ok()) {  // another kind of instance with a serverless-looking id?
      Result<cloud::Instance> other = cloud->DescribeInstance(region, options.instance_id);
      if (other.ok()) {
        return RefuseMismatch(io, options.instance_id, *key, {{"kind", other->type + " instance", "serverless instance"}},
                              "it is not a serverless instance");
      }
    }
  } else {
    instance = cloud->DescribeInstance(region, options.instance_id);
  }
  if (!instance.ok() && instance.status().code() == Code::kNotFound) {
    io.err << "reconciler import: no instance " << options.instance_id << " in " << region
           << " (the spec's region); an instance of another region cannot be imported into this spec. Nothing was "
              "changed\n";
    return kExitError;
  }
  if (!instance.ok()) return Fail(io, "import", instance.status());
  Normalize(&*instance);
  std::vector<FieldDiff> immutable;
  if (key->kind == specs::Kind::kReadOnlyInstance) {
    if (instance->type != "readonly") immutable.push_back({"kind", instance->type + " instance", "read-only instance"});
    std::vector<FieldDiff> more = ReplicaImmutableDiffs(*resource->replica(), *instance);
    immutable.insert(immutable.end(), more.begin(), more.end());
  } else {
    immutable = ServerlessImmutableDiffs(*resource->serverless(), *instance);
  }
  if (!instance->region.empty() && instance->region != region) immutable.insert(immutable.begin(), {"region", instance->region, region});
  if (!immutable.empty()) {
    return RefuseMismatch(io, options.instance_id, *key, immutable,
                          "these cannot change in place, so the next plan would replace it and orphan or destroy it");
  }
  auto owner = instance->tags.find(cloud::kStackTag);
  auto claimed = instance->tags.find(cloud::kResourceTag);
  if ((owner != instance->tags.end() && owner->second != stack_name) ||
      (claimed != instance->tags.end() && claimed->second != key->ToString())) {
    io.err << "reconciler import: " << options.instance_id << " already belongs to "
           << (owner != instance->tags.end() ? "stack " + owner->second : std::string("another stack")) << " as "
           << (claimed != instance->tags.end() ? claimed->second : std::string("?")) << "; refusing to take it over\n";
    return kExitError;
  }
  Status tagged = cloud->ModifyTags(region, options.instance_id,
                                    {{cloud::kStackTag, stack_name}, {cloud::kResourceTag, key->ToString()}}, {});
  if (!tagged.ok()) return Fail(io, "import", tagged);
  Status s = store->PutInstance({options.instance_id, key->ToString(), region, "", ""});
  if (s.ok()) {
    s = store->PutResource({key->ToString(), region, specs::DeletionPolicyName(resource->deletion_policy()),
                               SpecJson(*resource), "", ""});
  }
  if (!s.ok()) return Fail(io, "import", s);
  io.out << "Imported " << options.instance_id << " as " << key->ToString()
         << " and tagged it for stack " << stack_name << ". Run plan to see any drift from its spec.\n";
  return kExitOk;
}

}  // namespace reconciler
