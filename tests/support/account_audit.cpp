#include "tests/support/account_audit.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace reconciler::testing {

using nlohmann::json;

namespace {

// What the state file records, read straight from its tables.
struct StateRows {
  bool opened = false;
  std::string error;
  struct Op {
    std::string resource_key, kind, phase;
    int64_t expected = 0;
    std::vector<std::string> instance_ids;
  };
  std::map<std::string, Op> operations;
  std::map<std::string, std::string> instances;  // id -> resource key
  std::map<std::string, std::string> group_ids;  // resource key -> group id
};

std::string Text(sqlite3_stmt* st, int col) {
  const unsigned char* t = sqlite3_column_text(st, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

// Runs `sql` and calls `row` for each result row; false (with the error) on failure.
bool Query(sqlite3* db, const char* sql, const std::function<void(sqlite3_stmt*)>& row, std::string* error) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    *error = sqlite3_errmsg(db);
    return false;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
  if (rc != SQLITE_DONE) *error = sqlite3_errmsg(db);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE;
}

StateRows ReadState(const std::string& path) {
  StateRows rows;
  if (!std::filesystem::exists(path)) {
    rows.error = path + " does not exist";
    return rows;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    rows.error = "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return rows;
  }
  sqlite3_busy_timeout(db, 5000);
  bool ok = Query(
      db, "SELECT id, resource_key, kind, phase, expected, instance_ids FROM operations",
      [&](sqlite3_stmt* st) {
        StateRows::Op op{Text(st, 1), Text(st, 2), Text(st, 3), sqlite3_column_int64(st, 4), {}};
        json ids = json::parse(Text(st, 5), nullptr, false);
        if (ids.is_array()) {
          for (const json& id : ids) {
            if (id.is_string()) op.instance_ids.push_back(id);
          }
        }
        rows.operations[Text(st, 0)] = std::move(op);
      },
      &rows.error);
  ok = ok && Query(
                 db, "SELECT id, resource_key FROM instances",
                 [&](sqlite3_stmt* st) { rows.instances[Text(st, 0)] = Text(st, 1); }, &rows.error);
  ok = ok && Query(
                 db, "SELECT key, group_id FROM resources",
                 [&](sqlite3_stmt* st) {
                   if (!Text(st, 1).empty()) rows.group_ids[Text(st, 0)] = Text(st, 1);
                 },
                 &rows.error);
  sqlite3_close(db);
  rows.opened = ok;
  return rows;
}

std::map<std::string, std::string> TagsOf(const json& instance) {
  std::map<std::string, std::string> tags;
  if (!instance.contains("TagList") || !instance["TagList"].is_array()) return tags;
  for (const json& t : instance["TagList"]) tags[t.value("TagKey", "")] = t.value("TagValue", "");
  return tags;
}

bool Going(const std::string& status) {
  return status == "isolating" || status == "isolated" || status == "offlining";
}

// "stack/Kind/name/op-..." -> {"Kind/name", "op-..."}; a bare "op-..." has no resource.
std::pair<std::string, std::string> SplitOperationTag(const std::string& value) {
  size_t last = value.rfind('/');
  if (last == std::string::npos) return {"", value};
  size_t first = value.find('/');
  return {value.substr(first + 1, last - first - 1), value.substr(last + 1)};
}

}  // namespace

int StackWanted::Total() const {
  int n = 0;
  for (const auto& [key, count] : instances) n += count;
  return n;
}

std::set<std::string> InstanceIds(EmulatorFixture& emu) {
  std::set<std::string> ids;
  json state = emu.State();
  for (const json& i : state["instances"]) ids.insert(i["DBInstanceId"].get<std::string>());
  return ids;
}

Audit AuditAccount(EmulatorFixture& emu, const std::set<std::string>& initial, const std::string& state_db,
                   const StackWanted& wanted, const AuditOptions& options) {
  Audit a;
  std::string findings, listing;
  auto finding = [&](int* counter, const std::string& line) {
    ++*counter;
    findings += "  " + line + "\n";
  };
  json account = emu.State();
  StateRows state = ReadState(state_db);
  if (!state.opened) finding(&a.mismatches, "state: " + state.error);

  // Every instance the stack bought, as the cloud shows it.
  std::map<std::string, int> by_resource, by_operation;
  std::map<std::string, std::string> live_ids;  // id -> resource, for instances of the stack
  std::set<std::string> live_all;
  int extra_untagged = 0;
  for (const json& i : account["instances"]) {
    const std::string id = i["DBInstanceId"];
    if (initial.count(id)) continue;
    const std::string status = i["DBInstanceStatus"];
    std::map<std::string, std::string> tags = TagsOf(i);
    listing += "  " + id + " " + i["DBInstanceType"].get<std::string>() + " " + status + " group=" +
               i.value("ReadOnlyGroupId", "") + " tags=" + json(tags).dump() + "\n";
    if (Going(status)) continue;
    ++a.live;
    live_all.insert(id);
    if (options.require_running && status != "running") finding(&a.mismatches, id + " is " + status + ", not running");
    auto op_tag = tags.find("reconciler/operation");
    std::string resource = tags.count("reconciler/resource") ? tags["reconciler/resource"] : "";
    if (op_tag == tags.end()) {
      const bool untagged = std::none_of(tags.begin(), tags.end(), [](const auto& t) {
        return t.first.rfind("reconciler/", 0) == 0;
      });
      if (untagged && extra_untagged < options.uncharged_extra) {
        ++extra_untagged;  // delivered unasked, then let go: ours neither to keep nor to pay
        findings += "  " + id + " carries none of our tags: an extra the cloud delivered unasked\n";
      } else {
        finding(&a.orphans, id + " carries no operation tag: no purchase of ours explains it");
      }
      continue;
    }
    auto [op_resource, op_id] = SplitOperationTag(op_tag->second);
    if (!state.operations.count(op_id) && !(options.state_rebuilt && state.instances.count(id))) {
      finding(&a.orphans, id + " was bought by " + op_id + ", an operation the state does not know");
    }
    ++by_operation[op_id];
    if (tags["reconciler/stack"] != wanted.stack || resource.empty()) {
      finding(&a.mismatches, id + " is not fully tagged (stack and resource tags): " + json(tags).dump());
      if (resource.empty()) resource = op_resource;
    }
    if (!op_resource.empty() && op_resource != resource) {
      finding(&a.mismatches, id + " was bought for " + op_resource + " but is tagged for " + resource);
    }
    ++by_resource[resource];
    live_ids[id] = resource;
  }

  // (a) per resource, (b) paid and kept, (c) per operation.
  int resource_excess = 0, paid_excess = 0, operation_excess = 0;
  for (const auto& [key, want] : wanted.instances) {
    const int have = by_resource.count(key) ? by_resource[key] : 0;
    if (have > want) resource_excess += have - want;
    if (have < want) finding(&a.mismatches, key + " holds " + std::to_string(have) + " of " + std::to_string(want));
  }
  for (const auto& [key, have] : by_resource) {
    if (!wanted.instances.count(key)) finding(&a.orphans, std::to_string(have) + " instance(s) tagged for " + key + ", which the specs do not hold");
  }
  for (const json& d : account["orders"]) {
    if (!d["Delivered"].get<bool>()) continue;  // a failed order bought nothing
    bool any_live = false;
    for (const json& id : d["DBInstanceIdSet"]) any_live |= live_all.count(id.get<std::string>()) > 0;
    if (any_live) a.kept += d["Count"].get<int>();  // a refunded order's instances are gone
  }
  for (const auto& [id, resource] : live_ids) a.kept += resource.rfind("ServerlessInstance/", 0) == 0;
  if (a.kept > wanted.Total()) paid_excess = a.kept - wanted.Total();
  int extra_allowed = options.uncharged_extra;
  for (const auto& [op_id, n] : by_operation) {
    auto op = state.operations.find(op_id);
    if (op == state.operations.end()) continue;
    int64_t over = n - op->second.expected;
    if (over <= 0) continue;
    const int64_t forgiven = std::min<int64_t>(over, extra_allowed);
    extra_allowed -= static_cast<int>(forgiven);
    operation_excess += static_cast<int>(over - forgiven);
    findings += "  " + op_id + " asked for " + std::to_string(op->second.expected) + " and " + std::to_string(n) +
                " carry its tag\n";
  }
  a.duplicates = std::max({resource_excess, paid_excess, operation_excess});
  if (resource_excess) findings += "  " + std::to_string(resource_excess) + " instance(s) beyond the resources' counts\n";
  if (paid_excess) findings += "  " + std::to_string(paid_excess) + " paid for and kept beyond the total count\n";

  // Groups: exactly one per ReadOnlyGroup, the one the state records, holding its members.
  std::map<std::string, std::string> group_of_name;  // name -> id
  for (const auto& [key, name] : wanted.groups) {
    int found = 0;
    for (const json& g : account["readOnlyGroups"]) {
      if (g["ReadOnlyGroupName"] != name) continue;
      ++found;
      group_of_name[name] = g["ReadOnlyGroupId"];
    }
    if (found > 1) finding(&a.duplicates, std::to_string(found) + " groups are named " + name);
    if (found == 0) finding(&a.mismatches, "no group is named " + name);
    auto recorded = state.group_ids.find(key);
    if (found >= 1 && (recorded == state.group_ids.end() || recorded->second != group_of_name[name])) {
      finding(&a.mismatches, key + " is " + group_of_name[name] + " in the cloud but " +
                                 (recorded == state.group_ids.end() ? std::string("absent") : recorded->second) +
                                 " in the state");
    }
  }
  for (const json& i : account["instances"]) {
    const std::string id = i["DBInstanceId"];
    auto live = live_ids.find(id);
    if (live == live_ids.end()) continue;
    auto member = wanted.members.find(live->second);
    if (member == wanted.members.end()) continue;
    const std::string want = group_of_name[wanted.groups.at(member->second)];
    if (i.value("ReadOnlyGroupId", "") != want) {
      finding(&a.mismatches, id + " is in group '" + i.value("ReadOnlyGroupId", "") + "', not " + want);
    }
  }

  // The state's instances are exactly the cloud's, each in its resource.
  for (const auto& [id, resource] : live_ids) {
    auto recorded = state.instances.find(id);
    if (recorded == state.instances.end()) finding(&a.mismatches, id + " (" + resource + ") is missing from the state");
    else if (recorded->second != resource) {
      finding(&a.mismatches, id + " is " + resource + " in the cloud but " + recorded->second + " in the state");
    }
  }
  for (const auto& [id, resource] : state.instances) {
    if (!live_ids.count(id)) finding(&a.mismatches, "the state records " + id + " (" + resource + "), which the cloud does not hold");
  }
  std::string ops_text;
  for (const auto& [id, op] : state.operations) {
    ops_text += "  " + id + " " + op.resource_key + " " + op.kind + " " + op.phase + " expected " +
                std::to_string(op.expected) + " ids " + json(op.instance_ids).dump() + "\n";
    if (op.phase != "done" && op.phase != "failed" && options.require_terminal) {
      finding(&a.dangling, "operation " + id + " (" + op.resource_key + ") is left " + op.phase);
    }
    // A failed purchase whose instances the state does not list (a failed order that did
    // deliver after all) hides instances from their resource. One that ended terminal with its
    // instances recorded (stuck past the running deadline) holds them in plain sight.
    const int known = static_cast<int>(std::count_if(op.instance_ids.begin(), op.instance_ids.end(),
                                                     [&](const std::string& i) { return live_all.count(i) > 0; }));
    if (op.phase == "failed" && by_operation.count(id) && by_operation[id] > known) {
      finding(&a.mismatches, "operation " + id + " failed, yet " + std::to_string(by_operation[id] - known) +
                                 " live instance(s) it does not record carry its tag");
    }
  }
  a.report = "audit: live " + std::to_string(a.live) + ", kept " + std::to_string(a.kept) + " of " +
             std::to_string(wanted.Total()) + " wanted, duplicates " + std::to_string(a.duplicates) + ", orphans " +
             std::to_string(a.orphans) + ", dangling " + std::to_string(a.dangling) + ", mismatches " +
             std::to_string(a.mismatches) + "\n" + findings + "account:\n" + listing + "state operations:\n" + ops_text;
  return a;
}

}  // namespace reconciler::testing
