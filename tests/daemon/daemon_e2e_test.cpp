// The daemon end to end: the real `reconciler run --git` process against the emulator (a
// real HTTP server verifying real signatures) and a bare git repository on disk, pushed to
// with the git command line through a pre-receive hook that is `reconciler hook`. The test
// waits on conditions read from /status, each with a deadline.

#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kSecret = "e2e-webhook-secret";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t n = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  close(fd);
  return ntohs(a.sin_port);
}

// HMAC-SHA256 in hex, with OpenSSL directly: the test does not use the daemon's own code.
std::string Sign(const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(std::strlen(kSecret)),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

std::string Project(const std::string& drift) {
  return "stack: e2e\n"
         "provider:\n  tencentcloud:\n    region: ap-beijing\n"
         "defaults:\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n"
         "daemon:\n  interval: 2s\n  gitPoll: 1s\n  drift: " + drift + "\n";
}

std::string Replicas(int count) {
  return "apiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: reports}\nspec:\n"
         "  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n  storageGB: 100\n"
         "  count: " + std::to_string(count) + "\n  chargeType: POSTPAID_BY_HOUR\n  tags: {team: data}\n";
}

struct DaemonRig {
  DaemonRig()
      : emu([](emu::World& w) {
          w.catalogue.clock.manual = false;
          w.catalogue.clock.time_scale = 0.02;
        }),
        port(FreePort()) {
    work = (dir.path() / "work").string();
    bare = (dir.path() / "stack.git").string();
    workdir = (dir.path() / "daemon").string();
    fs::create_directories(work);
    REQUIRE(Git({"init", "-q", "-b", "main", work}, dir.str()).exit_code == 0);
    REQUIRE(Git({"init", "-q", "--bare", "-b", "main", bare}, dir.str()).exit_code == 0);
    REQUIRE(Git({"remote", "add", "origin", bare}, work).exit_code == 0);
    // The pre-receive hook is the product's, validating and planning each push with preflight.
    const fs::path hook = fs::path(bare) / "hooks" / "pre-receive";
    std::ofstream(hook) << "#!/bin/sh\nexec '" << BinaryPath("reconciler")
                        << "' hook pre-receive --branch main --workdir '" << workdir << "'\n";
    fs::permissions(hook, fs::perms::owner_all);
  }
  ~DaemonRig() {
    if (daemon) {
      daemon->Signal(SIGKILL);
      daemon->Wait();
    }
  }

  std::vector<std::string> Env() const {
    return {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId, std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey,
            "TENCENTCLOUD_ENDPOINT=" + emu.url(), std::string("RECONCILER_WEBHOOK_SECRET=") + kSecret,
            "HOME=" + dir.str(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
            "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "NO_COLOR=1"};
  }
  ProcessResult Git(std::vector<std::string> args, const std::string& cwd) {
    args.insert(args.begin(), "/usr/bin/git");
    return RunProcess(args, Env(), "", cwd);
  }
  // Commits the files and pushes; returns the push's result.
  ProcessResult Push(const std::string& project, const std::string& replicas, const std::string& message) {
    std::ofstream(fs::path(work) / "reconciler.yaml") << project;
    std::ofstream(fs::path(work) / "replicas.yaml") << replicas;
    REQUIRE(Git({"add", "-A"}, work).exit_code == 0);
    REQUIRE(Git({"commit", "-q", "-m", message}, work).exit_code == 0);
    return Git({"push", "-q", "origin", "main"}, work);
  }
  std::string Head() { return Git({"rev-parse", "HEAD"}, work).out.substr(0, 40); }

  void Start() {
    daemon = std::make_unique<Child>(
        std::vector<std::string>{BinaryPath("reconciler"), "run", "--git", bare, "--workdir", workdir, "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--log-format", "json"},
        Env(), dir.str());
  }

  httplib::Result Get(const std::string& path) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2);
    c.set_read_timeout(10);
    return c.Get(path.c_str());
  }
  httplib::Result Post(const std::string& path, const std::string& body, const httplib::Headers& headers) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2);
    return c.Post(path.c_str(), headers, body, "application/json");
  }
  json Status() {
    httplib::Result r = Get("/status");
    if (!r || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }
  // Waits until `pred(/status)` holds, at most `limit`.
  bool WaitFor(const std::function<bool(const json&)>& pred, std::chrono::seconds limit = std::chrono::seconds(90)) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      json s = Status();
      if (s.is_object() && pred(s)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling pace, not a wait for time to pass
    }
    last = Status();
    return false;
  }
  int NonDryCreates() {
    json c = emu.Calls("CreateReadOnlyDBInstance");
    return c["total"].get<int>() - c["dryRun"].get<int>();
  }
  int Running() {
    int n = 0;
    for (const json& i : emu.ReadOnlyInstances()) n += i.value("DBInstanceStatus", "") == "running";
    return n;
  }

  EmulatorFixture emu;
  TempDir dir{"daemon-e2e"};
  std::string work, bare, workdir;
  int port;
  std::unique_ptr<Child> daemon;
  json last;
};

json Resource(const json& status, const std::string& key) {
  for (const json& r : status.value("resources", json::array())) {
    if (r.value("key", "") == key) return r;
  }
  return json();
}

bool Converged(const json& s, int count, const std::string& commit) {
  json r = Resource(s, "ReadOnlyInstance/reports");
  return s.value("commit", "") == commit && r.is_object() && r.value("condition", "") == "Ready" &&
         r.value("observed", -1) == count && r.value("desired", -1) == count && s.value("ordersPending", -1) == 0;
}

TEST_CASE("daemon e2e: push, reject, drift, webhooks, and a SIGKILL mid-purchase, with nothing bought twice") {
  DaemonRig rig;
  REQUIRE(rig.Push(Project("correct"), Replicas(2), "two replicas").exit_code == 0);
  const std::string first = rig.Head();
  rig.Start();

  // 1. A pushed commit converges.
  INFO(rig.last.dump());
  REQUIRE(rig.WaitFor([&](const json& s) { return Converged(s, 2, first); }));
  CHECK(rig.NonDryCreates() == 1);
  CHECK(rig.Running() == 2);
  httplib::Result ready = rig.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);

  // 2. An invalid commit is refused by pre-receive, and the daemon keeps the last good one.
  ProcessResult rejected = rig.Push(Project("correct"), Replicas(2) + "  noSuchField: 1\n", "broken");
  CHECK(rejected.exit_code != 0);
  CHECK(rejected.err.find("noSuchField") != std::string::npos);
  CHECK(rejected.err.find("replicas.yaml") != std::string::npos);
  REQUIRE(rig.Git({"reset", "-q", "--hard", "HEAD~1"}, rig.work).exit_code == 0);
  CHECK(rig.Status().value("commit", "") == first);

  // 3. Drift: an instance renamed behind the daemon's back is named back within a resync ...
  std::vector<json> replicas = rig.emu.ReadOnlyInstances();
  REQUIRE(!replicas.empty());
  const std::string id = replicas[0]["DBInstanceId"];
  const std::string name = replicas[0]["DBInstanceName"];
  REQUIRE(rig.emu.Call("ModifyDBInstanceName", {{"DBInstanceId", id}, {"InstanceName", "renamed-by-hand"}}).ok());
  auto name_of = [&] {
    for (const json& i : rig.emu.ReadOnlyInstances()) {
      if (i["DBInstanceId"] == id) return i.value("DBInstanceName", "");
    }
    return std::string();
  };
  const auto drift_at = Clock::now();
  bool corrected = false;
  while (!corrected && Clock::now() - drift_at < std::chrono::seconds(30)) {
    corrected = name_of() == name;
    if (!corrected) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(corrected);
  CHECK(Clock::now() - drift_at < std::chrono::seconds(10));  // one 2 s resync, with room for a slow machine

  // ... and under `drift: report` only reported.
  REQUIRE(rig.Push(Project("report"), Replicas(2), "report drift only").exit_code == 0);
  const std::string second = rig.Head();
  REQUIRE(rig.WaitFor([&](const json& s) { return s.value("commit", "") == second && s.value("driftMode", "") == "report"; }));
  REQUIRE(rig.emu.Call("ModifyDBInstanceName", {{"DBInstanceId", id}, {"InstanceName", "renamed-again"}}).ok());
  REQUIRE(rig.WaitFor([&](const json& s) {
    return Resource(s, "ReadOnlyInstance/reports").value("condition", "") == "Drifted";
  }));
  const int64_t passes = rig.Status().value("passes", int64_t{0});
  REQUIRE(rig.WaitFor([&](const json& s) { return s.value("passes", int64_t{0}) >= passes + 2; }));
  CHECK(name_of() == "renamed-again");  // two more passes, and still as the hand left it
  CHECK(Resource(rig.Status(), "ReadOnlyInstance/reports").value("condition", "") == "Drifted");
  httplib::Result metrics = rig.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("reconciler_drift_detected_total") != std::string::npos);

  // 4. A signed GitHub webhook triggers a pass.
  auto webhook_passes = [&] {
    json s = rig.Status();
    return s.is_object() ? s.value("passesByTrigger", json::object()).value("webhook github", int64_t{0}) : int64_t{-1};
  };
  const std::string body = R"({"ref":"refs/heads/main"})";
  httplib::Result ok = rig.Post("/hooks/github", body,
                                {{"X-Hub-Signature-256", "sha256=" + Sign(body)}, {"X-GitHub-Event", "push"},
                                 {"X-GitHub-Delivery", "delivery-1"}});
  REQUIRE(ok);
  CHECK(ok->status == 202);
  REQUIRE(rig.WaitFor([&](const json&) { return webhook_passes() == 1; }, std::chrono::seconds(30)));

  // 5. Unsigned, wrongly signed, SHA-1-only and replayed webhooks trigger nothing.
  httplib::Result unsigned_ = rig.Post("/hooks/github", body, {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "d2"}});
  httplib::Result wrong = rig.Post("/hooks/github", body,
                                   {{"X-Hub-Signature-256", "sha256=" + Sign(body + "x")}, {"X-GitHub-Delivery", "d3"}});
  httplib::Result sha1 = rig.Post("/hooks/github", body,
                                  {{"X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567"},
                                   {"X-GitHub-Delivery", "d4"}});
  httplib::Result replay = rig.Post("/hooks/github", body,
                                    {{"X-Hub-Signature-256", "sha256=" + Sign(body)}, {"X-GitHub-Event", "push"},
                                     {"X-GitHub-Delivery", "delivery-1"}});
  httplib::Result gitlab_bad = rig.Post("/hooks/gitlab", body, {{"X-Gitlab-Token", "not-the-secret"}});
  REQUIRE(unsigned_);
  REQUIRE(wrong);
  REQUIRE(sha1);
  REQUIRE(replay);
  REQUIRE(gitlab_bad);
  CHECK(unsigned_->status == 401);
  CHECK(wrong->status == 401);
  CHECK(sha1->status == 401);
  CHECK(replay->status == 200);  // acknowledged, not acted on
  CHECK(gitlab_bad->status == 401);
  const int64_t before = rig.Status().value("passes", int64_t{0});
  REQUIRE(rig.WaitFor([&](const json& s) { return s.value("passes", int64_t{0}) >= before + 2; }));
  CHECK(webhook_passes() == 1);
  json by_trigger = rig.Status().value("passesByTrigger", json::object());
  CHECK_FALSE(by_trigger.contains("webhook gitlab"));

  // 6. SIGKILL in the middle of a purchase; the restarted daemon converges, buying nothing twice.
  REQUIRE(rig.Push(Project("correct"), Replicas(5), "five replicas").exit_code == 0);
  const std::string third = rig.Head();
  const int creates_before = rig.NonDryCreates();
  const auto push_at = Clock::now();
  while (rig.NonDryCreates() == creates_before && Clock::now() - push_at < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(rig.NonDryCreates() == creates_before + 1);
  rig.daemon->Signal(SIGKILL);
  rig.daemon->Wait();
  rig.daemon.reset();
  rig.Start();
  REQUIRE(rig.WaitFor([&](const json& s) { return Converged(s, 5, third); }));
  CHECK(rig.NonDryCreates() == creates_before + 1);  // the purchase was followed, not made again
  CHECK(rig.Running() == 5);

  // SIGTERM ends it gracefully.
  rig.daemon->Signal(SIGTERM);
  CHECK(rig.daemon->WaitForEnd(Clock::now() + std::chrono::seconds(10)));
  ProcessResult end = rig.daemon->Wait();
  rig.daemon.reset();
  CHECK(end.exit_code == 0);
  CHECK(end.err.find(kSecret) == std::string::npos);  // the secret is never logged
  CHECK(end.err.find(kDemoSecretKey) == std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing
