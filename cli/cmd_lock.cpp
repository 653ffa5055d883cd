// reconciler force-unlock LOCK_ID, and -lock-timeout's durations.

#include <unistd.h>

#include <cctype>
#include <iostream>
#include <string>
#include <ostream>

#include "app/stack.h"
#include "cli/commands.h"
#include "specs/spec_loader.h"
#include "state/host_lock.h"
#include "state/stack_lease.h"

namespace reconciler {

std::optional<std::chrono::milliseconds> ParseLockTimeout(const std::string& text, const std::string& command, Io io) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  const std::string unit = text.substr(digits);
  const int64_t per = unit == "ms" ? 1 : unit == "s" || (unit.empty() && text == "0") ? 1000 : unit == "m" ? 60000
                      : unit == "h" ? 3600000 : 0;
  // At most a day, in a few digits: a wait longer than that is a mistake.
  if (digits == 0 || digits > 9 || per == 0 || std::stoll(text.substr(0, digits)) * per > 86400000) {
    io.err << "reconciler " << command << ": -lock-timeout " << text
           << " is not a duration such as 0, 500ms, 30s, 5m or 1h (at most 24h)\n";
    return std::nullopt;
  }
  return std::chrono::milliseconds(std::stoll(text.substr(0, digits)) * per);
}

namespace {

// "pid 12 on host h" of a holder's description: the same process holds both of a stack's locks.
std::string ProcessOf(const std::string& description) {
  size_t from = description.find("pid ");
  size_t to = description.find(", started");
  return from == std::string::npos || to == std::string::npos || to < from ? "" : description.substr(from, to - from);
}

bool ConfirmBreak(Io io) {
  if (!isatty(STDIN_FILENO) || !io.in) {
    io.err << "reconciler force-unlock: stdin is not a terminal, so nobody can confirm; pass -force to unlock "
              "without asking\n";
    return false;
  }
  io.out << "Remove this lock? Its holder keeps running; if it writes again, two writers share the state. "
            "Only 'yes' is accepted: "
         << std::flush;
  std::string answer;
  std::getline(*io.in, answer);
  if (answer != "yes") io.out << "Unlock cancelled; the lock stays.\n";
  return answer == "yes";
}

}  // namespace

int RunForceUnlockCommand(const ForceUnlockCommandOptions& options, Io io) {
  specs::LoadedStack stack = specs::LoadStackDir(options.stack);
  io.err << stack.RenderDiagnostics(UseColor(io, STDERR_FILENO));
  if (!stack.ok()) return kExitInvalidInput;
  Result<std::string> state = StatePath(options.stack, stack.desired.project);
  if (!state.ok()) {
    io.err << "reconciler force-unlock: " << state.status().message() << "\n";
    return kExitInvalidInput;
  }
  std::vector<std::string> paths = {*state + ".lock"};
  for (const std::string& p : HostStackLockPaths(stack.desired.project.stack)) paths.push_back(p);
  std::vector<std::pair<std::string, LockHolder>> locks;
  for (const std::string& p : paths) {
    Result<LockHolder> h = InspectLock(p);
    if (h.ok()) locks.emplace_back(p, *h);
  }
  const LockHolder* named = nullptr;
  for (const auto& [path, h] : locks) {
    if (h.id == options.lock_id) named = &h;
  }
  if (!named) {
    io.err << "reconciler force-unlock: no lock of stack " << stack.desired.project.stack << " has id "
           << options.lock_id << "\n";
    for (const auto& [path, h] : locks) {
      if (h.held) io.err << "  held now: " << h.description << "\n";
    }
    return kExitError;
  }
  if (!named->held) {
    io.out << "Lock " << options.lock_id << " is not held: its holder has exited and the lock went with it. "
           << "Nothing to do.\n";
    return kExitOk;
  }
  io.out << "Lock " << options.lock_id << " of stack " << stack.desired.project.stack << " is held by "
         << named->description << ".\n";
  if (!options.force && !ConfirmBreak(io)) return kExitError;
  // Both of the holder's locks (beside the state and host-wide) go, or the next command stops at the other.
  const std::string holder = ProcessOf(named->description);
  int removed = 0;
  for (const auto& [path, h] : locks) {
    if (!h.held || (h.id != options.lock_id && (holder.empty() || ProcessOf(h.description) != holder))) continue;
    Status s = BreakLock(path, h.id);
    if (!s.ok()) {
      io.err << "reconciler force-unlock: " << s.message() << "\n";
      return kExitError;
    }
    ++removed;
  }
  io.out << "Removed " << removed << " lock file(s). The cloud and the state were not touched. If " << holder
         << " still runs, stop it before the next apply.\n";
  return kExitOk;
}

}  // namespace reconciler
