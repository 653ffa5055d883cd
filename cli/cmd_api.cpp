#include <nlohmann/json.hpp>
#include <ostream>

#include "providers/tencentcloud/api_client.h"
#include "cli/commands.h"
#include "base/json_input.h"

namespace reconciler {

namespace tc = tencentcloud;
using nlohmann::json;

namespace {

std::string DefaultVersion(const std::string& service) {
  if (service == "postgres") return "2017-03-12";
  if (service == "tag") return "2018-08-13";
  return "";
}

}  // namespace

int RunApiCommand(const ApiCommandOptions& options, Io io) {
  Result<json> parsed = ParseJsonInput(options.data);
  if (!parsed.ok() || !parsed->is_object()) {
    io.err << "reconciler api: --data must be a JSON object"
           << (parsed.ok() ? "" : " (" + parsed.status().message() + ")") << ", got: " << options.data.substr(0, 200)
           << (options.data.size() > 200 ? "..." : "") << "\n";
    return kExitInvalidInput;
  }
  json params = std::move(parsed).value();
  std::string version = options.version.empty() ? DefaultVersion(options.service) : options.version;
  if (version.empty()) {
    io.err << "reconciler api: no default version for service '" << options.service
           << "'; pass --version\n";
    return kExitInvalidInput;
  }

  tc::ConfigSources sources;
  sources.profile = options.profile;
  sources.endpoint = options.endpoint;
  sources.endpoint_origin = "--endpoint";
  sources.insecure_endpoint = options.insecure_endpoint ? tc::InsecureEndpoint::kAllow : tc::InsecureEndpoint::kRefuse;
  Result<tc::CloudConfig> config = tc::LoadCloudConfig(sources);
  if (!config.ok()) {
    io.err << "reconciler api: " << config.status().message() << "\n";
    return config.status().code() == Code::kInvalidInput ? kExitInvalidInput : kExitError;
  }
  std::string region = options.region.empty() ? config->region : options.region;

  SystemClock clock;
  std::unique_ptr<tc::HttpTransport> transport = tc::NewCurlTransport({});
  tc::ApiClient client(std::move(config).value(), transport.get(), &clock);
  if (options.verbose) client.SetTrace([&](const std::string& text) { io.err << text; });

  tc::ApiCall call;
  call.service = options.service;
  call.version = version;
  call.action = options.action;
  call.region = region;
  // The raw command cannot know what an action does, so it treats every call as one
  // that must not be repeated: a fresh connection, and no retry.
  call.effect = tc::Effect::kPurchase;
  Result<json> response = client.Call(call, params);
  if (!response.ok()) {
    const Status& s = response.status();
    io.err << "reconciler api: " << options.action << " failed\n";
    io.err << "  Code: " << (s.api_code().empty() ? CodeName(s.code()) : s.api_code()) << "\n";
    io.err << "  Message: " << s.message() << "\n";
    if (!s.request_id().empty()) io.err << "  RequestId: " << s.request_id() << "\n";
    return kExitError;
  }
  json shown = std::move(response).value();
  tc::RedactSecrets(&shown);
  io.out << shown.dump(4, ' ', false, json::error_handler_t::replace) << "\n";
  return kExitOk;
}

}  // namespace reconciler
