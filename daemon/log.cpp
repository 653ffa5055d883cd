#include "daemon/log.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace reconciler::daemon {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Control characters would split a line or hide text on a terminal: each is written as an
// escape, so one call stays one line whatever the message holds.
void AppendEscaped(std::string& out, char ch) {
  const unsigned char c = static_cast<unsigned char>(ch);
  switch (ch) {
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  if (IsControl(c)) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  } else {
    out += ch;
  }
}

std::string EscapeMessage(const std::string& msg) {
  std::string out;
  for (char ch : msg) AppendEscaped(out, ch);
  return out;
}

// logfmt: bare when unambiguous, else quoted with \" and \\ escaped.
std::string TextValue(const std::string& value) {
  bool quote = value.empty();
  for (char ch : value) {
    if (ch == ' ' || ch == '"' || ch == '=' || ch == '\\' || IsControl(static_cast<unsigned char>(ch))) quote = true;
  }
  if (!quote) return value;
  std::string out = "\"";
  for (char ch : value) {
    if (ch == '"' || ch == '\\') out += '\\';
    AppendEscaped(out, ch);
  }
  return out + "\"";
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

bool ParseLogLevel(const std::string& text, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LogLevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool IsSecretKey(const std::string& key) {
  const std::string k = Lower(key);
  for (const char* word : {"secret", "token", "password", "signature"}) {
    if (k.find(word) != std::string::npos) return true;
  }
  return false;
}

Logger::Logger(std::ostream& out, LogFormat format, Clock* clock) : out_(out), format_(format), clock_(clock) {}

void Logger::Debug(const std::string& msg, const LogFields& fields) { Log(LogLevel::kDebug, msg, fields); }
void Logger::Info(const std::string& msg, const LogFields& fields) { Log(LogLevel::kInfo, msg, fields); }
void Logger::Warn(const std::string& msg, const LogFields& fields) { Log(LogLevel::kWarn, msg, fields); }
void Logger::Error(const std::string& msg, const LogFields& fields) { Log(LogLevel::kError, msg, fields); }

void Logger::SetMinLevel(LogLevel level) {
  std::lock_guard<std::mutex> lock(mu_);
  min_level_ = level;
}

void Logger::AddSecret(const std::string& secret) {
  if (secret.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.push_back(secret);
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

// One pass over the original text, so a replacement is never searched again (a short secret
// that happens to occur in "<redacted>" does not mangle it).
std::string Logger::Redact(const std::string& text) const {
  if (secrets_.empty()) return text;
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    const std::string* hit = nullptr;
    for (const std::string& secret : secrets_) {
      if (text.compare(at, secret.size(), secret) == 0) {
        hit = &secret;
        break;
      }
    }
    if (hit) {
      out += kRedacted;
      at += hit->size();
    } else {
      out += text[at++];
    }
  }
  return out;
}

std::string Logger::Format(LogLevel level, const std::string& msg, const LogFields& fields) const {
  const std::string time = UtcText(clock_->Now());
  LogFields clean;
  clean.reserve(fields.size());
  for (const auto& [key, value] : fields) clean.emplace_back(key, IsSecretKey(key) ? kRedacted : Redact(value));
  const std::string message = Redact(msg);

  if (format_ == LogFormat::kJson) {
    nlohmann::ordered_json line;
    line["time"] = time;
    line["level"] = LogLevelName(level);
    line["msg"] = message;
    for (const auto& [key, value] : clean) {
      // A field never overwrites the line's own keys (or an earlier field of the same name).
      std::string k = key;
      while (line.contains(k)) k = "_" + k;
      line[k] = value;
    }
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out = time + " ";
  std::string name = LogLevelName(level);
  name.resize(5, ' ');
  out += name + " " + EscapeMessage(message);
  for (const auto& [key, value] : clean) out += " " + EscapeMessage(key) + "=" + TextValue(value);
  return out + "\n";
}

void Logger::Log(LogLevel level, const std::string& msg, const LogFields& fields) {
  std::lock_guard<std::mutex> lock(mu_);
  if (level < min_level_) return;
  out_ << Format(level, msg, fields);
  out_.flush();
}

}  // namespace reconciler::daemon
