// The Markdown plan as CI posts it: a marker that finds the same comment again, and a long
// table folded under its summary.

#include <doctest/doctest.h>

#include "engine/plan.h"
#include "ui/plan_render.h"

namespace reconciler {
namespace {

Plan WithCreates(size_t n) {
  Plan p;
  p.stack = "orders";
  for (size_t i = 0; i < n; ++i) {
    Change c;
    c.id = "c" + std::to_string(i);
    c.action = Action::kCreate;
    c.key = {specs::Kind::kReadOnlyInstance, "r" + std::to_string(i)};
    c.region = "ap-beijing";
    c.count = 1;
    c.reason = "new";
    p.changes.push_back(c);
  }
  return p;
}

TEST_CASE("plan markdown: every rendering of a stack starts with the same marker") {
  const std::string marker = "<!-- reconciler-plan: orders -->\n";
  CHECK(RenderPlanMarkdown(WithCreates(0)).rfind(marker, 0) == 0);
  CHECK(RenderPlanMarkdown(WithCreates(3)).rfind(marker, 0) == 0);
  CHECK(RenderPlanMarkdown(WithCreates(30)).rfind(marker, 0) == 0);
  // A name cannot end the comment early.
  CHECK(PlanCommentMarker("a-->b") == "<!-- reconciler-plan: a-b -->");
}

TEST_CASE("plan markdown: a short plan is an open table, a long one folds under its summary") {
  const std::string short_md = RenderPlanMarkdown(WithCreates(kMarkdownUnfoldedChanges));
  CHECK(short_md.find("<details>") == std::string::npos);
  CHECK(short_md.find("| `+` | `ReadOnlyInstance/r9` |") != std::string::npos);

  const std::string long_md = RenderPlanMarkdown(WithCreates(kMarkdownUnfoldedChanges + 1));
  const size_t open = long_md.find("<details><summary>Plan: 11 to create, 0 to update, 0 to destroy.");
  const size_t table = long_md.find("| | Resource | Change |");
  const size_t close = long_md.find("</details>");
  REQUIRE(open != std::string::npos);
  REQUIRE(table != std::string::npos);
  REQUIRE(close != std::string::npos);
  CHECK(open < table);
  CHECK(table < close);
  CHECK(long_md.find("| `+` | `ReadOnlyInstance/r10` |") < close);
  // The summary line also stays in view after the fold.
  CHECK(long_md.find("**Plan: 11 to create", close) != std::string::npos);
}

}  // namespace
}  // namespace reconciler
