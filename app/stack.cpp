#include "app/stack.h"

#include <algorithm>
#include <filesystem>

#include "state/sqlite/sqlite_state_store.h"
#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "state/host_lock.h"

namespace reconciler {

namespace tc = tencentcloud;

namespace {

// Where the project file sets the endpoint, for messages: "reconciler.yaml:6:15 provider.tencentcloud.endpoint".
std::string EndpointOrigin(const specs::Project& project) {
  const specs::Location& at = project.endpoint_at;
  if (at.line == 0) return at.file.empty() ? "provider.tencentcloud.endpoint" : at.file;  // "--endpoint"
  return at.file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + " provider.tencentcloud.endpoint";
}

}  // namespace

Result<CloudSession> OpenCloud(const specs::Project& project, Clock* clock, tc::InsecureEndpoint insecure,
                               std::stop_token stop) {
  tc::ConfigSources sources;
  sources.profile = project.profile;
  sources.endpoint = project.endpoint;
  sources.endpoint_origin = EndpointOrigin(project);
  sources.insecure_endpoint = insecure;
  Result<tc::CloudConfig> config = tc::LoadCloudConfig(sources);
  if (!config.ok()) return config.status();
  Result<tc::Site> site = tc::ResolveSite(project.site, config->endpoints.For("postgres"));
  if (!site.ok()) return site.status().Annotate("provider.tencentcloud");
  CloudSession s;
  s.site = *site;
  s.endpoint = config->endpoints.For("postgres");
  s.transport = tc::NewCurlTransport({});
  s.client = std::make_unique<tc::ApiClient>(std::move(config).value(), s.transport.get(), clock);
  s.budget = std::make_unique<RateBudget>(clock, &tc::DocumentedRateLimit, project.rate_limits);
  tc::TencentCloudOptions options;
  options.stop = stop;
  options.site = *site;
  s.cloud = std::make_unique<tc::TencentCloud>(s.client.get(), s.budget.get(), clock, options);
  return s;
}

Result<std::string> StatePath(const std::string& stack_dir, const specs::Project& project) {
  const std::string& state = project.state;
  if (state.rfind("sqlite:", 0) != 0) {
    const size_t colon = state.find(':');
    const std::string scheme = colon == std::string::npos ? state : state.substr(0, colon);
    return Status(Code::kInvalidInput, "state " + state + ": the " + scheme +
                                           " scheme is not built yet; use sqlite:PATH (default sqlite:.reconciler/state.db)");
  }
  std::filesystem::path path = state.substr(7);
  if (path.is_relative()) path = std::filesystem::path(stack_dir) / path;
  return path.lexically_normal().string();
}

Result<OpenedStack> OpenStack(const std::string& stack_dir, const specs::Project& project, Clock* clock,
                              const StackOpenOptions& options) {
  OpenedStack s;
  Result<std::string> path = StatePath(stack_dir, project);
  if (!path.ok()) return path.status();
  s.state_path = *path;
  if (options.cloud) {
    Result<CloudSession> session = OpenCloud(project, clock, options.insecure, options.stop);
    if (!session.ok()) return session.status();
    s.session = std::move(session).value();
  }
  std::error_code ec;
  if (!options.create_state && !std::filesystem::exists(s.state_path, ec)) {
    return Status(Code::kNotFound, "no state at " + s.state_path + " yet; nothing has been applied");
  }
  if (options.access == StackAccess::kWrite) {
    std::filesystem::create_directories(std::filesystem::path(s.state_path).parent_path(), ec);
    // One deadline for both leases.
    const auto deadline = std::chrono::steady_clock::now() + options.lock_timeout;
    auto left = [&] {
      return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        deadline - std::chrono::steady_clock::now()));
    };
    Result<std::unique_ptr<StackLock>> lease = StackLock::Acquire(s.state_path + ".lock", clock, "", left(), options.on_lock_wait);
    if (!lease.ok()) return lease.status();
    s.state_lease = std::move(lease).value();
    if (s.session) {
      Result<std::unique_ptr<StackLock>> host = AcquireHostStackLock(
          project.stack, s.session->endpoint, std::filesystem::absolute(s.state_path, ec).string(), clock, left(),
          options.on_lock_wait);
      if (!host.ok()) return host.status();
      s.host_lease = std::move(host).value();
    }
  }
  Result<std::unique_ptr<StateStore>> store = OpenSqliteStateStore(s.state_path, clock);
  if (!store.ok()) return store.status();
  s.store = std::move(store).value();
  return s;
}

}  // namespace reconciler
