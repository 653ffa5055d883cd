// /status and the status page. The JSON carries every field of the model; the page escapes
// every text; and a real browser (headless Chromium) loading the page from a running
// HttpServer shows every resource and runs nothing that hostile text tried to inject.

#include "daemon/status_page.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "daemon/http_server.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using daemon::Condition;
using daemon::ResourceStatus;
using daemon::StackEvent;
using daemon::StackStatus;

const std::string kHostileError =
    "<script>document.title='pwned'</script><img src=x onerror=alert(1)> & \"more\"";

ResourceStatus Resource(std::string key, int64_t desired, int64_t observed, Condition condition) {
  ResourceStatus r;
  r.kind = key.substr(0, key.find('/'));
  r.key = std::move(key);
  r.desired = desired;
  r.observed = observed;
  r.condition = condition;
  return r;
}

StackStatus SampleStatus() {
  StackStatus s;
  s.stack = "prod <east>";
  s.source = "https://git.example/infra.git#main:stacks/prod";
  s.commit = "0123456789abcdef0123456789abcdef01234567";
  s.commit_subject = "Add two replicas & a group";
  s.rejected_commit = "fedcba9876543210fedcba9876543210fedcba98";
  s.rejected_error = "stack.yaml:3:7: unknown field \"replicaz\"";
  s.paused = true;
  s.paused_reason = "paused by ops@example at 2026-12-03T01:00:00Z";
  s.ready = true;
  s.drift_mode = "report";
  s.auto_apply = false;
  s.allow_destroy = true;
  s.interval_seconds = 90;
  s.passes = 42;
  s.last_pass_at = 1764723600;     // 2025-12-03T01:00:00Z
  s.last_success_at = 1764720000;  // 2025-12-03T00:00:00Z
  s.next_pass_at = 1764723690;
  s.last_trigger = "webhook github";
  s.last_result = "error";
  s.last_error = "DescribeDBInstances: " + kHostileError;
  s.orders_pending = 2;

  ResourceStatus ready = Resource("ReadOnlyInstance/reports", 2, 2, Condition::kReady);
  ready.since = 1764700000;

  ResourceStatus retrying = Resource("ReadOnlyInstance/analytics", 3, 1, Condition::kRetrying);
  retrying.message = "purchase failed; retrying";
  retrying.last_error = kHostileError;
  retrying.last_error_code = "FailedOperation.CreateOrderFailed";
  retrying.pending_orders = {"20261203000001", "20261203000002"};
  retrying.waiting = "in backoff until 2025-12-03T01:02:00Z";
  retrying.backoff_until = 1764723720;
  retrying.since = 1764723000;

  ResourceStatus blocked = Resource("ReadOnlyGroup/a&b", 1, 0, Condition::kBlocked);
  blocked.waiting = "destroy not allowed (daemon.allowDestroy)";

  ResourceStatus failed = Resource("ReadOnlyInstance/old", 0, 1, Condition::kFailed);
  failed.last_error = "spec not sold";
  failed.last_error_code = "InvalidParameterValue.BadSpec";

  s.resources = {ready, retrying, blocked, failed};
  s.events = {
      StackEvent{1764720000, "applied", "created ReadOnlyInstance/reports-2 (count 1 -> 2)"},
      StackEvent{1764723600, "terminal", "ReadOnlyInstance/old: <b>spec not sold</b>"}};
  return s;
}

TEST_CASE(
    "daemon status page: /status JSON carries every field, camelCase, times also as UTC text") {
  StackStatus s = SampleStatus();
  nlohmann::json j = daemon::StatusJson(s);
  CHECK(j["stack"] == s.stack);
  CHECK(j["source"] == s.source);
  CHECK(j["commit"] == s.commit);
  CHECK(j["commitSubject"] == s.commit_subject);
  CHECK(j["rejectedCommit"] == s.rejected_commit);
  CHECK(j["rejectedError"] == s.rejected_error);
  CHECK(j["specError"] == "");
  CHECK(j["paused"] == true);
  CHECK(j["pausedReason"] == s.paused_reason);
  CHECK(j["ready"] == true);
  CHECK(j["driftMode"] == "report");
  CHECK(j["autoApply"] == false);
  CHECK(j["allowDestroy"] == true);
  CHECK(j["intervalSeconds"] == 90);
  CHECK(j["passes"] == 42);
  CHECK(j["lastPassAt"] == s.last_pass_at);
  CHECK(j["lastPassAtText"] == UtcText(s.last_pass_at));
  CHECK(j["lastSuccessAt"] == s.last_success_at);
  CHECK(j["lastSuccessAtText"] == "2025-12-03T00:00:00Z");
  CHECK(j["nextPassAt"] == s.next_pass_at);
  CHECK(j["nextPassAtText"] == UtcText(s.next_pass_at));
  CHECK(j["lastTrigger"] == "webhook github");
  CHECK(j["lastResult"] == "error");
  CHECK(j["lastError"] == s.last_error);
  CHECK(j["ordersPending"] == 2);

  REQUIRE(j["resources"].size() == 4);
  const nlohmann::json& r = j["resources"][1];
  CHECK(r["key"] == "ReadOnlyInstance/analytics");
  CHECK(r["kind"] == "ReadOnlyInstance");
  CHECK(r["desired"] == 3);
  CHECK(r["observed"] == 1);
  CHECK(r["condition"] == "Retrying");
  CHECK(r["message"] == "purchase failed; retrying");
  CHECK(r["lastError"] == kHostileError);  // JSON carries the text as is; it is data
  CHECK(r["lastErrorCode"] == "FailedOperation.CreateOrderFailed");
  CHECK(r["pendingOrders"] == nlohmann::json::array({"20261203000001", "20261203000002"}));
  CHECK(r["waiting"] == "in backoff until 2025-12-03T01:02:00Z");
  CHECK(r["backoffUntil"] == 1764723720);
  CHECK(r["backoffUntilText"] == "2025-12-03T01:02:00Z");
  CHECK(r["since"] == 1764723000);
  CHECK(r["sinceText"] == UtcText(1764723000));
  CHECK(j["resources"][2]["backoffUntilText"] == "");  // 0 is "none", not 1970
  CHECK(j["resources"][2]["condition"] == "Blocked");

  REQUIRE(j["events"].size() == 2);
  CHECK(j["events"][1]["kind"] == "terminal");
  CHECK(j["events"][1]["at"] == 1764723600);
  CHECK(j["events"][1]["atText"] == UtcText(1764723600));
  CHECK(j["events"][1]["message"] == "ReadOnlyInstance/old: <b>spec not sold</b>");
}

TEST_CASE("daemon status page: the HTML escapes every text and marks each resource row") {
  std::string html = daemon::StatusHtml(SampleStatus(), 7);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<meta http-equiv=\"refresh\" content=\"7\">") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img src=x "
                  "onerror=alert(1)&gt; "
                  "&amp; &quot;more&quot;") != std::string::npos);
  CHECK(html.find("<title>reconciler: prod &lt;east&gt;</title>") != std::string::npos);
  CHECK(html.find("&lt;b&gt;spec not sold&lt;/b&gt;") != std::string::npos);
  CHECK(html.find("data-key=\"ReadOnlyGroup/a&amp;b\"") != std::string::npos);
  CHECK(html.find("id=\"resource-ReadOnlyInstance/reports\"") != std::string::npos);
  CHECK(html.find("id=\"paused-banner\"") != std::string::npos);
  CHECK(html.find("id=\"rejected-banner\"") != std::string::npos);
  CHECK(html.find("fedcba9876543210fedcba9876543210fedcba98") != std::string::npos);
  CHECK(html.find(UtcText(1764723600)) != std::string::npos);  // last pass
  CHECK(html.find(UtcText(1764723690)) != std::string::npos);  // next pass
  CHECK(html.find("20261203000002") != std::string::npos);
  CHECK(html.find("FailedOperation.CreateOrderFailed") != std::string::npos);
  // No banner for what is not the case.
  StackStatus calm;
  calm.stack = "calm";
  std::string quiet = daemon::StatusHtml(calm, 0);
  CHECK(quiet.find("paused-banner") == std::string::npos);
  CHECK(quiet.find("rejected-banner") == std::string::npos);
  CHECK(quiet.find("content=\"1\"") != std::string::npos);  // a refresh below 1 s is raised to 1
  CHECK(quiet.find("never") != std::string::npos);
}

// The part of the dumped DOM that is the row for `key`, from its data-key to the row's end.
std::string RowOf(const std::string& dom, const std::string& escaped_key) {
  size_t start = dom.find("data-key=\"" + escaped_key + "\"");
  if (start == std::string::npos) return "";
  size_t end = dom.find("</tr>", start);
  return dom.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST_CASE(
    "daemon status page: headless Chromium shows every resource and runs no injected script") {
  const std::string chromium = "/usr/bin/chromium";
  REQUIRE_MESSAGE(
      std::filesystem::exists(chromium),
      "Chromium is not installed at /usr/bin/chromium; `scripts/setup.sh test` installs it");

  StackStatus status = SampleStatus();
  daemon::Metrics metrics;
  daemon::WebhookVerifier verifier("secret");
  daemon::HttpServer server;
  daemon::HttpHandlers handlers;
  handlers.status = [status] { return status; };
  handlers.metrics = &metrics;
  handlers.webhooks = &verifier;
  handlers.refresh_seconds = 30;
  REQUIRE(server.Start("127.0.0.1:0", handlers).ok());

  TempDir profile("chromium");
  Child browser({chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--user-data-dir=" + profile.str(), "--dump-dom",
                 "http://127.0.0.1:" + std::to_string(server.port()) + "/"},
                {"HOME=" + profile.str()});
  bool ended = browser.WaitForEnd(std::chrono::steady_clock::now() + std::chrono::seconds(60));
  if (!ended) browser.Signal(SIGKILL);
  ProcessResult r = browser.Wait();
  REQUIRE_MESSAGE(ended, "chromium did not finish within 60 s; stderr:\n" << r.err);
  INFO("chromium stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string& dom = r.out;
  INFO("dumped DOM:\n" << dom);
  REQUIRE(dom.find("<table id=\"resources\"") != std::string::npos);

  for (const ResourceStatus& res : status.resources) {
    std::string escaped_key = res.key == "ReadOnlyGroup/a&b" ? "ReadOnlyGroup/a&amp;b" : res.key;
    INFO("resource " << res.key);
    std::string row = RowOf(dom, escaped_key);
    REQUIRE_FALSE(row.empty());
    CHECK(row.find(escaped_key + "</td>") != std::string::npos);  // the key shown as text
    CHECK(row.find(std::string(">") + daemon::ConditionName(res.condition) + "<") !=
          std::string::npos);
    CHECK(row.find(std::to_string(res.desired) + " / " + std::to_string(res.observed)) !=
          std::string::npos);
    if (!res.last_error_code.empty()) CHECK(row.find(res.last_error_code) != std::string::npos);
  }
  CHECK(RowOf(dom, "ReadOnlyInstance/analytics").find("20261203000001") != std::string::npos);

  // The hostile text is text: no element came of it, and it did not run.
  CHECK(dom.find("<script") == std::string::npos);
  CHECK(dom.find("<img") == std::string::npos);
  CHECK(dom.find("&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x "
                 "onerror=alert(1)&gt;") != std::string::npos);
  CHECK(dom.find("<title>reconciler: prod &lt;east&gt;</title>") != std::string::npos);
  CHECK(dom.find("pwned</title>") == std::string::npos);
  CHECK(dom.find("http-equiv=\"refresh\" content=\"30\"") != std::string::npos);
  CHECK(dom.find("id=\"paused-banner\"") != std::string::npos);
  server.Stop();
}

}  // namespace
}  // namespace reconciler::testing
