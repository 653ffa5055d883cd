// reconciler output, show [PLANFILE] and graph.

#include <unistd.h>

#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "app/stack.h"
#include "cli/cloud_flags.h"
#include "cli/commands.h"
#include "engine/diff.h"
#include "engine/engine.h"
#include "engine/observe.h"
#include "specs/spec_loader.h"
#include "ui/plan_render.h"

namespace reconciler {

using nlohmann::json;

namespace {

int Fail(Io io, const std::string& what, const Status& s) {
  io.err << "reconciler " << what << ": " << (s.api_code().empty() ? "" : s.api_code() + ": ") << s.message();
  if (!s.request_id().empty()) io.err << " (RequestId " << s.request_id() << ")";
  io.err << "\n";
  return s.code() == Code::kInvalidInput ? kExitInvalidInput : kExitError;
}

std::optional<specs::LoadedStack> Load(const std::string& dir, const specs::ProjectOverrides& overrides, Io io) {
  specs::LoadedStack stack = specs::LoadStackDir(dir, {}, overrides);
  io.err << stack.RenderDiagnostics(UseColor(io, STDERR_FILENO));
  if (!stack.ok()) return std::nullopt;
  return stack;
}

// Every resource the specs or the state name, in the specs' order, then the state's.
std::vector<std::string> ResourceKeys(const specs::DesiredState& desired, const RecordedState& recorded) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const specs::Resource& r : desired.resources) {
    if (seen.insert(r.key.ToString()).second) keys.push_back(r.key.ToString());
  }
  for (const auto& [key, r] : recorded.resources) {
    if (seen.insert(key).second) keys.push_back(key);
  }
  for (const auto& [id, i] : recorded.instances) {
    if (seen.insert(i.resource_key).second) keys.push_back(i.resource_key);
  }
  return keys;
}

json InstanceJson(const cloud::Instance& i) {
  return {{"id", i.id}, {"status", i.status}, {"privateAddress", i.private_address}, {"privateIp", i.private_ip},
          {"privatePort", i.private_port}};
}

// Per resource: its instances (or group) as the listings show them now.
json Outputs(const specs::DesiredState& desired, const RecordedState& recorded, const ObservedState& observed) {
  json resources = json::array();
  for (const std::string& key : ResourceKeys(desired, recorded)) {
    json r = {{"resource", key}, {"instances", json::array()}};
    for (const auto* list : {&observed.instances, &observed.serverless}) {
      for (const cloud::Instance& i : *list) {
        auto tag = i.tags.find(cloud::kResourceTag);
        if (tag != i.tags.end() && tag->second == key) r["instances"].push_back(InstanceJson(i));
      }
    }
    auto rec = recorded.resources.find(key);
    if (rec != recorded.resources.end() && !rec->second.group_id.empty()) {
      json group = {{"id", rec->second.group_id}, {"status", "gone"}, {"members", json::array()}};
      for (const cloud::Group& g : observed.groups) {
        if (g.id != rec->second.group_id) continue;
        group["status"] = g.status;
        group["members"] = g.member_ids;
      }
      r["group"] = group;
    }
    resources.push_back(r);
  }
  return {{"stack", desired.project.stack}, {"resources", resources}};
}

void RenderOutputs(const json& outputs, Io io) {
  for (const json& r : outputs["resources"]) {
    io.out << r["resource"].get<std::string>() << "\n";
    if (r.contains("group")) {
      const json& g = r["group"];
      io.out << "  " << std::left << std::setw(22) << g["id"].get<std::string>() << std::setw(14)
             << g["status"].get<std::string>() << "members:";
      for (const json& m : g["members"]) io.out << " " << m.get<std::string>();
      io.out << (g["members"].empty() ? " none\n" : "\n");
    } else if (r["instances"].empty()) {
      io.out << "  (no instance)\n";
    }
    for (const json& i : r["instances"]) {
      const std::string ip = i["privateIp"];
      const uint64_t port = i["privatePort"];
      io.out << "  " << std::left << std::setw(22) << i["id"].get<std::string>() << std::setw(14)
             << i["status"].get<std::string>() << std::setw(22)
             << (ip.empty() ? std::string("-") : ip + ":" + std::to_string(port)) << i["privateAddress"].get<std::string>()
             << "\n";
    }
  }
}

}  // namespace

int RunOutputCommand(const OutputCommandOptions& options, Io io) {
  const std::string command = options.show ? "show" : "output";
  std::error_code ec;
  if (options.show && std::filesystem::is_regular_file(options.target, ec)) {
    Result<Plan> plan = ParsePlanFile(options.target);
    if (!plan.ok()) {
      io.err << "reconciler show: " << options.target << ": " << plan.status().message() << "\n";
      return kExitInvalidInput;
    }
    if (options.json) io.out << PlanToJson(*plan).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    else io.out << RenderPlanText(*plan, UseColor(io, STDOUT_FILENO));
    return kExitOk;
  }
  if (!std::filesystem::is_directory(options.target, ec)) {
    io.err << "reconciler " << command << ": " << options.target << " is not a stack directory"
           << (options.show ? " nor a plan file" : "") << "\n";
    return kExitInvalidInput;
  }
  Result<CallLog> call_log = CallLogFor(options.cloud, io.err);
  if (!call_log.ok()) return Fail(io, command, call_log.status());
  std::optional<specs::LoadedStack> stack = Load(options.target, OverridesFrom(options.cloud), io);
  if (!stack) return kExitInvalidInput;
  SystemClock clock;
  Result<OpenedStack> opened =
      OpenStack(options.target, stack->desired.project, &clock,
                {StackAccess::kRead, true, false,
                 options.insecure_endpoint ? tencentcloud::InsecureEndpoint::kAllow : tencentcloud::InsecureEndpoint::kRefuse,
                 {}});
  if (!opened.ok()) return Fail(io, command, opened.status());
  if (*call_log) opened->session->client->SetCallLog(*call_log);
  Result<RecordedState> recorded = LoadRecorded(opened->store.get());
  if (!recorded.ok()) return Fail(io, command, recorded.status());
  // The listings the plan reads, once per region and master: no call per instance.
  Result<ObservedState> observed =
      Observe(opened->cloud(), stack->desired.project.stack, ScopeOf(stack->desired, *recorded));
  if (!observed.ok()) return Fail(io, command, observed.status());
  json outputs = Outputs(stack->desired, *recorded, *observed);
  if (options.json) io.out << outputs.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  else RenderOutputs(outputs, io);
  return kExitOk;
}

namespace {

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

int RunGraphCommand(const GraphCommandOptions& options, Io io) {
  std::optional<specs::LoadedStack> stack = Load(options.stack, {}, io);
  if (!stack) return kExitInvalidInput;
  const specs::DesiredState& desired = stack->desired;
  io.out << "digraph " << Quoted(desired.project.stack) << " {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n";
  std::set<std::string> masters;
  for (const specs::Resource& r : desired.resources) {
    const std::string shape = r.group() ? "folder" : r.serverless() ? "cylinder" : "box";
    io.out << "  " << Quoted(r.key.ToString()) << " [shape=" << shape << "];\n";
    std::string master = r.replica() ? r.replica()->master_instance_id : r.group() ? r.group()->master_instance_id : "";
    if (!master.empty()) masters.insert(master);
  }
  for (const std::string& m : masters) {
    io.out << "  " << Quoted(m) << " [shape=ellipse, style=dashed, label=" << Quoted(m).insert(m.size() + 1, "\\n(master, not managed)") << "];\n";
  }
  // An edge points from a resource to what must exist first.
  for (const specs::Resource& r : desired.resources) {
    for (const specs::ResourceKey& d : r.depends_on) {
      io.out << "  " << Quoted(r.key.ToString()) << " -> " << Quoted(d.ToString()) << ";\n";
    }
    if (r.replica() && !r.replica()->read_only_group_id.empty()) {
      io.out << "  " << Quoted(r.key.ToString()) << " -> " << Quoted(r.replica()->read_only_group_id)
             << " [style=dashed];\n";
    }
    std::string master = r.replica() ? r.replica()->master_instance_id : r.group() ? r.group()->master_instance_id : "";
    if (!master.empty()) io.out << "  " << Quoted(r.key.ToString()) << " -> " << Quoted(master) << ";\n";
  }
  io.out << "}\n";
  return kExitOk;
}

}  // namespace reconciler
