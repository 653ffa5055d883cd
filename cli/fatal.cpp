#include "cli/fatal.h"

#include <unistd.h>

#include <cstdlib>
#include <typeinfo>

#include "cli/cli.h"

namespace reconciler {

namespace {

constexpr size_t kMaxDetail = 300;

void Redact(const char* env_name, std::string* text) {
  const char* secret = std::getenv(env_name);
  // A value this short would redact ordinary words; no real key or token is.
  if (!secret || std::string(secret).size() < 8) return;
  const std::string value = secret;
  for (size_t at = 0; (at = text->find(value, at)) != std::string::npos;) text->replace(at, value.size(), "<redacted>");
}

std::string Detail(std::exception_ptr error) {
  if (!error) return "terminated without an exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

[[noreturn]] void OnTerminate() {
  const std::string line = FatalMessage(std::current_exception()) + "\n";
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  ::_exit(kExitError);
}

}  // namespace

std::string FatalMessage(std::exception_ptr error) {
  std::string detail = Detail(error);
  Redact("TENCENTCLOUD_SECRET_KEY", &detail);
  Redact("TENCENTCLOUD_SESSION_TOKEN", &detail);
  if (detail.size() > kMaxDetail) detail = detail.substr(0, kMaxDetail) + "...";
  for (char& c : detail) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return "reconciler: internal error (a bug; please report it): " + detail +
         ". Every purchase sent is recorded in the state store, and the next apply resumes it";
}

void InstallTerminateHandler() { std::set_terminate(OnTerminate); }

}  // namespace reconciler
