// systemd notifications for real: a unix datagram socket stands in for the service manager,
// and NOTIFY_SOCKET points at it for the length of each test.

#include "daemon/systemd.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

// Sets (or unsets) an environment variable, and restores its old value on destruction.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The service manager's end: a bound datagram socket whose queued messages can be read.
class NotifySocket {
 public:
  NotifySocket() : path_(dir_.str() + "/notify") {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || path_.size() >= sizeof addr.sun_path) throw std::runtime_error("cannot make a notify socket");
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("cannot bind");
  }
  ~NotifySocket() { close(fd_); }
  const std::string& path() const { return path_; }
  // The next queued datagram, or nullopt when none is queued. sd_notify() has sent it
  // before it returns, so there is nothing to wait for.
  std::optional<std::string> Next() {
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  TempDir dir_{"sdnotify"};
  std::string path_;
  int fd_ = -1;
};

bool Has(const std::string& message, const std::string& assignment) {
  return ("\n" + message + "\n").find("\n" + assignment + "\n") != std::string::npos;
}

TEST_CASE("daemon systemd: NotifyReady sends READY=1 and the status to NOTIFY_SOCKET") {
  NotifySocket manager;
  ScopedEnv env("NOTIFY_SOCKET", manager.path());
  daemon::NotifyReady("x");
  const std::optional<std::string> message = manager.Next();
  REQUIRE(message.has_value());
  CHECK(Has(*message, "READY=1"));
  CHECK(Has(*message, "STATUS=x"));
  CHECK(std::getenv("NOTIFY_SOCKET") != nullptr);  // left set for the later pings
  CHECK_FALSE(manager.Next().has_value());
}

TEST_CASE("daemon systemd: status, reloading, stopping and watchdog messages") {
  NotifySocket manager;
  ScopedEnv env("NOTIFY_SOCKET", manager.path());
  daemon::NotifyStatus("applying\ncommit abc");
  daemon::NotifyReloading();
  daemon::NotifyWatchdog();
  daemon::NotifyStopping();

  const std::optional<std::string> status = manager.Next();
  REQUIRE(status.has_value());
  CHECK(*status == "STATUS=applying commit abc");  // a newline would start another assignment
  const std::optional<std::string> reloading = manager.Next();
  REQUIRE(reloading.has_value());
  CHECK(Has(*reloading, "RELOADING=1"));
  CHECK(reloading->find("\nMONOTONIC_USEC=") != std::string::npos);
  CHECK(manager.Next() == std::optional<std::string>("WATCHDOG=1"));
  CHECK(manager.Next() == std::optional<std::string>("STOPPING=1"));
}

TEST_CASE("daemon systemd: without NOTIFY_SOCKET every call is a no-op") {
  NotifySocket manager;  // exists, but nobody is told about it
  ScopedEnv env("NOTIFY_SOCKET", std::nullopt);
  ScopedEnv usec("WATCHDOG_USEC", "2000000");
  ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid()));
  daemon::NotifyReady("x");
  daemon::NotifyWatchdog();
  daemon::NotifyStopping();
  CHECK_FALSE(manager.Next().has_value());
  CHECK_FALSE(daemon::WatchdogInterval().has_value());
}

TEST_CASE("daemon systemd: the watchdog interval comes from WATCHDOG_USEC for this process") {
  NotifySocket manager;
  ScopedEnv env("NOTIFY_SOCKET", manager.path());
  ScopedEnv usec("WATCHDOG_USEC", "2000000");
  {
    ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid()));
    const std::optional<std::chrono::microseconds> interval = daemon::WatchdogInterval();
    REQUIRE(interval.has_value());
    CHECK(*interval == std::chrono::seconds(2));
    CHECK(daemon::WatchdogInterval().has_value());  // the environment was left in place
  }
  {
    ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid() + 1));  // meant for another process
    CHECK_FALSE(daemon::WatchdogInterval().has_value());
  }
  {
    ScopedEnv none("WATCHDOG_USEC", std::nullopt);
    ScopedEnv pid("WATCHDOG_PID", std::nullopt);
    CHECK_FALSE(daemon::WatchdogInterval().has_value());
  }
}

}  // namespace
}  // namespace reconciler::testing
