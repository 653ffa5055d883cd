// The figures measured inside this process: spec load, the emulator's own capacity, the
// request signer and the curl transport.

#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/scenarios.h"
#include "base/clock.h"
#include "providers/tencentcloud/api_client.h"
#include "providers/tencentcloud/signer.h"
#include "providers/tencentcloud/transport.h"
#include "specs/spec_loader.h"

namespace reconciler::bench {

namespace {

namespace tc = reconciler::tencentcloud;
using nlohmann::json;

constexpr int kRuns = 5;
constexpr const char* kSecretId = "AKIDEMULATORDEMOKEY0000000000000001";
constexpr const char* kSecretKey = "emulator-demo-secret-key-0000000001";

// `resources` replicas across files of 100 documents, with defaults from the project.
void WriteSpecStack(const std::string& dir, int64_t resources) {
  std::ofstream(dir + "/reconciler.yaml")
      << "stack: bench\nprovider: {tencentcloud: {region: ap-beijing}}\n"
         "defaults: {zone: ap-beijing-4, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn, tags: {team: data}}\n";
  for (int64_t f = 0; f * 100 < resources; ++f) {
    std::ofstream out(dir + "/replicas-" + std::to_string(f) + ".yaml");
    for (int64_t d = 0; d < 100 && f * 100 + d < resources; ++d) {
      out << "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: r" << f << "-" << d << "}\n"
          << "spec:\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n  storageGB: 100\n"
          << "  count: 2\n  chargeType: POSTPAID_BY_HOUR\n  securityGroupIds: [sg-iwnfp51z]\n"
          << "  deletionProtection: true\n  tags: {purpose: reporting, shard: \"" << d << "\"}\n";
    }
  }
}

tc::CloudConfig EmulatorConfig(const std::string& url) {
  tc::CloudConfig config;
  config.credentials.secret_id = kSecretId;
  config.credentials.secret_key = tc::Secret(kSecretKey);
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
  in.secret_id = kSecretId;
  in.secret_key = kSecretKey;
  tc::HttpRequest req;
  req.url = url + "/";
  req.body = body;
  req.headers = {{"Host", host}, {"Content-Type", "application/json"}, {"Authorization", tc::Sign(in).authorization},
                 {"X-TC-Action", action}, {"X-TC-Version", "2017-03-12"}, {"X-TC-Region", "ap-beijing"},
                 {"X-TC-Timestamp", std::to_string(in.timestamp)}};
  return req;
}

json PageParams(int64_t offset) {
  return {{"Limit", 100}, {"Offset", offset}, {"Filters", {{{"Name", "db-tag-key"}, {"Values", {"reconciler/stack"}}}}}};
}

// A signed page request until the whole answer has arrived and been decompressed.
void PageLatency(const Emulator& emulator, int64_t n, Results* results) {
  auto transport = tc::NewCurlTransport({});
  std::vector<double> ms;
  for (int i = 0; i < 100; ++i) {
    const int64_t offset = (static_cast<int64_t>(i) * 7919 * 100) % n / 100 * 100;  // spread over the listing
    tc::HttpRequest req = SignedRequest(emulator.url(), "DescribeDBInstances", PageParams(offset).dump());
    const auto start = Clock::now();
    auto r = transport->Send(req);
    ms.push_back(Seconds(Clock::now() - start) * 1000);
    if (!r.ok() || r->body.find("\"DBInstanceId\"") == std::string::npos) Fail("a DescribeDBInstances page failed");
  }
  results->Add("emulator: DescribeDBInstances page (Limit 100) served", n, 0, ms, "ms");
}

// 8 clients calling as fast as answers come, over windows of one second each.
void SustainedDescribe(const Emulator& emulator, int64_t n, Results* results) {
  reconciler::SystemClock clock;
  tc::ApiCall page;
  page.action = "DescribeDBInstances";
  page.region = "ap-beijing";
  std::vector<double> rates;
  int64_t failures = 0;
  for (int window = 0; window < kRuns; ++window) {
    std::atomic<int64_t> ok{0}, failed{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
      clients.emplace_back([&, c] {
        auto transport = tc::NewCurlTransport({});
        tc::ApiClient client(EmulatorConfig(emulator.url()), transport.get(), &clock);
        for (int64_t i = 0; !stop; ++i) {
          if (client.Call(page, PageParams(((c * 997 + i) * 100) % n / 100 * 100)).ok()) ++ok;
          else ++failed;
        }
      });
    }
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(1));  // a benchmark's measuring window, not a test wait
    stop = true;
    for (auto& t : clients) t.join();
    rates.push_back(static_cast<double>(ok) / Seconds(Clock::now() - start));
    failures += failed;
  }
  results->Add("emulator: sustained DescribeDBInstances, Limit 100, 8 clients", n, 0, rates, "calls/s",
               failures ? std::to_string(failures) + " calls failed" : "");
}

}  // namespace

void BenchSpecLoad(const Options& options, Results* results) {
  const std::vector<int64_t> sizes = options.quick ? std::vector<int64_t>{1000} : std::vector<int64_t>{10000, 100000};
  for (int64_t n : sizes) {
    TempDir dir("reconciler-bench-specs");
    WriteSpecStack(dir.path(), n);
    std::vector<double> ms;
    for (int run = 0; run < kRuns; ++run) {
      const auto start = Clock::now();
      reconciler::specs::LoadedStack stack = reconciler::specs::LoadStackDir(dir.path());
      ms.push_back(Seconds(Clock::now() - start) * 1000);
      if (!stack.ok() || stack.desired.resources.size() != static_cast<size_t>(n)) {
        Fail("the generated stack did not load:\n" + stack.RenderDiagnostics());
      }
    }
    results->Add("spec load: load and validate, 100 resources a file", n, std::nullopt, ms, "ms");
  }
}

void BenchEmulator(const Options& options, Results* results) {
  const int64_t n = options.quick ? 1000 : 100000;
  emu::World world = DefaultWorld();
  AddManagedReplicas(&world, "bench", n, 100);
  // Measure capacity, not the documented budget.
  world.catalogue.rate_limits["DescribeDBInstances"] = 100000000;
  Emulator emulator(std::move(world));
  PageLatency(emulator, n, results);
  SustainedDescribe(emulator, n, results);
}

void BenchClient(const Options&, Results* results) {
  {
    tc::SignInput in;
    in.headers = {{"content-type", "application/json"}, {"host", "postgres.tencentcloudapi.com"},
                  {"x-tc-action", "DescribeDBInstances"}};
    const std::string body = PageParams(0).dump();
    in.payload = body;
    in.service = "postgres";
    in.timestamp = 1700000000;
    in.secret_id = "AKIDbench";
    in.secret_key = "benchkey";
    std::vector<double> rates;
    size_t sink = 0;
    for (int run = 0; run < kRuns; ++run) {
      const int count = 5000;
      const auto start = Clock::now();
      for (int i = 0; i < count; ++i) {
        in.timestamp++;
        sink += tc::Sign(in).signature.size();
      }
      rates.push_back(count / Seconds(Clock::now() - start));
    }
    if (sink == 0) Fail("the signer signed nothing");
    results->Add("signer: TC3-HMAC-SHA256 signatures", std::nullopt, std::nullopt, rates, "sig/s");
  }
  {
    httplib::Server server;
    server.set_tcp_nodelay(true);
    server.set_keep_alive_max_count(1000000);
    server.Post("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("{}", "application/json"); });
    const int port = server.bind_to_any_port("127.0.0.1");
    std::thread thread([&] { server.listen_after_bind(); });
    auto transport = tc::NewCurlTransport({});
    tc::HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    req.body = "{}";
    std::vector<double> rates;
    for (int run = 0; run < kRuns; ++run) {
      const int count = 500;
      int ok = 0;
      const auto start = Clock::now();
      for (int i = 0; i < count; ++i) ok += transport->Send(req).ok();
      rates.push_back(ok / Seconds(Clock::now() - start));
    }
    results->Add("transport: sequential keep-alive calls to loopback", std::nullopt, std::nullopt, rates, "calls/s");
    while (!server.is_running()) std::this_thread::yield();
    server.stop();
    thread.join();
  }
}

}  // namespace reconciler::bench
