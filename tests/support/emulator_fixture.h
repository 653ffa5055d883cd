#pragma once

// The real emulator (HTTP server, signature checks and all) running in this process on a
// loopback port, with a signed API client pointed at it. The clock is manual unless the
// tweak says otherwise, so tests move time with Advance() instead of sleeping.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "providers/tencentcloud/api_client.h"
#include "emulator/server.h"

namespace reconciler::testing {

namespace emu = tencentcloud::emulator;

// The demo credentials of worlds/default.yaml.
inline constexpr const char* kDemoSecretId = "AKIDEMULATORDEMOKEY0000000000000001";
inline constexpr const char* kDemoSecretKey = "emulator-demo-secret-key-0000000001";
inline constexpr const char* kStsSecretId = "AKIDEMULATORSTSKEY00000000000000002";
inline constexpr const char* kStsSecretKey = "emulator-sts-secret-key-00000000002";
inline constexpr const char* kStsToken = "emulator-sts-token-0000000000000002";

std::string DefaultWorldPath();
// The default world, parsed, with a manual clock and time scale 1.
emu::World DefaultWorld();

class EmulatorFixture {
 public:
  explicit EmulatorFixture(std::function<void(emu::World&)> tweak = {}, std::string data_path = {});
  ~EmulatorFixture();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  emu::EmulatorServer& server() { return *server_; }

  // A client signing with `secret_id`/`secret_key` (the demo pair by default).
  tencentcloud::CloudConfig Config(const std::string& secret_id = kDemoSecretId,
                                   const std::string& secret_key = kDemoSecretKey,
                                   const std::string& token = "") const;
  tencentcloud::ApiClient& client() { return *client_; }

  // One signed call with the demo credentials.
  Result<nlohmann::json> Call(const std::string& action, const nlohmann::json& params = nlohmann::json::object(),
                              const std::string& region = "ap-beijing", const std::string& service = "postgres");

  nlohmann::json AdminGet(const std::string& path);
  nlohmann::json AdminPost(const std::string& path, const nlohmann::json& body = nlohmann::json::object());
  void Advance(double seconds);
  void AddFault(const nlohmann::json& rule) { AdminPost("/_admin/faults", rule); }
  // The calls counter of one action: {"total","dryRun","errors"}, zeros when never called.
  nlohmann::json Calls(const std::string& action);
  nlohmann::json State() { return AdminGet("/_admin/state"); }
  // Instances in the admin state, optionally only read-only ones.
  std::vector<nlohmann::json> ReadOnlyInstances();

 private:
  std::unique_ptr<emu::EmulatorServer> server_;
  int port_ = 0;
  std::thread thread_;
  SystemClock clock_;
  std::unique_ptr<tencentcloud::HttpTransport> transport_;
  std::unique_ptr<tencentcloud::ApiClient> client_;
};

// The seed page's CreateReadOnlyDBInstance request body, verbatim.
nlohmann::json SeedCreateReadOnlyRequest();

// The emulator binary as a child process, for restart and end-to-end tests.
class EmulatorProcess {
 public:
  EmulatorProcess(const std::string& world_path, const std::string& data_path = "");
  ~EmulatorProcess();
  const std::string& url() const { return url_; }
  // Stops the process with SIGTERM and waits for it.
  void Stop();

 private:
  int pid_ = -1;
  std::string url_;
};

}  // namespace reconciler::testing
