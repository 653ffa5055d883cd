// reconciler state list | show KEY | rebuild, and reconciler import KIND/NAME ID.

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "app/stack.h"
#include "cli/cloud_flags.h"
#include "cli/commands.h"
#include "engine/engine.h"
#include "engine/import.h"
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

std::optional<specs::LoadedStack> Load(const std::string& dir, const CloudFlags& cloud, Io io) {
  specs::LoadedStack stack = specs::LoadStackDir(dir, {}, OverridesFrom(cloud));
  io.err << stack.RenderDiagnostics(UseColor(io, STDERR_FILENO));
  if (!stack.ok()) return std::nullopt;
  return stack;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
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

// Forgets a resource and its instances; the cloud is not touched. A purchase in flight for it
// would buy instances nobody follows, so it is refused unless forced.
int Remove(StateStore* store, const specs::ResourceKey& key, bool force, Io io) {
  Result<std::vector<ResourceRecord>> resources = store->Resources();
  Result<std::vector<InstanceRecord>> instances = store->Instances();
  Result<std::vector<Operation>> in_flight = store->InFlight();
  if (!resources.ok()) return Fail(io, "state rm", resources.status());
  if (!instances.ok()) return Fail(io, "state rm", instances.status());
  if (!in_flight.ok()) return Fail(io, "state rm", in_flight.status());
  const std::string name = key.ToString();
  std::vector<std::string> ids;
  for (const InstanceRecord& i : *instances) {
    if (i.resource_key == name) ids.push_back(i.id);
  }
  std::string group;
  bool recorded = !ids.empty();
  for (const ResourceRecord& r : *resources) {
    if (r.key != name) continue;
    recorded = true;
    group = r.group_id;
  }
  if (!recorded) {
    io.err << "reconciler state rm: nothing is recorded for " << name << "\n";
    return kExitError;
  }
  for (const Operation& op : *in_flight) {
    if (op.resource_key != name || force) continue;
    io.err << "reconciler state rm: a purchase of " << name << " is in flight (" << op.id << ", "
           << PhaseName(op.phase) << "): forgetting it now leaves what it buys followed by nobody. Let apply finish "
           << "it, or pass --force to forget the resource anyway (the purchase stays recorded)\n";
    return kExitError;
  }
  Status s = store->DeleteResource(name);
  if (!s.ok()) return Fail(io, "state rm", s);
  if (!group.empty()) ids.insert(ids.begin(), group);
  io.out << "Removed " << name << " from the state" << (ids.empty() ? "" : " (" + Join(ids) + ")")
         << ". The cloud was not touched: what still carries the stack's tags is adopted again by the next plan while "
            "the spec remains.\n";
  return kExitOk;
}

}  // namespace

int RunStateCommand(const StateCommandOptions& options, Io io) {
  const std::string command = "state " + options.action;
  std::optional<specs::ResourceKey> key;
  if (options.action == "rm" && !(key = specs::ParseResourceKey(options.key))) {
    io.err << "reconciler state rm: " << options.key
           << " is not KIND/NAME (kinds: ReadOnlyInstance, ReadOnlyGroup, ServerlessInstance)\n";
    return kExitInvalidInput;
  }
  std::optional<std::chrono::milliseconds> lock_timeout = ParseLockTimeout(options.lock_timeout, command, io);
  if (!lock_timeout) return kExitInvalidInput;
  Result<CallLog> call_log = CallLogFor(options.cloud, io.err);
  if (!call_log.ok()) return Fail(io, "state", call_log.status());
  std::optional<specs::LoadedStack> stack = Load(options.stack, options.cloud, io);
  if (!stack) return kExitInvalidInput;
  SystemClock clock;
  StackOpenOptions open;
  open.lock_timeout = *lock_timeout;
  open.on_lock_wait = [&](const std::string& holder) {
    io.err << "Waiting up to " << options.lock_timeout << " for the stack's lock, held by " << holder << "\n" << std::flush;
  };
  if (options.action == "rebuild") {
    open.access = StackAccess::kWrite;
    open.insecure = options.insecure_endpoint ? tencentcloud::InsecureEndpoint::kAllow : tencentcloud::InsecureEndpoint::kRefuse;
  } else if (options.action == "rm") {
    open.access = StackAccess::kWrite;  // the state's lease only: no cloud session, so no host-wide lease
    open.cloud = false;
    open.create_state = false;
  } else {
    open.cloud = false;
    open.create_state = false;
  }
  Result<OpenedStack> opened = OpenStack(options.stack, stack->desired.project, &clock, open);
  if (!opened.ok()) return Fail(io, options.action == "list" || options.action == "show" ? "state" : command, opened.status());
  if (*call_log && opened->session) opened->session->client->SetCallLog(*call_log);
  StateStore* store = opened->store.get();
  if (options.action == "list") return List(store, io);
  if (options.action == "show") return Show(store, options.key, io);
  if (options.action == "rm") return Remove(store, *key, options.force, io);
  return Rebuild(*stack, store, opened->cloud(), io);
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
  Result<CallLog> call_log = CallLogFor(options.cloud, io.err);
  if (!call_log.ok()) return Fail(io, "import", call_log.status());
  std::optional<specs::LoadedStack> stack = Load(options.stack, options.cloud, io);
  if (!stack) return kExitInvalidInput;
  // Checked before the stack is opened, so a typo creates no state.
  if (!stack->desired.Find(*key)) {
    io.err << "reconciler import: " << key->ToString() << " is not in the specs of " << options.stack
           << "; write its spec first, then import\n";
    return kExitInvalidInput;
  }
  SystemClock clock;
  Result<OpenedStack> opened = OpenStack(options.stack, stack->desired.project, &clock,
                                         {StackAccess::kWrite, true, true,
                                          options.insecure_endpoint ? tencentcloud::InsecureEndpoint::kAllow
                                                                    : tencentcloud::InsecureEndpoint::kRefuse,
                                          {}});
  if (!opened.ok()) return Fail(io, "import", opened.status());
  if (*call_log) opened->session->client->SetCallLog(*call_log);
  Result<ImportSummary> imported =
      ImportInstance(stack->desired, *key, options.instance_id, opened->store.get(), opened->cloud());
  if (!imported.ok()) return Fail(io, "import", imported.status());
  io.out << "Imported " << imported->id << " as " << imported->key.ToString();
  if (imported->what == Imported::kGroup) {
    io.out << ".\n";
  } else {
    io.out << " and tagged it for stack " << stack->desired.project.stack
           << ". Run plan to see any drift from its spec.\n";
  }
  return kExitOk;
}

}  // namespace reconciler
