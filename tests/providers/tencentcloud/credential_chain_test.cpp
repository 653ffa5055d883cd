// The credential chain beyond tccli: the SDKs' INI file and the CVM role from the metadata
// service, the latter end to end against the emulator's metadata endpoint with its clock
// and ours moved together, so expiry and renewal happen without waiting.

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>
#include <unistd.h>

#include "emulator/server.h"
#include "providers/tencentcloud/api_client.h"
#include "providers/tencentcloud/credentials.h"
#include "providers/tencentcloud/metadata_role.h"
#include "tests/support/emulator_fixture.h"

namespace reconciler::tencentcloud {
namespace {

namespace fs = std::filesystem;
namespace emu = ::reconciler::tencentcloud::emulator;
using nlohmann::json;

struct TempHome {
  fs::path dir;
  TempHome() {
    static int counter = 0;
    dir = fs::temp_directory_path() / ("reconciler-chain-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
    fs::create_directories(dir / ".tencentcloud");
    fs::create_directories(dir / ".tccli");
  }
  ~TempHome() { fs::remove_all(dir); }
  void Write(const std::string& relative, const std::string& text) const { std::ofstream(dir / relative) << text; }
};

ConfigSources Sources(const TempHome& home, std::map<std::string, std::string> env) {
  ConfigSources s;
  s.home = home.dir.string();
  // Nothing listens on port 1: the metadata service is "not there" unless a test says so.
  env.try_emplace("TENCENTCLOUD_METADATA_ENDPOINT", "http://127.0.0.1:1/latest/meta-data/");
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(env));
  s.getenv = [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
  return s;
}

constexpr const char* kIni =
    "# SDK credentials\n"
    "[default]\n"
    "secret_id = AKIDinidefault\n"
    "secret_key = inidefaultkey\n"
    "\n"
    "[work]\n"
    "secret_id=AKIDiniwork\n"
    "secret_key = iniworkkey\n";

TEST_CASE("credential chain: the SDKs' INI file gives the profile's section") {
  TempHome home;
  home.Write(".tencentcloud/credentials", kIni);
  auto r = LoadCloudConfig(Sources(home, {{"TENCENTCLOUD_PROFILE", "work"}}));
  REQUIRE(r.ok());
  CHECK(r->credentials.secret_id == "AKIDiniwork");
  CHECK(r->credentials.secret_key.Reveal() == "iniworkkey");
  CHECK(r->credentials.source == "profile 'work' in " + (home.dir / ".tencentcloud/credentials").string());
  CHECK(r->credentials.expires_at == 0);
  CHECK_FALSE(r->renew);

  auto d = LoadCloudConfig(Sources(home, {}));
  REQUIRE(d.ok());
  CHECK(d->credentials.secret_id == "AKIDinidefault");
  CHECK(d->credentials.secret_key.Reveal() == "inidefaultkey");
}

TEST_CASE("credential chain: TENCENTCLOUD_CREDENTIALS_FILE names the INI file") {
  TempHome home;
  home.Write("elsewhere.ini", "[default]\nsecret_id = AKIDelsewhere\nsecret_key = k\n");
  auto r = LoadCloudConfig(Sources(home, {{"TENCENTCLOUD_CREDENTIALS_FILE", (home.dir / "elsewhere.ini").string()}}));
  REQUIRE(r.ok());
  CHECK(r->credentials.secret_id == "AKIDelsewhere");

  auto missing = LoadCloudConfig(Sources(home, {{"TENCENTCLOUD_CREDENTIALS_FILE", (home.dir / "nope").string()}}));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kInvalidInput);
  CHECK(missing.status().message().find("TENCENTCLOUD_CREDENTIALS_FILE") != std::string::npos);
}

TEST_CASE("credential chain: order is environment, tccli profile, INI profile") {
  TempHome home;
  home.Write(".tencentcloud/credentials", kIni);
  home.Write(".tccli/default.credential", R"({"secretId":"AKIDtccli","secretKey":"tcclikey"})");
  auto tccli = LoadCloudConfig(Sources(home, {}));
  REQUIRE(tccli.ok());
  CHECK(tccli->credentials.secret_id == "AKIDtccli");
  auto env = LoadCloudConfig(Sources(home, {{"TENCENTCLOUD_SECRET_ID", "AKIDenv"}, {"TENCENTCLOUD_SECRET_KEY", "k"}}));
  REQUIRE(env.ok());
  CHECK(env->credentials.secret_id == "AKIDenv");
  CHECK(env->credentials.source == "environment variables TENCENTCLOUD_SECRET_ID/KEY");
  // An explicit profile beats the environment's TENCENTCLOUD_PROFILE.
  ConfigSources s = Sources(home, {{"TENCENTCLOUD_PROFILE", "default"}});
  s.profile = "work";
  auto work = LoadCloudConfig(s);
  REQUIRE(work.ok());
  CHECK(work->credentials.secret_id == "AKIDiniwork");
}

TEST_CASE("credential chain: a named profile that no file holds is an error, not a fall-through") {
  TempHome home;
  home.Write(".tencentcloud/credentials", kIni);
  auto r = LoadCloudConfig(Sources(home, {{"TENCENTCLOUD_PROFILE", "prod"}}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kAuth);
  const std::string& m = r.status().message();
  CHECK(m.find("profile 'prod' (TENCENTCLOUD_PROFILE) not found") != std::string::npos);
  CHECK(m.find(".tccli/prod.credential (not found)") != std::string::npos);
  CHECK(m.find("profile [prod] in " + (home.dir / ".tencentcloud/credentials").string() + " (no such section)") !=
        std::string::npos);
}

TEST_CASE("credential chain: a malformed INI file names the line, never its text") {
  TempHome home;
  home.Write(".tencentcloud/credentials", "[default]\nsecret_id = AKIDx\nsecretkeyWITHOUTEQUALS\n");
  auto r = LoadCloudConfig(Sources(home, {}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidInput);
  CHECK(r.status().message() == (home.dir / ".tencentcloud/credentials").string() + ":3: expected key = value");
  home.Write(".tencentcloud/credentials", "[default]\nsecret_id = AKIDx\n");
  auto half = LoadCloudConfig(Sources(home, {}));
  REQUIRE_FALSE(half.ok());
  CHECK(half.status().message().find("section [default] needs secret_id and secret_key") != std::string::npos);
}

TEST_CASE("credential chain: with nothing else, no metadata service means no credentials, every source named") {
  TempHome home;
  auto r = LoadCloudConfig(Sources(home, {}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kAuth);
  const std::string& m = r.status().message();
  CHECK(m.find("TENCENTCLOUD_SECRET_ID") != std::string::npos);
  CHECK(m.find(".tccli/default.credential (not found)") != std::string::npos);
  CHECK(m.find("profile [default] in " + (home.dir / ".tencentcloud/credentials").string() + " (not found)") !=
        std::string::npos);
  CHECK(m.find("a CVM/TKE role from the metadata service at http://127.0.0.1:1/latest/meta-data/ (none)") !=
        std::string::npos);
}

// The emulator with a wall clock the test moves, and a client clock moved with it.
class RoleRig {
 public:
  RoleRig() : client_clock_(static_cast<int64_t>(StartWall())) {
    wall_ = static_cast<double>(client_clock_.NowUnixSeconds());
    emu::ServerOptions options;
    options.wall = [this] { return wall_.load(); };
    auto server = emu::EmulatorServer::Create(testing::DefaultWorld(), options);
    REQUIRE(server.ok());
    server_ = std::move(server).value();
    auto port = server_->Bind("127.0.0.1", 0);
    REQUIRE(port.ok());
    url_ = "http://127.0.0.1:" + std::to_string(*port);
    thread_ = std::thread([this] { server_->Serve(); });
    transport_ = NewCurlTransport({});
  }
  ~RoleRig() {
    server_->Stop();
    thread_.join();
  }
  RoleRig(const RoleRig&) = delete;
  RoleRig& operator=(const RoleRig&) = delete;

  void Advance(int seconds) {
    wall_ = wall_.load() + seconds;
    client_clock_.Advance(std::chrono::seconds(seconds));
  }
  std::string metadata_url() const { return url_ + "/latest/meta-data/"; }
  emu::EmulatorServer& server() { return *server_; }
  Clock* clock() { return &client_clock_; }
  HttpTransport* transport() { return transport_.get(); }
  const std::string& url() const { return url_; }

  Result<json> Describe(ApiClient& client) {
    ApiCall call;
    call.action = "DescribeRegions";
    call.region = "ap-beijing";
    return client.Call(call, json::object());
  }

 private:
  static double StartWall() { return emu::SystemWallSeconds(); }
  FakeClock client_clock_;
  std::atomic<double> wall_{0};
  std::unique_ptr<emu::EmulatorServer> server_;
  std::string url_;
  std::thread thread_;
  std::unique_ptr<HttpTransport> transport_;
};

TEST_CASE("credential chain: the CVM role from the emulator's metadata service signs calls, and is renewed before expiry") {
  RoleRig rig;
  REQUIRE(rig.server().metadata().Configure({{"ttlSeconds", 600}}).ok());
  TempHome home;
  ConfigSources sources = Sources(home, {{"TENCENTCLOUD_METADATA_ENDPOINT", rig.metadata_url()}});
  sources.endpoint = rig.url();
  sources.endpoint_origin = "test";
  auto config = LoadCloudConfig(sources);
  REQUIRE(config.ok());
  CHECK(config->credentials.source == "CVM role 'reconciler-emulator-role' from the metadata service");
  CHECK(config->credentials.expires_at == rig.clock()->NowUnixSeconds() + 600);
  CHECK(config->credentials.secret_id.rfind("AKIDROLE", 0) == 0);
  REQUIRE(config->renew);
  CHECK(rig.server().metadata().ToJson()["issued"] == 1);

  CloudConfig stale = *config;  // the same first credentials, never renewed
  stale.renew = {};
  ApiClient client(std::move(config).value(), rig.transport(), rig.clock());
  ApiClient stale_client(std::move(stale), rig.transport(), rig.clock());
  REQUIRE(rig.Describe(client).ok());

  rig.Advance(200);  // 400 s left: not yet due
  REQUIRE(rig.Describe(client).ok());
  CHECK(rig.server().metadata().ToJson()["issued"] == 1);

  rig.Advance(150);  // 250 s left: within the renewal margin
  REQUIRE(rig.Describe(client).ok());
  CHECK(rig.server().metadata().ToJson()["issued"] == 2);

  rig.Advance(300);  // the first credentials expired 50 s ago; the renewed ones hold
  auto renewed = rig.Describe(client);
  CHECK(renewed.ok());
  auto expired = rig.Describe(stale_client);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.status().api_code() == "AuthFailure.TokenFailure");
  // The message names where the keys came from, and never the keys.
  const std::string& m = expired.status().message();
  CHECK(m.find("(keys from CVM role 'reconciler-emulator-role' from the metadata service)") != std::string::npos);
  CHECK(m.find(stale_client.config().credentials.secret_key.Reveal()) == std::string::npos);
  CHECK(m.find(stale_client.config().credentials.token.Reveal()) == std::string::npos);
}

TEST_CASE("credential chain: a renewal the metadata service refuses fails the call and says so") {
  RoleRig rig;
  REQUIRE(rig.server().metadata().Configure({{"ttlSeconds", 400}}).ok());
  TempHome home;
  ConfigSources sources = Sources(home, {{"TENCENTCLOUD_METADATA_ENDPOINT", rig.metadata_url()}});
  sources.endpoint = rig.url();
  auto config = LoadCloudConfig(sources);
  REQUIRE(config.ok());
  ApiClient client(std::move(config).value(), rig.transport(), rig.clock());
  REQUIRE(rig.Describe(client).ok());
  REQUIRE(rig.server().metadata().Configure({{"role", "someone-else"}}).ok());
  rig.Advance(150);
  auto r = rig.Describe(client);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kAuth);
  CHECK(r.status().message().find("renewing the credentials (CVM role 'reconciler-emulator-role' from the metadata "
                                  "service) failed") != std::string::npos);
}

TEST_CASE("credential chain: an unbound machine falls through, a profile beats the role") {
  RoleRig rig;
  TempHome home;
  home.Write(".tencentcloud/credentials", kIni);
  auto r = LoadCloudConfig(Sources(home, {{"TENCENTCLOUD_METADATA_ENDPOINT", rig.metadata_url()}}));
  REQUIRE(r.ok());
  CHECK(r->credentials.secret_id == "AKIDinidefault");
  CHECK(rig.server().metadata().ToJson()["issued"] == 0);

  REQUIRE(rig.server().metadata().Configure({{"role", ""}}).ok());
  TempHome empty;
  auto none = LoadCloudConfig(Sources(empty, {{"TENCENTCLOUD_METADATA_ENDPOINT", rig.metadata_url()}}));
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Code::kAuth);
  CHECK(none.status().message().find("no Tencent Cloud credentials found") != std::string::npos);
}

TEST_CASE("credential chain: an auth failure names the source of long-term keys too") {
  testing::EmulatorFixture fixture;
  FakeClock clock(static_cast<int64_t>(emu::SystemWallSeconds()));
  CloudConfig config = fixture.Config("AKIDnotknown", "wrong-key-XYZ");
  config.credentials.source = "profile 'work' in /home/u/.tencentcloud/credentials";
  auto transport = NewCurlTransport({});
  ApiClient client(std::move(config), transport.get(), &clock);
  ApiCall call;
  call.action = "DescribeRegions";
  auto r = client.Call(call, json::object());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().api_code() == "AuthFailure.SecretIdNotFound");
  CHECK(r.status().message().find("(keys from profile 'work' in /home/u/.tencentcloud/credentials)") !=
        std::string::npos);
  CHECK(r.status().message().find("wrong-key-XYZ") == std::string::npos);
}

}  // namespace
}  // namespace reconciler::tencentcloud
