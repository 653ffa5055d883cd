#include "providers/tencentcloud/credentials.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

namespace reconciler::tencentcloud {
namespace {

namespace fs = std::filesystem;

// A temporary HOME with an optional ~/.tccli profile.
struct FakeHome {
  fs::path dir;
  FakeHome() {
    static int counter = 0;
    std::string name = "reconciler-home-";
    name += std::to_string(getpid());
    name += '-';
    name += std::to_string(++counter);
    dir = fs::temp_directory_path() / name;
    fs::create_directories(dir / ".tccli");
  }
  ~FakeHome() { fs::remove_all(dir); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir / ".tccli" / name) << text;
  }
};

ConfigSources Sources(const FakeHome& home, std::map<std::string, std::string> env) {
  ConfigSources s;
  s.home = home.dir.string();
  // Nothing listens on port 1: no metadata service, as off a CVM.
  env.try_emplace("TENCENTCLOUD_METADATA_ENDPOINT", "http://127.0.0.1:1/latest/meta-data/");
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(env));
  s.getenv = [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
  return s;
}

TEST_CASE("credentials: the environment wins") {
  FakeHome home;
  home.Write("default.credential", R"({"secretId":"AKIDfile","secretKey":"filekey"})");
  auto r = LoadCloudConfig(Sources(home, {{"TENCENTCLOUD_SECRET_ID", "AKIDenv"},
                                          {"TENCENTCLOUD_SECRET_KEY", "envkey"},
                                          {"TENCENTCLOUD_SESSION_TOKEN", "envtoken"},
                                          {"TENCENTCLOUD_REGION", "ap-shanghai"}}));
  REQUIRE(r.ok());
  CHECK(r->credentials.secret_id == "AKIDenv");
  CHECK(r->credentials.secret_key.Reveal() == "envkey");
  CHECK(r->credentials.token.Reveal() == "envtoken");
  CHECK(r->credentials.source == "environment variables TENCENTCLOUD_SECRET_ID/KEY");
  CHECK(r->region == "ap-shanghai");
}

TEST_CASE("credentials: a tccli profile gives keys, region and endpoints") {
  FakeHome home;
  home.Write("work.credential", R"({"secretId":"AKIDwork","secretKey":"workkey","token":"worktoken"})");
  home.Write("work.configure",
             R"({"_sys_param":{"region":"ap-beijing","output":"json"},"postgres":{"endpoint":"postgres.ap-beijing.tencentcloudapi.com","version":"2017-03-12"}})");
  auto r = LoadCloudConfig(Sources(home, {{"TCCLI_PROFILE", "work"}}));
  REQUIRE(r.ok());
  CHECK(r->credentials.secret_id == "AKIDwork");
  CHECK(r->credentials.token.Reveal() == "worktoken");
  CHECK(r->credentials.source == "tccli profile 'work' in " + (home.dir / ".tccli/work.credential").string());
  CHECK(r->region == "ap-beijing");
  CHECK(r->endpoints.For("postgres") == "https://postgres.ap-beijing.tencentcloudapi.com");
  CHECK(r->endpoints.For("tag") == "https://tag.tencentcloudapi.com");
}

TEST_CASE("credentials: an explicit profile beats TCCLI_PROFILE") {
  FakeHome home;
  home.Write("a.credential", R"({"secretId":"AKIDa","secretKey":"ka"})");
  home.Write("b.credential", R"({"secretId":"AKIDb","secretKey":"kb"})");
  ConfigSources s = Sources(home, {{"TCCLI_PROFILE", "a"}});
  s.profile = std::string("b");
  auto r = LoadCloudConfig(s);
  REQUIRE(r.ok());
  CHECK(r->credentials.secret_id == "AKIDb");
}

TEST_CASE("credentials: endpoint override order is flag, then environment") {
  FakeHome home;
  std::map<std::string, std::string> env = {{"TENCENTCLOUD_SECRET_ID", "AKID"},
                                            {"TENCENTCLOUD_SECRET_KEY", "k"},
                                            {"TENCENTCLOUD_ENDPOINT", "http://127.0.0.1:9100"}};
  auto from_env = LoadCloudConfig(Sources(home, env));
  REQUIRE(from_env.ok());
  CHECK(from_env->endpoints.For("postgres") == "http://127.0.0.1:9100");
  CHECK(from_env->endpoints.For("tag") == "http://127.0.0.1:9100");
  ConfigSources s = Sources(home, env);
  s.endpoint = std::string("127.0.0.1:9200");
  auto from_flag = LoadCloudConfig(s);
  REQUIRE(from_flag.ok());
  CHECK(from_flag->endpoints.For("postgres") == "https://127.0.0.1:9200");
}

TEST_CASE("credentials: none found names every source checked") {
  FakeHome home;
  auto r = LoadCloudConfig(Sources(home, {}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kAuth);
  const std::string& m = r.status().message();
  CHECK(m.find("TENCENTCLOUD_SECRET_ID") != std::string::npos);
  CHECK(m.find("TENCENTCLOUD_SECRET_KEY") != std::string::npos);
  CHECK(m.find("tccli profile 'default'") != std::string::npos);
  CHECK(m.find(".tccli/default.credential") != std::string::npos);
}

TEST_CASE("credentials: half-set environment is an error, not a fallback") {
  FakeHome home;
  home.Write("default.credential", R"({"secretId":"AKIDfile","secretKey":"filekey"})");
  auto r = LoadCloudConfig(Sources(home, {{"TENCENTCLOUD_SECRET_ID", "AKIDenv"}}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("not TENCENTCLOUD_SECRET_KEY") != std::string::npos);
}

TEST_CASE("credentials: malformed profile files say which file and why") {
  FakeHome home;
  home.Write("default.credential", "{not json");
  auto r = LoadCloudConfig(Sources(home, {}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidInput);
  CHECK(r.status().message().find("default.credential: not valid JSON") != std::string::npos);

  home.Write("default.credential", R"({"secretId":"AKID"})");
  r = LoadCloudConfig(Sources(home, {}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("needs string fields secretId and secretKey") != std::string::npos);
  // The message never echoes file contents, which may hold a key.
  CHECK(r.status().message().find("AKID\"") == std::string::npos);
}


TEST_CASE("credentials: plain http goes only to this machine unless allowed") {
  for (const char* url : {"https://postgres.tencentcloudapi.com", "https://10.0.0.1:8443/x", "http://127.0.0.1:9100",
                          "http://127.255.0.9", "http://localhost:80/", "http://LocalHost", "http://[::1]:9100/"}) {
    INFO(url);
    CHECK(CheckEndpoint(url, "", InsecureEndpoint::kRefuse).ok());
  }
  for (const char* url : {"http://10.0.0.1:9100", "http://postgres.tencentcloudapi.com", "http://127.0.0.1.evil.example",
                          "http://127.0.0.1@evil.example/", "http://localhost.evil.example", "http://[::2]/",
                          "http://128.0.0.1", "HTTP://evil.example"}) {
    INFO(url);
    Status s = CheckEndpoint(url, "TENCENTCLOUD_ENDPOINT", InsecureEndpoint::kRefuse);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == Code::kInvalidInput);
    CHECK(s.message().rfind(std::string("endpoint ") + url + " (TENCENTCLOUD_ENDPOINT) is plain http to ", 0) == 0);
    CHECK(s.message().find("pass --insecure-endpoint to allow it; nothing was sent") != std::string::npos);
    CHECK(CheckEndpoint(url, "", InsecureEndpoint::kAllow).ok());
  }
  for (const char* url : {"ftp://127.0.0.1/", "file:///etc/passwd", "http://exa mple"}) {
    INFO(url);
    CHECK_FALSE(CheckEndpoint(url, "", InsecureEndpoint::kAllow).ok());
  }
}

TEST_CASE("credentials: every configured endpoint is checked where it is set") {
  FakeHome home;
  std::map<std::string, std::string> env = {{"TENCENTCLOUD_SECRET_ID", "AKID"},
                                            {"TENCENTCLOUD_SECRET_KEY", "k"},
                                            {"TENCENTCLOUD_ENDPOINT", "http://{service}.internal.example"}};
  auto from_env = LoadCloudConfig(Sources(home, env));
  REQUIRE_FALSE(from_env.ok());
  CHECK(from_env.status().message().rfind(
            "endpoint http://service.internal.example (TENCENTCLOUD_ENDPOINT) is plain http to service.internal.example", 0) == 0);

  ConfigSources s = Sources(home, env);
  s.endpoint = "http://10.1.2.3:9000";
  s.endpoint_origin = "stack/reconciler.yaml:5:15 provider.tencentcloud.endpoint";
  auto from_project = LoadCloudConfig(s);
  REQUIRE_FALSE(from_project.ok());
  CHECK(from_project.status().message().rfind(
            "endpoint http://10.1.2.3:9000 (stack/reconciler.yaml:5:15 provider.tencentcloud.endpoint) is plain http", 0) == 0);
  s.insecure_endpoint = InsecureEndpoint::kAllow;
  auto allowed = LoadCloudConfig(s);
  REQUIRE(allowed.ok());
  CHECK(allowed->insecure_endpoint == InsecureEndpoint::kAllow);

  home.Write("default.credential", R"({"secretId":"AKIDp","secretKey":"kp"})");
  home.Write("default.configure", R"({"postgres":{"endpoint":"http://pg.internal.example"}})");
  auto from_profile = LoadCloudConfig(Sources(home, {}));
  REQUIRE_FALSE(from_profile.ok());
  CHECK(from_profile.status().message().rfind(
            "endpoint http://pg.internal.example (the tccli profile's postgres.endpoint) is plain http", 0) == 0);
}

}  // namespace
}  // namespace reconciler::tencentcloud
