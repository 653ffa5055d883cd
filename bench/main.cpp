// `make bench`: measures the figures the issues name. A benchmark, not a test: it prints
// numbers and exits 0 unless something is broken.

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/tencentcloud/api_client.h"
#include "emulator/server.h"
#include "providers/tencentcloud/signer.h"
#include "providers/tencentcloud/transport.h"
#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "state/sqlite/sqlite_state_store.h"
#include "engine/engine.h"
#include "engine/executor.h"
#include "specs/spec_loader.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Report(const char* name, double value, const char* unit) {
  std::printf("%-58s %12.3f %s\n", name, value, unit);
}

void BenchSigner() {
  namespace tc = reconciler::tencentcloud;
  tc::SignInput in;
  in.headers = {{"content-type", "application/json"}, {"host", "postgres.tencentcloudapi.com"},
                {"x-tc-action", "DescribeDBInstances"}};
  std::string body = R"({"Limit":100,"Offset":0,"Filters":[{"Name":"db-tag-key","Values":["reconciler/stack"]}]})";
  in.payload = body;
  in.service = "postgres";
  in.timestamp = 1700000000;
  in.secret_id = "AKIDbench";
  in.secret_key = "benchkey";
  const int n = 20000;
  auto start = Clock::now();
  size_t sink = 0;
  for (int i = 0; i < n; ++i) {
    in.timestamp++;
    sink += tc::Sign(in).signature.size();
  }
  double s = Seconds(Clock::now() - start);
  Report("signer: TC3-HMAC-SHA256 signatures per second", n / s, "sig/s");
  if (sink == 0) std::puts("");
}

void BenchTransport() {
  namespace tc = reconciler::tencentcloud;
  httplib::Server server;
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1000000);
  server.Post("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("{}", "application/json"); });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  auto transport = tc::NewCurlTransport({});
  tc::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  req.body = "{}";
  const int n = 2000;
  auto start = Clock::now();
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += transport->Send(req).ok();
  double s = Seconds(Clock::now() - start);
  Report("transport: sequential keep-alive calls to loopback per second", ok / s, "calls/s");
  while (!server.is_running()) std::this_thread::yield();
  server.stop();
  thread.join();
}

namespace tc = reconciler::tencentcloud;
namespace emu = reconciler::tencentcloud::emulator;
using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The default world plus `count` generated replicas carrying the stack tag.
emu::World ScaleWorld(int count) {
  std::string text = ReadFile(std::string(RECONCILER_SOURCE_DIR) + "/emulator/worlds/default.yaml");
  text += "generate:\n  - {count: " + std::to_string(count) +
          ", type: readonly, masterId: postgres-abcdef, region: ap-beijing, zone: ap-beijing-4, specCode: pg.it.small2,"
          " storageGB: 100, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn, tags: {reconciler/stack: bench, reconciler/resource: 'ReadOnlyInstance/r{i}'}}\n";
  auto world = emu::LoadWorldText(text, "scale-world");
  if (!world.ok()) {
    std::fprintf(stderr, "bench: %s\n", world.status().message().c_str());
    std::exit(1);
  }
  // Measure capacity, not the documented budget.
  world->catalogue.rate_limits["DescribeDBInstances"] = 1000000;
  world->catalogue.rate_limits["DescribeDBInstanceAttribute"] = 1000000;
  return std::move(world).value();
}

tc::CloudConfig DemoConfig(const std::string& url) {
  tc::CloudConfig config;
  config.credentials.secret_id = "AKIDEMULATORDEMOKEY0000000000000001";
  config.credentials.secret_key = tc::Secret("emulator-demo-secret-key-0000000001");
  config.endpoints.SetOverride(url);
  return config;
}

tc::HttpRequest SignedRequest(const std::string& url, const std::string& action, const std::string& body) {
  const std::string host = url.substr(url.find("://") + 3);
  tc::SignInput in;
  in.headers = {{"content-type", "application/json"}, {"host", host}};
  in.payload = body;
  in.service = "postgres";
  in.timestamp = reconciler::SystemClock().NowUnixSeconds();
  in.secret_id = "AKIDEMULATORDEMOKEY0000000000000001";
  in.secret_key = "emulator-demo-secret-key-0000000001";
  tc::HttpRequest req;
  req.url = url + "/";
  req.body = body;
  req.headers = {{"Host", host}, {"Content-Type", "application/json"}, {"Authorization", tc::Sign(in).authorization},
                 {"X-TC-Action", action}, {"X-TC-Version", "2017-03-12"}, {"X-TC-Region", "ap-beijing"},
                 {"X-TC-Timestamp", std::to_string(in.timestamp)}};
  return req;
}

void BenchEmulator() {
  auto server = emu::EmulatorServer::Create(ScaleWorld(10000), {});
  auto port = (*server)->Bind("127.0.0.1", 0);
  std::thread serving([&] { (*server)->Serve(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(*port);
  reconciler::SystemClock clock;

  // "Served": a signed request until the whole answer has arrived and been decompressed.
  {
    auto transport = tc::NewCurlTransport({});
    std::vector<double> ms;
    for (int i = 0; i < 300; ++i) {
      json p = {{"Limit", 100}, {"Offset", (i * 100) % 10000},
                {"Filters", {{{"Name", "db-tag-key"}, {"Values", {"reconciler/stack"}}}}}};
      tc::HttpRequest req = SignedRequest(url, "DescribeDBInstances", p.dump());
      auto start = Clock::now();
      auto r = transport->Send(req);
      ms.push_back(Seconds(Clock::now() - start) * 1000);
      if (!r.ok() || r->body.size() < 100000) {
        std::fprintf(stderr, "bench: page failed\n");
        std::exit(1);
      }
    }
    std::sort(ms.begin(), ms.end());
    Report("emulator: DescribeDBInstances page of 100 of 10,000 served, median", ms[ms.size() / 2], "ms");
    Report("emulator: DescribeDBInstances page of 100 of 10,000 served, p99", ms[ms.size() * 99 / 100], "ms");
  }

  tc::ApiCall page;
  page.action = "DescribeDBInstances";
  page.region = "ap-beijing";
  json params = {{"Limit", 100}, {"Offset", 0}, {"Filters", {{{"Name", "db-tag-key"}, {"Values", {"reconciler/stack"}}}}}};
  {
    auto transport = tc::NewCurlTransport({});
    tc::ApiClient client(DemoConfig(url), transport.get(), &clock);
    std::vector<double> ms;
    for (int i = 0; i < 300; ++i) {
      params["Offset"] = (i * 100) % 10000;
      auto start = Clock::now();
      auto r = client.Call(page, params);
      ms.push_back(Seconds(Clock::now() - start) * 1000);
      if (!r.ok() || (*r)["DBInstanceSet"].size() != 100) {
        std::fprintf(stderr, "bench: page failed: %s\n", r.ok() ? "short page" : r.status().ToString().c_str());
        std::exit(1);
      }
    }
    std::sort(ms.begin(), ms.end());
    Report("emulator: same page, round trip with client JSON parse, median", ms[ms.size() / 2], "ms");
  }
  for (int limit : {10, 100}) {
    std::atomic<int> ok{0}, failed{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
      clients.emplace_back([&, c] {
        auto transport = tc::NewCurlTransport({});
        tc::ApiClient client(DemoConfig(url), transport.get(), &clock);
        json p = params;
        p["Limit"] = limit;
        for (int i = 0; !stop; ++i) {
          p["Offset"] = ((c * 997 + i) * limit) % 10000;
          if (client.Call(page, p).ok()) ++ok;
          else ++failed;
        }
      });
    }
    auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(3));  // a benchmark's measuring window, not a test wait
    stop = true;
    for (auto& t : clients) t.join();
    double s = Seconds(Clock::now() - start);
    std::string name = "emulator: DescribeDBInstances Limit " + std::to_string(limit) + ", 8 clients, calls/s";
    Report(name.c_str(), ok / s, failed ? "calls/s (with failures!)" : "calls/s");
  }
  (*server)->Stop();
  serving.join();
}

// 10,000 replicas across 100 files, each file 100 documents with defaults from the project.
void BenchSpecLoader() {
  char pattern[] = "/tmp/reconciler-bench-XXXXXX";
  std::string dir = mkdtemp(pattern);
  std::ofstream(dir + "/reconciler.yaml")
      << "stack: bench\nprovider: {tencentcloud: {region: ap-beijing}}\n"
         "defaults: {zone: ap-beijing-4, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn, tags: {team: data}}\n";
  for (int f = 0; f < 100; ++f) {
    std::ofstream out(dir + "/replicas-" + std::to_string(f) + ".yaml");
    for (int d = 0; d < 100; ++d) {
      out << "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: r" << f << "-" << d << "}\n"
          << "spec:\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n  storageGB: 100\n"
          << "  count: 2\n  chargeType: POSTPAID_BY_HOUR\n  securityGroupIds: [sg-iwnfp51z]\n"
          << "  deletionProtection: true\n  tags: {purpose: reporting, shard: \"" << d << "\"}\n";
    }
  }
  std::vector<double> seconds;
  for (int run = 0; run < 5; ++run) {
    auto start = Clock::now();
    reconciler::specs::LoadedStack stack = reconciler::specs::LoadStackDir(dir);
    seconds.push_back(Seconds(Clock::now() - start));
    if (!stack.ok() || stack.desired.resources.size() != 10000) {
      std::fprintf(stderr, "bench: the generated stack did not load:\n%s", stack.RenderDiagnostics().c_str());
      std::exit(1);
    }
  }
  std::sort(seconds.begin(), seconds.end());
  Report("specs: load and validate 10,000 resources in 100 files, median", seconds[2] * 1000, "ms");
  std::filesystem::remove_all(dir);
}

// A clock whose sleeps move the emulator's manual clock, as in the tests.
class LinkedClock final : public reconciler::Clock {
 public:
  explicit LinkedClock(int port) : port_(port) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(offset_ms_.load());
  }
  using reconciler::Clock::SleepFor;
  bool SleepFor(std::chrono::milliseconds d, std::stop_token stop) override {
    if (stop.stop_requested()) return false;
    httplib::Client admin("127.0.0.1", port_);
    admin.Post(("/_admin/advance?seconds=" + std::to_string(d.count() / 1000.0)).c_str(), "", "application/json");
    offset_ms_ += d.count();
    return true;
  }

 private:
  int port_;
  std::atomic<int64_t> offset_ms_{0};
};

int64_t TotalCalls(int port) {
  httplib::Client admin("127.0.0.1", port);
  auto res = admin.Get("/_admin/calls");
  int64_t total = 0;
  json calls = json::parse(res->body);
  for (const auto& [action, c] : calls.items()) total += c["total"].get<int64_t>();
  return total;
}

// A no-op plan over 1,000 managed replicas: 10 resources of 100 in one read-only group,
// bought through the real provider and executor, then planned again and again.
void BenchPlan() {
  auto world = emu::LoadWorldFile(std::string(RECONCILER_SOURCE_DIR) + "/emulator/worlds/default.yaml");
  world->catalogue.clock.manual = true;
  world->catalogue.replica_quota_per_master = 5000;
  world->initial.balance_cents = 1000000000000;
  auto server = emu::EmulatorServer::Create(std::move(world).value(), {});
  int port = *(*server)->Bind("127.0.0.1", 0);
  std::thread serving([&] { (*server)->Serve(); });

  char pattern[] = "/tmp/reconciler-bench-plan-XXXXXX";
  std::string dir = mkdtemp(pattern);
  std::ofstream(dir + "/reconciler.yaml") << "stack: bench\nprovider: {tencentcloud: {region: ap-beijing}}\n"
                                             "defaults: {zone: ap-beijing-4, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n";
  std::ofstream specs(dir + "/replicas.yaml");
  specs << "apiVersion: reconciler/v1\nkind: ReadOnlyGroup\nmetadata: {name: bench-group}\n"
           "spec: {masterInstanceId: postgres-abcdef}\n";
  for (int r = 0; r < 10; ++r) {
    specs << "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: replicas-" << r << "}\n"
          << "spec: {masterInstanceId: postgres-abcdef, specCode: pg.it.small2, storageGB: 100, count: 100, "
             "chargeType: POSTPAID_BY_HOUR, readOnlyGroup: bench-group}\n";
  }
  specs.close();
  reconciler::specs::LoadedStack stack = reconciler::specs::LoadStackDir(dir);

  LinkedClock clock(port);
  reconciler::SystemClock signing;
  auto transport = tc::NewCurlTransport({});
  tc::ApiClient client(DemoConfig("http://127.0.0.1:" + std::to_string(port)), transport.get(), &signing);
  reconciler::RateBudget budget(&clock, &tc::DocumentedRateLimit);
  tc::TencentCloud cloud(&client, &budget, &clock);
  auto store = std::move(reconciler::OpenSqliteStateStore(dir + "/state.db", &clock)).value();

  auto start = Clock::now();
  auto plan = reconciler::MakePlan(&cloud, store.get(), &clock, stack.desired, dir, {});
  reconciler::RecordingReporter reporter;
  reconciler::Executor executor(&cloud, store.get(), &clock, &reporter, "bench");
  reconciler::ApplyResult applied = executor.Apply(*plan);
  double apply_s = Seconds(Clock::now() - start);
  if (!applied.ok()) {
    std::fprintf(stderr, "bench: the 1,000-replica apply failed\n");
    std::exit(1);
  }
  Report("plan+apply: buy 1,000 replicas (167 purchases), wall time", apply_s, "s");

  std::vector<double> ms;
  int64_t calls = 0;
  for (int run = 0; run < 7; ++run) {
    int64_t before = TotalCalls(port);
    auto t0 = Clock::now();
    auto again = reconciler::MakePlan(&cloud, store.get(), &clock, stack.desired, dir, {});
    ms.push_back(Seconds(Clock::now() - t0) * 1000);
    calls = TotalCalls(port) - before;
    if (!again.ok() || again->HasChanges()) {
      std::fprintf(stderr, "bench: the no-op plan was not a no-op\n");
      std::exit(1);
    }
  }
  std::sort(ms.begin(), ms.end());
  Report("plan: no-op over 1,000 managed replicas, API calls", static_cast<double>(calls), "calls");
  Report("plan: no-op over 1,000 managed replicas, wall time median", ms[ms.size() / 2], "ms");
  // What a per-instance refresh costs, as the Terraform provider does it (it also reads
  // security groups and tags per instance, which the emulator does not serve): two calls
  // per replica, against the same emulator.
  {
    tc::ApiCall attr{"postgres", "2017-03-12", "DescribeDBInstanceAttribute", "ap-beijing", tc::Effect::kRead};
    tc::ApiCall groups{"postgres", "2017-03-12", "DescribeReadOnlyGroups", "ap-beijing", tc::Effect::kRead};
    std::vector<reconciler::InstanceRecord> ids = *store->Instances();
    auto t0 = Clock::now();
    size_t n = std::min<size_t>(ids.size(), 200);
    for (size_t i = 0; i < n; ++i) {
      client.Call(attr, {{"DBInstanceId", ids[i].id}});
      client.Call(groups, {{"Filters", {{{"Name", "db-master-instance-id"}, {"Values", {"postgres-abcdef"}}}}}});
    }
    double per = Seconds(Clock::now() - t0) / static_cast<double>(n);
    Report("baseline: per-instance refresh (2 calls each), est. 1,000 replicas", per * 1000, "s (no rate limit)");
    Report("baseline: same, under the documented 20/s DescribeReadOnlyGroups limit", 1000.0 / 20, "s at least");
  }
  std::filesystem::remove_all(dir);
  (*server)->Stop();
  serving.join();
}

}  // namespace

void BenchDaemon(const std::string& bin_dir);  // daemon_bench.cpp

int main(int, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as it is measured
  std::printf("%-58s %12s %s\n", "figure", "value", "unit");
  const std::string self = argv[0];
  const std::string bin_dir = self.find('/') == std::string::npos ? "." : self.substr(0, self.rfind('/'));
  // RECONCILER_BENCH_ONLY=daemon runs only the daemon's figures.
  const char* only = std::getenv("RECONCILER_BENCH_ONLY");
  if (only == nullptr || std::string(only) != "daemon") {
    BenchSpecLoader();
    BenchPlan();
    BenchSigner();
    BenchTransport();
    BenchEmulator();
  }
  BenchDaemon(bin_dir);
  return 0;
}
