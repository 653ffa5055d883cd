#include "tests/support/fake_cloud.h"

#include <algorithm>

namespace reconciler::testing {

namespace c = reconciler::cloud;

namespace {

Status Refused(const std::string& code, const std::string& message) { return Status(Code::kPermanent, message, code, "fake-request"); }

}  // namespace

FakeCloud::FakeCloud(Clock* clock) : clock_(clock) {}

double FakeCloud::Now() const { return std::chrono::duration<double>(clock_->Now().time_since_epoch()).count(); }

void FakeCloud::Count(const std::string& action) { ++calls_[action]; }

int FakeCloud::Calls(const std::string& action) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(action);
  return it == calls_.end() ? 0 : it->second;
}

int FakeCloud::TotalCalls() const {
  std::lock_guard<std::mutex> lock(mu_);
  int total = 0;
  for (const auto& [a, n] : calls_) total += n;
  return total;
}

std::string FakeCloud::NewId(const std::string& prefix) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08d", next_++);
  return prefix + buf;
}

FakeCloud::Stored* FakeCloud::Find(const std::string& id) {
  auto it = instances_.find(id);
  return it == instances_.end() ? nullptr : &it->second;
}

void FakeCloud::AddPrimary(const std::string& id, const std::string& region, const std::string& zone,
                           const std::string& pay_type) {
  c::Instance i;
  i.id = id;
  i.name = id;
  i.region = region;
  i.zone = zone;
  i.type = "primary";
  i.status = "running";
  i.spec_code = "pg.it.medium4";
  i.pay_type = pay_type;
  i.db_version = "12.4";
  AddInstance(i);
}

void FakeCloud::AddInstance(const c::Instance& i) {
  std::lock_guard<std::mutex> lock(mu_);
  Stored s;
  s.instance = i;
  s.created = Now() - 86400;
  instances_[i.id] = s;
}

void FakeCloud::SetStatus(const std::string& id, const std::string& status) {
  std::lock_guard<std::mutex> lock(mu_);
  instances_.at(id).instance.status = status;
  instances_.at(id).isolate_done = 0;
}

c::Instance FakeCloud::View(const Stored& s) const {
  c::Instance i = s.instance;
  const double now = Now();
  if (s.isolate_done > 0) {
    i.status = now < s.isolate_done ? "isolating" : "isolated";
  } else if (i.status == "booting") {
    i.status = s.stuck || now < s.created + static_cast<double>(boot_delay.count()) ? "initing" : "running";
  }
  if (!s.pending_spec.empty()) {
    if (now < s.spec_done) i.status = "expanding";
    else i.spec_code = s.pending_spec;
  }
  for (const auto& [gid, g] : groups_) {
    if (std::find(g.member_ids.begin(), g.member_ids.end(), i.id) != g.member_ids.end()) i.read_only_group_id = gid;
  }
  return i;
}

std::vector<c::Instance> FakeCloud::Replicas() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<c::Instance> out;
  for (const auto& [id, s] : instances_) {
    if (s.instance.type == "readonly") out.push_back(View(s));
  }
  return out;
}

Result<std::vector<c::Instance>> FakeCloud::ListInstances(const std::string& region, const c::ListFilter& f) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<c::Instance> out;
  for (const auto& [id, s] : instances_) {
    if (s.instance.region != region || s.instance.type == "serverless" || unlisted.count(id)) continue;
    if (!f.tag_keys.empty() && std::none_of(f.tag_keys.begin(), f.tag_keys.end(), [&](const std::string& k) {
          return s.instance.tags.count(k) > 0;
        })) {
      continue;
    }
    if (!f.instance_ids.empty() && std::find(f.instance_ids.begin(), f.instance_ids.end(), id) == f.instance_ids.end()) continue;
    out.push_back(View(s));
  }
  // One DescribeDBInstances call per page of 100, as the real listing pages.
  calls_["DescribeDBInstances"] += std::max<int>(1, static_cast<int>((out.size() + 99) / 100));
  return out;
}

Result<std::vector<c::Instance>> FakeCloud::ListServerless(const std::string& region, const std::string& tag_key) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DescribeServerlessDBInstances");
  std::vector<c::Instance> out;
  for (const auto& [id, s] : instances_) {
    if (s.instance.region == region && s.instance.type == "serverless" && (tag_key.empty() || s.instance.tags.count(tag_key))) {
      out.push_back(View(s));
    }
  }
  return out;
}

Result<std::vector<c::Group>> FakeCloud::ListGroups(const std::string& region, const std::string& master_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DescribeReadOnlyGroups");
  std::vector<c::Group> out;
  for (const auto& [id, g] : groups_) {
    if (g.region == region && g.master_id == master_id) out.push_back(g);
  }
  return out;
}

Result<c::Instance> FakeCloud::DescribeInstance(const std::string& region, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DescribeDBInstanceAttribute");
  Stored* s = Find(id);
  if (!s || s->instance.region != region) {
    return Status(Code::kNotFound, "no instance " + id, "ResourceNotFound.InstanceNotFoundError", "fake-request");
  }
  return View(*s);
}

Result<std::vector<c::ZoneInfo>> FakeCloud::DescribeZones(const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DescribeZones");
  std::vector<c::ZoneInfo> out;
  for (const char* z : {"ap-beijing-3", "ap-beijing-4", "ap-beijing-5"}) out.push_back({z, sold_out.count(z) ? "SELLOUT" : "AVAILABLE"});
  return out;
}

Result<std::vector<c::SpecClass>> FakeCloud::DescribeClasses(const std::string&, const std::string&, const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DescribeClasses");
  return std::vector<c::SpecClass>{{"pg.it.small2", 1, 2048, 10, 3000}, {"pg.it.medium4", 2, 4096, 10, 3000}};
}

Result<c::Price> FakeCloud::InquiryPrice(const c::PriceQuery& q) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("InquiryPriceCreateDBInstances");
  auto it = monthly_cents.find(q.spec_code);
  if (it == monthly_cents.end()) return Refused("InvalidParameterValue.BadSpec", q.spec_code + " is not sold");
  uint64_t monthly = it->second * q.count;
  uint64_t cents = q.prepaid ? monthly * q.period_months : (monthly + 719) / 720;
  return c::Price{cents, cents, "CNY"};
}

Result<std::vector<c::Deal>> FakeCloud::DescribeOrders(const std::string&, const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DescribeOrders");
  std::vector<c::Deal> out;
  for (const std::string& n : names) {
    auto it = deals_.find(n);
    if (it == deals_.end()) continue;
    out.push_back({n, Now() >= it->second.deliver_at ? it->second.ids : std::vector<std::string>{}});
  }
  return out;
}

Result<c::Purchase> FakeCloud::CreateReplicas(const c::ReplicaRequest& q, c::DryRun dry_run) {
  std::lock_guard<std::mutex> lock(mu_);
  Count(dry_run == c::DryRun::kYes ? "CreateReadOnlyDBInstance/DryRun" : "CreateReadOnlyDBInstance");
  if (dry_run == c::DryRun::kYes && !supports_dry_run) {
    return Status(Code::kPermanent, "The parameter `DryRun` is not recognized.", "UnknownParameter", "fake-request");
  }
  Stored* master = Find(q.master_id);
  if (!master || master->instance.type != "primary") {
    return Refused("ResourceNotFound.InstanceNotFoundError", "no master " + q.master_id);
  }
  if (View(*master).status != "running") return Refused("OperationDenied.InstanceStatusLimitOpError", "master not running");
  if (q.prepaid && master->instance.pay_type == "postpaid") return Refused("OperationDenied.PayModeError", "postpaid master");
  if (sold_out.count(q.zone)) return Refused("ResourceInsufficient.ResourceNotEnough", q.zone + " is sold out");
  if (!monthly_cents.count(q.spec_code)) return Refused("InvalidParameterValue.BadSpec", q.spec_code + " is not sold");
  if (q.count < 1 || q.count > 6) return Refused("InvalidParameterValue.InvalidInstanceNum", "count 1-6");
  if (dry_run == c::DryRun::kYes) return c::Purchase{};

  c::Purchase p;
  p.bill_id = "bill-" + std::to_string(next_);
  p.tags_complete = !one_create_tag || q.tags.size() <= 1;
  uint64_t deliver = q.count;
  if (q.prepaid && never_deliver) deliver = 0;
  else if (q.prepaid && deliver_short) deliver = q.count - 1;
  never_deliver = deliver_short = false;
  for (uint64_t n = 0; n < q.count; ++n) {
    std::string deal = "deal-" + NewId("");
    p.deal_names.push_back(deal);
    StoredDeal d;
    d.deliver_at = q.prepaid ? Now() + static_cast<double>(delivery_delay.count()) : Now();
    if (n < deliver) {
      Stored s;
      s.instance.id = NewId("pgro-");
      s.instance.name = q.name;
      s.instance.region = q.region;
      s.instance.zone = q.zone;
      s.instance.type = "readonly";
      s.instance.master_id = q.master_id;
      s.instance.status = "booting";
      s.instance.spec_code = q.spec_code;
      s.instance.storage_gb = q.storage_gb;
      s.instance.pay_type = q.prepaid ? "prepaid" : "postpaid";
      s.instance.vpc_id = q.vpc_id;
      s.instance.subnet_id = q.subnet_id;
      s.instance.tags = q.tags;
      if (one_create_tag && q.tags.count(c::kOperationTag)) {
        s.instance.tags = {{c::kOperationTag, q.tags.at(c::kOperationTag)}};
      }
      s.instance.deletion_protection = q.deletion_protection;
      s.instance.ipv6 = q.ipv6;
      s.instance.dedicated_cluster_id = q.dedicated_cluster_id;
      s.instance.db_version = "12.4";
      s.created = Now();
      s.stuck = stuck_initing;
      d.ids = {s.instance.id};
      if (!q.group_id.empty() && groups_.count(q.group_id)) groups_[q.group_id].member_ids.push_back(s.instance.id);
      if (!q.prepaid) p.instance_ids.push_back(s.instance.id);
      instances_[s.instance.id] = s;
    }
    deals_[deal] = d;
  }
  return p;
}

Result<std::string> FakeCloud::CreateServerless(const c::ServerlessRequest& q, c::DryRun dry_run) {
  std::lock_guard<std::mutex> lock(mu_);
  Count(dry_run == c::DryRun::kYes ? "CreateServerlessDBInstance/DryRun" : "CreateServerlessDBInstance");
  if (dry_run == c::DryRun::kYes && !supports_dry_run) {
    return Status(Code::kPermanent, "The parameter `DryRun` is not recognized.", "UnknownParameter", "fake-request");
  }
  for (const auto& [id, s] : instances_) {
    if (s.instance.type == "serverless" && s.instance.name == q.name) {
      return Refused("InvalidParameter.InstanceNameExist", "name " + q.name + " exists");
    }
  }
  if (dry_run == c::DryRun::kYes) return std::string();
  Stored s;
  s.instance.id = NewId("postgres-");
  s.instance.name = q.name;
  s.instance.region = q.region;
  s.instance.zone = q.zone;
  s.instance.type = "serverless";
  s.instance.status = "booting";
  s.instance.db_version = q.db_version;
  s.instance.charset = q.charset;
  s.instance.vpc_id = q.vpc_id;
  s.instance.subnet_id = q.subnet_id;
  s.instance.project_id = q.project_id;
  s.instance.tags = q.tags;
  s.created = Now();
  instances_[s.instance.id] = s;
  return s.instance.id;
}

Result<std::string> FakeCloud::CreateGroup(const c::GroupRequest& q) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("CreateReadOnlyGroup");
  if (!Find(q.master_id)) return Refused("ResourceNotFound.InstanceNotFoundError", "no master " + q.master_id);
  c::Group g;
  g.id = NewId("pgrogrp-");
  g.name = q.name;
  g.region = q.region;
  g.master_id = q.master_id;
  g.status = "ok";
  g.vpc_id = q.vpc_id;
  g.subnet_id = q.subnet_id;
  g.project_id = q.project_id;
  g.replay_lag_eliminate = q.replay_lag_eliminate;
  g.replay_latency_eliminate = q.replay_latency_eliminate;
  g.max_replay_lag_seconds = q.max_replay_lag_seconds;
  g.max_replay_latency_mb = q.max_replay_latency_mb;
  g.min_delay_eliminate_reserve = q.min_delay_eliminate_reserve;
  groups_[g.id] = g;
  return g.id;
}

Result<std::string> FakeCloud::ModifySpec(const std::string&, const std::string& id, uint64_t memory_gb, uint64_t,
                                          uint64_t storage_gb) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("ModifyDBInstanceSpec");
  Stored* s = Find(id);
  if (!s) return Refused("ResourceNotFound.InstanceNotFoundError", "no " + id);
  s->pending_spec = memory_gb >= 4 ? "pg.it.medium4" : "pg.it.small2";
  s->instance.storage_gb = storage_gb;
  s->spec_done = Now() + 30;
  std::string deal = "deal-" + NewId("");
  deals_[deal] = {{id}, Now() + 5};
  return deal;
}

Status FakeCloud::ModifyName(const std::string&, const std::string& id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("ModifyDBInstanceName");
  Stored* s = Find(id);
  if (!s) return Refused("ResourceNotFound.InstanceNotFoundError", "no " + id);
  s->instance.name = name;
  return Status::Ok();
}

Status FakeCloud::ModifyDeletionProtection(const std::string&, const std::string& id, bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("ModifyDBInstanceDeletionProtection");
  Stored* s = Find(id);
  if (!s) return Refused("ResourceNotFound.InstanceNotFoundError", "no " + id);
  s->instance.deletion_protection = on;
  return Status::Ok();
}

Status FakeCloud::ModifySecurityGroups(const std::string&, const std::string& id, const std::vector<std::string>&) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("ModifyDBInstanceSecurityGroups");
  return Find(id) ? Status::Ok() : Refused("ResourceNotFound.InstanceNotFoundError", "no " + id);
}

Status FakeCloud::ModifyGroupConfig(const std::string&, const std::string& id, const cloud::GroupConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("ModifyReadOnlyGroupConfig");
  auto it = groups_.find(id);
  if (it == groups_.end()) return Refused("FailedOperation.ROGroupNotFoundError", "no group " + id);
  cloud::Group& g = it->second;
  g.name = config.name;
  g.replay_lag_eliminate = config.replay_lag_eliminate;
  g.replay_latency_eliminate = config.replay_latency_eliminate;
  g.max_replay_lag_seconds = config.max_replay_lag_seconds;
  g.max_replay_latency_mb = config.max_replay_latency_mb;
  g.min_delay_eliminate_reserve = config.min_delay_eliminate_reserve;
  return Status::Ok();
}

Status FakeCloud::MoveToGroup(const std::string&, const std::string& id, const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("ModifyDBInstanceReadOnlyGroup");
  if (!from.empty() && groups_.count(from)) {
    auto& m = groups_[from].member_ids;
    m.erase(std::remove(m.begin(), m.end(), id), m.end());
  }
  if (!groups_.count(to)) return Refused("FailedOperation.ROGroupNotFoundError", "no group " + to);
  groups_[to].member_ids.push_back(id);
  return Status::Ok();
}

Status FakeCloud::ModifyTags(const std::string&, const std::string& id, const c::Tags& replace,
                             const std::vector<std::string>& remove) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("ModifyResourceTags");
  Stored* s = Find(id);
  if (!s) return Refused("ResourceNotFound", "no " + id);
  for (const auto& [k, v] : replace) s->instance.tags[k] = v;
  for (const std::string& k : remove) s->instance.tags.erase(k);
  return Status::Ok();
}

Status FakeCloud::TagInstances(const std::string&, const std::vector<std::string>& ids, const c::Tags& tags) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_["TagResources"] += static_cast<int>((ids.size() + 9) / 10);
  for (const std::string& id : ids) {
    Stored* s = Find(id);
    if (!s) return Refused("ResourceNotFound", "no " + id);
    for (const auto& [k, v] : tags) s->instance.tags[k] = v;
  }
  return Status::Ok();
}

Status FakeCloud::Isolate(const std::string&, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("IsolateDBInstances");
  Stored* s = Find(id);
  if (!s) return Refused("ResourceNotFound.InstanceNotFoundError", "no " + id);
  if (s->instance.deletion_protection) return Refused("OperationDenied.InstanceStatusLimitOpError", "deletion protection is on");
  s->isolate_done = Now() + 5;
  return Status::Ok();
}

Status FakeCloud::Restore(const std::string&, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DisIsolateDBInstances");
  Stored* s = Find(id);
  if (!s) return Refused("ResourceNotFound.InstanceNotFoundError", "no " + id);
  s->isolate_done = 0;
  s->instance.status = "running";
  return Status::Ok();
}

Status FakeCloud::Destroy(const std::string&, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DestroyDBInstance");
  Stored* s = Find(id);
  if (!s) return Refused("ResourceNotFound.InstanceNotFoundError", "no " + id);
  if (View(*s).status != "isolated") return Refused("OperationDenied.InstanceStatusLimitOpError", "not isolated");
  instances_.erase(id);
  return Status::Ok();
}

Status FakeCloud::DeleteServerless(const std::string&, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DeleteServerlessDBInstance");
  return instances_.erase(id) ? Status::Ok() : Refused("ResourceNotFound.InstanceNotFoundError", "no " + id);
}

Status FakeCloud::DeleteGroup(const std::string&, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Count("DeleteReadOnlyGroup");
  return groups_.erase(id) ? Status::Ok() : Refused("FailedOperation.ROGroupNotFoundError", "no " + id);
}

// ------------------------------------------------------------------ FaultyCloud

void FaultyCloud::Inject(const std::string& action, Fault fault, int times) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < times; ++i) faults_[action].push_back(fault);
}

template <typename R>
R FaultyCloud::Through(const std::string& action, const std::function<R()>& call) {
  std::optional<Fault> fault;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& queue = faults_[action];
    if (!queue.empty()) {
      fault = queue.front();
      queue.pop_front();
    }
  }
  if (!fault) return call();
  switch (*fault) {
    case Fault::kThrottle: return R(Status(Code::kThrottled, "injected throttle", "RequestLimitExceeded", "fault"));
    case Fault::kRefuse: return R(Status(Code::kPermanent, "injected refusal", "InvalidParameterValue.BadSpec", "fault"));
    case Fault::kLoseAnswer: call(); return R(Status(Code::kOutcomeUnknown, "injected: the answer was lost"));
    case Fault::kDropRequest: return R(Status(Code::kOutcomeUnknown, "injected: the request was lost"));
    case Fault::kNotSent: return R(Status(Code::kNotSent, "injected: connection refused"));
    case Fault::kServerFault: return R(Status(Code::kRetryable, "injected internal error", "InternalError", "fault"));
    case Fault::kServerFaultAfterCommit:
      call();
      return R(Status(Code::kRetryable, "injected internal error after commit", "InternalError.SystemError", "fault"));
    case Fault::kUnauthorized:
      return R(Status(Code::kAuth, "injected: no CAM permission", "UnauthorizedOperation", "fault"));
  }
  return call();
}

using S = Status;
Result<std::vector<c::Instance>> FaultyCloud::ListInstances(const std::string& r, const c::ListFilter& f) {
  return Through<Result<std::vector<c::Instance>>>("DescribeDBInstances", [&] { return inner_->ListInstances(r, f); });
}
Result<std::vector<c::Instance>> FaultyCloud::ListServerless(const std::string& r, const std::string& t) {
  return Through<Result<std::vector<c::Instance>>>("DescribeServerlessDBInstances", [&] { return inner_->ListServerless(r, t); });
}
Result<std::vector<c::Group>> FaultyCloud::ListGroups(const std::string& r, const std::string& m) {
  return Through<Result<std::vector<c::Group>>>("DescribeReadOnlyGroups", [&] { return inner_->ListGroups(r, m); });
}
Result<c::Instance> FaultyCloud::DescribeInstance(const std::string& r, const std::string& id) {
  return Through<Result<c::Instance>>("DescribeDBInstanceAttribute", [&] { return inner_->DescribeInstance(r, id); });
}
Result<std::vector<c::ZoneInfo>> FaultyCloud::DescribeZones(const std::string& r) { return inner_->DescribeZones(r); }
Result<std::vector<c::SpecClass>> FaultyCloud::DescribeClasses(const std::string& r, const std::string& z, const std::string& v) {
  return inner_->DescribeClasses(r, z, v);
}
Result<c::Price> FaultyCloud::InquiryPrice(const c::PriceQuery& q) { return inner_->InquiryPrice(q); }
Result<std::vector<c::Deal>> FaultyCloud::DescribeOrders(const std::string& r, const std::vector<std::string>& d) {
  return Through<Result<std::vector<c::Deal>>>("DescribeOrders", [&] { return inner_->DescribeOrders(r, d); });
}
Result<c::Purchase> FaultyCloud::CreateReplicas(const c::ReplicaRequest& q, c::DryRun dry) {
  if (dry == c::DryRun::kYes) return inner_->CreateReplicas(q, dry);  // faults hit real purchases only
  return Through<Result<c::Purchase>>("CreateReadOnlyDBInstance", [&] { return inner_->CreateReplicas(q, dry); });
}
Result<std::string> FaultyCloud::CreateServerless(const c::ServerlessRequest& q, c::DryRun dry) {
  if (dry == c::DryRun::kYes) return inner_->CreateServerless(q, dry);
  return Through<Result<std::string>>("CreateServerlessDBInstance", [&] { return inner_->CreateServerless(q, dry); });
}
Result<std::string> FaultyCloud::CreateGroup(const c::GroupRequest& q) {
  return Through<Result<std::string>>("CreateReadOnlyGroup", [&] { return inner_->CreateGroup(q); });
}
Result<std::string> FaultyCloud::ModifySpec(const std::string& r, const std::string& id, uint64_t m, uint64_t cpu, uint64_t s) {
  return Through<Result<std::string>>("ModifyDBInstanceSpec", [&] { return inner_->ModifySpec(r, id, m, cpu, s); });
}
S FaultyCloud::ModifyName(const std::string& r, const std::string& id, const std::string& n) {
  return Through<S>("ModifyDBInstanceName", [&] { return inner_->ModifyName(r, id, n); });
}
S FaultyCloud::ModifyDeletionProtection(const std::string& r, const std::string& id, bool on) {
  return Through<S>("ModifyDBInstanceDeletionProtection", [&] { return inner_->ModifyDeletionProtection(r, id, on); });
}
S FaultyCloud::ModifySecurityGroups(const std::string& r, const std::string& id, const std::vector<std::string>& g) {
  return Through<S>("ModifyDBInstanceSecurityGroups", [&] { return inner_->ModifySecurityGroups(r, id, g); });
}
S FaultyCloud::ModifyGroupConfig(const std::string& r, const std::string& id, const cloud::GroupConfig& config) {
  return Through<S>("ModifyReadOnlyGroupConfig", [&] { return inner_->ModifyGroupConfig(r, id, config); });
}

S FaultyCloud::MoveToGroup(const std::string& r, const std::string& id, const std::string& f, const std::string& t) {
  return Through<S>("ModifyDBInstanceReadOnlyGroup", [&] { return inner_->MoveToGroup(r, id, f, t); });
}
S FaultyCloud::ModifyTags(const std::string& r, const std::string& id, const c::Tags& s, const std::vector<std::string>& d) {
  return Through<S>("ModifyResourceTags", [&] { return inner_->ModifyTags(r, id, s, d); });
}
S FaultyCloud::TagInstances(const std::string& r, const std::vector<std::string>& ids, const c::Tags& t) {
  return Through<S>("TagResources", [&] { return inner_->TagInstances(r, ids, t); });
}
S FaultyCloud::Isolate(const std::string& r, const std::string& id) {
  return Through<S>("IsolateDBInstances", [&] { return inner_->Isolate(r, id); });
}
S FaultyCloud::Restore(const std::string& r, const std::string& id) {
  return Through<S>("DisIsolateDBInstances", [&] { return inner_->Restore(r, id); });
}
S FaultyCloud::Destroy(const std::string& r, const std::string& id) {
  return Through<S>("DestroyDBInstance", [&] { return inner_->Destroy(r, id); });
}
S FaultyCloud::DeleteServerless(const std::string& r, const std::string& id) {
  return Through<S>("DeleteServerlessDBInstance", [&] { return inner_->DeleteServerless(r, id); });
}
S FaultyCloud::DeleteGroup(const std::string& r, const std::string& id) {
  return Through<S>("DeleteReadOnlyGroup", [&] { return inner_->DeleteGroup(r, id); });
}

}  // namespace reconciler::testing
