// The daemon's logger: its two formats, redaction of secrets, and whole lines under
// concurrent writers.

#include "daemon/log.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace reconciler::testing {
namespace {

using daemon::LogFormat;
using daemon::Logger;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_CASE("daemon log: text lines are time, padded level, message and logfmt fields") {
  FakeClock clock(1700000000);
  std::ostringstream out;
  Logger log(out, LogFormat::kText, &clock);
  log.Info("pass applied", {{"commit", "abc"}, {"trigger", "webhook github"}});
  log.Warn("slow", {{"empty", ""}, {"quote", "say \"hi\""}});
  log.Error("two\nlines", {{"path", "a\\b"}});
  CHECK(out.str() ==
        "2023-11-14T22:13:20Z info  pass applied commit=abc trigger=\"webhook github\"\n"
        "2023-11-14T22:13:20Z warn  slow empty=\"\" quote=\"say \\\"hi\\\"\"\n"
        "2023-11-14T22:13:20Z error two\\nlines path=\"a\\\\b\"\n");
}

TEST_CASE("daemon log: JSON lines parse, with time, level, message and fields") {
  FakeClock clock(1700000000);
  std::ostringstream out;
  Logger log(out, LogFormat::kJson, &clock);
  log.Info("pass applied", {{"commit", "abc"}, {"trigger", "webhook github"}});
  log.Error("two\nlines", {{"msg", "a field named msg"}});
  const std::vector<std::string> lines = Lines(out.str());
  REQUIRE(lines.size() == 2);
  const nlohmann::json first = nlohmann::json::parse(lines[0]);
  CHECK(first == nlohmann::json{{"time", "2023-11-14T22:13:20Z"},
                                {"level", "info"},
                                {"msg", "pass applied"},
                                {"commit", "abc"},
                                {"trigger", "webhook github"}});
  CHECK(lines[0].rfind("{\"time\":", 0) == 0);  // the line's own keys come first
  const nlohmann::json second = nlohmann::json::parse(lines[1]);
  CHECK(second["level"] == "error");
  CHECK(second["msg"] == "two\nlines");
  CHECK(second["_msg"] == "a field named msg");
}

TEST_CASE("daemon log: fields named like secrets are redacted, in either format") {
  for (LogFormat format : {LogFormat::kText, LogFormat::kJson}) {
    FakeClock clock;
    std::ostringstream out;
    Logger log(out, format, &clock);
    log.Warn("webhook refused", {{"webhook_secret", "s-one"},
                                 {"X-Hub-Signature-256", "sha256=s-two"},
                                 {"GitLabToken", "s-three"},
                                 {"DB_PASSWORD", "s-four"},
                                 {"delivery", "kept-value"}});
    const std::string text = out.str();
    for (const char* secret : {"s-one", "s-two", "s-three", "s-four"}) CHECK(text.find(secret) == std::string::npos);
    CHECK(text.find("kept-value") != std::string::npos);
    if (format == LogFormat::kJson) {
      const nlohmann::json line = nlohmann::json::parse(text);
      CHECK(line["webhook_secret"] == "<redacted>");
      CHECK(line["X-Hub-Signature-256"] == "<redacted>");
      CHECK(line["GitLabToken"] == "<redacted>");
      CHECK(line["DB_PASSWORD"] == "<redacted>");
      CHECK(line["delivery"] == "kept-value");
    } else {
      CHECK(text.find("webhook_secret=<redacted>") != std::string::npos);
    }
  }
}

TEST_CASE("daemon log: a registered secret is redacted anywhere in the message and the fields") {
  FakeClock clock;
  std::ostringstream out;
  Logger log(out, LogFormat::kJson, &clock);
  log.AddSecret("hunter2-webhook");
  log.AddSecret("");  // ignored: would otherwise match everywhere
  log.Info("posting to https://x/hunter2-webhook/now", {{"url", "https://x/?k=hunter2-webhook"}, {"n", "1"}});
  const nlohmann::json line = nlohmann::json::parse(out.str());
  CHECK(line["msg"] == "posting to https://x/<redacted>/now");
  CHECK(line["url"] == "https://x/?k=<redacted>");
  CHECK(line["n"] == "1");
  CHECK(out.str().find("hunter2") == std::string::npos);
}

TEST_CASE("daemon log: the longest secret wins, and a replacement is not redacted again") {
  FakeClock clock;
  std::ostringstream out;
  Logger log(out, LogFormat::kText, &clock);
  log.AddSecret("red");  // occurs inside "<redacted>" itself
  log.AddSecret("abc");
  log.AddSecret("abcdef");
  log.Info("x abcdef y abc z red");
  CHECK(out.str().substr(21) == "info  x <redacted> y <redacted> z <redacted>\n");
}

TEST_CASE("daemon log: concurrent writers produce whole lines") {
  FakeClock clock;
  std::ostringstream out;
  Logger log(out, LogFormat::kJson, &clock);
  constexpr int kThreads = 8;
  constexpr int kEach = 300;
  const std::string padding(200, 'p');
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) log.Info("line", {{"thread", std::to_string(t)}, {"i", std::to_string(i)}, {"pad", padding}});
      });
    }
  }
  const std::vector<std::string> lines = Lines(out.str());
  REQUIRE(lines.size() == kThreads * kEach);
  std::vector<int> next(kThreads, 0);
  for (const std::string& text : lines) {
    const nlohmann::json line = nlohmann::json::parse(text);  // throws (fails the test) on a torn line
    const int t = std::stoi(line["thread"].get<std::string>());
    REQUIRE(t >= 0);
    REQUIRE(t < kThreads);
    CHECK(line["i"] == std::to_string(next[t]));  // each thread's lines in its own order
    CHECK(line["pad"] == padding);
    ++next[t];
  }
  CHECK(next == std::vector<int>(kThreads, kEach));
}

}  // namespace
}  // namespace reconciler::testing
