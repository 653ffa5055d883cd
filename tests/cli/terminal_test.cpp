// apply on a real pseudo-terminal: Ctrl-C typed at the keyboard goes through the line
// discipline to the foreground process group, as it does for a user, and must end apply at
// once with exit 130, printing nothing, whichever thread the kernel picks.

#include <doctest/doctest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A child on the slave side of a new pty, as its session leader with the pty as its
// controlling terminal; the test holds the master side, as a terminal emulator would.
class PtyChild {
 public:
  PtyChild(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& cwd) {
    winsize size{40, 160, 0, 0};
    pid_ = forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      if (chdir(cwd.c_str()) != 0) _exit(126);
      for (const std::string& kv : env) putenv(const_cast<char*>(kv.c_str()));
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~PtyChild() {
    if (pid_ > 0 && status_ < 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool started() const { return pid_ > 0; }

  // Reads what the terminal shows until `text` appears or the deadline passes.
  bool WaitFor(const std::string& text, std::chrono::seconds deadline) {
    const auto until = Clock::now() + deadline;
    while (screen_.find(text, mark_) == std::string::npos) {
      if (Clock::now() >= until || !ReadSome(until)) return false;
    }
    return true;
  }
  // Types `keys` at the terminal; whatever shows from now on is after().
  void Type(const std::string& keys) {
    mark_ = screen_.size();
    CHECK(write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }
  // Waits for the child to end, reading the terminal meanwhile; -1 past the deadline.
  int Wait(std::chrono::seconds deadline) {
    const auto until = Clock::now() + deadline;
    while (Clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = status;
        while (ReadSome(Clock::now())) {
        }
        return status;
      }
      ReadSome(std::min(until, Clock::now() + std::chrono::milliseconds(50)));
    }
    return -1;
  }
  std::string after() const { return screen_.substr(mark_); }
  const std::string& screen() const { return screen_; }

 private:
  bool ReadSome(Clock::time_point until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0))) <= 0) return false;
    char buf[4096];
    ssize_t n = read(master_, buf, sizeof buf);
    if (n <= 0) return false;
    screen_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int pid_ = -1;
  int master_ = -1;
  int status_ = -1;
  std::string screen_;
  size_t mark_ = 0;
};

// What the program printed after the keys were typed: the terminal's own echo of ^C and
// the live view's cursor movements and redraws of lines it already showed are not output.
bool PrintedSomethingNew(const std::string& after) {
  for (const char* words : {"interrupted", "quitting", "Apply ", "Purchases", "pending", "error"}) {
    if (after.find(words) != std::string::npos) return true;
  }
  return false;
}

struct TerminalRig {
  TerminalRig()
      : emu([](emu::World& w) {
          w.catalogue.clock.manual = false;
          w.catalogue.clock.time_scale = 0.1;  // prepaid orders take seconds to deliver
        }) {
    fs::copy(SourcePath("examples/prepaid"), dir.path() / "stack", fs::copy_options::recursive);
    env = {std::string("TENCENTCLOUD_SECRET_ID=") + kDemoSecretId,
           std::string("TENCENTCLOUD_SECRET_KEY=") + kDemoSecretKey, "TENCENTCLOUD_ENDPOINT=" + emu.url(),
           "HOME=/nonexistent", "TERM=xterm", "RECONCILER_LOCK_DIR=" + (dir.path() / "locks").string()};
    fs::create_directories(dir.path() / "locks");
  }
  std::string stack() const { return (dir.path() / "stack").string(); }
  int RealCreates() {
    json c = emu.Calls("CreateReadOnlyDBInstance");
    return c["total"].get<int>() - c["dryRun"].get<int>();
  }
  EmulatorFixture emu;
  TempDir dir{"tty"};
  std::vector<std::string> env;
};

TEST_CASE("terminal: Ctrl-C during a purchase ends apply at once with 130 and prints nothing") {
  TerminalRig rig;
  PtyChild child({BinaryPath("reconciler"), "apply", "--auto-approve"}, rig.env, rig.stack());
  REQUIRE(child.started());
  REQUIRE_MESSAGE(child.WaitFor("ordered", std::chrono::seconds(60)), child.screen());
  child.Type("\x03");
  const int status = child.Wait(std::chrono::seconds(10));
  INFO(child.screen());
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_FALSE(PrintedSomethingNew(child.after()));
  // What was in flight is in the state: the next apply resumes it and buys nothing more.
  const int creates = rig.RealCreates();
  ProcessResult again = RunProcess({BinaryPath("reconciler"), "apply", "--auto-approve"},
                                   std::vector<std::string>(rig.env.begin(), rig.env.end()), "", rig.stack());
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("resume") != std::string::npos);
  CHECK(rig.RealCreates() == creates);
  json state = rig.emu.State();
  int replicas = 0;
  for (const json& i : state["instances"]) replicas += i["DBInstanceType"] == "readonly";
  CHECK(replicas == 3);
}

TEST_CASE("terminal: Ctrl-C at the confirmation prompt ends apply with 130 and sends nothing") {
  TerminalRig rig;
  PtyChild child({BinaryPath("reconciler"), "apply"}, rig.env, rig.stack());
  REQUIRE(child.started());
  REQUIRE_MESSAGE(child.WaitFor("Only 'yes' is accepted", std::chrono::seconds(60)), child.screen());
  child.Type("\x03");
  const int status = child.Wait(std::chrono::seconds(10));
  INFO(child.screen());
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_FALSE(PrintedSomethingNew(child.after()));
  CHECK(rig.RealCreates() == 0);
}

TEST_CASE("terminal: typing yes at the prompt applies") {
  TerminalRig rig;
  PtyChild child({BinaryPath("reconciler"), "apply"}, rig.env, rig.stack());
  REQUIRE(child.started());
  REQUIRE_MESSAGE(child.WaitFor("Only 'yes' is accepted", std::chrono::seconds(60)), child.screen());
  child.Type("yes\n");
  const int status = child.Wait(std::chrono::seconds(120));
  INFO(child.screen());
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(child.after().find("Apply complete: 1 done") != std::string::npos);
  CHECK(rig.RealCreates() == 1);
}

}  // namespace
}  // namespace reconciler::testing
