#pragma once

// One input of plan_file_fuzz (fuzz/plan_file_fuzz.cpp), shared with the regression test
// that replays every input that once crashed (tests/fuzz_regression_test.cpp): the bytes of
// a file given to `reconciler apply PLANFILE`, read as apply reads them
// (nlohmann::json::parse without exceptions, then PlanFromJson). A plan it accepts is
// rendered as text and Markdown, summarised and written back, as plan and apply do.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/plan.h"
#include "ui/plan_render.h"

namespace reconciler::fuzzing {

// Returns the rendered text (empty when the bytes are not a plan). Never throws.
inline std::string RunPlanFileInput(const uint8_t* data, size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return "";
  Result<Plan> plan = PlanFromJson(j);
  if (!plan.ok()) return "";
  std::string out = RenderPlanText(*plan, /*color=*/true);
  out += RenderPlanMarkdown(*plan);
  out += PlanToJson(*plan).dump();
  PlanSummary s = plan->Summary();
  return out + SummaryLine(*plan) + (s.price_complete && plan->HasErrors() ? "!" : "");
}

}  // namespace reconciler::fuzzing
