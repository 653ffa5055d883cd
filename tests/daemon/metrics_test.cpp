// The metrics exposition, read back by Prometheus's own Python parser (prometheus_client, not
// our code): every family is there with the right type, label values survive escaping, and
// the histogram's buckets are cumulative and end in +Inf.

#include "daemon/metrics.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "daemon/http_server.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using daemon::Metrics;

const char* kPython = "/usr/bin/python3";

// What the parser calls each family (it strips a counter's _total) and its type.
const std::map<std::string, std::string> kFamilies = {
    {"reconciler_reconcile", "counter"},
    {"reconciler_reconcile_duration_seconds", "histogram"},
    {"reconciler_resources", "gauge"},
    {"reconciler_api_calls", "counter"},
    {"reconciler_orders_pending", "gauge"},
    {"reconciler_drift_detected", "counter"},
    {"reconciler_last_success_timestamp_seconds", "gauge"},
    {"reconciler_paused", "gauge"},
    {"reconciler_webhooks", "counter"},
};

// Runs the exposition through prometheus_client. Fails the test, with the parser's own
// message, when it does not parse; returns family name -> family.
std::map<std::string, nlohmann::json> ParseWithPrometheusClient(const std::string& text) {
  REQUIRE_MESSAGE(std::filesystem::exists(kPython),
                  "/usr/bin/python3 is missing: install python3 and python3-prometheus-client "
                  "(scripts/setup.sh test)");
  TempDir dir("metrics");
  std::string file = dir.Write("metrics.txt", text);
  ProcessResult r = RunProcess({kPython, SourcePath("tests/daemon/parse_prometheus.py"), file});
  INFO("parser stderr: " << r.err);
  INFO("exposition:\n" << text);
  REQUIRE_MESSAGE(r.err.find("No module named 'prometheus_client'") == std::string::npos,
                  "python3-prometheus-client is not installed (scripts/setup.sh test installs it)");
  REQUIRE(r.exit_code == 0);
  nlohmann::json parsed = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> families;
  for (const nlohmann::json& f : parsed) {
    INFO("family " << f["name"]);
    CHECK_FALSE(families.count(f["name"]));  // a family split in two would show up twice
    families[f["name"]] = f;
  }
  return families;
}

void CheckAllFamilies(const std::map<std::string, nlohmann::json>& families) {
  std::set<std::string> names;
  for (const auto& [name, f] : families) names.insert(name);
  std::set<std::string> expected;
  for (const auto& [name, type] : kFamilies) expected.insert(name);
  CHECK(names == expected);  // also: no stray "untyped" family from a misnamed sample
  for (const auto& [name, type] : kFamilies) {
    INFO("family " << name);
    REQUIRE(families.count(name));
    CHECK(families.at(name)["type"] == type);
    CHECK_FALSE(families.at(name)["help"].get<std::string>().empty());
  }
}

// The value of the sample called `name` whose labels are exactly `labels`; fails when absent.
double SampleValue(const nlohmann::json& family, const std::string& name,
                   const nlohmann::json& labels) {
  for (const nlohmann::json& s : family["samples"]) {
    if (s["name"] == name && s["labels"] == labels) return s["value"].get<double>();
  }
  FAIL("no sample " << name << labels.dump() << " in " << family.dump());
  return -1;
}

TEST_CASE("daemon metrics: an empty registry parses, with every family and zero gauges") {
  auto families = ParseWithPrometheusClient(Metrics().Render());
  CheckAllFamilies(families);
  CHECK(SampleValue(families["reconciler_orders_pending"], "reconciler_orders_pending",
                    nlohmann::json::object()) == 0);
  CHECK(SampleValue(families["reconciler_paused"], "reconciler_paused", nlohmann::json::object()) ==
        0);
  CHECK(SampleValue(families["reconciler_drift_detected"], "reconciler_drift_detected_total",
                    nlohmann::json::object()) == 0);
  const nlohmann::json& h = families["reconciler_reconcile_duration_seconds"];
  CHECK(SampleValue(h, "reconciler_reconcile_duration_seconds_count", nlohmann::json::object()) ==
        0);
  CHECK(SampleValue(h, "reconciler_reconcile_duration_seconds_bucket", {{"le", "+Inf"}}) == 0);
  CHECK(families["reconciler_resources"]["samples"].empty());
}

TEST_CASE(
    "daemon metrics: every family parses with prometheus_client, values and hostile labels "
    "intact") {
  Metrics m;
  m.CountReconcile("success");
  m.CountReconcile("success");
  m.CountReconcile("error");
  for (double s : {0.01, 0.05, 0.3, 4.0, 301.0}) m.ObserveReconcileSeconds(s);
  const std::string hostile = "a \"quoted\" back\\slash\nnew line";
  m.SetResources({{{"ReadOnlyInstance", "Ready"}, 3},
                  {{"ReadOnlyGroup", "Retrying"}, 1},
                  {{hostile, "Failed"}, 2}});
  m.CountApiCall("CreateReadOnlyDBInstance", "ok");
  m.CountApiCall("CreateReadOnlyDBInstance", "ok");
  m.CountApiCall("DescribeDBInstances", "RequestLimitExceeded");
  m.SetOrdersPending(4);
  m.CountDrift(2);
  m.CountDrift(3);
  m.SetLastSuccess(1764720000);
  m.SetPaused(true);
  m.CountWebhook("github", "accepted");
  m.CountWebhook("github", "bad-signature");
  m.CountWebhook("github", "bad-signature");

  auto families = ParseWithPrometheusClient(m.Render());
  CheckAllFamilies(families);
  const nlohmann::json none = nlohmann::json::object();

  CHECK(SampleValue(families["reconciler_reconcile"], "reconciler_reconcile_total",
                    {{"result", "success"}}) == 2);
  CHECK(SampleValue(families["reconciler_reconcile"], "reconciler_reconcile_total",
                    {{"result", "error"}}) == 1);

  const nlohmann::json& res = families["reconciler_resources"];
  CHECK(SampleValue(res, "reconciler_resources",
                    {{"kind", "ReadOnlyInstance"}, {"condition", "Ready"}}) == 3);
  CHECK(SampleValue(res, "reconciler_resources",
                    {{"kind", "ReadOnlyGroup"}, {"condition", "Retrying"}}) == 1);
  CHECK(SampleValue(res, "reconciler_resources", {{"kind", hostile}, {"condition", "Failed"}}) ==
        2);

  const nlohmann::json& api = families["reconciler_api_calls"];
  CHECK(SampleValue(api, "reconciler_api_calls_total",
                    {{"action", "CreateReadOnlyDBInstance"}, {"code", "ok"}}) == 2);
  CHECK(SampleValue(api, "reconciler_api_calls_total",
                    {{"action", "DescribeDBInstances"}, {"code", "RequestLimitExceeded"}}) == 1);

  CHECK(SampleValue(families["reconciler_orders_pending"], "reconciler_orders_pending", none) == 4);
  CHECK(SampleValue(families["reconciler_drift_detected"], "reconciler_drift_detected_total",
                    none) == 5);
  CHECK(SampleValue(families["reconciler_last_success_timestamp_seconds"],
                    "reconciler_last_success_timestamp_seconds", none) == 1764720000);
  CHECK(SampleValue(families["reconciler_paused"], "reconciler_paused", none) == 1);
  CHECK(SampleValue(families["reconciler_webhooks"], "reconciler_webhooks_total",
                    {{"source", "github"}, {"result", "bad-signature"}}) == 2);
}

TEST_CASE(
    "daemon metrics: the pass-duration histogram is cumulative, ends in +Inf, with sum and count") {
  Metrics m;
  for (double s : {0.01, 0.05, 0.3, 4.0, 4.5, 301.0}) m.ObserveReconcileSeconds(s);
  auto families = ParseWithPrometheusClient(m.Render());
  const nlohmann::json& h = families["reconciler_reconcile_duration_seconds"];
  REQUIRE(h["type"] == "histogram");

  std::vector<std::pair<double, double>> buckets;  // (le, count) in order
  for (const nlohmann::json& s : h["samples"]) {
    if (s["name"] != "reconciler_reconcile_duration_seconds_bucket") continue;
    std::string le = s["labels"]["le"];
    buckets.emplace_back(le == "+Inf" ? INFINITY : std::stod(le), s["value"].get<double>());
  }
  REQUIRE(buckets.size() >= 8);
  CHECK(buckets.front().first == doctest::Approx(0.05));
  CHECK(std::isinf(buckets.back().first));
  CHECK(buckets[buckets.size() - 2].first == doctest::Approx(300));
  for (size_t i = 1; i < buckets.size(); ++i) {
    INFO("bucket " << i);
    CHECK(buckets[i].first > buckets[i - 1].first);
    CHECK(buckets[i].second >= buckets[i - 1].second);
  }
  auto count_at = [&](double le) {
    for (const auto& [bound, n] : buckets) {
      if (bound == doctest::Approx(le)) return n;
    }
    FAIL("no bucket le=" << le);
    return -1.0;
  };
  CHECK(count_at(0.05) == 2);  // 0.01 and 0.05: a bucket includes its bound
  CHECK(count_at(0.5) == 3);
  CHECK(count_at(5) == 5);
  CHECK(count_at(300) == 5);
  CHECK(buckets.back().second == 6);
  CHECK(SampleValue(h, "reconciler_reconcile_duration_seconds_count", nlohmann::json::object()) ==
        6);
  CHECK(SampleValue(h, "reconciler_reconcile_duration_seconds_sum", nlohmann::json::object()) ==
        doctest::Approx(0.01 + 0.05 + 0.3 + 4.0 + 4.5 + 301.0));
}

TEST_CASE("daemon metrics: label values are escaped in the text itself") {
  Metrics m;
  m.CountWebhook("gi\"t\\hub\nx", "accepted");
  std::string text = m.Render();
  CHECK(text.find(R"(reconciler_webhooks_total{source="gi\"t\\hub\nx",result="accepted"} 1)") !=
        std::string::npos);
  // Every family is introduced by HELP then TYPE.
  for (const char* name :
       {"reconciler_reconcile_total", "reconciler_reconcile_duration_seconds",
        "reconciler_resources", "reconciler_api_calls_total", "reconciler_orders_pending",
        "reconciler_drift_detected_total", "reconciler_last_success_timestamp_seconds",
        "reconciler_paused", "reconciler_webhooks_total"}) {
    INFO(name);
    size_t help = text.find(std::string("# HELP ") + name + " ");
    size_t type = text.find(std::string("# TYPE ") + name + " ");
    REQUIRE(help != std::string::npos);
    REQUIRE(type != std::string::npos);
    CHECK(help < type);
  }
}

TEST_CASE("daemon metrics: SetResources replaces the previous counts; counters never go down") {
  Metrics m;
  m.SetResources({{{"ReadOnlyInstance", "Progressing"}, 2}});
  m.SetResources({{{"ReadOnlyInstance", "Ready"}, 2}});
  m.CountDrift(-5);
  m.ObserveReconcileSeconds(NAN);
  auto families = ParseWithPrometheusClient(m.Render());
  const nlohmann::json& res = families["reconciler_resources"];
  REQUIRE(res["samples"].size() == 1);
  CHECK(res["samples"][0]["labels"]["condition"] == "Ready");
  CHECK(SampleValue(families["reconciler_drift_detected"], "reconciler_drift_detected_total",
                    nlohmann::json::object()) == 0);
  CHECK(SampleValue(families["reconciler_reconcile_duration_seconds"],
                    "reconciler_reconcile_duration_seconds_count", nlohmann::json::object()) == 0);
}

TEST_CASE("daemon metrics: concurrent writers lose no counts") {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 1000; ++i) {
        m.CountApiCall("DescribeDBInstances", "ok");
        m.ObserveReconcileSeconds(0.2);
        if (i % 100 == 0) m.Render();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::string text = m.Render();
  CHECK(text.find(R"(reconciler_api_calls_total{action="DescribeDBInstances",code="ok"} 4000)") !=
        std::string::npos);
  CHECK(text.find("reconciler_reconcile_duration_seconds_count 4000\n") != std::string::npos);
}

TEST_CASE("daemon metrics: /metrics as served over HTTP parses with prometheus_client") {
  Metrics m;
  m.CountReconcile("success");
  m.ObserveReconcileSeconds(1.5);
  m.CountWebhook("github", "accepted");
  daemon::HttpServer server;
  daemon::HttpHandlers handlers;
  handlers.metrics = &m;
  REQUIRE(server.Start("127.0.0.1:0", handlers).ok());
  httplib::Client c("127.0.0.1", server.port());
  auto r = c.Get("/metrics");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  auto families = ParseWithPrometheusClient(r->body);
  CheckAllFamilies(families);
  CHECK(SampleValue(families["reconciler_reconcile_duration_seconds"],
                    "reconciler_reconcile_duration_seconds_sum", nlohmann::json::object()) == 1.5);
  CHECK(SampleValue(families["reconciler_webhooks"], "reconciler_webhooks_total",
                    {{"source", "github"}, {"result", "accepted"}}) == 1);
  server.Stop();
}

}  // namespace
}  // namespace reconciler::testing
