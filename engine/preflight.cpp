#include "engine/preflight.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <tuple>

namespace reconciler {

namespace {

constexpr uint64_t kMaxPerCall = 6;

class Preflighter {
 public:
  Preflighter(cloud::Cloud* cloud, const ObservedState& observed) : cloud_(cloud) {
    for (const cloud::Instance& i : observed.instances) observed_by_id_[i.id] = &i;
  }

  void Run(Change* c) {
    switch (c->action) {
      case Action::kCreate:
      case Action::kReplace:
        if (c->replica) CheckReplicas(c);
        else if (c->serverless) CheckServerless(c);
        else if (c->group) CheckGroup(c);
        break;
      case Action::kUpdate:
        if (c->update.spec) CheckSpecChange(c);
        break;
      case Action::kDelete:
        PriceRemoval(c);
        break;
      case Action::kRestore:
        PriceRestore(c);
        break;
      default:
        break;
    }
  }

 private:
  void Fail(Change* c, const Status& s) {
    c->preflight.state = PreflightState::kFailed;
    c->preflight.code = s.api_code().empty() ? CodeName(s.code()) : s.api_code();
    c->preflight.message = s.message();
    c->preflight.request_id = s.request_id();
  }

  void CheckReplicas(Change* c) {
    std::set<uint64_t> sizes;
    for (uint64_t n : SplitCount(c->count)) sizes.insert(n);
    cloud::ReplicaRequest q = *c->replica;
    q.tags[cloud::kOperationTag] = "preflight";
    c->preflight.state = PreflightState::kPassed;
    for (uint64_t n : sizes) {
      q.count = n;
      // A shape another change proved (or failed) is not sent again.
      auto [verdict, fresh] = dry_runs_.try_emplace(DryRunShape(q), Status::Ok());
      if (fresh) {
        Result<cloud::Purchase> r = cloud_->CreateReplicas(q, cloud::DryRun::kYes);
        ++c->preflight.calls;
        if (!r.ok()) verdict->second = r.status();
      }
      const Status& s = verdict->second;
      if (s.ok()) continue;
      if (RefusesDryRun(s)) {
        FallbackReplicas(c, q);
      } else {
        Fail(c, s);
      }
      break;
    }
    if (c->preflight.state != PreflightState::kFailed) {
      const size_t calls = SplitCount(c->count).size();
      c->preflight.note = c->preflight.state == PreflightState::kPassed
                              ? "DryRun passed for " + std::to_string(calls) + " call(s)"
                              : c->preflight.note;
      // Each DryRun sees the cloud as it is now, not after the earlier calls of this change,
      // and the per-master replica limit cannot be read through the API.
      if (calls > 1) c->preflight.note += "; a per-master replica limit across the calls shows only when they are made";
      if (!c->group_ref.empty()) c->preflight.note += "; joins " + c->group_ref + " once it exists";
    }
    PriceReplicas(c, *c->replica, c->count, +1);
    if (c->action == Action::kReplace) PriceInstances(c, c->instance_ids, -1);
  }

  // The read-only checks for an endpoint without DryRun.
  void FallbackReplicas(Change* c, const cloud::ReplicaRequest& q) {
    c->preflight.state = PreflightState::kFallback;
    c->preflight.note = "DryRun is not supported here; read-only checks passed";
    Result<std::vector<cloud::ZoneInfo>> zones = Zones(q.region, c);
    if (!zones.ok()) return Fail(c, zones.status());
    auto zone = std::find_if(zones->begin(), zones->end(), [&](const cloud::ZoneInfo& z) { return z.zone == q.zone; });
    if (zone == zones->end() || zone->state == "UNAVAILABLE") {
      return Fail(c, Status(Code::kPermanent, "zone " + q.zone + " is not available in " + q.region,
                            "InvalidParameterValue.IllegalZone"));
    }
    if (zone->state == "SELLOUT") {
      return Fail(c, Status(Code::kPermanent, "zone " + q.zone + " is sold out", "ResourceInsufficient.ResourceNotEnough"));
    }
    Result<cloud::Instance> master = cloud_->DescribeInstance(q.region, q.master_id);
    ++c->preflight.calls;
    if (!master.ok()) return Fail(c, master.status());
    if (master->state() != cloud::InstanceState::kRunning) {
      return Fail(c, Status(Code::kPermanent, "master " + q.master_id + " is " + master->status + ", not running",
                            "OperationDenied.InstanceStatusLimitOpError"));
    }
    if (q.prepaid && master->pay_type == "postpaid") {
      return Fail(c, Status(Code::kPermanent, "a PREPAID replica needs a prepaid master; " + q.master_id + " is postpaid",
                            "OperationDenied.PayModeError"));
    }
    std::string major = master->db_version.substr(0, master->db_version.find('.'));
    Result<std::vector<cloud::SpecClass>> classes = cloud_->DescribeClasses(q.region, q.zone, major);
    ++c->preflight.calls;
    if (!classes.ok()) return Fail(c, classes.status());
    auto k = std::find_if(classes->begin(), classes->end(), [&](const cloud::SpecClass& x) { return x.spec_code == q.spec_code; });
    if (k == classes->end()) {
      return Fail(c, Status(Code::kPermanent, q.spec_code + " is not sold in " + q.zone, "InvalidParameterValue.BadSpec"));
    }
    if (q.storage_gb < k->min_storage_gb || q.storage_gb > k->max_storage_gb) {
      return Fail(c, Status(Code::kPermanent,
                            "storage must be " + std::to_string(k->min_storage_gb) + " to " +
                                std::to_string(k->max_storage_gb) + " GB for " + q.spec_code,
                            "InvalidParameterValue.InvalidParameterValueError"));
    }
    if (!q.group_id.empty()) {
      Result<std::vector<cloud::Group>> groups = cloud_->ListGroups(q.region, q.master_id);
      ++c->preflight.calls;
      if (!groups.ok()) return Fail(c, groups.status());
      bool found = std::any_of(groups->begin(), groups->end(), [&](const cloud::Group& g) { return g.id == q.group_id; });
      if (!found) {
        return Fail(c, Status(Code::kPermanent, "read-only group " + q.group_id + " does not exist on " + q.master_id,
                              "FailedOperation.ROGroupNotFoundError"));
      }
    }
  }

  void CheckServerless(Change* c) {
    Result<std::string> r = cloud_->CreateServerless(*c->serverless, cloud::DryRun::kYes);
    ++c->preflight.calls;
    c->preflight.state = PreflightState::kPassed;
    c->preflight.note = "DryRun passed";
    if (!r.ok() && RefusesDryRun(r.status())) {
      c->preflight.state = PreflightState::kFallback;
      c->preflight.note = "DryRun is not supported here; the zone check passed";
      Result<std::vector<cloud::ZoneInfo>> zones = Zones(c->serverless->region, c);
      if (!zones.ok()) return Fail(c, zones.status());
      bool ok = std::any_of(zones->begin(), zones->end(), [&](const cloud::ZoneInfo& z) {
        return z.zone == c->serverless->zone && z.state == "AVAILABLE";
      });
      if (!ok) {
        return Fail(c, Status(Code::kPermanent, "zone " + c->serverless->zone + " is not available",
                              "InvalidParameterValue.IllegalZone"));
      }
    } else if (!r.ok() && c->action == Action::kReplace && r.status().api_code().find("InstanceNameExist") != std::string::npos) {
      // The name is taken by the very instance this replaces, which goes first.
      c->preflight.note = "DryRun passed but for the name, which the replaced instance frees first";
    } else if (!r.ok()) {
      return Fail(c, r.status());
    }
    c->cost.emplace();
    c->price_note = "serverless is billed by use";
  }

  void CheckGroup(Change* c) {
    const cloud::GroupRequest& q = *c->group;
    Result<cloud::Instance> master = cloud_->DescribeInstance(q.region, q.master_id);
    ++c->preflight.calls;
    c->preflight.state = PreflightState::kFallback;
    c->preflight.note = "CreateReadOnlyGroup has no DryRun; the master check passed";
    if (!master.ok()) return Fail(c, master.status());
    if (master->state() != cloud::InstanceState::kRunning) {
      return Fail(c, Status(Code::kPermanent, "master " + q.master_id + " is " + master->status + ", not running",
                            "OperationDenied.InstanceStatusLimitOpError"));
    }
    c->cost.emplace();
    c->price_note = "read-only groups are free";
  }

  void CheckSpecChange(Change* c) {
    const cloud::Instance* i = Observed(c->instance_ids.front());
    if (!i) return;
    UpdateCalls::Spec& spec = *c->update.spec;
    std::string major = i->db_version.substr(0, i->db_version.find('.'));
    auto key = std::make_tuple(c->region, i->zone, major);
    if (!classes_.count(key)) {
      Result<std::vector<cloud::SpecClass>> classes = cloud_->DescribeClasses(c->region, i->zone, major);
      ++c->preflight.calls;
      if (!classes.ok()) return Fail(c, classes.status());
      classes_[key] = *classes;
    }
    const auto& classes = classes_[key];
    auto k = std::find_if(classes.begin(), classes.end(), [&](const cloud::SpecClass& x) { return x.spec_code == spec.spec_code; });
    if (k == classes.end()) {
      return Fail(c, Status(Code::kPermanent, spec.spec_code + " is not sold in " + i->zone, "InvalidParameterValue.BadSpec"));
    }
    if (spec.storage_gb < k->min_storage_gb || spec.storage_gb > k->max_storage_gb) {
      return Fail(c, Status(Code::kPermanent,
                            "storage must be " + std::to_string(k->min_storage_gb) + " to " +
                                std::to_string(k->max_storage_gb) + " GB for " + spec.spec_code,
                            "InvalidParameterValue.InvalidParameterValueError"));
    }
    spec.memory_gb = k->memory_mb / 1024;
    spec.cpu = k->cpu;
    c->preflight.state = PreflightState::kFallback;
    c->preflight.note = "ModifyDBInstanceSpec has no DryRun; " + spec.spec_code + " is sold in " + i->zone;
    cloud::ReplicaRequest now;
    now.region = c->region;
    now.zone = i->zone;
    now.spec_code = spec.spec_code;
    now.storage_gb = spec.storage_gb;
    now.prepaid = i->pay_type == "prepaid";
    PriceReplicas(c, now, 1, +1);
    PriceInstances(c, c->instance_ids, -1);
  }

  void PriceRemoval(Change* c) {
    if (c->key.kind == specs::Kind::kReadOnlyInstance) PriceInstances(c, c->instance_ids, -1);
    else c->cost.emplace();
  }

  void PriceRestore(Change* c) { PriceInstances(c, c->instance_ids, +1); }

  // Adds sign * the price of `count` instances like `q` to the change, as the cloud quotes
  // it: postpaid per hour, prepaid for the period. Never converted to another unit.
  void PriceReplicas(Change* c, const cloud::ReplicaRequest& q, uint64_t count, int sign) {
    cloud::PriceQuery pq{q.region, q.zone, q.spec_code, q.storage_gb, count, q.prepaid ? q.period_months : 1, q.prepaid};
    auto key = std::make_tuple(pq.region, pq.zone, pq.spec_code, pq.storage_gb, pq.count, pq.period_months, pq.prepaid);
    auto cached = prices_.find(key);
    if (cached == prices_.end()) {
      Result<cloud::Price> price = cloud_->InquiryPrice(pq);
      ++c->preflight.calls;
      if (!price.ok()) {
        c->price_note = "price unknown: " + price.status().message();
        return;
      }
      cached = prices_.emplace(key, *price).first;
    }
    const cloud::Price& p = cached->second;
    const std::string unit = !q.prepaid               ? "hour"
                             : pq.period_months == 1 ? "month"
                                                     : std::to_string(pq.period_months) + " months";
    if (!c->cost) c->cost.emplace();
    (*c->cost)[CostKey(p.currency, unit)] += sign * static_cast<int64_t>(p.cents);
    if (sign > 0) {
      c->price_note = std::string(q.prepaid ? "prepaid" : "postpaid") + ", as InquiryPriceCreateDBInstances quotes it";
      if (p.original_cents != p.cents) c->price_note += " (list price " + FormatYuan(static_cast<int64_t>(p.original_cents)) + ")";
    }
  }

  void PriceInstances(Change* c, const std::vector<std::string>& ids, int sign) {
    for (const std::string& id : ids) {
      const cloud::Instance* i = Observed(id);
      if (!i) continue;
      cloud::ReplicaRequest q;
      q.region = c->region;
      q.zone = i->zone;
      q.spec_code = i->spec_code;
      q.storage_gb = i->storage_gb;
      q.prepaid = i->pay_type == "prepaid";
      std::string note = c->price_note;
      PriceReplicas(c, q, 1, sign);
      if (sign < 0) c->price_note = note;
    }
  }

  Result<std::vector<cloud::ZoneInfo>> Zones(const std::string& region, Change* c) {
    if (!zones_.count(region)) {
      Result<std::vector<cloud::ZoneInfo>> z = cloud_->DescribeZones(region);
      ++c->preflight.calls;
      if (!z.ok()) return z.status();
      zones_[region] = *z;
    }
    return zones_[region];
  }

  const cloud::Instance* Observed(const std::string& id) const {
    auto it = observed_by_id_.find(id);
    return it == observed_by_id_.end() ? nullptr : it->second;
  }

  cloud::Cloud* cloud_;
  std::map<std::string, Status> dry_runs_;  // DryRunShape -> the cloud's verdict
  std::map<std::string, const cloud::Instance*> observed_by_id_;
  std::map<std::string, std::vector<cloud::ZoneInfo>> zones_;
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<cloud::SpecClass>> classes_;
  std::map<std::tuple<std::string, std::string, std::string, uint64_t, uint64_t, uint64_t, bool>, cloud::Price> prices_;
};

}  // namespace

namespace {

// Blanks the values of the reconciler/* tags (the operation, the resource) and drops the
// name: what differs between purchases a DryRun judges alike.
void Generalize(nlohmann::json* j, bool keep_name) {
  if (!keep_name) j->erase("instanceName");
  auto tags = j->find("tags");
  if (tags == j->end() || !tags->is_object()) return;
  for (auto& [k, v] : tags->items()) {
    if (k.rfind("reconciler/", 0) == 0) v = "";
  }
}

}  // namespace

std::string DryRunShape(const cloud::ReplicaRequest& q) {
  nlohmann::json j = ReplicaRequestJson(q);  // the request's JSON form leaves the count to its operation
  j["count"] = q.count;
  Generalize(&j, false);
  return "replicas " + j.dump();
}

std::string DryRunShape(const cloud::ServerlessRequest& q) {
  nlohmann::json j = ServerlessRequestJson(q);
  Generalize(&j, true);
  return "serverless " + j.dump();
}

std::map<std::string, bool> ProvenShapes(const Plan& plan) {
  std::map<std::string, bool> out;
  for (const Change& c : plan.changes) {
    const PreflightState state = c.preflight.state;
    if (state != PreflightState::kPassed && state != PreflightState::kFallback) continue;
    const bool no_dry_run = state == PreflightState::kFallback;
    if (c.replica && (c.action == Action::kCreate || c.action == Action::kReplace)) {
      cloud::ReplicaRequest q = *c.replica;
      for (uint64_t n : SplitCount(c.count)) {
        q.count = n;
        out[DryRunShape(q)] = no_dry_run;
      }
    } else if (c.serverless && (c.action == Action::kCreate || c.action == Action::kReplace)) {
      out[DryRunShape(*c.serverless)] = no_dry_run;
    }
  }
  return out;
}

bool RefusesDryRun(const Status& s) {
  return s.api_code() == "UnknownParameter" && s.message().find("DryRun") != std::string::npos;
}

std::vector<uint64_t> SplitCount(uint64_t count) {
  std::vector<uint64_t> out;
  for (; count > kMaxPerCall; count -= kMaxPerCall) out.push_back(kMaxPerCall);
  if (count > 0) out.push_back(count);
  return out;
}

void RunPreflight(cloud::Cloud* cloud, const ObservedState& observed, std::vector<Change>* changes) {
  Preflighter p(cloud, observed);
  for (Change& c : *changes) p.Run(&c);
}

}  // namespace reconciler
