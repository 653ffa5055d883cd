// What the terminal and the logs show while a change waits on the cloud.

#include "engine/reporter.h"
#include "ui/reporters.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace reconciler::testing {
namespace {

using std::chrono::seconds;

ProgressEvent Waiting(seconds waited) {
  ProgressEvent e{"c1", "ReadOnlyInstance/reports", ProgressPhase::kOrdered, "", false};
  e.wait = ProgressEvent::Wait{"order 20261123000001", waited, seconds(1800)};
  return e;
}

TEST_CASE("reporter: durations read the way people write them") {
  CHECK(FormatDuration(seconds(0)) == "0s");
  CHECK(FormatDuration(seconds(45)) == "45s");
  CHECK(FormatDuration(seconds(80)) == "1m20s");
  CHECK(FormatDuration(seconds(300)) == "5m");
  CHECK(FormatDuration(seconds(610)) == "10m");
  CHECK(FormatDuration(seconds(1800)) == "30m");
  CHECK(FormatDuration(seconds(3600)) == "1h");
  CHECK(FormatDuration(seconds(7500)) == "2h5m");
  CHECK(FormatDuration(seconds(-5)) == "0s");
  CHECK(FormatWait({"order 1", seconds(80), seconds(1800)}) == "waiting for order 1: 1m20s of 30m");
}

TEST_CASE("reporter: a log line says what a wait is for and for how long") {
  std::ostringstream out;
  TextReporter text(out);
  text.Progress(Waiting(seconds(80)));
  CHECK(out.str().find("ReadOnlyInstance/reports: ordered: waiting for order 20261123000001: 1m20s of 30m\n") !=
        std::string::npos);
  text.Progress({"c1", "ReadOnlyInstance/reports", ProgressPhase::kDelivered, "delivered: pgro-1", false});
  CHECK(out.str().find("delivered: delivered: pgro-1\n") != std::string::npos);
  CHECK(out.str().find("delivered: pgro-1: waiting") == std::string::npos);  // only wait events carry one
}

TEST_CASE("reporter: JSON lines carry a wait as fields") {
  std::ostringstream out;
  JsonReporter json(out);
  json.Progress(Waiting(seconds(80)));
  nlohmann::json line = nlohmann::json::parse(out.str());
  CHECK(line["phase"] == "ordered");
  CHECK(line["waitingFor"] == "order 20261123000001");
  CHECK(line["waitedSeconds"] == 80);
  CHECK(line["deadlineSeconds"] == 1800);
}

TEST_CASE("reporter: the live view shows the wait on the change's line") {
  std::ostringstream out;
  {
    TtyReporter tty(out);
    tty.Progress({"c1", "ReadOnlyInstance/reports", ProgressPhase::kOrdered, "deal(s) 20261123000001", false});
    tty.Progress(Waiting(seconds(80)));
  }
  const std::string shown = out.str();
  // The line keeps the order's detail and adds the wait, counted from the engine's report.
  CHECK(shown.find("ReadOnlyInstance/reports  ordered (deal(s) 20261123000001)  waiting for order 20261123000001: 1m2") !=
        std::string::npos);
  CHECK(shown.find(" of 30m") != std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing
