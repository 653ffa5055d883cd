#include "tests/support/pty_child.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace reconciler::testing {

using Clock = std::chrono::steady_clock;

PtyChild::PtyChild(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& cwd,
                   unsigned short columns) {
  winsize size{40, columns, 0, 0};
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

PtyChild::~PtyChild() {
  if (pid_ > 0 && status_ < 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) close(master_);
}

bool PtyChild::WaitFor(const std::string& text, std::chrono::seconds deadline) {
  const auto until = Clock::now() + deadline;
  while (screen_.find(text, mark_) == std::string::npos) {
    if (Clock::now() >= until || !ReadSome(until)) return false;
  }
  return true;
}

void PtyChild::Type(const std::string& keys) {
  mark_ = screen_.size();
  CHECK(write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
}

int PtyChild::Wait(std::chrono::seconds deadline) {
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = status;
      Drain();
      return status;
    }
    ReadSome(std::min(until, Clock::now() + std::chrono::milliseconds(50)));
  }
  return -1;
}

void PtyChild::Drain() {
  while (ReadSome(Clock::now())) {
  }
}

void PtyChild::Resize(unsigned short columns) {
  winsize size{40, columns, 0, 0};
  CHECK(ioctl(master_, TIOCSWINSZ, &size) == 0);
}

bool PtyChild::ReadSome(Clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  pollfd p{master_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0))) <= 0) return false;
  char buf[4096];
  ssize_t n = read(master_, buf, sizeof buf);
  if (n <= 0) return false;
  screen_.append(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace reconciler::testing
