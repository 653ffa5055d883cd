#pragma once

// The plan for people: Terraform-like text (with colour when asked) and Markdown for
// pull-request comments. Both end with the summary line
//   Plan: 3 to create, 1 to update, 0 to destroy. Cost: +¥1,234.00/month.

#include <string>

#include "engine/plan.h"

namespace reconciler {

std::string RenderPlanText(const Plan& plan, bool color);
std::string RenderPlanMarkdown(const Plan& plan);
std::string SummaryLine(const Plan& plan);

}  // namespace reconciler
