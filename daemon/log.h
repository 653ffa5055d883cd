#pragma once

// The daemon's log: one line per call, as text for people or JSON lines for machines
// (--log-format json), written whole under a mutex so concurrent threads never interleave.
//
// Logs must carry no secrets, so redaction happens here, before anything is written:
// - a field whose key names a secret (contains "secret", "token", "password" or "signature",
//   in any case) is written as "<redacted>";
// - every literal value registered with AddSecret() is replaced by "<redacted>" wherever it
//   appears, in the message or in any field value.
//
//   2026-12-03T02:00:00Z info  pass applied commit=abc trigger="webhook github"
//   {"time":"2026-12-03T02:00:00Z","level":"info","msg":"pass applied","commit":"abc",...}

#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace reconciler::daemon {

enum class LogFormat { kText, kJson };
enum class LogLevel { kDebug, kInfo, kWarn, kError };  // in rising order
const char* LogLevelName(LogLevel level);  // "debug", "info", "warn", "error"
// Reads "debug", "info", "warn" or "error"; false for anything else.
bool ParseLogLevel(const std::string& text, LogLevel* level);

using LogFields = std::vector<std::pair<std::string, std::string>>;

// The text written for `value` when it must not be seen.
inline constexpr const char* kRedacted = "<redacted>";

class Logger {
 public:
  // `out` and `clock` must outlive the logger; `clock` dates each line.
  Logger(std::ostream& out, LogFormat format, Clock* clock);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Info(const std::string& msg, const LogFields& fields = {});
  void Warn(const std::string& msg, const LogFields& fields = {});
  void Error(const std::string& msg, const LogFields& fields = {});
  void Debug(const std::string& msg, const LogFields& fields = {});
  void Log(LogLevel level, const std::string& msg, const LogFields& fields = {});

  // Lines below `level` are dropped. Default: every line is written.
  void SetMinLevel(LogLevel level);

  // From now on `secret` is written as "<redacted>" wherever it appears. An empty value is
  // ignored. Thread-safe.
  void AddSecret(const std::string& secret);

 private:
  std::string Redact(const std::string& text) const;  // REQUIRES: mu_ held
  std::string Format(LogLevel level, const std::string& msg, const LogFields& fields) const;

  std::ostream& out_;
  LogFormat format_;
  Clock* clock_;
  mutable std::mutex mu_;
  LogLevel min_level_ = LogLevel::kDebug;  // guarded by mu_
  std::vector<std::string> secrets_;  // longest first, so a secret containing another is replaced whole
};

// True when `key` names a field whose value is a secret ("webhook_secret", "X-Token", ...).
bool IsSecretKey(const std::string& key);

}  // namespace reconciler::daemon
