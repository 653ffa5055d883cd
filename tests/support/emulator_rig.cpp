#include "tests/support/emulator_rig.h"

#include <doctest/doctest.h>

#include <stdexcept>

#include "state/sqlite/sqlite_state_store.h"
#include "providers/tencentcloud/rate_limits.h"
#include "specs/spec_loader.h"

namespace reconciler::testing {
namespace {

namespace tc = tencentcloud;

std::function<void(emu::World&)> ForSite(const RigOptions& options) {
  return [options](emu::World& w) {
    w.catalogue.site = options.site == tc::Site::kChina ? emu::Site::kChina : emu::Site::kIntl;
    if (options.tweak) options.tweak(w);
  };
}

tc::TransportOptions TransportFor(const RigOptions& options) {
  tc::TransportOptions t;
  if (options.client_timeout.count() > 0) t.total_timeout = options.client_timeout;
  return t;
}

tc::TencentCloudOptions CloudFor(const RigOptions& options) {
  tc::TencentCloudOptions c;
  c.site = options.site;
  return c;
}

}  // namespace

EmulatorRig::EmulatorRig(RigOptions options)
    : emu(ForSite(options)),
      clock(&emu),
      transport(tc::NewCurlTransport(TransportFor(options))),
      client(options.sts ? emu.Config(kStsSecretId, kStsSecretKey, kStsToken) : emu.Config(), transport.get(),
             &signing),
      budget(&clock, &tc::DocumentedRateLimit),
      cloud(&client, &budget, &clock, CloudFor(options)) {
  Result<std::unique_ptr<StateStore>> opened = OpenSqliteStateStore((dir.path() / "state.db").string(), &clock);
  if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
  store = std::move(opened).value();
}

specs::DesiredState EmulatorRig::LoadText(const std::string& yaml) {
  dir.Write("stack/reconciler.yaml", "stack: it\nprovider: {tencentcloud: {region: ap-beijing}}\n");
  dir.Write("stack/specs.yaml", yaml);
  specs::LoadedStack s = specs::LoadStackDir((dir.path() / "stack").string());
  REQUIRE_MESSAGE(s.ok(), s.RenderDiagnostics());
  return s.desired;
}

}  // namespace reconciler::testing
