#pragma once

// Runs the project's real executables as child processes, for tests that must see
// exactly what a user would see on stdout and stderr.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace reconciler::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with the parent's environment changed by `env`: "NAME=value" sets,
// "-NAME" unsets. Feeds `input` on stdin and waits for the process to exit.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         const std::string& input = "", const std::string& cwd = "");

// A child process whose output is read as it comes, so a test can act the moment a line
// appears (send Ctrl-C when a purchase is ordered, say).
class Child {
 public:
  // Starts argv[0] with the environment changed as for RunProcess; `input` is fed on stdin,
  // which is then closed.
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}, const std::string& cwd = "",
        const std::string& input = "");
  ~Child();
  // Blocks until stdout holds `text` or the deadline passes; returns whether it appeared.
  bool WaitForOutput(const std::string& text, std::chrono::seconds deadline);
  // Blocks until `ready(stdout so far)` holds, the output closes (the process ended) or
  // `deadline` passes; returns whether `ready` held.
  bool WaitForOutput(const std::function<bool(const std::string&)>& ready,
                     std::chrono::steady_clock::time_point deadline);
  // Blocks until the process closed its output (it ended) or `deadline` passes; returns
  // whether it ended. Does not reap it: Wait() does.
  bool WaitForEnd(std::chrono::steady_clock::time_point deadline);
  void Signal(int sig);
  ProcessResult Wait();

 private:
  int pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  ProcessResult result_;
  bool closed_ = false;
};

// Path of a binary built next to the test binary, e.g. BinaryPath("reconciler").
std::string BinaryPath(const std::string& name);
// Path inside the source tree.
std::string SourcePath(const std::string& relative);

}  // namespace reconciler::testing
