// The daemon's figures (issue 11), measured on the real `reconciler run` process against an
// in-process emulator over loopback:
//   - spec change to apply start: a spec file written in the watched directory, to the first
//     non-DryRun create the emulator receives (so planning and preflight are inside it);
//   - webhook to apply start: a commit pushed to the followed repository (no hook, polling
//     off), then a signed GitHub webhook, to the first create;
//   - idle CPU: the daemon's own user+system time (/proc/PID/stat) over an idle stretch,
//     with 1,000 managed instances and a 60 s resync.

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/scenarios.h"
#include "emulator/server.h"
#include "emulator/world.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace emu = reconciler::tencentcloud::emulator;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using reconciler::bench::Results;

constexpr const char* kSecret = "bench-webhook-secret";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

int Run(const std::vector<std::string>& argv, const std::string& cwd = "") {
  pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(127);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The daemon as a child process, its log to a file.
struct Daemon {
  Daemon(const std::vector<std::string>& args, const std::string& log) {
    pid = fork();
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Daemon() {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
  }
  // User + system CPU seconds so far.
  double CpuSeconds() const {
    std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    std::istringstream in(stat.substr(stat.rfind(')') + 2));
    std::string field;
    std::vector<std::string> f;
    while (in >> field) f.push_back(field);
    // After "pid (comm) ": state is field 0; utime and stime are fields 11 and 12.
    return (std::stod(f.at(11)) + std::stod(f.at(12))) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  pid_t pid = -1;
};

struct World {
  World() {
    std::string text = ReadFile(std::string(RECONCILER_SOURCE_DIR) + "/emulator/worlds/default.yaml");
    auto world = emu::LoadWorldText(text, "daemon-bench");
    if (!world.ok()) {
      std::fprintf(stderr, "bench: %s\n", world.status().message().c_str());
      std::exit(1);
    }
    world->catalogue.clock.manual = false;
    world->catalogue.clock.time_scale = 0.01;
    world->catalogue.replica_quota_per_master = 5000;
    world->initial.balance_cents = 1000000000000;
    server = std::move(emu::EmulatorServer::Create(std::move(world).value(), {})).value();
    port = *server->Bind("127.0.0.1", 0);
    serving = std::thread([this] { server->Serve(); });
  }
  ~World() {
    server->Stop();
    serving.join();
  }
  int64_t Creates() {
    httplib::Client admin("127.0.0.1", port);
    auto res = admin.Get("/_admin/calls");
    if (!res) return -1;
    json calls = json::parse(res->body, nullptr, false);
    if (!calls.contains("CreateReadOnlyDBInstance")) return 0;
    const json& c = calls["CreateReadOnlyDBInstance"];
    return c.value("total", int64_t{0}) - c.value("dryRun", int64_t{0});
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::unique_ptr<emu::EmulatorServer> server;
  int port = 0;
  std::thread serving;
};

std::vector<std::string> Env(const World& w) {
  return {"TENCENTCLOUD_SECRET_ID=AKIDEMULATORDEMOKEY0000000000000001",
          "TENCENTCLOUD_SECRET_KEY=emulator-demo-secret-key-0000000001", "TENCENTCLOUD_ENDPOINT=" + w.url(),
          std::string("RECONCILER_WEBHOOK_SECRET=") + kSecret};
}

void SetEnv(const std::vector<std::string>& env) {
  for (const std::string& e : env) {
    const size_t eq = e.find('=');
    setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
  }
}

bool WaitUntil(const std::function<bool()>& pred, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling pace: 10 ms resolution
  }
  return false;
}

std::string Replica(const std::string& name, int count) {
  return "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name +
         "}\nspec: {masterInstanceId: postgres-abcdef, specCode: pg.it.small2, storageGB: 100, count: " +
         std::to_string(count) + ", chargeType: POSTPAID_BY_HOUR}\n";
}

std::string ProjectYaml(int port, const std::string& daemon) {
  return "stack: bench\nprovider: {tencentcloud: {region: ap-beijing}}\n"
         "defaults: {zone: ap-beijing-4, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n"
         "daemon: {listen: '127.0.0.1:" + std::to_string(port) + "', " + daemon + "}\n";
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) != 0) {
    std::perror("bench: a free port");
    std::exit(1);
  }
  close(fd);
  return ntohs(a.sin_port);
}

std::string Sign(const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(std::strlen(kSecret)),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  std::string out;
  char hex[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", mac[i]);
    out += hex;
  }
  return out;
}

json StatusOf(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/status");
  if (!r || r->status != 200) return json();
  return json::parse(r->body, nullptr, false);
}

int64_t Passes(int port) {
  json s = StatusOf(port);
  return s.is_object() ? s.value("passes", int64_t{0}) : -1;
}

// Converged, by a pass that ended after `after` passes: so a status written before the
// purchase that is being followed does not count.
bool Ready(int port, int64_t after = 0) {
  json s = StatusOf(port);
  return s.is_object() && s.value("passes", int64_t{0}) > after && s.value("ready", false) &&
         s.value("lastResult", "") == "success" && s.value("ordersPending", -1) == 0;
}

void BenchSpecChange(const std::string& reconciler, Results* results) {
  World world;
  SetEnv(Env(world));
  char pattern[] = "/tmp/reconciler-bench-daemon-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  const int port = FreePort();
  std::ofstream(dir + "/reconciler.yaml") << ProjectYaml(port, "interval: 1h");
  std::ofstream(dir + "/replicas.yaml") << Replica("seed", 1);
  Daemon d({reconciler, "run", dir}, dir + "/daemon.log");
  if (!WaitUntil([&] { return Ready(port); }, std::chrono::seconds(60))) {
    std::fprintf(stderr, "bench: the daemon did not converge; see %s/daemon.log\n", dir.c_str());
    std::exit(1);
  }
  std::vector<double> ms;
  for (int i = 0; i < 7; ++i) {
    const int64_t before = world.Creates();
    const auto t0 = Clock::now();
    {
      std::ofstream out(dir + "/more.yaml.tmp");
      out << Replica("more" + std::to_string(i), 1);
      for (int k = 0; k < i; ++k) out << Replica("more" + std::to_string(k), 1);
    }
    fs::rename(dir + "/more.yaml.tmp", dir + "/more.yaml");  // as editors and git write files
    if (!WaitUntil([&] { return world.Creates() > before; }, std::chrono::seconds(30))) {
      std::fprintf(stderr, "bench: no create after a spec change\n");
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    const int64_t passes = Passes(port);
    WaitUntil([&] { return Ready(port, passes); }, std::chrono::seconds(60));
  }
  results->Add("daemon: spec change to apply start (limit 500 ms)", std::nullopt, 0, ms, "ms");
  fs::remove_all(dir);
}

void BenchWebhook(const std::string& reconciler, Results* results) {
  World world;
  SetEnv(Env(world));
  char pattern[] = "/tmp/reconciler-bench-hook-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  const std::string work = dir + "/work", bare = dir + "/stack.git";
  const int port = FreePort();
  setenv("GIT_AUTHOR_NAME", "bench", 1);
  setenv("GIT_AUTHOR_EMAIL", "bench@example.com", 1);
  setenv("GIT_COMMITTER_NAME", "bench", 1);
  setenv("GIT_COMMITTER_EMAIL", "bench@example.com", 1);
  fs::create_directories(work);
  Run({"git", "init", "-q", "-b", "main", work});
  Run({"git", "init", "-q", "--bare", "-b", "main", bare});
  Run({"git", "-C", work, "remote", "add", "origin", bare});
  auto commit = [&](const std::string& replicas) {
    std::ofstream(work + "/reconciler.yaml") << ProjectYaml(port, "interval: 1h, gitPoll: 7d");
    std::ofstream(work + "/replicas.yaml") << replicas;
    Run({"git", "-C", work, "add", "-A"});
    Run({"git", "-C", work, "commit", "-q", "-m", "bench"});
    Run({"git", "-C", work, "push", "-q", "origin", "main"});
  };
  std::string specs = Replica("seed", 1);
  commit(specs);
  Daemon d({reconciler, "run", "--git", bare, "--workdir", dir + "/daemon"}, dir + "/daemon.log");
  if (!WaitUntil([&] { return Ready(port); }, std::chrono::seconds(60))) {
    std::fprintf(stderr, "bench: the git daemon did not converge; see %s/daemon.log\n", dir.c_str());
    std::exit(1);
  }
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    specs += Replica("hooked" + std::to_string(i), 1);
    commit(specs);
    const int64_t before = world.Creates();
    const std::string body = R"({"ref":"refs/heads/main"})";
    const auto t0 = Clock::now();
    httplib::Client c("127.0.0.1", port);
    auto res = c.Post("/hooks/github",
                      {{"X-Hub-Signature-256", "sha256=" + Sign(body)}, {"X-GitHub-Event", "push"},
                       {"X-GitHub-Delivery", "bench-" + std::to_string(i)}},
                      body, "application/json");
    if (!res || res->status != 202 || !WaitUntil([&] { return world.Creates() > before; }, std::chrono::seconds(30))) {
      std::fprintf(stderr, "bench: the webhook started no apply\n");
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    const int64_t passes = Passes(port);
    WaitUntil([&] { return Ready(port, passes); }, std::chrono::seconds(60));
  }
  results->Add("daemon: webhook to apply start (limit 1,000 ms)", std::nullopt, 0, ms, "ms");
  fs::remove_all(dir);
}

void BenchIdle(const std::string& reconciler, Results* results) {
  World world;
  SetEnv(Env(world));
  char pattern[] = "/tmp/reconciler-bench-idle-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  const int port = FreePort();
  std::ofstream(dir + "/reconciler.yaml") << ProjectYaml(port, "interval: 60s");
  std::ofstream specs(dir + "/replicas.yaml");
  for (int r = 0; r < 10; ++r) specs << Replica("r" + std::to_string(r), 100);
  specs.close();
  // The daemon buys the 1,000 instances itself (167 purchases), then idles.
  Daemon d({reconciler, "run", dir}, dir + "/daemon.log");
  if (!WaitUntil([&] { return Ready(port); }, std::chrono::seconds(120))) {
    std::fprintf(stderr, "bench: the idle daemon did not converge; see %s/daemon.log\n", dir.c_str());
    std::exit(1);
  }
  const int64_t creates = world.Creates();
  const double cpu0 = d.CpuSeconds();
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(65));  // a benchmark's measuring window: one resync inside it
  const double cpu = d.CpuSeconds() - cpu0;
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  if (world.Creates() != creates) std::fprintf(stderr, "bench: the idle daemon bought something\n");
  results->Add("daemon: idle CPU, 60 s resync (limit 1%)", 1000, 0, {100.0 * cpu / wall}, "% of a core",
               "one 65 s window");
  fs::remove_all(dir);
}

}  // namespace

namespace reconciler::bench {

void BenchDaemon(const Options& options, Results* results) {
  const std::string reconciler = options.reconciler();
  BenchSpecChange(reconciler, results);
  BenchWebhook(reconciler, results);
  BenchIdle(reconciler, results);
}

}  // namespace reconciler::bench
