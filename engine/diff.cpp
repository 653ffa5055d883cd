#include "engine/diff.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/parallel.h"
#include "base/sha256.h"

namespace reconciler {

using nlohmann::json;
using specs::Kind;
using specs::Resource;

namespace {

bool IsUserTag(const std::string& key) { return key.rfind("reconciler/", 0) != 0 && key.rfind("qcloud:", 0) != 0; }

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string BoolText(bool b) { return b ? "true" : "false"; }

// Records `field` in *out when the live value (before) is not the spec's (after).
void AddIfDiffers(std::vector<FieldDiff>* out, const char* field, const std::string& before, const std::string& after) {
  if (before != after) out->push_back({field, before, after});
}

std::string ListText(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  return "[" + Join(items) + "]";
}

class Builder {
 public:
  Builder(const specs::DesiredState& desired, const ObservedState& observed, const RecordedState& recorded,
          const DiffOptions& options)
      : desired_(desired), observed_(observed), recorded_(recorded), options_(options) {
    for (const cloud::Instance& i : observed.instances) IndexInstance(i);
    for (const cloud::Instance& i : observed.serverless) IndexInstance(i);
  }

  DiffResult Run() {
    for (const Operation& op : recorded_.in_flight) Resume(op);
    for (const Operation& op : recorded_.failures) Failed(op);
    for (const Resource& r : desired_.resources) {
      switch (r.key.kind) {
        case Kind::kReadOnlyGroup: Group(r); break;
        case Kind::kReadOnlyInstance: Replica(r); break;
        case Kind::kServerlessInstance: Serverless(r); break;
      }
      PolicyChange(r);
    }
    Removed();
    return {std::move(changes_), std::move(warnings_), std::move(failures_)};
  }

 private:
  void IndexInstance(const cloud::Instance& i) {
    by_id_[i.id] = &i;
    auto tag = i.tags.find(cloud::kResourceTag);
    if (tag != i.tags.end() && i.state() != cloud::InstanceState::kGoing) by_resource_[tag->second].push_back(&i);
  }

  Change& Add(Change c) {
    c.id = "c" + std::to_string(changes_.size() + 1);
    c.drift = c.drift || IsDrift(c);
    changes_.push_back(std::move(c));
    return changes_.back();
  }

  // A change the cloud's moving caused, not the specs': an update, a purchase or a restore for
  // a resource whose spec is exactly the one last applied. A deletionPolicy change touches
  // only the state, so it is never drift.
  bool IsDrift(const Change& c) const {
    if (c.action != Action::kUpdate && c.action != Action::kCreate && c.action != Action::kRestore) return false;
    if (c.fields.size() == 1 && c.fields[0].field == "deletionPolicy") return false;
    auto rec = recorded_.resources.find(c.key.ToString());
    return rec != recorded_.resources.end() && !c.spec_json.empty() && rec->second.spec_json == c.spec_json;
  }

  Change Base(Action action, const Resource& r) {
    Change c;
    c.action = action;
    c.key = r.key;
    c.region = r.region();
    c.spec_json = SpecJsonOf(r);
    c.deletion_policy = specs::DeletionPolicyName(r.deletion_policy());
    return c;
  }

  std::vector<const cloud::Instance*> Mine(const std::string& key) const {
    auto it = by_resource_.find(key);
    return it == by_resource_.end() ? std::vector<const cloud::Instance*>{} : it->second;
  }

  // Instances an in-flight purchase for `key` may still yield.
  int64_t Pending(const std::string& key, const std::vector<const cloud::Instance*>& mine) const {
    int64_t pending = 0;
    for (const Operation& op : recorded_.in_flight) {
      if (op.resource_key != key || op.kind == OperationKind::kModifySpec) continue;
      int64_t visible = std::count_if(mine.begin(), mine.end(), [&](const cloud::Instance* i) {
        auto t = i->tags.find(cloud::kOperationTag);
        return t != i->tags.end() && t->second == op.id;
      });
      pending += std::max<int64_t>(0, op.expected - visible);
    }
    return pending;
  }

  void AdoptUnrecorded(const Resource& r, const std::vector<const cloud::Instance*>& mine) {
    std::vector<std::string> ids;
    for (const cloud::Instance* i : mine) {
      if (!recorded_.instances.count(i->id) && !CoveredByResume(*i)) ids.push_back(i->id);
    }
    if (ids.empty()) return;
    Change c = Base(Action::kAdopt, r);
    c.instance_ids = ids;
    c.reason = "carries this stack's tags but is missing from state: record " + Join(ids);
    Add(std::move(c));
  }

  // Whether a resume of this plan follows the purchase that bought `i`: it records the
  // instance itself, so adopting it too would list it twice.
  bool CoveredByResume(const cloud::Instance& i) const {
    if (resumed_ids_.count(i.id)) return true;
    auto t = i.tags.find(cloud::kOperationTag);
    return t != i.tags.end() && resumed_ops_.count(t->second);
  }

  // A resume of `op`, noting what it covers. A resumed purchase of a desired resource
  // records that resource's spec when it finishes, as the purchase would have.
  Change ResumeOf(const Operation& op, const specs::ResourceKey& key) {
    Change c;
    c.action = Action::kResume;
    c.key = key;
    c.region = op.region;
    c.operation_id = op.id;
    c.instance_ids = op.instance_ids;
    c.count = static_cast<uint64_t>(op.expected);
    if (const Resource* r = desired_.Find(key)) {
      c.spec_json = SpecJsonOf(*r);
      c.deletion_policy = specs::DeletionPolicyName(r->deletion_policy());
    }
    if (op.kind != OperationKind::kModifySpec) {  // a spec change records no instance: it covers none
      resumed_ops_.insert(op.id);
      resumed_ids_.insert(op.instance_ids.begin(), op.instance_ids.end());
    }
    if (op.kind == OperationKind::kCreateGroup) resumed_groups_[op.resource_key] = op.instance_ids;
    return c;
  }

  void Resume(const Operation& op) {
    auto key = specs::ParseResourceKey(op.resource_key);
    if (!key) return;
    Change c = ResumeOf(op, *key);
    if (op.phase == Phase::kUnknown || (op.phase == Phase::kIntent && op.attempts > op.settled)) {
      c.reason = "outcome unknown, searching: purchase " + op.id +
                 " may have bought; nothing is bought again until its visibility window has passed with "
                 "nothing carrying its tag";
    } else {
      c.reason = std::string("purchase ") + op.id + " is in flight (" + PhaseName(op.phase) +
                 (op.deal_names.empty() ? "" : ", orders " + Join(op.deal_names)) + "): follow it to the end";
    }
    const std::string id = Add(std::move(c)).id;
    // The group this resume yields is the one the group's replicas join.
    if (op.kind == OperationKind::kCreateGroup) group_changes_[op.resource_key] = id;
  }

  // ---- Terminal failures ----

  // A purchase that failed terminally holds its resource: nothing is bought for it until
  // the user says so (--retry-failed), since the cloud may yet deliver a late order, and a
  // refusal would only be refused again. What the cloud has resolved since is followed up.
  void Failed(const Operation& op) {
    auto key = specs::ParseResourceKey(op.resource_key);
    if (!key || !desired_.Find(*key)) return;
    if (std::string why = ResolvedSince(op); !why.empty()) {
      Change c = ResumeOf(op, *key);
      c.reason = why;
      Add(std::move(c));
      return;
    }
    Failure f;
    f.key = *key;
    f.operation_id = op.id;
    f.code = op.error_code;
    f.message = op.error;
    f.deal_names = op.deal_names;
    f.instance_ids = op.instance_ids;
    f.remedy = Remedy(op);
    f.retrying = options_.retry_failed;
    failures_.push_back(std::move(f));
  }

  // Why a failed purchase's failure no longer holds, or "".
  std::string ResolvedSince(const Operation& op) const {
    if (op.error_code == kOrderDeadlineExceeded) {
      std::vector<std::string> ids;
      for (const auto& [id, i] : by_id_) {
        auto t = i->tags.find(cloud::kOperationTag);
        if (t != i->tags.end() && t->second == op.id && i->state() != cloud::InstanceState::kGoing) ids.push_back(id);
      }
      if (ids.empty()) return "";
      return "purchase " + op.id + " passed its order deadline, but " + Join(ids) +
             " now carry its tag: the order delivered late; follow it until running";
    }
    if (op.error_code == kRunningDeadlineExceeded && !op.instance_ids.empty()) {
      for (const std::string& id : op.instance_ids) {
        auto it = by_id_.find(id);
        if (it == by_id_.end() || it->second->state() != cloud::InstanceState::kRunning) return "";
      }
      return "purchase " + op.id + " passed its running deadline, but " + Join(op.instance_ids) +
             " run now: record it done";
    }
    return "";
  }

  static std::string Remedy(const Operation& op) {
    if (op.error_code == kOrderDeadlineExceeded) {
      return "check order(s) " + Join(op.deal_names) +
             " in the Tencent Cloud console. If they delivered, the next plan follows them; if they were refunded "
             "or will never deliver, run `reconciler apply --retry-failed` to buy again";
    }
    if (op.error_code == kRunningDeadlineExceeded) {
      return Join(op.instance_ids) +
             " are kept and not bought again. Once they run, the next plan records them; to give up on them, "
             "delete them in the console, then run `reconciler apply --retry-failed` to buy replacements";
    }
    return "fix what the cloud refused (" + op.error_code +
           "), then run `reconciler apply --retry-failed` to buy again";
  }

  // Whether purchases for `key` wait for the user; notes the `n` instances not bought.
  bool Withheld(const std::string& key, uint64_t n) {
    if (options_.retry_failed) return false;
    for (Failure& f : failures_) {
      if (f.key.ToString() != key) continue;
      f.withheld += n;
      return true;
    }
    return false;
  }

  // ---- ReadOnlyGroup ----

  const cloud::Group* FindGroup(const Resource& r) const {
    const specs::ReadOnlyGroupSpec& s = *r.group();
    auto rec = recorded_.resources.find(r.key.ToString());
    std::string recorded_id = rec == recorded_.resources.end() ? "" : rec->second.group_id;
    for (const cloud::Group& g : observed_.groups) {
      if (!recorded_id.empty() && g.id == recorded_id) return &g;
    }
    for (const cloud::Group& g : observed_.groups) {
      if (g.master_id == s.master_instance_id && g.name == s.group_name && g.state() != cloud::GroupState::kDeleting) return &g;
    }
    return nullptr;
  }

  void Group(const Resource& r) {
    const specs::ReadOnlyGroupSpec& s = *r.group();
    const cloud::Group* g = FindGroup(r);
    // A create of this group still in flight (sent or not) is resumed, never joined by a
    // second one: the group it yields may not be listed yet, or not exist until it is sent.
    if (!g && group_changes_.count(r.key.ToString())) return;
    if (!g) {
      if (Withheld(r.key.ToString(), 1)) return;
      Change c = Base(Action::kCreate, r);
      c.count = 1;
      c.group = GroupRequestFor(r);
      c.reason = "no read-only group " + Quote(s.group_name) + " on " + s.master_instance_id;
      group_changes_[r.key.ToString()] = Add(std::move(c)).id;
      return;
    }
    group_ids_[r.key.ToString()] = g->id;
    auto rec = recorded_.resources.find(r.key.ToString());
    auto resumed = resumed_groups_.find(r.key.ToString());
    const bool covered = resumed != resumed_groups_.end() &&
                         (resumed->second.empty() ||
                          std::find(resumed->second.begin(), resumed->second.end(), g->id) != resumed->second.end());
    if ((rec == recorded_.resources.end() || rec->second.group_id != g->id) && !covered) {
      Change c = Base(Action::kAdopt, r);
      c.instance_ids = {g->id};
      c.reason = "group " + g->id + " named " + Quote(g->name) + " exists on " + g->master_id + " but is missing from state: record it";
      Add(std::move(c));
    }
    GroupConfigDrift(r, *g);
    std::vector<FieldDiff> drift = GroupFixedDiffs(s, *g);
    AddIfDiffers(&drift, "projectId", std::to_string(g->project_id), std::to_string(s.project_id));
    if (!drift.empty()) {
      std::vector<std::string> lines;
      for (const FieldDiff& f : drift) lines.push_back(f.field + " " + f.before + " -> " + f.after);
      warnings_.push_back(r.key.ToString() + " (" + g->id + ") differs from its spec: " + Join(lines) +
                          "; no API changes these on a group, so it is left as it is");
    }
  }

  // The settings ModifyReadOnlyGroupConfig changes in place: one update with the whole config.
  void GroupConfigDrift(const Resource& r, const cloud::Group& g) {
    const specs::ReadOnlyGroupSpec& s = *r.group();
    Change c = Base(Action::kUpdate, r);
    AddIfDiffers(&c.fields, "groupName", Quote(g.name), Quote(s.group_name));
    AddIfDiffers(&c.fields, "replayLagEliminate", BoolText(g.replay_lag_eliminate), BoolText(s.replay_lag_eliminate));
    AddIfDiffers(&c.fields, "replayLatencyEliminate", BoolText(g.replay_latency_eliminate),
                 BoolText(s.replay_latency_eliminate));
    AddIfDiffers(&c.fields, "maxReplayLagSeconds", std::to_string(g.max_replay_lag_seconds),
                 std::to_string(s.max_replay_lag_seconds));
    AddIfDiffers(&c.fields, "maxReplayLatencyMB", std::to_string(g.max_replay_latency_mb),
                 std::to_string(s.max_replay_latency_mb));
    AddIfDiffers(&c.fields, "minDelayEliminateReserve", std::to_string(g.min_delay_eliminate_reserve),
                 std::to_string(s.min_delay_eliminate_reserve));
    if (c.fields.empty()) return;
    if (!g.status.empty() && g.state() != cloud::GroupState::kOk) {  // the cloud refuses a change while it is busy
      std::vector<std::string> names;
      for (const FieldDiff& f : c.fields) names.push_back(f.field);
      warnings_.push_back(r.key.ToString() + " (" + g.id + ") is " + g.status + ": " + Join(names) +
                          " will be changed once it is ok");
      return;
    }
    c.update.group_config = GroupConfigFor(r);
    c.instance_ids = {g.id};
    std::vector<std::string> names;
    for (const FieldDiff& f : c.fields) names.push_back(f.field);
    c.reason = "drift on group " + g.id + ": " + Join(names) + " (ModifyReadOnlyGroupConfig)";
    Add(std::move(c));
  }

  // deletionPolicy lives only in the state: a change to it is recorded there, and nothing is
  // called in the cloud. Without this, removing the spec later would follow the old policy.
  void PolicyChange(const Resource& r) {
    auto rec = recorded_.resources.find(r.key.ToString());
    if (rec == recorded_.resources.end()) return;
    const std::string now = specs::DeletionPolicyName(r.deletion_policy());
    if (rec->second.deletion_policy == now) return;
    Change c = Base(Action::kUpdate, r);
    c.fields.push_back({"deletionPolicy", rec->second.deletion_policy, now});
    c.reason = "deletionPolicy " + rec->second.deletion_policy + " -> " + now +
               ": recorded in the state only; nothing is called in the cloud";
    Add(std::move(c));
  }

  // ---- ReadOnlyInstance ----

  void Replica(const Resource& r) {
    const specs::ReadOnlyInstanceSpec& s = *r.replica();
    const std::string key = r.key.ToString();
    std::vector<const cloud::Instance*> mine = Mine(key), active, isolated;
    for (const cloud::Instance* i : mine) (cloud::IsIsolated(i->state()) ? isolated : active).push_back(i);
    // Oldest first: the newest go first when there are too many.
    auto by_age = [](const cloud::Instance* a, const cloud::Instance* b) {
      return std::tie(a->create_time, a->id) < std::tie(b->create_time, b->id);
    };
    std::sort(active.begin(), active.end(), by_age);
    std::sort(isolated.begin(), isolated.end(), by_age);
    AdoptUnrecorded(r, mine);

    const int64_t pending = Pending(key, mine);
    const int64_t need = static_cast<int64_t>(s.count);
    int64_t have = static_cast<int64_t>(active.size()) + pending;

    if (have < need && !isolated.empty()) {
      size_t n = static_cast<size_t>(std::min<int64_t>(need - have, static_cast<int64_t>(isolated.size())));
      Change c = Base(Action::kRestore, r);
      for (size_t k = 0; k < n; ++k) c.instance_ids.push_back(isolated[k]->id);
      c.reason = "isolated instances are not gone: restore " + Join(c.instance_ids) + " (DisIsolateDBInstances) instead of buying";
      Add(std::move(c));
      isolated.erase(isolated.begin(), isolated.begin() + static_cast<long>(n));
      have += static_cast<int64_t>(n);
    }

    std::vector<std::string> replace_ids;
    std::vector<FieldDiff> replace_fields;
    std::vector<std::string> keep_ids;
    std::vector<const cloud::Instance*> excess;
    if (have > need) {
      int64_t extra = std::min<int64_t>(have - need, static_cast<int64_t>(active.size()));
      excess.assign(active.end() - extra, active.end());
      active.resize(active.size() - static_cast<size_t>(extra));
    }
    for (const cloud::Instance* i : active) {
      std::vector<FieldDiff> immutable = ReplicaImmutableDiffs(s, *i);
      if (!immutable.empty()) {
        replace_ids.push_back(i->id);
        for (FieldDiff& f : immutable) {
          f.field = i->id + "." + f.field;
          replace_fields.push_back(std::move(f));
        }
        continue;
      }
      // A resumed purchase finishes its own instances' tagging (the plan changes only the
      // settings of those already running), so no instance is listed under two changes' tags.
      const Tagging tagging = CoveredByResume(*i) ? Tagging::kByResume : Tagging::kHere;
      if (i->state() == cloud::InstanceState::kRunning || (i->tagging_incomplete && tagging == Tagging::kHere)) Update(r, s, *i, tagging);
    }
    if (have < need && !Withheld(key, static_cast<uint64_t>(need - have)) && !GroupWithheld(r, s, need - have)) {
      Change c = Base(Action::kCreate, r);
      c.count = static_cast<uint64_t>(need - have);
      c.replica = ReplicaRequestFor(r, desired_.project.stack);
      GroupTarget(s, &c.replica->group_id, &c.group_ref, &c.after);
      c.reason = "count " + std::to_string(have) + " -> " + std::to_string(need) + MissingNote(key, mine);
      if (pending > 0) c.reason += " (" + std::to_string(pending) + " still being delivered)";
      Add(std::move(c));
    }
    if (!replace_ids.empty() && !Withheld(key, replace_ids.size())) Replace(r, s, replace_ids, replace_fields);
    if (!excess.empty() || !isolated.empty()) {
      std::vector<const cloud::Instance*> extra = excess;
      extra.insert(extra.end(), isolated.begin(), isolated.end());
      RemoveInstances(r.key, r.region(), r.deletion_policy(), extra,
                      "count " + std::to_string(have + static_cast<int64_t>(isolated.size())) + " -> " +
                          std::to_string(need),
                      SpecJsonOf(r));
    }
  }

  // New replicas of `s` join a group whose purchase failed and holds: they wait for it.
  bool GroupWithheld(const Resource& r, const specs::ReadOnlyInstanceSpec& s, int64_t n) {
    if (s.read_only_group.empty() || options_.retry_failed) return false;
    std::string group = specs::ResourceKey{Kind::kReadOnlyGroup, s.read_only_group}.ToString();
    if (group_ids_.count(group) || group_changes_.count(group)) return false;
    bool held = std::any_of(failures_.begin(), failures_.end(), [&](const Failure& f) { return f.key.ToString() == group; });
    if (!held) return false;
    warnings_.push_back(r.key.ToString() + ": " + std::to_string(n) + " replica(s) not bought: they join " + group +
                        ", whose purchase failed (see below)");
    return true;
  }

  std::string MissingNote(const std::string& key, const std::vector<const cloud::Instance*>& mine) const {
    std::vector<std::string> gone;
    for (const auto& [id, rec] : recorded_.instances) {
      if (rec.resource_key != key) continue;
      bool seen = std::any_of(mine.begin(), mine.end(), [&id = id](const cloud::Instance* i) { return i->id == id; });
      if (!seen) gone.push_back(id);
    }
    return gone.empty() ? "" : " (" + Join(gone) + " gone from the cloud)";
  }

  // Where new replicas of `s` go: an existing group's id, or a group this plan creates.
  void GroupTarget(const specs::ReadOnlyInstanceSpec& s, std::string* group_id, std::string* group_ref,
                   std::vector<std::string>* after) const {
    if (!s.read_only_group_id.empty()) {
      *group_id = s.read_only_group_id;
      return;
    }
    if (s.read_only_group.empty()) return;
    std::string key = specs::ResourceKey{Kind::kReadOnlyGroup, s.read_only_group}.ToString();
    if (auto it = group_ids_.find(key); it != group_ids_.end()) {
      *group_id = it->second;
    } else if (auto c = group_changes_.find(key); c != group_changes_.end()) {
      *group_ref = key;
      after->push_back(c->second);
    }
  }

  void TagDiff(const cloud::Tags& desired_tags, const cloud::Tags& actual, UpdateCalls* u, std::vector<FieldDiff>* fields) {
    for (const auto& [k, v] : desired_tags) {
      auto it = actual.find(k);
      if (it == actual.end() || it->second != v) {
        u->tags_set[k] = v;
        fields->push_back({"tags." + k, it == actual.end() ? "(none)" : Quote(it->second), Quote(v)});
      }
    }
    for (const auto& [k, v] : actual) {
      if (IsUserTag(k) && !desired_tags.count(k)) {
        u->tags_remove.push_back(k);
        fields->push_back({"tags." + k, Quote(v), "(none)"});
      }
    }
  }

  // Drift of a running instance, and the tags an instance's purchase never finished (those
  // whatever its status).
  enum class Tagging { kHere, kByResume };
  void Update(const Resource& r, const specs::ReadOnlyInstanceSpec& s, const cloud::Instance& i, Tagging tagging) {
    Change c = Base(Action::kUpdate, r);
    if (i.state() == cloud::InstanceState::kRunning) SettingsDrift(r, s, i, &c);
    if (tagging == Tagging::kHere) {
      TagDiff(s.tags, i.tags, &c.update, &c.fields);
      FinishTags(r, i, &c);
    }
    if (c.update.empty()) return;
    c.instance_ids = {i.id};
    std::vector<std::string> names;
    for (const FieldDiff& f : c.fields) names.push_back(f.field);
    c.reason = (i.tagging_incomplete && tagging == Tagging::kHere ? "tagging never finished on " : "drift on ") + i.id + ": " +
               Join(names);
    Change& added = Add(std::move(c));
    if (i.tagging_incomplete && tagging == Tagging::kHere) added.drift = false;  // our own unfinished work
  }

  // The settings of `i` that differ from `s`, each with the call that changes it in place.
  void SettingsDrift(const Resource& r, const specs::ReadOnlyInstanceSpec& s, const cloud::Instance& i, Change* out) {
    Change& c = *out;
    UpdateCalls& u = c.update;
    if (i.name != s.instance_name) {
      u.name = s.instance_name;
      c.fields.push_back({"instanceName", Quote(i.name), Quote(s.instance_name)});
    }
    if (i.deletion_protection != s.deletion_protection) {
      if (options_.can_modify_deletion_protection) {
        u.deletion_protection = s.deletion_protection;
        c.fields.push_back({"deletionProtection", BoolText(i.deletion_protection), BoolText(s.deletion_protection)});
      } else {
        warnings_.push_back(r.key.ToString() + " (" + i.id + "): deletionProtection is " +
                            BoolText(i.deletion_protection) + " in the cloud and " + BoolText(s.deletion_protection) +
                            " in the spec; this API site has no ModifyDBInstanceDeletionProtection, so change it in "
                            "the console (new purchases carry the spec's value)");
      }
    }
    if (i.spec_code != s.spec_code || i.storage_gb != s.storage_gb) {
      u.spec = UpdateCalls::Spec{s.spec_code, 0, 0, s.storage_gb};
      if (i.spec_code != s.spec_code) c.fields.push_back({"specCode", i.spec_code, s.spec_code});
      if (i.storage_gb != s.storage_gb) {
        c.fields.push_back({"storageGB", std::to_string(i.storage_gb), std::to_string(s.storage_gb)});
      }
    }
    // DescribeDBInstances does not report security groups, so they are compared with what was
    // last applied rather than paid for with a call per instance on every plan.
    const std::vector<std::string>& applied = AppliedSecurityGroups(r.key.ToString());
    if (ListText(applied) != ListText(s.security_group_ids) && !s.security_group_ids.empty()) {
      u.security_groups = s.security_group_ids;
      c.fields.push_back({"securityGroupIds", ListText(applied), ListText(s.security_group_ids)});
    }
    std::string to_id, to_key;
    std::vector<std::string> after;
    GroupTarget(s, &to_id, &to_key, &after);
    if ((!to_id.empty() && to_id != i.read_only_group_id) || !to_key.empty()) {
      u.group = UpdateCalls::Move{i.read_only_group_id, to_id, to_key};
      c.after = after;
      c.fields.push_back({"readOnlyGroup", i.read_only_group_id.empty() ? "(none)" : i.read_only_group_id,
                          to_id.empty() ? to_key : to_id});
    }
  }

  // Bought, but the tags its create could not carry never went on (identity.h).
  void FinishTags(const Resource& r, const cloud::Instance& i, Change* c) {
    if (!i.tagging_incomplete) return;
    for (const auto& [k, v] : StackTags(desired_.project.stack, r.key)) {
      c->update.tags_set[k] = v;
      c->fields.push_back({"tags." + k, "(none)", Quote(v)});
    }
  }

  // Per resource, and asked once for each of its instances: parsed once.
  const std::vector<std::string>& AppliedSecurityGroups(const std::string& key) {
    auto [cached, added] = applied_security_groups_.try_emplace(key);
    std::vector<std::string>& ids = cached->second;
    if (!added) return ids;
    auto rec = recorded_.resources.find(key);
    if (rec == recorded_.resources.end()) return ids;
    json spec = json::parse(rec->second.spec_json, nullptr, false);
    if (!spec.is_object() || !spec.contains("securityGroupIds") || !spec["securityGroupIds"].is_array()) return ids;
    for (const json& id : spec["securityGroupIds"]) {
      if (id.is_string()) ids.push_back(id.get<std::string>());
    }
    return ids;
  }

  // A resource's spec as recorded in state. Every change of a resource carries it, and a
  // resource of 100 replicas makes up to 100 of them: serialized once.
  const std::string& SpecJsonOf(const Resource& r) {
    auto [cached, added] = spec_json_.try_emplace(r.key.ToString());
    if (added) cached->second = SpecJson(r);
    return cached->second;
  }

  void Replace(const Resource& r, const specs::ReadOnlyInstanceSpec& s, const std::vector<std::string>& ids,
               const std::vector<FieldDiff>& fields) {
    Change c = Base(Action::kReplace, r);
    c.count = ids.size();
    c.instance_ids = ids;
    c.fields = fields;
    c.destroys = true;
    c.replica = ReplicaRequestFor(r, desired_.project.stack);
    GroupTarget(s, &c.replica->group_id, &c.group_ref, &c.after);
    std::vector<std::string> names;
    for (const FieldDiff& f : fields) names.push_back(f.field.substr(f.field.find('.') + 1));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    c.reason = Join(names) + " cannot change in place: buy " + std::to_string(ids.size()) +
               " new, then destroy " + Join(ids);
    BlockDestroy(&c, ids);
    Add(std::move(c));
  }

  void BlockDestroy(Change* c, const std::vector<std::string>& ids) {
    std::vector<std::string> protected_ids;
    for (const std::string& id : ids) {
      auto it = by_id_.find(id);
      if (it != by_id_.end() && it->second->deletion_protection) protected_ids.push_back(id);
    }
    if (!options_.allow_destroy) {
      c->blocked = true;
      c->blocked_reason = "this destroys " + Join(ids) + "; rerun with --allow-destroy to allow it";
    } else if (!protected_ids.empty()) {
      c->blocked = true;
      c->blocked_reason = "deletion protection is on for " + Join(protected_ids) +
                          "; set deletionProtection: false and apply that first";
    }
  }

  // Removes `instances` of `key` per its deletion policy.
  // `spec_json` is set when the resource stays (only some of its instances go).
  void RemoveInstances(const specs::ResourceKey& key, const std::string& region, specs::DeletionPolicy policy,
                       const std::vector<const cloud::Instance*>& instances, const std::string& why,
                       const std::string& spec_json = "") {
    Change c;
    c.key = key;
    c.region = region;
    c.spec_json = spec_json;
    c.deletion_policy = specs::DeletionPolicyName(policy);
    for (const cloud::Instance* i : instances) c.instance_ids.push_back(i->id);
    if (policy == specs::DeletionPolicy::kDelete) {
      c.action = Action::kDelete;
      c.destroys = true;
      c.reason = why + ": isolate and destroy " + Join(c.instance_ids) + " (deletionPolicy Delete)";
      BlockDestroy(&c, c.instance_ids);
    } else {
      c.action = Action::kOrphan;
      c.reason = why + ": untag and forget " + Join(c.instance_ids) + "; they keep running (deletionPolicy Orphan)";
    }
    Add(std::move(c));
  }

  // ---- ServerlessInstance ----

  void Serverless(const Resource& r) {
    const specs::ServerlessInstanceSpec& s = *r.serverless();
    const std::string key = r.key.ToString();
    std::vector<const cloud::Instance*> mine = Mine(key);
    AdoptUnrecorded(r, mine);
    const int64_t pending = Pending(key, mine);
    if (mine.empty()) {
      if (pending > 0 || Withheld(key, 1)) return;
      Change c = Base(Action::kCreate, r);
      c.count = 1;
      c.serverless = ServerlessRequestFor(r, desired_.project.stack);
      c.reason = "no serverless instance" + MissingNote(key, mine);
      Add(std::move(c));
      return;
    }
    const cloud::Instance& i = *mine.front();
    std::vector<FieldDiff> immutable = ServerlessImmutableDiffs(s, i);
    if (!immutable.empty()) {
      if (!Withheld(key, 1)) ReplaceServerless(r, i, immutable);
    } else {
      Change c = Base(Action::kUpdate, r);
      TagDiff(s.tags, i.tags, &c.update, &c.fields);
      if (!c.update.empty()) {
        c.instance_ids = {i.id};
        c.reason = "drift on " + i.id + ": tags";
        Add(std::move(c));
      }
    }
    if (mine.size() > 1) {
      std::vector<const cloud::Instance*> extra(mine.begin() + 1, mine.end());
      RemoveInstances(r.key, r.region(), r.deletion_policy(), extra, "more than one instance carries this resource's tag",
                      SpecJsonOf(r));
    }
  }

  void ReplaceServerless(const Resource& r, const cloud::Instance& i, const std::vector<FieldDiff>& immutable) {
    Change c = Base(Action::kReplace, r);
    c.count = 1;
    c.instance_ids = {i.id};
    c.fields = immutable;
    c.destroys = true;
    c.serverless = ServerlessRequestFor(r, desired_.project.stack);
    std::vector<std::string> names;
    for (const FieldDiff& f : immutable) names.push_back(f.field);
    c.reason = Join(names) + " cannot change in place: delete " + i.id + ", then create it anew";
    BlockDestroy(&c, {i.id});
    Add(std::move(c));
  }

  // ---- Resources no longer in the specs ----

  void Removed() {
    std::set<std::string> desired_keys;
    for (const Resource& r : desired_.resources) desired_keys.insert(r.key.ToString());
    std::set<std::string> gone;
    for (const auto& [key, instances] : by_resource_) {
      if (!desired_keys.count(key)) gone.insert(key);
    }
    for (const auto& [key, rec] : recorded_.resources) {
      if (!desired_keys.count(key)) gone.insert(key);
    }
    std::vector<std::string> instance_removals;
    std::vector<std::pair<std::string, specs::ResourceKey>> group_removals;
    for (const std::string& key_text : gone) {
      auto key = specs::ParseResourceKey(key_text);
      if (!key) continue;
      auto rec = recorded_.resources.find(key_text);
      specs::DeletionPolicy policy = rec != recorded_.resources.end() && rec->second.deletion_policy == "Delete"
                                         ? specs::DeletionPolicy::kDelete
                                         : specs::DeletionPolicy::kOrphan;
      std::string region = rec != recorded_.resources.end() ? rec->second.region : "";
      if (key->kind == Kind::kReadOnlyGroup) {
        group_removals.emplace_back(key_text, *key);
        continue;
      }
      std::vector<const cloud::Instance*> mine = Mine(key_text);
      if (region.empty() && !mine.empty()) region = mine.front()->region;
      if (mine.empty()) {
        Change c;
        c.action = Action::kOrphan;
        c.key = *key;
        c.region = region;
        c.deletion_policy = specs::DeletionPolicyName(policy);
        c.reason = "removed from the specs and gone from the cloud: forget it";
        Add(std::move(c));
        continue;
      }
      RemoveInstances(*key, region, policy, mine, "removed from the specs");
      instance_removals.push_back(changes_.back().id);
    }
    for (const auto& [key_text, key] : group_removals) RemoveGroup(key_text, key, instance_removals);
  }

  void RemoveGroup(const std::string& key_text, const specs::ResourceKey& key, const std::vector<std::string>& after) {
    const ResourceRecord& rec = recorded_.resources.at(key_text);
    const cloud::Group* g = nullptr;
    for (const cloud::Group& candidate : observed_.groups) {
      if (candidate.id == rec.group_id) g = &candidate;
    }
    Change c;
    c.key = key;
    c.region = rec.region;
    c.deletion_policy = rec.deletion_policy;
    if (!g) {
      c.action = Action::kOrphan;
      c.reason = "removed from the specs and gone from the cloud: forget it";
    } else if (rec.deletion_policy == "Delete") {
      c.action = Action::kDelete;
      c.destroys = true;
      c.instance_ids = {g->id};
      c.after = after;
      c.reason = "removed from the specs: delete group " + g->id + " (deletionPolicy Delete)";
      if (!options_.allow_destroy) {
        c.blocked = true;
        c.blocked_reason = "this deletes group " + g->id + "; rerun with --allow-destroy to allow it";
      }
    } else {
      c.action = Action::kOrphan;
      c.instance_ids = {g->id};
      c.reason = "removed from the specs: forget group " + g->id + "; it stays (deletionPolicy Orphan)";
    }
    Add(std::move(c));
  }

  const specs::DesiredState& desired_;
  const ObservedState& observed_;
  const RecordedState& recorded_;
  DiffOptions options_;
  std::vector<Change> changes_;
  std::vector<std::string> warnings_;
  std::vector<Failure> failures_;
  std::map<std::string, std::vector<const cloud::Instance*>> by_resource_;
  std::map<std::string, const cloud::Instance*> by_id_;
  std::map<std::string, std::string> group_ids_;      // group key -> existing cloud id
  std::map<std::string, std::string> group_changes_;  // group key -> the change that creates it
  std::set<std::string> resumed_ops_;                 // operations this plan resumes ...
  std::set<std::string> resumed_ids_;                 // ... the instances they name ...
  std::map<std::string, std::vector<std::string>> resumed_groups_;  // ... and the groups they create, by key
  std::map<std::string, std::string> spec_json_;                    // SpecJsonOf, by resource key
  std::map<std::string, std::vector<std::string>> applied_security_groups_;  // by resource key
};

}  // namespace

std::vector<FieldDiff> ReplicaImmutableDiffs(const specs::ReadOnlyInstanceSpec& s, const cloud::Instance& i) {
  std::vector<FieldDiff> out;
  AddIfDiffers(&out, "zone", i.zone, s.zone);
  AddIfDiffers(&out, "masterInstanceId", i.master_id, s.master_instance_id);
  AddIfDiffers(&out, "vpcId", i.vpc_id, s.vpc_id);
  AddIfDiffers(&out, "subnetId", i.subnet_id, s.subnet_id);
  AddIfDiffers(&out, "chargeType", i.pay_type == "prepaid" ? "PREPAID" : "POSTPAID_BY_HOUR",
               specs::ChargeTypeName(s.charge_type));
  AddIfDiffers(&out, "dedicatedClusterId", i.dedicated_cluster_id, s.dedicated_cluster_id);
  AddIfDiffers(&out, "needSupportIpv6", BoolText(i.ipv6), BoolText(s.need_support_ipv6));
  return out;
}

std::vector<FieldDiff> ServerlessImmutableDiffs(const specs::ServerlessInstanceSpec& s, const cloud::Instance& i) {
  std::vector<FieldDiff> out;
  AddIfDiffers(&out, "zone", i.zone, s.zone);
  AddIfDiffers(&out, "instanceName", i.name, s.instance_name);
  AddIfDiffers(&out, "dbVersion", i.db_version, s.db_version);
  AddIfDiffers(&out, "dbCharset", i.charset, s.db_charset);
  AddIfDiffers(&out, "vpcId", i.vpc_id, s.vpc_id);
  AddIfDiffers(&out, "subnetId", i.subnet_id, s.subnet_id);
  AddIfDiffers(&out, "projectId", std::to_string(i.project_id), std::to_string(s.project_id));
  return out;
}

std::vector<FieldDiff> GroupFixedDiffs(const specs::ReadOnlyGroupSpec& s, const cloud::Group& g) {
  std::vector<FieldDiff> out;
  AddIfDiffers(&out, "vpcId", g.vpc_id, s.vpc_id);
  AddIfDiffers(&out, "subnetId", g.subnet_id, s.subnet_id);
  return out;
}

DiffResult Diff(const specs::DesiredState& desired, const ObservedState& observed, const RecordedState& recorded,
                const DiffOptions& options) {
  Builder builder(desired, observed, recorded, options);
  return builder.Run();
}

std::string Digest(const cloud::Instance& i) {
  std::string tags;
  for (const auto& [k, v] : i.tags) tags += k + "=" + v + ";";
  return i.status + " " + i.spec_code + " " + std::to_string(i.storage_gb) + "GB name=" + i.name +
         " group=" + (i.read_only_group_id.empty() ? "-" : i.read_only_group_id) +
         " protected=" + BoolText(i.deletion_protection) + " tags=" + Sha256Hex(tags).substr(0, 8);
}

std::string Digest(const cloud::Group& g) {
  std::vector<std::string> members = g.member_ids;
  std::sort(members.begin(), members.end());
  return "group " + g.name + " " + g.status + " members=" + Join(members) + " lag=" +
         BoolText(g.replay_lag_eliminate) + "/" + std::to_string(g.max_replay_lag_seconds) + "s latency=" +
         BoolText(g.replay_latency_eliminate) + "/" + std::to_string(g.max_replay_latency_mb) +
         "MB reserve=" + std::to_string(g.min_delay_eliminate_reserve);
}

std::map<std::string, std::string> DigestAll(const ObservedState& observed) {
  // Each digest hashes the instance's tags: at 100,000 instances that is worth the cores.
  std::vector<const cloud::Instance*> instances;
  instances.reserve(observed.instances.size() + observed.serverless.size());
  for (const auto* list : {&observed.instances, &observed.serverless}) {
    for (const cloud::Instance& i : *list) instances.push_back(&i);
  }
  std::vector<std::string> digests(instances.size());
  constexpr size_t kPerTask = 4096;
  const size_t tasks = (instances.size() + kPerTask - 1) / kPerTask;
  ParallelFor(tasks, std::max(1u, std::thread::hardware_concurrency()), [&](size_t t) {
    for (size_t k = t * kPerTask; k < std::min(instances.size(), (t + 1) * kPerTask); ++k) {
      digests[k] = Digest(*instances[k]);
    }
  });
  std::map<std::string, std::string> out;
  for (size_t k = 0; k < instances.size(); ++k) out[instances[k]->id] = std::move(digests[k]);
  for (const cloud::Group& g : observed.groups) out[g.id] = Digest(g);
  return out;
}

}  // namespace reconciler
