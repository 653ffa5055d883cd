#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <signal.h>

extern char** environ;

namespace reconciler::testing {

namespace {

std::vector<std::string> BuildEnv(const std::vector<std::string>& changes) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const std::string& change : changes) {
    std::string name = change[0] == '-' ? change.substr(1) : change.substr(0, change.find('='));
    std::erase_if(env, [&](const std::string& kv) { return kv.compare(0, name.size() + 1, name + "=") == 0; });
    if (change[0] != '-') env.push_back(change);
  }
  return env;
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::string& input, const std::string& cwd) {
  Child child(argv, env, cwd, input);
  return child.Wait();
}

Child::Child(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& cwd,
             const std::string& input) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) return;
  std::vector<std::string> env_strings = BuildEnv(env);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!input.empty()) {
    ssize_t ignored = write(in_pipe[1], input.data(), input.size());
    (void)ignored;
  }
  close(in_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
  reader_ = std::thread([this] {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int open_count = 2;
    while (open_count > 0) {
      if (poll(fds, 2, -1) < 0) break;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[65536];
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        std::lock_guard<std::mutex> lock(mu_);
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_count;
        } else {
          (i == 0 ? result_.out : result_.err).append(buf, static_cast<size_t>(n));
        }
        cv_.notify_all();
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  });
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

bool Child::WaitForOutput(const std::string& text, std::chrono::seconds deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, deadline, [&] { return result_.out.find(text) != std::string::npos || closed_; }) &&
         result_.out.find(text) != std::string::npos;
}

bool Child::WaitForOutput(const std::function<bool(const std::string&)>& ready,
                          std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return closed_ || ready(result_.out); });
  return ready(result_.out);
}

bool Child::WaitForEnd(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return closed_; });
}

void Child::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);  // never kill(-1): that signals every process we may signal
}

ProcessResult Child::Wait() {
  if (reader_.joinable()) reader_.join();
  int status = 0;
  if (pid_ > 0) waitpid(pid_, &status, 0);
  pid_ = -1;
  std::lock_guard<std::mutex> lock(mu_);
  result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result_;
}

std::string BinaryPath(const std::string& name) { return std::string(RECONCILER_BINARY_DIR) + "/" + name; }

std::string SourcePath(const std::string& relative) {
  return std::string(RECONCILER_SOURCE_DIR) + "/" + relative;
}

}  // namespace reconciler::testing
