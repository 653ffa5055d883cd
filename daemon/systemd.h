#pragma once

// systemd Type=notify readiness and the watchdog, through libsystemd's sd_notify.
//
// Each call is a no-op when NOTIFY_SOCKET is unset (the daemon was not started by systemd,
// or by a unit that does not ask for notifications), and a failure to send is ignored: the
// daemon works the same without a service manager. The environment is left as it is, so
// the watchdog keeps working for the whole life of the process.

#include <chrono>
#include <optional>
#include <string>

namespace reconciler::daemon {

// READY=1 with STATUS=`status`: the daemon is serving (systemd finishes `start`).
void NotifyReady(const std::string& status);
// STATUS=`text`: one line shown by `systemctl status`. Newlines are sent as spaces.
void NotifyStatus(const std::string& text);
// RELOADING=1 (with MONOTONIC_USEC, as Type=notify-reload wants): the project file is being
// reloaded after SIGHUP; NotifyReady() again when done.
void NotifyReloading();
// STOPPING=1: graceful shutdown has begun.
void NotifyStopping();
// WATCHDOG=1: the loop is alive.
void NotifyWatchdog();
// The watchdog interval the unit asks for (WatchdogSec=, passed as WATCHDOG_USEC for this
// process), or nullopt when there is no watchdog or no NOTIFY_SOCKET. Ping at half of it.
std::optional<std::chrono::microseconds> WatchdogInterval();

}  // namespace reconciler::daemon
