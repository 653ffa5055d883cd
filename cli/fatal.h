#pragma once

// The last resort of main(): an exception that escapes a command, or any thread, is a bug.
// It ends the process with one line on stderr and kExitError, never with the runtime's
// "terminate called" and an abort. Expected failures never get here: they travel as Status.

#include <exception>
#include <string>

namespace reconciler {

// One line (no newline) describing `error` for stderr: its message with control characters
// replaced, at most a few hundred bytes, and the values of TENCENTCLOUD_SECRET_KEY and
// TENCENTCLOUD_SESSION_TOKEN, should the message hold them, redacted.
std::string FatalMessage(std::exception_ptr error);

// Makes std::terminate (an exception escaping a thread, or a noexcept function) print
// FatalMessage of the exception in flight and _exit(kExitError).
void InstallTerminateHandler();

}  // namespace reconciler
