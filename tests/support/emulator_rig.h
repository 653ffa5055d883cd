#pragma once

// The engine wired to an in-process emulator: the real provider over real HTTP and real
// signatures, an EmulatorClock (so every wait the engine makes moves the emulated account
// instead of the test sleeping), and a SQLite state store in a scratch directory. Test
// files derive from it to add what they measure.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "providers/tencentcloud/api_client.h"
#include "providers/tencentcloud/site.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "providers/tencentcloud/rate_budget.h"
#include "engine/reporter.h"
#include "state/state_store.h"
#include "specs/desired_state.h"
#include "tests/support/emulator_clock.h"
#include "tests/support/emulator_fixture.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {

struct RigOptions {
  std::function<void(emu::World&)> tweak;                  // applied to the default world
  tencentcloud::Site site = tencentcloud::Site::kIntl;     // the emulator's and the provider's
  bool sts = false;                                        // sign with the STS pair and token
  std::chrono::milliseconds client_timeout{0};             // 0: the transport's default
};

class EmulatorRig {
 public:
  explicit EmulatorRig(RigOptions options = {});

  // Loads `yaml` as the specs of stack "it" (region ap-beijing) in the scratch directory.
  specs::DesiredState LoadText(const std::string& yaml);

  EmulatorFixture emu;
  EmulatorClock clock;
  SystemClock signing;
  std::unique_ptr<tencentcloud::HttpTransport> transport;
  tencentcloud::ApiClient client;
  RateBudget budget;
  tencentcloud::TencentCloud cloud;
  TempDir dir{"rig"};
  std::unique_ptr<StateStore> store;
  RecordingReporter reporter;
};

}  // namespace reconciler::testing
