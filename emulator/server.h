#pragma once

// The emulator's HTTP front (cpp-httplib). POST / (or GET / with the parameters in the
// query) is the API 3.0 endpoint for every service, on any path outside /_admin/; /_admin/
// is the loopback-only admin API:
//   GET  /_admin/state            {"instances":[...],"orders":[...],"readOnlyGroups":[...],...}
//   GET  /_admin/calls            {"<Action>":{"total":n,"dryRun":n,"errors":n,"throttled":n},...}
//                                 (throttled: the errors that were RequestLimitExceeded)
//   GET  /_admin/model            {"site","dryRun","actions":{service:{action:{"from","params"}}},"structs"}
//   GET  /_admin/faults           the live fault rules
//   POST /_admin/faults           add rules (see faults.h); {"clear":true} removes all
//   POST /_admin/advance?seconds=N  move the clock forward
//   POST /_admin/reset            back to the world file's state; calls, faults, budgets cleared
//   POST /_admin/metadata         the metadata service's role and credential lifetime (metadata.h)
//
// GET /latest/meta-data/cam/security-credentials/... is the metadata service (metadata.h).
//
// Admin POSTs need no body, and no Content-Length either.
//
// Every API answer is HTTP 200 with {"Response":{...,"RequestId":"<uuid>"}}, errors as
// {"Response":{"Error":{"Code","Message"},"RequestId"}}, unless a fault says otherwise.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "emulator/cloud.h"
#include "emulator/faults.h"
#include "emulator/metadata.h"
#include "emulator/rate_limiter.h"
#include "base/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace reconciler::tencentcloud::emulator {

struct ServerOptions {
  // When set, the account's state is saved here after every change, and loaded from here
  // at start when the file exists, so the emulator survives its own restart.
  std::string data_path;
  // The wall clock in UNIX seconds. Default: the system clock.
  std::function<double()> wall;
};

class EmulatorServer {
 public:
  static Result<std::unique_ptr<EmulatorServer>> Create(World world, ServerOptions options);
  ~EmulatorServer();

  // Binds host:port (port 0 picks a free one) and returns the port.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(). REQUIRES: Bind() succeeded.
  void Serve();
  // Safe from any thread, also before Serve() has started its loop.
  void Stop();

  EmulatedCloud& cloud() { return *cloud_; }
  MetadataService& metadata() { return metadata_; }
  Faults& faults() { return faults_; }

 private:
  EmulatorServer(World world, ServerOptions options);
  void Route();
  void HandleApi(const httplib::Request& req, httplib::Response& res);
  // Checks the request (size, signature, action, version, budget, body) and runs the action.
  Reply Process(const httplib::Request& req, const std::string& action);
  // Verifies the TC3 signature. Sets *service to the scope's service, or to "" when the
  // scope named the Host's first label instead of a service (the action's owner answers).
  Reply Authenticate(const httplib::Request& req, std::string* service);
  void Count(const std::string& action, const Reply& reply);
  void Persist();
  bool AdminAllowed(const httplib::Request& req, httplib::Response& res);

  World world_;
  ServerOptions options_;
  Faults faults_;
  MetadataService metadata_;
  std::unique_ptr<EmulatedCloud> cloud_;
  std::unique_ptr<httplib::Server> http_;
  // The admin POST handlers by path, also served for bodiless requests (see Route()).
  std::map<std::string, std::function<void(const httplib::Request&, httplib::Response&)>> admin_posts_;
  int port_ = 0;
  std::mutex mu_;  // guards limiter_, calls_, persistence
  RateLimiter limiter_;
  nlohmann::json calls_ = nlohmann::json::object();
};

double SystemWallSeconds();

}  // namespace reconciler::tencentcloud::emulator
