// The product against the emulator with one fault class armed on the purchase (or the
// listing) calls: plan and apply again until a plan shows no changes, then count what the
// account holds. Whatever the fault, each resource must end with exactly its count, and
// nothing may be bought twice.
//
// The engine runs in process on the emulator's manual clock: every wait the engine makes
// moves the emulated account forward instead of the test sleeping.

#include <doctest/doctest.h>

#include <set>

#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "engine/engine.h"
#include "engine/executor.h"
#include "specs/spec_loader.h"
#include "tests/support/emulator_clock.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/emulator_rig.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace tc = tencentcloud;

enum class Creds { kDemo, kSts };

// The engine wired to an in-process emulator. The transport gives up after 2 s, so a late
// answer costs the test 2 s of real time and nothing more.
struct Rig : EmulatorRig {
  explicit Rig(Creds creds = Creds::kDemo)
      : EmulatorRig({{}, tc::Site::kIntl, creds == Creds::kSts, std::chrono::milliseconds(2000)}) {
    json state = emu.State();
    for (const json& i : state["instances"]) initial.insert(i["DBInstanceId"].get<std::string>());
  }

  // Plans and applies until a plan shows no changes, at most `rounds` applies. A plan that
  // fails or shows errors is made again a minute later, as a user would, for at most 15
  // minutes. Returns whether the last plan showed no changes.
  bool Converge(const specs::DesiredState& desired, int rounds) {
    for (int applied = 0, refused = 0; refused <= 15;) {
      Result<Plan> plan = MakePlan(&cloud, store.get(), &clock, desired, dir.str(), plan_options);
      if (plan.ok() && !plan->HasChanges()) return true;
      if (plan.ok()) {
        for (const Change& c : plan->changes) {
          log += std::string("plan: ") + ActionName(c.action) + " " + c.key.ToString() + " count " +
                 std::to_string(c.count) + (c.preflight.code.empty() ? "" : " preflight " + c.preflight.code) + "\n";
        }
      } else {
        log += "plan failed: " + plan.status().ToString() + "\n";
      }
      if (!plan.ok() || plan->HasErrors()) {
        ++refused;
        emu.Advance(60);
        continue;
      }
      if (applied == rounds) return false;
      ExecutorOptions options;
      options.search_window = search_window;
      Executor executor(&cloud, store.get(), &clock, &reporter, plan->stack, options);
      ApplyResult r = executor.Apply(*plan);
      for (const ChangeResult& c : r.changes) {
        log += "apply: " + c.resource + ": " + OutcomeName(c.outcome) + ": " + c.message + "\n";
      }
      ++applied;
      ++applies;
    }
    return false;
  }

  std::set<std::string> initial;  // the world's own instances
  std::chrono::seconds search_window{360};  // the product's default (purchaseSearchWindow)
  PlanOptions plan_options;                 // --retry-failed, when a test plays the user
  std::string log;
  int applies = 0;
};

// What the account holds for the test once every lifecycle has run its course.
struct Tally {
  int ordered = 0;  // instances paid for: one deal each (serverless: one instance each)
  int live = 0;     // instances bought by the test that still exist, offlining ones aside
  std::map<std::string, int> by_resource;  // live instances carrying each resource's tag
  std::string text;
};

Tally Count(Rig& rig) {
  rig.emu.Advance(7200);
  json state = rig.emu.State();
  Tally t;
  t.ordered = static_cast<int>(state["orders"].size());
  for (const json& i : state["instances"]) {
    const std::string id = i["DBInstanceId"];
    if (rig.initial.count(id)) continue;
    t.ordered += i["DBInstanceType"] == "serverless";
    if (i["DBInstanceStatus"] == "offlining") continue;
    ++t.live;
    std::string resource = "-";
    for (const json& tag : i["TagList"]) {
      if (tag["TagKey"] == cloud::kResourceTag) resource = tag["TagValue"];
    }
    ++t.by_resource[resource];
    t.text += "  " + id + " " + i["DBInstanceStatus"].get<std::string>() + " " + resource + "\n";
  }
  json creates = rig.emu.Calls("CreateReadOnlyDBInstance");
  t.text += "ordered " + std::to_string(t.ordered) + ", live " + std::to_string(t.live) + ", create calls " +
            creates.dump() + ", applies " + std::to_string(rig.applies) + "\n" + rig.log;
  return t;
}

// A ReadOnlyInstance document on postgres-abcdef (or the prepaid master).
std::string Replica(const std::string& name, int count, bool prepaid = false) {
  return "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name + "}\nspec:\n" +
         "  zone: ap-beijing-4\n  masterInstanceId: " + (prepaid ? "postgres-prepaid1" : "postgres-abcdef") + "\n" +
         "  specCode: pg.it.small2\n  storageGB: 100\n  count: " + std::to_string(count) + "\n" +
         "  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n  chargeType: " +
         (prepaid ? "PREPAID" : "POSTPAID_BY_HOUR") + "\n";
}

const std::string kTwoResources = Replica("a", 2) + Replica("b", 1);  // 3 replicas over 2 resources
const std::map<std::string, int> kWanted = {{"ReadOnlyInstance/a", 2}, {"ReadOnlyInstance/b", 1}};

// Each resource holds exactly its count, and nothing else the test bought is alive.
void CheckExact(const Tally& t, const std::map<std::string, int>& wanted, int extra_live = 0) {
  INFO(t.text);
  int total = 0;
  for (const auto& [resource, n] : wanted) {
    CAPTURE(resource);
    CHECK((t.by_resource.count(resource) ? t.by_resource.at(resource) : 0) == n);
    total += n;
  }
  CHECK(t.live == total + extra_live);
}

// Exactly the count, converged, and never paid for more than wanted.
void CheckBoughtOnce(Rig& rig, bool converged, const std::map<std::string, int>& wanted = kWanted) {
  Tally t = Count(rig);
  INFO(t.text);
  CHECK(converged);
  CheckExact(t, wanted);
  int total = 0;
  for (const auto& [resource, n] : wanted) total += n;
  CHECK(t.ordered == total);
}

json CreateFault(json rule) {
  rule["action"] = "CreateReadOnlyDBInstance";
  rule["scope"] = "real";
  return rule;
}

// ---- 1. errorAfterCommit ----

TEST_CASE("survival: errorAfterCommit 503 on the purchases buys each replica once") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "errorAfterCommit"}, {"status", 503}, {"times", 2}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

// ---- 2. lateAnswer ----

// A proxy that passes the purchase on and answers with a 4xx of its own proves nothing about
// the cloud: the cloud answers its errors with HTTP 200. Read as a refusal, while the listing
// lagged, the next plan bought everything again.
TEST_CASE("survival: errorAfterCommit 403 from a proxy while listings lag buys each replica once") {
  Rig rig;
  rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 240}, {"times", -1}});
  rig.emu.AddFault(CreateFault({{"type", "errorAfterCommit"}, {"status", 403}, {"times", 2}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: lateAnswer past the client timeout on the purchases buys each replica once") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "lateAnswer"}, {"ms", 6000}, {"times", 2}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

// ---- 3. listingLag ----

TEST_CASE("survival: listingLag absent for 10 minutes buys each replica once") {
  Rig rig;
  rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 600}, {"times", -1}});
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: listingLag untagged for 10 minutes buys each replica once") {
  Rig rig;
  rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 600}, {"mode", "untagged"}, {"times", -1}});
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: a lost purchase answer while listings lag 4 minutes buys each replica once") {
  Rig rig;
  rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 240}, {"times", -1}});
  rig.emu.AddFault(CreateFault({{"type", "dropAfterCommit"}, {"times", 1}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

// Longer than the default search window (360 s): no search can prove that nothing was
// bought before the listing has caught up, so a user whose listings lag this much sets
// purchaseSearchWindow to cover it: 5 minutes of signature validity, plus the lag, plus one.
TEST_CASE("survival: a lost purchase answer while listings lag 10 minutes within a 16 minute search window buys each replica once") {
  Rig rig;
  rig.search_window = std::chrono::seconds(960);
  rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 600}, {"times", -1}});
  rig.emu.AddFault(CreateFault({{"type", "dropAfterCommit"}, {"times", 1}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: a late purchase answer while listings show no tags for 4 minutes buys each replica once") {
  Rig rig;
  rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 240}, {"mode", "untagged"}, {"times", -1}});
  rig.emu.AddFault(CreateFault({{"type", "lateAnswer"}, {"ms", 6000}, {"times", 1}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: a late purchase answer while listings show no tags for 10 minutes within a 16 minute search window buys each replica once") {
  Rig rig;
  rig.search_window = std::chrono::seconds(960);
  rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 600}, {"mode", "untagged"}, {"times", -1}});
  rig.emu.AddFault(CreateFault({{"type", "lateAnswer"}, {"ms", 6000}, {"times", 1}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: listingLag on serverless listings buys the serverless instance once") {
  Rig rig;
  rig.emu.AddFault({{"type", "listingLag"}, {"seconds", 600}, {"times", -1}});
  rig.emu.AddFault({{"type", "lateAnswer"}, {"ms", 6000}, {"action", "CreateServerlessDBInstance"}, {"scope", "real"}});
  bool converged = rig.Converge(
      rig.LoadText("apiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: sandbox}\n"
                   "spec: {zone: ap-beijing-1}\n"),
      3);
  CheckBoughtOnce(rig, converged, {{"ServerlessInstance/sandbox", 1}});
}

// ---- 4. malformedAnswer ----

TEST_CASE("survival: malformedAnswer wrongTypes on the purchases buys each replica once") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "malformedAnswer"}, {"mode", "wrongTypes"}, {"times", 2}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: malformedAnswer truncated on the purchases buys each replica once") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "malformedAnswer"}, {"mode", "truncated"}, {"times", 2}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: malformedAnswer missingSet on the purchases buys each replica once") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "malformedAnswer"}, {"mode", "missingSet"}, {"times", 2}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: malformedAnswer on the listings of a converged stack buys nothing more") {
  for (const char* mode : {"missingSet", "wrongTypes", "truncated"}) {
    CAPTURE(mode);
    Rig rig;
    auto desired = rig.LoadText(kTwoResources);
    REQUIRE(rig.Converge(desired, 1));
    rig.emu.AddFault({{"type", "malformedAnswer"}, {"mode", mode}, {"action", "DescribeDBInstances"}, {"times", 1}});
    bool converged = rig.Converge(desired, 2);
    CheckBoughtOnce(rig, converged);
  }
}

TEST_CASE("survival: malformedAnswer missingSet on DescribeOrders buys each prepaid replica once") {
  Rig rig;
  rig.emu.AddFault({{"type", "malformedAnswer"}, {"mode", "missingSet"}, {"action", "DescribeOrders"}, {"times", 3}});
  bool converged = rig.Converge(rig.LoadText(Replica("p", 3, /*prepaid=*/true)), 3);
  CheckBoughtOnce(rig, converged, {{"ReadOnlyInstance/p", 3}});
}

// ---- 5. order outcomes ----

TEST_CASE("survival: orderFailed on a postpaid purchase ends with exactly the count") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "orderFailed"}, {"times", 1}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  Tally t = Count(rig);
  INFO(t.text);
  CHECK(converged);
  CheckExact(t, kWanted);  // the failed order bought nothing, so buying again is right
}

// A prepaid order that lists nothing by its deadline proves nothing: the cloud may deliver it
// yet. The purchase fails and holds its resource; the user decides to buy again.
TEST_CASE("survival: orderFailed on a prepaid purchase holds the resource until --retry-failed and then ends with exactly the count") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "orderFailed"}, {"times", 1}}));
  auto desired = rig.LoadText(Replica("p", 3, /*prepaid=*/true));
  rig.Converge(desired, 3);
  CHECK(rig.applies == 1);  // nothing more to do on its own
  Result<Plan> held = MakePlan(&rig.cloud, rig.store.get(), &rig.clock, desired, rig.dir.str(), {});
  REQUIRE(held.ok());
  CHECK_FALSE(held->HasChanges());
  REQUIRE(held->failures.size() == 1);
  CHECK(held->failures[0].code == kOrderDeadlineExceeded);
  CHECK(held->failures[0].withheld == 3);
  CHECK(rig.emu.ReadOnlyInstances().empty());
  rig.plan_options.retry_failed = true;
  bool converged = rig.Converge(desired, 3);
  Tally t = Count(rig);
  INFO(t.text);
  CHECK(converged);
  CheckExact(t, {{"ReadOnlyInstance/p", 3}});
}

TEST_CASE("survival: orderRefunded ends with exactly the count once the refunded instances are gone") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "orderRefunded"}, {"times", 1}}));
  auto desired = rig.LoadText(Replica("p", 3, /*prepaid=*/true));
  rig.Converge(desired, 2);
  rig.emu.Advance(7200);  // the refunded instances are gone by now
  bool converged = rig.Converge(desired, 2);
  Tally t = Count(rig);
  INFO(t.text);
  CHECK(converged);
  CheckExact(t, {{"ReadOnlyInstance/p", 3}});
}

TEST_CASE("survival: orderOverDelivered pays for the count and keeps exactly the count in the resource") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "orderOverDelivered"}, {"extra", 1}, {"times", 1}}));
  bool converged = rig.Converge(rig.LoadText(Replica("p", 3, /*prepaid=*/true)), 3);
  Tally t = Count(rig);
  INFO(t.text);
  CHECK(converged);
  CHECK(t.ordered == 3);  // paid for 3: the fourth is the cloud's mistake
  CheckExact(t, {{"ReadOnlyInstance/p", 3}}, /*extra_live=*/1);
  CHECK(t.by_resource["-"] == 1);  // the extra one is not in the resource
}

// ---- 6. stuck ----

TEST_CASE("survival: replicas stuck in initing end terminal at their deadline and are never bought again") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "stuck"}, {"status", "initing"}, {"times", 1}}));
  auto desired = rig.LoadText(kTwoResources);
  rig.Converge(desired, 2);
  CHECK(rig.applies == 1);  // the stuck purchase failed at its deadline; nothing waits on it again
  Result<Plan> plan = MakePlan(&rig.cloud, rig.store.get(), &rig.clock, desired, rig.dir.str(), {});
  REQUIRE(plan.ok());
  CHECK_FALSE(plan->HasChanges());
  REQUIRE(plan->failures.size() == 1);
  CHECK(plan->failures[0].code == kRunningDeadlineExceeded);
  Tally t = Count(rig);
  INFO(t.text);
  CheckExact(t, kWanted);
  CHECK(t.ordered == 3);
}

// ---- 7. throttling, 429, clock skew, token expiry ----

TEST_CASE("survival: a throttling burst on the purchases buys each replica once") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "throttle"}, {"times", 3}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: HTTP 429 on the purchases buys each replica once") {
  Rig rig;
  rig.emu.AddFault(CreateFault({{"type", "httpError"}, {"status", 429}, {"times", 3}}));
  bool converged = rig.Converge(rig.LoadText(kTwoResources), 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: clockSkew refusing the purchases and then fixed buys each replica once") {
  Rig rig;
  auto desired = rig.LoadText(kTwoResources);
  rig.emu.AddFault(CreateFault({{"type", "clockSkew"}, {"seconds", 900}, {"times", -1}}));
  rig.Converge(desired, 1);
  CHECK(rig.emu.ReadOnlyInstances().empty());  // refused before processing
  rig.emu.AdminPost("/_admin/faults", {{"clear", true}});
  bool converged = rig.Converge(desired, 3);
  CheckBoughtOnce(rig, converged);
}

TEST_CASE("survival: an STS token expiring at the purchases and then renewed buys each replica once") {
  Rig rig(Creds::kSts);
  auto desired = rig.LoadText(kTwoResources);
  rig.emu.AddFault(CreateFault({{"type", "tokenExpiry"}, {"times", -1}}));
  rig.Converge(desired, 1);
  CHECK(rig.emu.ReadOnlyInstances().empty());
  rig.emu.AdminPost("/_admin/faults", {{"clear", true}});
  bool converged = rig.Converge(desired, 3);
  CheckBoughtOnce(rig, converged);
}

}  // namespace
}  // namespace reconciler::testing
