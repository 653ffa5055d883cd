// Every input that once crashed or hung a fuzz target (fuzz/regressions/TARGET/), replayed
// through the same code the target runs (fuzz/*_input.h), plus what each finding means for a
// user, as a plain case.

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/api_response_input.h"
#include "fuzz/plan_file_input.h"
#include "ui/plan_render.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Inputs(const std::string& target) {
  std::vector<std::string> out;
  const fs::path dir = SourcePath("fuzz/regressions/" + target);
  if (!fs::is_directory(dir)) return out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    out.push_back(bytes.str());
  }
  return out;
}

const uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Under `make test SANITIZE=1` these replays run with UBSan and ASan, which is where an
// input that once tripped a sanitizer would trip it again; everywhere they must end in time.
TEST_CASE("fuzz regressions: every plan file that once crashed or hung plan_file_fuzz is read in time") {
  std::vector<std::string> inputs = Inputs("plan_file_fuzz");
  REQUIRE(inputs.size() >= 3);
  for (const std::string& input : inputs) {
    auto start = std::chrono::steady_clock::now();
    fuzzing::RunPlanFileInput(Bytes(input), input.size());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  }
}

TEST_CASE("fuzz regressions: every answer that once crashed api_response_fuzz is parsed in time") {
  std::vector<std::string> inputs = Inputs("api_response_fuzz");
  REQUIRE(inputs.size() >= 2);
  for (const std::string& input : inputs) {
    auto start = std::chrono::steady_clock::now();
    fuzzing::RunApiResponseInput(Bytes(input), input.size());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  }
}

// plan_file_fuzz: a float where the plan holds an integer (1e300 as a count) was converted
// unchecked, which is undefined behaviour (UBSan aborts). Such a file is damaged.
TEST_CASE("fuzz regressions: a plan file with a number no integer can hold is refused as damaged") {
  for (const char* name : {"float-count-out-of-range.json", "float-generation-out-of-range.json"}) {
    CAPTURE(name);
    std::string text = ReadFile(SourcePath(std::string("fuzz/regressions/plan_file_fuzz/") + name));
    Result<Plan> plan = PlanFromJson(nlohmann::json::parse(text));
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().code() == Code::kInvalidInput);
    CHECK(plan.status().message().find("is not an integer") != std::string::npos);
  }
}

// api_response_fuzz: DBInstanceCpu 1e300 and MaxReplayLag -5.0 were converted unchecked,
// undefined behaviour (UBSan aborts). A number no field can hold reads as 0.
TEST_CASE("fuzz regressions: answers with numbers out of range read as zero") {
  namespace tc = tencentcloud;
  auto cloud_answering = [](const std::string& file, const std::function<void(tc::TencentCloud&)>& call) {
    std::string input = ReadFile(SourcePath("fuzz/regressions/api_response_fuzz/" + file));
    fuzzing::FuzzedAnswer transport(200, input.substr(2));
    FakeClock clock;
    tc::CloudConfig config;
    config.credentials.secret_id = "AKIDTEST";
    config.credentials.secret_key = tc::Secret("test");
    config.endpoints.SetOverride("http://127.0.0.1:9");
    tc::ApiClient client(config, &transport, &clock);
    RateBudget budget(&clock, &tc::DocumentedRateLimit);
    tc::TencentCloud cloud(&client, &budget, &clock);
    call(cloud);
  };
  cloud_answering("float-cpu-out-of-range", [](tc::TencentCloud& cloud) {
    Result<std::vector<cloud::Instance>> listed = cloud.ListInstances("ap-beijing", {});
    REQUIRE(listed.ok());
    REQUIRE(!listed->empty());
    for (const cloud::Instance& i : *listed) CHECK(i.cpu <= 64);
  });
  cloud_answering("negative-max-replay-lag", [](tc::TencentCloud& cloud) {
    Result<std::vector<cloud::Group>> groups = cloud.ListGroups("ap-beijing", "postgres-abcdef");
    REQUIRE(groups.ok());
    REQUIRE(!groups->empty());
    CHECK(groups->front().max_replay_lag_seconds == 0);
  });
}

// plan_file_fuzz: the Markdown cell escaped a '|' and then found it again, forever. A tag
// value or a reason with a '|' hung `reconciler plan --markdown`.
TEST_CASE("fuzz regressions: a '|' in a plan's Markdown cell is escaped once") {
  Plan plan;
  plan.stack = "s";
  Change c;
  c.action = Action::kUpdate;
  c.key = {specs::Kind::kReadOnlyInstance, "reports"};
  c.reason = "drift on pgro-1: tags.note";
  c.fields.push_back({"tags.note", "\"a|b\"", "\"c||d\""});
  plan.changes.push_back(c);
  std::string md = RenderPlanMarkdown(plan);
  CHECK(md.find("\"a\\|b\"") != std::string::npos);
  CHECK(md.find("\"c\\|\\|d\"") != std::string::npos);
}

}  // namespace
}  // namespace reconciler::testing
