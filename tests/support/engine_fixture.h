#pragma once

// The engine over the in-memory cloud: a fake clock, a FakeCloud behind a FaultyCloud, a
// real SQLite state store in a scratch directory, and a recording reporter.

#include <memory>
#include <string>

#include "engine/engine.h"
#include "engine/executor.h"
#include "specs/spec_loader.h"
#include "tests/support/fake_cloud.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {

class EngineFixture {
 public:
  EngineFixture();

  // Loads specs (YAML documents) under a fixed project (stack "unit", region ap-beijing).
  specs::DesiredState Load(const std::string& yaml, const std::string& defaults = "");
  Plan MakePlan(const specs::DesiredState& desired, bool allow_destroy = false);
  Plan MakePlan(const specs::DesiredState& desired, const PlanOptions& options);
  ApplyResult Apply(const Plan& plan, ExecutorOptions options = {});
  // Plan and apply until there is nothing left to do (at most `rounds` times).
  ApplyResult Converge(const specs::DesiredState& desired, bool allow_destroy = false);

  FakeClock clock{1700000000};
  FakeCloud fake{&clock};
  FaultyCloud cloud{&fake};
  TempDir dir{"engine"};
  std::unique_ptr<StateStore> store;
  RecordingReporter reporter;
};

// The replica purchase for ReadOnlyInstance `name` of `desired` (stack "unit") as an earlier
// process recorded it at its intent, one attempt sent.
Operation RecordedPurchase(const specs::DesiredState& desired, const std::string& name, const std::string& op_id,
                           int64_t count);

// A ReadOnlyInstance document.
std::string ReplicaYaml(const std::string& name, int count, const std::string& extra = "",
                        const std::string& master = "postgres-abcdef");

}  // namespace reconciler::testing
