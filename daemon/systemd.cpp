#include "daemon/systemd.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <ctime>

namespace reconciler::daemon {

namespace {

bool HaveNotifySocket() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

// The protocol is newline-separated assignments, so a newline in a status would start a
// new (and possibly meaningful) assignment.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

void Send(const std::string& state) {
  if (!HaveNotifySocket()) return;
  // unset_environment = 0: later calls (watchdog pings, STOPPING) need the socket too.
  sd_notify(0, state.c_str());
}

}  // namespace

void NotifyReady(const std::string& status) { Send("READY=1\nSTATUS=" + OneLine(status)); }

void NotifyStatus(const std::string& text) { Send("STATUS=" + OneLine(text)); }

void NotifyReloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void NotifyStopping() { Send("STOPPING=1"); }

void NotifyWatchdog() { Send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> WatchdogInterval() {
  if (!HaveNotifySocket()) return std::nullopt;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

}  // namespace reconciler::daemon
