#include "tests/support/engine_fixture.h"

#include <stdexcept>
#include "state/sqlite/sqlite_state_store.h"

namespace reconciler::testing {

EngineFixture::EngineFixture() {
  fake.AddPrimary("postgres-abcdef");
  fake.AddPrimary("postgres-prepaid1", "ap-beijing", "ap-beijing-4", "prepaid");
  auto opened = OpenSqliteStateStore((dir.path() / "state.db").string(), &clock);
  if (!opened.ok()) throw std::runtime_error(opened.status().message());
  store = std::move(opened).value();
}

specs::DesiredState EngineFixture::Load(const std::string& yaml, const std::string& defaults) {
  specs::StackSource source;
  source.dir = ".";
  source.project = specs::StackFile{"reconciler.yaml",
                                    "stack: unit\nprovider: {tencentcloud: {region: ap-beijing}}\n" + defaults};
  source.files.push_back({"specs.yaml", yaml});
  specs::LoadedStack loaded = specs::LoadStack(source);
  if (!loaded.ok()) throw std::runtime_error(loaded.RenderDiagnostics());
  return loaded.desired;
}

Plan EngineFixture::MakePlan(const specs::DesiredState& desired, bool allow_destroy) {
  PlanOptions options;
  options.allow_destroy = allow_destroy;
  return MakePlan(desired, options);
}

Plan EngineFixture::MakePlan(const specs::DesiredState& desired, const PlanOptions& options) {
  Result<Plan> plan = reconciler::MakePlan(&cloud, store.get(), &clock, desired, dir.str(), options);
  if (!plan.ok()) throw std::runtime_error(plan.status().ToString());
  return std::move(plan).value();
}

ApplyResult EngineFixture::Apply(const Plan& plan, ExecutorOptions options) {
  Executor executor(&cloud, store.get(), &clock, &reporter, plan.stack, options);
  return executor.Apply(plan);
}

ApplyResult EngineFixture::Converge(const specs::DesiredState& desired, bool allow_destroy) {
  ApplyResult last;
  for (int round = 0; round < 5; ++round) {
    Plan plan = MakePlan(desired, allow_destroy);
    if (!plan.HasChanges()) return last;
    last = Apply(plan);
  }
  return last;
}

Operation RecordedPurchase(const specs::DesiredState& desired, const std::string& name, const std::string& op_id,
                           int64_t count) {
  Operation op;
  op.id = op_id;
  op.resource_key = "ReadOnlyInstance/" + name;
  op.kind = OperationKind::kCreateReplicas;
  op.region = "ap-beijing";
  cloud::ReplicaRequest q = ReplicaRequestFor(*desired.Find({specs::Kind::kReadOnlyInstance, name}), "unit");
  q.count = static_cast<uint64_t>(count);
  op.request_json = ReplicaRequestJson(q).dump();
  op.expected = count;
  op.attempts = 1;
  return op;
}

std::string ReplicaYaml(const std::string& name, int count, const std::string& extra, const std::string& master) {
  return "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name + "}\nspec:\n" +
         "  zone: ap-beijing-4\n  masterInstanceId: " + master + "\n  specCode: pg.it.small2\n  storageGB: 100\n" +
         "  count: " + std::to_string(count) + "\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n" + extra;
}

}  // namespace reconciler::testing
