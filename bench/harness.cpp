#include "bench/harness.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "emulator/server.h"

extern char** environ;

namespace reconciler::bench {

using nlohmann::json;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Fail(const std::string& message) {
  std::fprintf(stderr, "bench: %s\n", message.c_str());
  std::exit(1);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

namespace {

std::string FormatNumber(double v) {
  char buf[32];
  if (v != 0 && std::abs(v) < 0.01) std::snprintf(buf, sizeof buf, "%.4f", v);
  else if (std::abs(v) < 100) std::snprintf(buf, sizeof buf, "%.3g", v);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string SizeText(const Figure& f) { return f.n ? std::to_string(*f.n) : "-"; }
std::string LatencyText(const Figure& f) { return f.latency_ms ? std::to_string(*f.latency_ms) + " ms" : "-"; }

}  // namespace

void Results::Add(const std::string& name, std::optional<int64_t> n, std::optional<int> latency_ms,
                  std::vector<double> values, const std::string& unit, const std::string& note) {
  if (values.empty()) Fail("figure '" + name + "' has no runs");
  Figure f{name, n, latency_ms, Median(values), *std::min_element(values.begin(), values.end()),
           *std::max_element(values.begin(), values.end()), unit, static_cast<int>(values.size()), note};
  Print(f);
  figures_.push_back(std::move(f));
  if (save_meta_) WriteJson(save_path_, *save_meta_);
}

void Results::SaveAsYouGo(const std::string& path, const json& meta) {
  save_path_ = path;
  save_meta_ = std::make_unique<json>(meta);
  (*save_meta_)["complete"] = false;
}

void Results::Computed(const std::string& name, std::optional<int64_t> n, std::optional<int> latency_ms,
                       double value, const std::string& unit, const std::string& note) {
  Figure f{name, n, latency_ms, value, value, value, unit, 0, note};
  Print(f);
  figures_.push_back(std::move(f));
  if (save_meta_) WriteJson(save_path_, *save_meta_);
}

void Results::Print(const Figure& f) const {
  std::printf("%-52s %7s %6s %10s [%s..%s] %s%s\n", f.name.c_str(), SizeText(f).c_str(), LatencyText(f).c_str(),
              FormatNumber(f.median).c_str(), FormatNumber(f.min).c_str(), FormatNumber(f.max).c_str(), f.unit.c_str(),
              f.note.empty() ? "" : ("  (" + f.note + ")").c_str());
}

std::string Results::Markdown() const {
  std::ostringstream out;
  out << "| figure | N | latency | median | min | max | unit | runs |\n|---|---:|---:|---:|---:|---:|---|---:|\n";
  for (const Figure& f : figures_) {
    out << "| " << f.name << (f.note.empty() ? "" : " (" + f.note + ")") << " | " << SizeText(f) << " | "
        << LatencyText(f) << " | " << FormatNumber(f.median) << " | " << FormatNumber(f.min) << " | "
        << FormatNumber(f.max) << " | " << f.unit << " | " << (f.runs == 0 ? "computed" : std::to_string(f.runs))
        << " |\n";
  }
  return out.str();
}

const Figure* Results::Find(const std::string& name, std::optional<int64_t> n, std::optional<int> latency_ms) const {
  for (const Figure& f : figures_) {
    if (f.name == name && f.n == n && f.latency_ms == latency_ms) return &f;
  }
  return nullptr;
}

bool Results::WriteJson(const std::string& path, const json& meta) const {
  json figures = json::array();
  for (const Figure& f : figures_) {
    figures.push_back({{"figure", f.name}, {"n", f.n ? json(*f.n) : json(nullptr)},
                       {"latencyMs", f.latency_ms ? json(*f.latency_ms) : json(nullptr)}, {"median", f.median},
                       {"min", f.min}, {"max", f.max}, {"unit", f.unit}, {"runs", f.runs},
                       {"measured", f.runs > 0}, {"note", f.note}});
  }
  json doc = meta;
  doc["figures"] = figures;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << doc.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "bench: cannot write %s\n", tmp.c_str());
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::fprintf(stderr, "bench: cannot write %s: %s\n", path.c_str(), ec.message().c_str());
  return !ec;
}

namespace {

// Children are started by a small spawner process forked before the bench grows: a child
// forked from the bench itself would start with the bench's resident set (an emulator of
// 100,000 instances), and wait4's ru_maxrss would report that instead of the child's own peak.
// Requests and answers are JSON messages on a SOCK_SEQPACKET pair.
int spawner_fd = -1;

constexpr size_t kMaxMessage = 1 << 20;

ChildRun SpawnAndWait(const json& request) {
  std::vector<std::string> argv = request["argv"], environment = request["env"];
  const std::string log = request["log"];
  std::vector<char*> args, envp;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const std::string& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) return {};
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  ChildRun run;
  run.wall_s = Seconds(Clock::now() - start);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.max_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  run.cpu_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  return run;
}

[[noreturn]] void ServeSpawns(int fd) {
  std::string buf(kMaxMessage, '\0');
  for (;;) {
    const ssize_t got = recv(fd, buf.data(), buf.size(), 0);
    if (got <= 0) _exit(0);  // the bench has ended
    const json request = json::parse(buf.substr(0, static_cast<size_t>(got)), nullptr, false);
    ChildRun run = request.is_object() ? SpawnAndWait(request) : ChildRun{};
    const std::string answer = json{{"exit", run.exit_code}, {"wall", run.wall_s}, {"rss", run.max_rss_mb}, {"cpu", run.cpu_s}}.dump();
    if (send(fd, answer.data(), answer.size(), 0) < 0) _exit(1);
  }
}

}  // namespace

void StartSpawner() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) Fail("socketpair failed");
  const pid_t pid = fork();
  if (pid < 0) Fail("fork failed");
  if (pid == 0) {
    close(fds[0]);
    ServeSpawns(fds[1]);
  }
  close(fds[1]);
  spawner_fd = fds[0];
}

ChildRun RunChild(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& log) {
  if (spawner_fd < 0) Fail("RunChild before StartSpawner");
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) environment.emplace_back(*e);
  environment.insert(environment.end(), env.begin(), env.end());
  const std::string request = json{{"argv", argv}, {"env", environment}, {"log", log}}.dump();
  if (request.size() > kMaxMessage || send(spawner_fd, request.data(), request.size(), 0) < 0) {
    Fail("cannot reach the spawner");
  }
  std::string buf(4096, '\0');
  const ssize_t got = recv(spawner_fd, buf.data(), buf.size(), 0);
  if (got <= 0) Fail("the spawner has gone");
  const json answer = json::parse(buf.substr(0, static_cast<size_t>(got)));
  return {answer["exit"].get<int>(), answer["wall"].get<double>(), answer["rss"].get<double>(),
          answer["cpu"].get<double>()};
}

void ExpectExit(const ChildRun& run, int code, const std::string& what, const std::string& log) {
  if (run.exit_code == code) return;
  std::ifstream in(log);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
  Fail(what + " exited " + std::to_string(run.exit_code) + ", not " + std::to_string(code) + "; its output:\n" + text);
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) Fail("cannot create a directory under /tmp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CallCounts::Action CallCounts::Of(const std::string& action) const {
  for (const auto& [name, a] : actions) {
    if (name == action) return a;
  }
  return {};
}

int64_t CallCounts::Total() const {
  int64_t total = 0;
  for (const auto& [name, a] : actions) total += a.total;
  return total;
}

int64_t CallCounts::Throttled() const {
  int64_t total = 0;
  for (const auto& [name, a] : actions) total += a.throttled;
  return total;
}

CallCounts CallCounts::Minus(const CallCounts& before) const {
  CallCounts out;
  for (const auto& [name, a] : actions) {
    const Action b = before.Of(name);
    out.actions.push_back({name, {a.total - b.total, a.dry_run - b.dry_run, a.errors - b.errors,
                                  a.throttled - b.throttled}});
  }
  return out;
}

emu::World DefaultWorld() {
  const std::string path = std::string(RECONCILER_SOURCE_DIR) + "/emulator/worlds/default.yaml";
  auto world = emu::LoadWorldFile(path);
  if (!world.ok()) Fail(world.status().message());
  world->catalogue.replica_quota_per_master = 1000000;
  world->initial.balance_cents = int64_t{1} << 50;
  return std::move(world).value();
}

void AddManagedReplicas(emu::World* world, const std::string& stack, int64_t n, int64_t per_resource) {
  emu::Dynamic& d = world->initial;
  const emu::Instance& master = d.instances.at("postgres-abcdef");
  const emu::SpecClass* klass = world->catalogue.FindClass("pg.it.small2");
  if (klass == nullptr) Fail("the default world has no pg.it.small2");
  for (int64_t i = 0; i < n; ++i) {
    emu::Instance inst;
    char id[32];
    std::snprintf(id, sizeof id, "pgro-b%08lld", static_cast<long long>(i));
    inst.id = id;
    // `reconciler` names every replica of a resource after the resource.
    inst.name = "r" + std::to_string(i / per_resource);
    inst.region = master.region;
    inst.zone = master.zone;
    inst.type = "readonly";
    inst.master_id = master.id;
    inst.spec_code = klass->spec_code;
    inst.cpu = klass->cpu;
    inst.memory_gb = klass->memory_mb / 1024;
    inst.storage_gb = 100;
    inst.pay_type = "postpaid";
    inst.vpc_id = "vpc-8btfafeo";
    inst.subnet_id = "subnet-1i9huswn";
    inst.tags = {{"reconciler/stack", stack}, {"reconciler/resource", "ReadOnlyInstance/" + inst.name}};
    inst.db_version = master.db_version;
    inst.major_version = master.major_version;
    inst.kernel_version = master.kernel_version;
    inst.charset = master.charset;
    inst.serial = d.next_serial++;
    inst.ip = "10.20." + std::to_string((inst.serial >> 8) & 0xff) + "." + std::to_string(inst.serial & 0xff);
    d.instances[inst.id] = std::move(inst);
  }
}

Emulator::Emulator(emu::World world) {
  auto server = emu::EmulatorServer::Create(std::move(world), {});
  if (!server.ok()) Fail(server.status().message());
  server_ = std::move(server).value();
  auto port = server_->Bind("127.0.0.1", 0);
  if (!port.ok()) Fail(port.status().message());
  port_ = *port;
  serving_ = std::thread([this] { server_->Serve(); });
}

Emulator::~Emulator() {
  server_->Stop();
  serving_.join();
}

std::string Emulator::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

CallCounts Emulator::Calls() const {
  httplib::Client admin("127.0.0.1", port_);
  auto res = admin.Get("/_admin/calls");
  if (!res || res->status != 200) Fail("GET /_admin/calls failed");
  json calls = json::parse(res->body, nullptr, false);
  if (!calls.is_object()) Fail("GET /_admin/calls answered no JSON object");
  CallCounts out;
  for (const auto& [action, c] : calls.items()) {
    out.actions.push_back({action, {c.value("total", int64_t{0}), c.value("dryRun", int64_t{0}),
                                    c.value("errors", int64_t{0}), c.value("throttled", int64_t{0})}});
  }
  return out;
}

void Emulator::SetLatency(int ms) {
  httplib::Client admin("127.0.0.1", port_);
  auto cleared = admin.Post("/_admin/faults", R"({"clear":true})", "application/json");
  if (!cleared || cleared->status != 200) Fail("clearing the emulator's faults failed");
  if (ms <= 0) return;
  const json rule = {{"type", "latency"}, {"ms", ms}, {"times", -1}};
  auto added = admin.Post("/_admin/faults", rule.dump(), "application/json");
  if (!added || added->status != 200) Fail("adding the latency fault failed");
}

void Emulator::Reset() {
  httplib::Client admin("127.0.0.1", port_);
  auto res = admin.Post("/_admin/reset", "", "application/json");
  if (!res || res->status != 200) Fail("POST /_admin/reset failed");
}

std::vector<std::string> CredentialsEnv() {
  return {"TENCENTCLOUD_SECRET_ID=AKIDEMULATORDEMOKEY0000000000000001",
          "TENCENTCLOUD_SECRET_KEY=emulator-demo-secret-key-0000000001"};
}

void WriteStack(const std::string& dir, const std::string& endpoint, const std::string& specs,
                const std::string& site) {
  std::ofstream(dir + "/reconciler.yaml")
      << "stack: bench\nprovider: {tencentcloud: {region: ap-beijing, site: " << site << ", endpoint: '" << endpoint
      << "'}}\n"
      << "defaults: {zone: ap-beijing-4, vpcId: vpc-8btfafeo, subnetId: subnet-1i9huswn}\n";
  std::ofstream(dir + "/replicas.yaml") << specs;
}

std::string ReplicaSpecs(int64_t resources, int64_t per_resource, const std::string& master,
                         const std::string& charge_type) {
  std::string out;
  for (int64_t r = 0; r < resources; ++r) {
    out += "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: r" + std::to_string(r) +
           "}\nspec: {masterInstanceId: " + master + ", specCode: pg.it.small2, storageGB: 100, count: " +
           std::to_string(per_resource) + ", chargeType: " + charge_type + "}\n";
  }
  return out;
}

}  // namespace reconciler::bench
