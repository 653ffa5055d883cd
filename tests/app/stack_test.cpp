// OpenStack, the one place a stack is opened: its order, its leases and its refusals.

#include "app/stack.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;

specs::Project ProjectOf(const std::string& state) {
  specs::Project p;
  p.stack = "unit";
  p.state = state;
  return p;
}

StackOpenOptions Offline(StackAccess access, bool create_state = true) {
  StackOpenOptions o;
  o.access = access;
  o.cloud = false;
  o.create_state = create_state;
  return o;
}

TEST_CASE("app: a state scheme that is not built is refused by name, and nothing is created") {
  TempDir dir;
  FakeClock clock;
  Result<OpenedStack> s = OpenStack(dir.str(), ProjectOf("postgres://db.example/reconciler"), &clock,
                                    Offline(StackAccess::kWrite));
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Code::kInvalidInput);
  CHECK(s.status().message().find("the postgres scheme is not built yet") != std::string::npos);
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("app: a relative sqlite path is the stack directory's") {
  Result<std::string> path = StatePath("/srv/stack", ProjectOf("sqlite:.reconciler/state.db"));
  REQUIRE(path.ok());
  CHECK(*path == "/srv/stack/.reconciler/state.db");
  CHECK(*StatePath("/srv/stack", ProjectOf("sqlite:/var/lib/r/s.db")) == "/var/lib/r/s.db");
}

TEST_CASE("app: reading a stack that was never applied creates nothing") {
  TempDir dir;
  FakeClock clock;
  Result<OpenedStack> s = OpenStack(dir.str(), ProjectOf("sqlite:.reconciler/state.db"), &clock,
                                    Offline(StackAccess::kRead, /*create_state=*/false));
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Code::kNotFound);
  CHECK(s.status().message().find("nothing has been applied") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / ".reconciler"));
}

TEST_CASE("app: one writer per state holds its lease until closed; readers are not stopped") {
  TempDir dir;
  FakeClock clock;
  const specs::Project project = ProjectOf("sqlite:.reconciler/state.db");
  Result<OpenedStack> first = OpenStack(dir.str(), project, &clock, Offline(StackAccess::kWrite));
  REQUIRE(first.ok());
  CHECK(first->state_lease != nullptr);
  CHECK(first->store != nullptr);
  Result<OpenedStack> second = OpenStack(dir.str(), project, &clock, Offline(StackAccess::kWrite));
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Code::kConflict);
  CHECK(second.status().message().find("pid ") != std::string::npos);  // names the holder
  Result<OpenedStack> reader = OpenStack(dir.str(), project, &clock, Offline(StackAccess::kRead));
  CHECK(reader.ok());
  first = Status(Code::kInternal, "closed");  // the first writer's stack is closed
  Result<OpenedStack> third = OpenStack(dir.str(), project, &clock, Offline(StackAccess::kWrite));
  CHECK(third.ok());
}

}  // namespace
}  // namespace reconciler::testing
