#include "providers/tencentcloud/rate_budget.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "base/clock.h"

namespace reconciler {
namespace {

int Limit100(const std::string& action) { return action == "Create" ? 100 : 20; }

// The cloud's own view: a bucket of `limit` refilled at `limit` per second, as the emulator
// and the API pages describe it. Returns how many of `times` (seconds, ascending) it refuses.
int Refused(const std::vector<double>& times, double limit) {
  double tokens = limit;
  double last = times.empty() ? 0 : times.front();
  int refused = 0;
  for (double t : times) {
    tokens = std::min(limit, tokens + (t - last) * limit);
    last = t;
    if (tokens < 1) ++refused;
    else tokens -= 1;
  }
  return refused;
}

double Seconds(const FakeClock& clock) {
  return std::chrono::duration<double>(clock.Now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("rate budget: a burst of the limit less a 100 ms reserve, then exactly the limit per second") {
  FakeClock clock;
  RateBudget budget(&clock, &Limit100);
  const double start = Seconds(clock);
  std::vector<double> sent;
  for (int i = 0; i < 1090; ++i) {
    REQUIRE(budget.Acquire("Create"));
    sent.push_back(Seconds(clock));
  }
  // 90 at once, then 1,000 more at 100/s: the last goes out 10 s later.
  CHECK(sent[89] == doctest::Approx(start));
  CHECK(sent[90] > start);
  CHECK(sent.back() - start == doctest::Approx(10.0).epsilon(0.001));
  // Every other arrival comes 90 ms late (a reserve of 10 at 100/s absorbs 100 ms): the
  // cloud's bucket refuses none.
  std::vector<double> arrived;
  for (size_t i = 0; i < sent.size(); ++i) arrived.push_back(sent[i] + (i % 2 ? 0.09 : 0));
  std::sort(arrived.begin(), arrived.end());
  CHECK(Refused(arrived, 100) == 0);
  // Without the reserve (all 100 at once, then 100/s), the same jitter is refused.
  std::vector<double> greedy;
  for (int i = 0; i < 100; ++i) greedy.push_back(start);
  for (int i = 1; i <= 1000; ++i) greedy.push_back(start + i * 0.01 + (i % 2 ? 0 : 0.09));
  std::sort(greedy.begin(), greedy.end());
  CHECK(Refused(greedy, 100) > 0);
}

TEST_CASE("rate budget: each action has its own schedule, and a quiet spell refills only the burst") {
  FakeClock clock;
  RateBudget budget(&clock, &Limit100, {{"Listed", 10}});
  CHECK(budget.LimitOf("Create") == 100);
  CHECK(budget.LimitOf("Other") == 20);
  CHECK(budget.LimitOf("Listed") == 10);
  for (int i = 0; i < 8; ++i) REQUIRE(budget.Acquire("Listed"));  // burst: 10 less a reserve of 2
  const auto before = clock.slept();
  REQUIRE(budget.Acquire("Other"));  // another action is not held up
  CHECK(clock.slept() == before);
  REQUIRE(budget.Acquire("Listed"));
  CHECK(clock.slept() - before == std::chrono::milliseconds(100));
  clock.Advance(std::chrono::seconds(60));
  const auto quiet = clock.slept();
  for (int i = 0; i < 8; ++i) REQUIRE(budget.Acquire("Listed"));
  CHECK(clock.slept() == quiet);
  REQUIRE(budget.Acquire("Listed"));
  CHECK(clock.slept() - quiet == std::chrono::milliseconds(100));
}

TEST_CASE("rate budget: a throttled answer halves the rate for 10 s and takes the burst away") {
  FakeClock clock;
  RateBudget budget(&clock, &Limit100);
  REQUIRE(budget.Acquire("Create"));
  budget.Throttled("Create");
  const auto before = clock.slept();
  for (int i = 0; i < 50; ++i) REQUIRE(budget.Acquire("Create"));
  // 50 calls at 50/s, the first a full interval after the throttle: 1 s.
  CHECK(static_cast<double>((clock.slept() - before).count()) == doctest::Approx(1000).epsilon(0.02));
  clock.Advance(std::chrono::seconds(10));
  const auto restored = clock.slept();
  for (int i = 0; i < 90; ++i) REQUIRE(budget.Acquire("Create"));
  CHECK(clock.slept() == restored);  // the full rate and burst are back
}

TEST_CASE("rate budget: a stopped wait returns false, and concurrent callers each get a slot") {
  FakeClock clock;
  RateBudget budget(&clock, &Limit100, {{"Slow", 1}});
  REQUIRE(budget.Acquire("Slow"));  // the burst of 1
  std::stop_source stop;
  stop.request_stop();
  CHECK_FALSE(budget.Acquire("Slow", stop.get_token()));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) ok += budget.Acquire("Create");
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(ok == 800);
}

}  // namespace reconciler
