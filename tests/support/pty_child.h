#pragma once

// A child on the slave side of a new pseudo-terminal, as its session leader with the pty as
// its controlling terminal; the test holds the master side, as a terminal emulator would.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace reconciler::testing {

class PtyChild {
 public:
  // Starts argv[0] (a path) in `cwd` with `env` ("NAME=value") added, on a terminal of
  // `columns` x 40.
  PtyChild(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& cwd,
           unsigned short columns = 160);
  ~PtyChild();
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Reads what the terminal shows until `text` appears (after the last Type()) or the
  // deadline passes.
  bool WaitFor(const std::string& text, std::chrono::seconds deadline);
  // Types `keys` at the terminal; whatever shows from now on is after().
  void Type(const std::string& keys);
  // Waits for the child to end, reading the terminal meanwhile; -1 past the deadline.
  int Wait(std::chrono::seconds deadline);
  // Reads whatever the terminal holds now, without waiting for more.
  void Drain();
  // Changes the terminal's size, as a window resize does (the child gets SIGWINCH).
  void Resize(unsigned short columns);

  std::string after() const { return screen_.substr(mark_); }
  // Every byte the child wrote to the terminal so far.
  const std::string& screen() const { return screen_; }

 private:
  bool ReadSome(std::chrono::steady_clock::time_point until);

  pid_t pid_ = -1;
  int master_ = -1;
  int status_ = -1;
  std::string screen_;
  size_t mark_ = 0;
};

}  // namespace reconciler::testing
