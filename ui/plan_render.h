#pragma once

// The plan for people: Terraform-like text (with colour when asked) and Markdown for
// pull-request comments. Both end with the summary line
//   Plan: 3 to create, 1 to update, 0 to destroy. Cost: +¥1,234.00/month.

#include <string>

#include "engine/plan.h"

namespace reconciler {

std::string RenderPlanText(const Plan& plan, bool color);
// Starts with PlanCommentMarker(plan.stack), so CI can find and update its own comment. A
// table of more than kMarkdownUnfoldedChanges changes is folded in <details>, under the
// summary line.
std::string RenderPlanMarkdown(const Plan& plan);

inline constexpr size_t kMarkdownUnfoldedChanges = 10;

// "<!-- reconciler-plan: STACK -->": the same for every plan of the stack, so a CI job can
// find the pull-request comment it wrote before and edit it in place.
std::string PlanCommentMarker(const std::string& stack);
std::string SummaryLine(const Plan& plan);

}  // namespace reconciler
