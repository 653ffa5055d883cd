// --json-progress lines are dated from the injected clock, RFC 3339 UTC with milliseconds.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/clock.h"
#include "ui/reporters.h"

namespace reconciler {
namespace {

TEST_CASE("json progress: every line starts with the time, to the millisecond") {
  FakeClock clock(1700000000);  // 2023-11-14T22:13:20Z
  clock.Advance(std::chrono::milliseconds(1234));
  std::ostringstream out;
  JsonReporter reporter(out, &clock);
  reporter.Note("hello");
  reporter.Progress({"c1", "ReadOnlyInstance/reports", ProgressPhase::kOrdered, "deal(s) 1", false});
  std::istringstream lines(out.str());
  std::string first, second;
  REQUIRE(std::getline(lines, first));
  REQUIRE(std::getline(lines, second));
  CHECK(first.rfind(R"({"time":"2023-11-14T22:13:21.234Z",)", 0) == 0);
  CHECK(nlohmann::json::parse(second)["time"] == "2023-11-14T22:13:21.234Z");
  CHECK(nlohmann::json::parse(second)["phase"] == "ordered");
}

TEST_CASE("json progress: milliseconds are floored, before 1970 too") {
  using std::chrono::system_clock;
  CHECK(UtcTextMillis(system_clock::time_point(std::chrono::milliseconds(5))) == "1970-01-01T00:00:00.005Z");
  CHECK(UtcTextMillis(system_clock::time_point(std::chrono::milliseconds(-1))) == "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace reconciler
