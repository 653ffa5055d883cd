#include "cli/fatal.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "cli/cli.h"

namespace reconciler {
namespace {

constexpr const char* kTail = ". Every purchase sent is recorded in the state store, and the next apply resumes it";

struct Died {
  int exit_code = -1;
  std::string err;
};

// Runs `body` in a forked child whose stderr is a pipe, with the handler installed.
template <typename Body>
Died RunChild(Body body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    InstallTerminateHandler();
    body();
    _exit(0);
  }
  close(fds[1]);
  Died out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

TEST_CASE("fatal: an exception escaping a thread ends in one line and exit 1 without a secret") {
  Died d = RunChild([] {
    setenv("TENCENTCLOUD_SESSION_TOKEN", "fatal-test-token-0123456789", 1);
    std::thread([] { throw std::runtime_error("boom near fatal-test-token-0123456789\nsecond line"); }).join();
  });
  CHECK(d.exit_code == kExitError);
  CHECK(d.err == std::string("reconciler: internal error (a bug; please report it): boom near <redacted> second line") +
                     kTail + "\n");
  CHECK(d.err.find("terminate called") == std::string::npos);
}

TEST_CASE("fatal: the message of anything caught names it in one bounded line") {
  CHECK(FatalMessage(std::make_exception_ptr(std::out_of_range("stoll"))) ==
        std::string("reconciler: internal error (a bug; please report it): stoll") + kTail);
  CHECK(FatalMessage(std::make_exception_ptr(42)) ==
        std::string("reconciler: internal error (a bug; please report it): an exception that is not a std::exception") +
            kTail);
  std::string long_line = FatalMessage(std::make_exception_ptr(std::runtime_error(std::string(5000, 'x'))));
  CHECK(long_line.size() < 500);
  CHECK(long_line.find('\n') == std::string::npos);
}

}  // namespace
}  // namespace reconciler
