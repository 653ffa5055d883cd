// apply on a real pseudo-terminal: Ctrl-C typed at the keyboard goes through the line
// discipline to the foreground process group, as it does for a user, and must end apply at
// once with exit 130, printing nothing, whichever thread the kernel picks.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "tests/support/emulator_fixture.h"
#include "tests/support/process.h"
#include "tests/support/pty_child.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

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

// Enough of a terminal for what apply writes: text, \r, \n, cursor up (ESC[nA), erase
// below (ESC[J) and erase line (ESC[2K); colours are ignored. Text past the last column
// wraps to the next row, as on a real terminal, and a resize cuts rows without reflowing
// them, as xterm does. A cell holds one UTF-8 code point.
class Screen {
 public:
  explicit Screen(size_t columns) : columns_(columns) {}

  void Feed(const std::string& bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(bytes[i]);
      if (c == 0x1b && i + 1 < bytes.size() && bytes[i + 1] == '[') {
        size_t end = i + 2;
        while (end < bytes.size() && !(bytes[end] >= 0x40 && bytes[end] <= 0x7e)) ++end;
        if (end < bytes.size()) Csi(bytes.substr(i + 2, end - i - 2), bytes[end]);
        i = end;
      } else if (c == '\r') {
        col_ = 0;
      } else if (c == '\n') {
        ++row_;
      } else if ((c & 0xC0) == 0x80) {
        if (col_ > 0 && Row(row_).size() >= col_) Row(row_)[col_ - 1] += static_cast<char>(c);  // continues the last code point
      } else if (c >= 0x20) {
        Put(std::string(1, static_cast<char>(c)));
      }
    }
  }
  void Resize(size_t columns) {
    columns_ = columns;
    for (auto& row : rows_) row.resize(std::min(row.size(), columns));
    col_ = std::min(col_, columns - 1);
  }
  // The rows as text, trailing blanks dropped.
  std::vector<std::string> Rows() const {
    std::vector<std::string> out;
    for (const auto& row : rows_) {
      std::string text;
      for (const std::string& cell : row) text += cell.empty() ? " " : cell;
      out.push_back(text.substr(0, text.find_last_not_of(' ') + 1));
    }
    return out;
  }
  // Rows of the live view (they start with a mark) that overflowed and wrapped.
  int live_wraps() const { return live_wraps_; }

 private:
  std::vector<std::string>& Row(size_t r) {
    if (rows_.size() <= r) rows_.resize(r + 1);
    return rows_[r];
  }
  void Put(const std::string& cell) {
    if (col_ >= columns_) {
      live_wraps_ += IsLive(Row(row_));
      ++row_;
      col_ = 0;
    }
    std::vector<std::string>& row = Row(row_);
    if (row.size() <= col_) row.resize(col_ + 1);
    row[col_++] = cell;
  }
  static bool IsLive(const std::vector<std::string>& row) {
    return row.size() > 2 && (row[2] == "\xe2\x80\xa6" || row[2] == "\xe2\x9c\x93" || row[2] == "\xe2\x9c\x97");
  }
  void Csi(const std::string& params, char final) {
    const int n = params.empty() || params[0] == '?' ? 0 : std::atoi(params.c_str());
    if (final == 'A') {
      row_ -= std::min<size_t>(row_, std::max(n, 1));
    } else if (final == 'J' && n == 0) {
      rows_.resize(std::min(rows_.size(), row_ + 1));
      Row(row_).resize(std::min(Row(row_).size(), col_));
    } else if (final == 'K' && n == 2) {
      Row(row_).clear();
    }
  }

  size_t columns_;
  size_t row_ = 0, col_ = 0;
  std::vector<std::vector<std::string>> rows_;
  int live_wraps_ = 0;
};

// Checks the final screen of an apply of the prepaid stack: the live view's rows fit in
// `columns`, none wrapped, and its one resource shows on exactly one row, done.
void CheckLiveView(const Screen& screen, size_t columns) {
  std::vector<std::string> live;
  for (const std::string& row : screen.Rows()) {
    // A live row starts with its mark (three UTF-8 bytes from 0xe2); the plan's rows do not.
    if (row.rfind("  \xe2", 0) == 0 && row.find("ReadOnlyInstance/billing-ro  ") != std::string::npos) live.push_back(row);
  }
  CHECK(screen.live_wraps() == 0);
  REQUIRE(live.size() == 1);
  CHECK(live[0].rfind("  \xe2\x9c\x93 ReadOnlyInstance/billing-ro  complete", 0) == 0);
  for (const std::string& row : screen.Rows()) {
    const size_t cells = static_cast<size_t>(std::count_if(row.begin(), row.end(), [](char c) { return (c & 0xC0) != 0x80; }));
    if (row.rfind("  \xe2", 0) == 0) CHECK(cells < columns);
  }
}

TEST_CASE("terminal: the live view fits an 80-column terminal and leaves no copies, with NO_COLOR too") {
  TerminalRig rig;
  std::vector<std::string> env = rig.env;
  env.push_back("NO_COLOR=1");
  PtyChild child({BinaryPath("reconciler"), "apply", "--auto-approve"}, env, rig.stack(), 80);
  REQUIRE(child.started());
  const int status = child.Wait(std::chrono::seconds(120));
  INFO(child.screen());
  REQUIRE(status != -1);
  CHECK(WEXITSTATUS(status) == 0);
  // NO_COLOR turns colour off, not the live view: the cursor still moves up to redraw.
  CHECK(child.screen().find("\033[1A") != std::string::npos);
  CHECK(child.screen().find("\033[3") == std::string::npos);
  Screen screen(80);
  screen.Feed(child.screen());
  CheckLiveView(screen, 80);
  // A line of the view was longer than the terminal, so the fitting was put to the test.
  CHECK(child.screen().find("\xe2\x80\xa6\r\n") != std::string::npos);
}

TEST_CASE("terminal: after a resize to 60 columns the live view redraws to fit") {
  TerminalRig rig;
  PtyChild child({BinaryPath("reconciler"), "apply", "--auto-approve", "--color=always"}, rig.env, rig.stack(), 80);
  REQUIRE(child.started());
  REQUIRE_MESSAGE(child.WaitFor("ordered", std::chrono::seconds(60)), child.screen());
  // Stopped, the child writes nothing more: what it wrote at 80 columns is all read before
  // the size changes, as a window resized between two redraws would show it.
  REQUIRE(kill(child.pid(), SIGSTOP) == 0);
  int stopped = 0;
  REQUIRE(waitpid(child.pid(), &stopped, WUNTRACED) == child.pid());
  child.Drain();
  const size_t before_resize = child.screen().size();
  child.Resize(60);
  REQUIRE(kill(child.pid(), SIGCONT) == 0);
  const int status = child.Wait(std::chrono::seconds(120));
  INFO(child.screen());
  REQUIRE(status != -1);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(child.screen().find("\033[32m") != std::string::npos);  // --color=always: the done mark is green
  Screen screen(80);
  screen.Feed(child.screen().substr(0, before_resize));
  screen.Resize(60);
  screen.Feed(child.screen().substr(before_resize));
  CheckLiveView(screen, 60);
}

}  // namespace
}  // namespace reconciler::testing
