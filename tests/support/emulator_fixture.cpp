#include "tests/support/emulator_fixture.h"

#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "tests/support/process.h"

namespace reconciler::testing {

using nlohmann::json;

std::string DefaultWorldPath() { return SourcePath("emulator/worlds/default.yaml"); }

emu::World DefaultWorld() {
  auto world = emu::LoadWorldFile(DefaultWorldPath());
  if (!world.ok()) throw std::runtime_error(world.status().message());
  world->catalogue.clock.manual = true;
  world->catalogue.clock.time_scale = 1;
  return std::move(world).value();
}

EmulatorFixture::EmulatorFixture(std::function<void(emu::World&)> tweak, std::string data_path) {
  emu::World world = DefaultWorld();
  if (tweak) tweak(world);
  emu::ServerOptions options;
  options.data_path = std::move(data_path);
  auto server = emu::EmulatorServer::Create(std::move(world), options);
  if (!server.ok()) throw std::runtime_error(server.status().message());
  server_ = std::move(server).value();
  auto port = server_->Bind("127.0.0.1", 0);
  if (!port.ok()) throw std::runtime_error(port.status().message());
  port_ = *port;
  thread_ = std::thread([this] { server_->Serve(); });
  transport_ = tencentcloud::NewCurlTransport({});
  client_ = std::make_unique<tencentcloud::ApiClient>(Config(), transport_.get(), &clock_);
}

EmulatorFixture::~EmulatorFixture() {
  server_->Stop();
  thread_.join();
}

tencentcloud::CloudConfig EmulatorFixture::Config(const std::string& secret_id, const std::string& secret_key,
                                                  const std::string& token) const {
  tencentcloud::CloudConfig config;
  config.credentials.secret_id = secret_id;
  config.credentials.secret_key = tencentcloud::Secret(secret_key);
  config.credentials.token = tencentcloud::Secret(token);
  config.region = "ap-beijing";
  config.endpoints.SetOverride(url());
  return config;
}

Result<json> EmulatorFixture::Call(const std::string& action, const json& params, const std::string& region,
                                   const std::string& service) {
  tencentcloud::ApiCall call;
  call.service = service;
  call.version = service == "tag" ? "2018-08-13" : "2017-03-12";
  call.action = action;
  call.region = region;
  return client_->Call(call, params);
}

json EmulatorFixture::AdminGet(const std::string& path) {
  httplib::Client cli("127.0.0.1", port_);
  auto res = cli.Get(path.c_str());
  if (!res || res->status != 200) throw std::runtime_error("admin GET " + path + " failed");
  return json::parse(res->body);
}

json EmulatorFixture::AdminPost(const std::string& path, const json& body) {
  httplib::Client cli("127.0.0.1", port_);
  auto res = cli.Post(path.c_str(), body.dump(), "application/json");
  if (!res || res->status != 200) {
    throw std::runtime_error("admin POST " + path + " failed: " + (res ? res->body : std::string("no answer")));
  }
  return json::parse(res->body);
}

void EmulatorFixture::Advance(double seconds) { AdminPost("/_admin/advance?seconds=" + std::to_string(seconds)); }

json EmulatorFixture::Calls(const std::string& action) {
  json calls = AdminGet("/_admin/calls");
  return calls.contains(action) ? calls[action] : json{{"total", 0}, {"dryRun", 0}, {"errors", 0}};
}

std::vector<json> EmulatorFixture::ReadOnlyInstances() {
  std::vector<json> out;
  json state = State();
  for (const json& i : state["instances"]) {
    if (i["DBInstanceType"] == "readonly") out.push_back(i);
  }
  return out;
}

json SeedCreateReadOnlyRequest() {
  return json::parse(R"({
    "DBVersion": "12.22",
    "InstanceChargeType": "POSTPAID_BY_HOUR",
    "InstanceCount": 1,
    "MasterDBInstanceId": "postgres-abcdef",
    "Period": 1,
    "ProjectId": 1,
    "ReadOnlyGroupId": "",
    "SecurityGroupIds": ["sg-iwnfp51z"],
    "SpecCode": "pg.it.small2",
    "Storage": 100,
    "SubnetId": "subnet-1i9huswn",
    "VpcId": "vpc-8btfafeo",
    "Zone": "ap-beijing-4"
  })");
}

EmulatorProcess::EmulatorProcess(const std::string& world_path, const std::string& data_path) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::string bin = BinaryPath("tcloud-emulator");
    std::vector<std::string> args = {bin, "--world", world_path, "--listen", "127.0.0.1:0"};
    if (!data_path.empty()) {
      args.push_back("--data");
      args.push_back(data_path);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  // Wait, with a deadline, for the one line that says where it listens.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string line;
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd = {out[0], POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  if (line.find('\n') == std::string::npos) {
    Stop();
    throw std::runtime_error("tcloud-emulator did not print its URL");
  }
  url_ = line.substr(0, line.find('\n'));
}

void EmulatorProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

EmulatorProcess::~EmulatorProcess() { Stop(); }

}  // namespace reconciler::testing
