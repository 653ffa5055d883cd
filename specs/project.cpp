#include "specs/project.h"

#include <algorithm>
#include <cctype>

#include "specs/field_reader.h"
#include "specs/rules.h"

namespace reconciler::specs {

namespace {

// Actions whose budget a project may set.
const std::vector<std::string>& BudgetedActions() {
  static const std::vector<std::string> kActions = {
      "CreateReadOnlyDBInstance", "CreateServerlessDBInstance", "CreateReadOnlyGroup", "DescribeDBInstances",
      "DescribeDBInstanceAttribute", "DescribeServerlessDBInstances", "DescribeOrders", "DescribeReadOnlyGroups",
      "DescribeZones", "DescribeClasses", "DescribeRegions", "InquiryPriceCreateDBInstances", "ModifyDBInstanceName",
      "ModifyDBInstanceDeletionProtection", "ModifyDBInstanceSpec", "ModifyDBInstanceSecurityGroups",
      "ModifyDBInstanceReadOnlyGroup", "ModifyReadOnlyGroupConfig", "IsolateDBInstances", "DisIsolateDBInstances", "DestroyDBInstance",
      "DeleteServerlessDBInstance", "DeleteReadOnlyGroup", "TagResources", "UnTagResources", "ModifyResourceTags"};
  return kActions;
}

// How long a wait may last: at least a minute (a poll or two), at most a week.
constexpr int64_t kMinDeadlineSeconds = 60;
constexpr int64_t kMaxDeadlineSeconds = 7 * 86400;

void ParseDeadline(const Node* node, const std::string& name, int64_t* seconds, Diagnostics* diags) {
  if (!node) return;
  int64_t value = 0;
  if (!node->IsScalar() || !ParseDuration(node->scalar, &value) || value < kMinDeadlineSeconds ||
      value > kMaxDeadlineSeconds) {
    diags->Error(node->at, name + " must be a duration from 1m to 7d, such as 30m or 2h, got " +
                               node->Describe());
    return;
  }
  *seconds = value;
}

void ParseProvider(const Node& provider, Project* p, Diagnostics* diags) {
  FieldReader outer(provider, "provider", {"tencentcloud"}, provider.at, diags);
  const Node* tc = outer.Get("tencentcloud");
  outer.Finish();
  if (!tc) return;
  if (!tc->IsMap()) {
    diags->Error(tc->at, "provider.tencentcloud must be a mapping, got " + tc->Describe());
    return;
  }
  FieldReader r(*tc, "provider.tencentcloud",
                {"region", "endpoint", "profile", "site", "purchaseSearchWindow", "orderDeadline", "runningDeadline",
                 "preflightMaxAge", "rateLimits"},
                tc->at, diags, "provider.tencentcloud.");
  if (r.String("region", &p->region) && !IsSupportedRegion(p->region)) {
    std::string hint = DidYouMean(p->region, SupportedRegions());
    r.Error("region", "region \"" + p->region + "\" is not a region TencentDB for PostgreSQL supports" +
                          (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
  }
  if (r.String("endpoint", &p->endpoint) && p->endpoint.rfind("http://", 0) != 0 &&
      p->endpoint.rfind("https://", 0) != 0) {
    r.Error("endpoint", "endpoint must be an http:// or https:// URL, got \"" + p->endpoint + "\"");
  }
  if (const Node* at = r.Get("endpoint")) p->endpoint_at = at->at;
  r.String("profile", &p->profile);
  if (const Node* at = r.Get("site") ? r.Get("site") : r.Get("endpoint")) p->site_at = at->at;
  if (r.String("site", &p->site) && p->site != "intl" && p->site != "china") {
    std::string hint = DidYouMean(p->site, {"intl", "china"});
    r.Error("site", "site must be intl or china, got \"" + p->site + "\"" +
                        (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
  }
  if (const Node* window = r.Get("purchaseSearchWindow")) {
    int64_t seconds = 0;
    if (!window->IsScalar() || !ParseDuration(window->scalar, &seconds) || seconds > 86400) {
      diags->Error(window->at, "purchaseSearchWindow must be a duration such as 6m or 360s, at most 24h, got " +
                                   window->Describe());
    } else {
      // Allowed for an emulator whose clock is the test's, but never quietly.
      p->purchase_search_window_seconds = seconds;
      if (seconds < 300) {
        diags->Warning(window->at, "purchaseSearchWindow " + window->scalar +
                                       " is shorter than the 5 minutes for which the cloud accepts a signed request: "
                                       "a create whose answer was lost could still take effect after the search "
                                       "gave up, and be bought twice");
      }
    }
  }
  if (const Node* age = r.Get("preflightMaxAge")) {
    int64_t seconds = 0;
    if (!age->IsScalar() || !ParseDuration(age->scalar, &seconds) || seconds > 86400) {
      diags->Error(age->at, "preflightMaxAge must be a duration such as 15m, 0s to 24h, got " + age->Describe());
    } else {
      p->preflight_max_age_seconds = seconds;
    }
  }
  ParseDeadline(r.Get("orderDeadline"), "orderDeadline", &p->order_deadline_seconds, diags);
  ParseDeadline(r.Get("runningDeadline"), "runningDeadline", &p->running_deadline_seconds, diags);
  if (const Node* limits = r.Get("rateLimits")) {
    if (!limits->IsMap()) {
      diags->Error(limits->at, "rateLimits must map API actions to requests per second, got " + limits->Describe());
    }
    for (const auto& [k, v] : limits->members) {
      const auto& actions = BudgetedActions();
      if (std::find(actions.begin(), actions.end(), k.scalar) == actions.end()) {
        std::string hint = DidYouMean(k.scalar, actions);
        diags->Error(k.at, "rateLimits: unknown action \"" + k.scalar + "\"" +
                               (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
        continue;
      }
      int64_t n = 0;
      if (!ParseInteger(v, &n) || n < 1 || n > 10000) {
        diags->Error(v.at, "rateLimits." + k.scalar + " must be 1 to 10000 requests per second, got " + v.Describe());
        continue;
      }
      p->rate_limits[k.scalar] = static_cast<int>(n);
    }
  }
  r.Finish();
}

// A duration field of the daemon block, 1 s to 7 d.
void DaemonDuration(FieldReader& r, const char* key, int64_t* out) {
  const Node* node = r.Get(key);
  if (node == nullptr) return;
  int64_t seconds = 0;
  if (!node->IsScalar() || !ParseDuration(node->scalar, &seconds) || seconds < 1 || seconds > 7 * 86400) {
    r.Error(key, std::string("daemon.") + key + " must be a duration from 1s to 7d such as 30s, 5m or 1h, got " +
                     node->Describe());
    return;
  }
  *out = seconds;
}

void ParseNotify(const Node& list, Project* p, Diagnostics* diags) {
  if (!list.IsSequence()) {
    diags->Error(list.at, "daemon.notify must be a list of {url, format}, got " + list.Describe());
    return;
  }
  for (size_t i = 0; i < list.items.size(); ++i) {
    const Node& item = list.items[i];
    const std::string name = "daemon.notify[" + std::to_string(i) + "]";
    if (!item.IsMap()) {
      diags->Error(item.at, name + " must be a mapping {url, format}, got " + item.Describe());
      continue;
    }
    FieldReader r(item, name, {"url", "format"}, item.at, diags, name + ".");
    r.Require("url");
    Project::Notify n;
    n.at = item.at;
    if (r.String("url", &n.url) && n.url.rfind("https://", 0) != 0 && n.url.rfind("http://", 0) != 0) {
      r.Error("url", name + ".url must be an http:// or https:// URL");  // the URL itself may carry a token
    }
    if (r.String("format", &n.format) && n.format != "json" && n.format != "slack") {
      r.Error("format", name + ".format must be json or slack, got \"" + n.format + "\"");
    }
    r.Finish();
    p->daemon.notify.push_back(std::move(n));
  }
}

void ParseDaemon(const Node& daemon, Project* p, Diagnostics* diags) {
  FieldReader r(daemon, "daemon",
                {"interval", "autoApply", "allowDestroy", "listen", "drift", "webhookSecretFile", "gitPoll", "reminder",
                 "notify"},
                daemon.at, diags, "daemon.");
  DaemonDuration(r, "interval", &p->daemon.interval_seconds);
  DaemonDuration(r, "gitPoll", &p->daemon.poll_seconds);
  DaemonDuration(r, "reminder", &p->daemon.reminder_seconds);
  r.Bool("autoApply", &p->daemon.auto_apply);
  r.Bool("allowDestroy", &p->daemon.allow_destroy);
  if (r.String("listen", &p->daemon.listen)) {
    size_t colon = p->daemon.listen.rfind(':');
    int64_t port = -1;
    Node port_node;
    port_node.type = Node::Type::kScalar;
    if (colon != std::string::npos) port_node.scalar = p->daemon.listen.substr(colon + 1);
    if (colon == std::string::npos || colon == 0 || !ParseInteger(port_node, &port) || port < 0 || port > 65535) {
      r.Error("listen", "daemon.listen must be host:port, got \"" + p->daemon.listen + "\"");
    }
  }
  if (r.String("drift", &p->daemon.drift) && p->daemon.drift != "correct" && p->daemon.drift != "report") {
    r.Error("drift", "daemon.drift must be correct (fix drift) or report (only report it), got \"" + p->daemon.drift + "\"");
  }
  if (r.String("webhookSecretFile", &p->daemon.webhook_secret_file) && p->daemon.webhook_secret_file.empty()) {
    r.Error("webhookSecretFile", "daemon.webhookSecretFile must name a file");
  }
  if (const Node* notify = r.Get("notify")) ParseNotify(*notify, p, diags);
  r.Finish();
}

void CheckDefaults(const Node& defaults, Diagnostics* diags) {
  if (!defaults.IsMap()) {
    diags->Error(defaults.at, "defaults must be a mapping of spec fields, got " + defaults.Describe());
    return;
  }
  for (const auto& [k, v] : defaults.members) {
    const auto& known = DefaultableFields();
    if (std::find(known.begin(), known.end(), k.scalar) != known.end()) continue;
    std::string hint = DidYouMean(k.scalar, known);
    diags->Error(k.at, "defaults: \"" + k.scalar + "\" is not a field defaults may set" +
                           (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
  }
}

}  // namespace

const std::vector<std::string>& DefaultableFields() {
  static const std::vector<std::string> kFields = {
      "region",          "zone",        "masterInstanceId", "specCode",    "storageGB",   "periodMonths",
      "vpcId",           "subnetId",    "chargeType",       "autoVoucher", "autoRenew",   "projectId",
      "activityId",      "securityGroupIds", "needSupportIpv6", "dedicatedClusterId", "deletionProtection",
      "tags",            "deletionPolicy"};
  return kFields;
}

bool ParseDuration(const std::string& text, int64_t* seconds) {
  if (text.empty()) return false;
  int64_t total = 0, number = -1;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      number = (number < 0 ? 0 : number) * 10 + (c - '0');
      if (number > 100000000) return false;
      continue;
    }
    int64_t unit = c == 's' ? 1 : c == 'm' ? 60 : c == 'h' ? 3600 : c == 'd' ? 86400 : 0;
    if (unit == 0 || number < 0) return false;
    total += number * unit;
    number = -1;
  }
  if (number >= 0) total += number;  // trailing plain seconds ("90")
  *seconds = total;
  return true;
}

Project ParseProject(const Node& doc, const Location& file, Diagnostics* diags, Node* defaults) {
  Project p;
  p.at = file;
  if (!doc.IsMap()) {
    diags->Error(doc.at.line ? doc.at : file, "the project file must be a mapping with at least \"stack\", got " +
                                                  doc.Describe());
    return p;
  }
  FieldReader r(doc, "reconciler.yaml", {"apiVersion", "stack", "provider", "state", "daemon", "defaults"}, file, diags);
  std::string api_version;
  if (r.String("apiVersion", &api_version) && api_version != "reconciler/v1") {
    r.Error("apiVersion", "apiVersion must be reconciler/v1, got \"" + api_version + "\"");
  }
  r.Require("stack");
  if (r.String("stack", &p.stack)) {
    if (std::string why = CheckLabel(p.stack); !why.empty()) r.Error("stack", "stack name \"" + p.stack + "\" " + why);
  }
  if (const Node* provider = r.Get("provider")) {
    if (provider->IsMap()) ParseProvider(*provider, &p, diags);
    else diags->Error(provider->at, "provider must be a mapping, got " + provider->Describe());
  }
  if (r.String("state", &p.state)) {
    bool sqlite = p.state.rfind("sqlite:", 0) == 0 && p.state.size() > 7;
    bool postgres = p.state.rfind("postgres://", 0) == 0 || p.state.rfind("postgresql://", 0) == 0;
    if (!sqlite && !postgres) {
      r.Error("state", "state must be sqlite:PATH or a postgres:// URL, got \"" + p.state + "\"");
    }
  }
  if (const Node* daemon = r.Get("daemon")) {
    if (daemon->IsMap()) ParseDaemon(*daemon, &p, diags);
    else diags->Error(daemon->at, "daemon must be a mapping, got " + daemon->Describe());
  }
  if (const Node* d = r.Get("defaults")) {
    CheckDefaults(*d, diags);
    if (d->IsMap()) *defaults = *d;
  }
  r.Finish();
  return p;
}

}  // namespace reconciler::specs
