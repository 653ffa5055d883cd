#include "cli/cli.h"

#include <doctest/doctest.h>

#include <atomic>

#include <sstream>

#include "providers/tencentcloud/credentials.h"
#include "tests/support/loopback_server.h"
#include "tests/support/process.h"

namespace reconciler {
namespace {

using testing::BinaryPath;
using testing::LoopbackServer;
using testing::RunProcess;

constexpr const char* kSecretKey = "cliSecretKey-ABCDEFGHIJKLMNOP";
constexpr const char* kToken = "cliSessionToken-QRSTUVWXYZ";

std::vector<std::string> CredentialEnv(const std::string& endpoint) {
  return {"TENCENTCLOUD_SECRET_ID=AKIDcli", std::string("TENCENTCLOUD_SECRET_KEY=") + kSecretKey,
          std::string("TENCENTCLOUD_SESSION_TOKEN=") + kToken, "TENCENTCLOUD_REGION=ap-guangzhou",
          "TENCENTCLOUD_ENDPOINT=" + endpoint, "HOME=/nonexistent"};
}

TEST_CASE("cli: --help lists every subcommand, and none is marked as not built") {
  std::ostringstream out, err;
  const char* argv[] = {"reconciler", "--help"};
  int rc = RunCli(2, const_cast<char**>(argv), {out, err});
  CHECK(rc == 0);
  for (const char* sub : {"validate", "plan", "apply", "run", "pause", "resume", "state", "import", "hook", "api"}) {
    CAPTURE(sub);
    CHECK(out.str().find(std::string("\n  ") + sub + " ") != std::string::npos);
  }
  CHECK(out.str().find("not built") == std::string::npos);
}

TEST_CASE("cli: an unknown flag is invalid input (exit 3)") {
  std::ostringstream out, err;
  const char* argv[] = {"reconciler", "api", "DescribeRegions", "--no-such-flag"};
  CHECK(RunCli(4, const_cast<char**>(argv), {out, err}) == kExitInvalidInput);
}

TEST_CASE("cli: api prints the response JSON and exits 0") {
  std::string action, data;  // before the server: its handler writes them
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    action = req.get_header_value("X-TC-Action");
    data = req.body;
    res.set_content(R"({"Response":{"TotalCount":1,"RegionSet":[{"Region":"ap-guangzhou"}],"RequestId":"abc"}})",
                    "application/json");
  });
  srv.Start();
  auto r = RunProcess({BinaryPath("reconciler"), "api", "DescribeRegions", "--data", R"({"Limit":5})"},
                      CredentialEnv(srv.url()));
  CHECK(r.exit_code == 0);
  srv.Stop();  // every handler has returned: what it wrote is ours to read
  CHECK(action == "DescribeRegions");
  CHECK(data == R"({"Limit":5})");
  CHECK(r.out.find("\"Region\": \"ap-guangzhou\"") != std::string::npos);
  CHECK(r.out.find("\"RequestId\": \"abc\"") != std::string::npos);
}

TEST_CASE("cli: api error exits 1 with code, message and RequestId on stderr") {
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        R"({"Response":{"Error":{"Code":"InvalidParameterValue.IllegalZone","Message":"zone bad"},"RequestId":"rid-7"}})",
        "application/json");
  });
  srv.Start();
  auto r = RunProcess({BinaryPath("reconciler"), "api", "CreateReadOnlyDBInstance"}, CredentialEnv(srv.url()));
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("InvalidParameterValue.IllegalZone") != std::string::npos);
  CHECK(r.err.find("zone bad") != std::string::npos);
  CHECK(r.err.find("rid-7") != std::string::npos);
}

TEST_CASE("cli: api --verbose never prints the secret key or token") {
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        R"({"Response":{"DBInstanceSet":[{"DBAccountSet":[{"DBUser":"root","DBPassword":"pw-in-answer"}]}],"RequestId":"r"}})",
        "application/json");
  });
  srv.Start();
  auto r = RunProcess({BinaryPath("reconciler"), "api", "DescribeServerlessDBInstances", "--verbose"},
                      CredentialEnv(srv.url()));
  CHECK(r.exit_code == 0);
  std::string all = r.out + r.err;
  CHECK(r.err.find("> X-TC-Action: DescribeServerlessDBInstances") != std::string::npos);
  CHECK(r.err.find("X-TC-Token: <redacted>") != std::string::npos);
  CHECK(all.find(kSecretKey) == std::string::npos);
  CHECK(all.find(kToken) == std::string::npos);
  CHECK(all.find("pw-in-answer") == std::string::npos);
}

TEST_CASE("cli: api with bad --data exits 3 and sends nothing") {
  std::atomic<int> calls{0};  // before the server: its handler counts here
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.set_content("{}", "application/json");
  });
  srv.Start();
  auto r = RunProcess({BinaryPath("reconciler"), "api", "DescribeRegions", "--data", "[1,2"},
                      CredentialEnv(srv.url()));
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("--data must be a JSON object") != std::string::npos);
  CHECK(calls == 0);
}

TEST_CASE("cli: api without credentials names the sources it checked") {
  auto r = RunProcess({BinaryPath("reconciler"), "api", "DescribeRegions"},
                      {"-TENCENTCLOUD_SECRET_ID", "-TENCENTCLOUD_SECRET_KEY", "-TCCLI_PROFILE",
                       "-TENCENTCLOUD_PROFILE", "-TENCENTCLOUD_CREDENTIALS_FILE", "HOME=/nonexistent",
                       "TENCENTCLOUD_METADATA_ENDPOINT=http://127.0.0.1:1/latest/meta-data/"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("TENCENTCLOUD_SECRET_ID") != std::string::npos);
  CHECK(r.err.find("/nonexistent/.tccli/default.credential") != std::string::npos);
}

}  // namespace
}  // namespace reconciler

namespace reconciler::testing {
namespace {

TEST_CASE("cli: a control character in the region or action never reaches the wire") {
  std::atomic<int> calls{0};
  LoopbackServer srv;
  srv.server().Post("/", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.set_content(R"({"Response":{"RequestId":"r"}})", "application/json");
  });
  srv.Start();
  auto region = RunProcess({BinaryPath("reconciler"), "api", "DescribeRegions", "--region", "ap-beijing\r\nX-Evil: 1"},
                           CredentialEnv(srv.url()));
  CHECK(region.exit_code != 0);
  CHECK(region.err.find("control characters") != std::string::npos);
  auto action = RunProcess({BinaryPath("reconciler"), "api", "DescribeRegions\nX-Evil: 1"}, CredentialEnv(srv.url()));
  CHECK(action.exit_code != 0);
  srv.Stop();
  CHECK(calls == 0);
}

TEST_CASE("cli: a service named {service} does not loop") {
  tencentcloud::Endpoints endpoints;
  endpoints.SetOverride("https://{service}.{service}.example");
  CHECK(endpoints.For("{service}") == "https://{service}.{service}.example");
  CHECK(endpoints.For("postgres") == "https://postgres.postgres.example");
}

}  // namespace
}  // namespace reconciler::testing
