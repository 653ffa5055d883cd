// `make bench`: measures the figures the issues name. A benchmark, not a test: it prints
// numbers and exits 0 unless something is broken.

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "providers/tencentcloud/signer.h"
#include "providers/tencentcloud/transport.h"

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

}  // namespace

int main() {
  std::printf("%-58s %12s %s\n", "figure", "value", "unit");
  BenchSigner();
  BenchTransport();
  return 0;
}
