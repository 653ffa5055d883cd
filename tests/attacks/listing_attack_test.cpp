// A listing that names one instance twice: on the real API, pages ordered by CreateTime can
// repeat an instance when several share the second they were created in (a batch of six
// does) and the cloud orders ties differently between two page calls. The engine must not
// count it twice: one "excess" replica would be orphaned (or, with deletionPolicy Delete and
// --allow-destroy, destroyed) and the next plan would buy it again.

#include <doctest/doctest.h>

#include "ui/plan_render.h"
#include "state/sqlite/sqlite_state_store.h"
#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

// The in-memory cloud whose replica listing repeats its first instance.
class RepeatingListing : public FakeCloud {
 public:
  using FakeCloud::FakeCloud;
  Result<std::vector<cloud::Instance>> ListInstances(const std::string& region, const cloud::ListFilter& filter) override {
    Result<std::vector<cloud::Instance>> listed = FakeCloud::ListInstances(region, filter);
    if (repeat && listed.ok() && !listed->empty()) listed->push_back(listed->front());
    return listed;
  }
  bool repeat = false;
};

TEST_CASE("listing attack: an instance listed twice is never counted twice") {
  FakeClock clock{1700000000};
  RepeatingListing fake{&clock};
  fake.AddPrimary("postgres-abcdef");
  EngineFixture f;  // for its loader only
  specs::DesiredState desired = f.Load(ReplicaYaml("reports", 2));
  TempDir dir{"repeat"};
  auto store = OpenSqliteStateStore((dir.path() / "state.db").string(), &clock);
  REQUIRE(store.ok());
  auto plan = [&] { return MakePlan(&fake, store->get(), &clock, desired, dir.str(), {}); };
  {
    Result<Plan> first = plan();
    REQUIRE(first.ok());
    RecordingReporter reporter;
    Executor executor(&fake, store->get(), &clock, &reporter, first->stack, {});
    REQUIRE(executor.Apply(*first).ok());
  }
  REQUIRE(fake.Replicas().size() == 2);
  fake.repeat = true;
  Result<Plan> again = plan();
  std::string shown = again.ok() ? RenderPlanText(*again, false) : again.status().ToString();
  INFO(shown);
  // Either the plan refuses the listing, or it sees exactly the two replicas: nothing to do.
  CHECK((!again.ok() || !again->HasChanges()));
  fake.repeat = false;
  Result<Plan> clean = plan();
  REQUIRE(clean.ok());
  CHECK_FALSE(clean->HasChanges());
}

}  // namespace
}  // namespace reconciler::testing
