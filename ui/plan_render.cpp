#include "ui/plan_render.h"

#include <algorithm>
#include <sstream>

#include "base/term_style.h"

namespace reconciler {

namespace {

struct Palette {
  std::string green;
  std::string yellow;
  std::string red;
  std::string cyan;
  std::string bold;
  std::string dim;
  std::string reset;
};

Palette Colors(bool on) {
  return {StyleOn({TermStyle::kGreen}, on), StyleOn({TermStyle::kYellow}, on), StyleOn({TermStyle::kRed}, on),
          StyleOn({TermStyle::kCyan}, on),  StyleOn({TermStyle::kBold}, on),   StyleOn({TermStyle::kDim}, on),
          StyleOff(on)};
}

std::string ColorOf(Action a, const Palette& p) {
  switch (a) {
    case Action::kCreate: return p.green;
    case Action::kUpdate:
    case Action::kRestore:
    case Action::kResume: return p.yellow;
    case Action::kReplace:
    case Action::kDelete: return p.red;
    case Action::kOrphan: return p.red;
    case Action::kAdopt: return p.cyan;
  }
  return "";
}


std::string Title(const Change& c) {
  std::string t = c.key.ToString();
  if (c.instance_ids.size() == 1 && c.action != Action::kReplace) t += "[" + c.instance_ids.front() + "]";
  return t;
}

std::string What(const Change& c) {
  switch (c.action) {
    case Action::kCreate:
      return c.key.kind == specs::Kind::kReadOnlyInstance ? "create " + std::to_string(c.count) + " replica(s)" : "create";
    case Action::kReplace: return "replace " + std::to_string(c.count);
    case Action::kDelete: return "delete " + std::to_string(std::max<size_t>(1, c.instance_ids.size()));
    case Action::kOrphan: return "orphan";
    case Action::kAdopt: return "adopt";
    case Action::kRestore: return "restore " + std::to_string(c.instance_ids.size());
    case Action::kResume: return "resume";
    case Action::kUpdate: return c.instance_ids.empty() && c.update.empty() ? "update state only" : "update in place";
  }
  return "";
}

// The failures that hold resources, and what to do about each.
void RenderFailures(const Plan& plan, const Palette& p, std::ostringstream& out) {
  if (plan.failures.empty()) return;
  out << p.red << p.bold << (plan.retry_failed ? "Failed purchases, bought again by this plan (--retry-failed):"
                                               : "Failed purchases (nothing is bought for these until you act):")
      << p.reset << "\n\n";
  for (const Failure& f : plan.failures) {
    out << "  " << p.red << p.bold << "! " << f.key.ToString() << p.reset << "  " << f.operation_id << "  " << p.bold
        << f.code << p.reset << "\n";
    out << "      " << f.message << "\n";
    if (f.withheld > 0) {
      out << "      " << p.dim << "not bought: " << p.reset << f.withheld
          << (f.key.kind == specs::Kind::kReadOnlyInstance ? " replica(s)" : "") << "\n";
    }
    if (!f.retrying) out << "      " << p.dim << "what to do: " << p.reset << f.remedy << "\n";
    out << "\n";
  }
}

bool HasFailedPreflight(const Plan& plan) {
  return std::any_of(plan.changes.begin(), plan.changes.end(),
                     [](const Change& c) { return c.preflight.state == PreflightState::kFailed; });
}

// The blocked changes: apply leaves their resources alone and applies the rest.
void RenderBlocked(const Plan& plan, const Palette& p, std::ostringstream& out) {
  std::vector<const Change*> blocked;
  for (const Change& c : plan.changes) {
    if (c.blocked) blocked.push_back(&c);
  }
  if (blocked.empty()) return;
  out << p.red << p.bold << "Blocked" << p.reset
      << " (apply leaves these resources alone, applies the rest and exits 1):\n";
  for (const Change* c : blocked) {
    out << "  " << p.red << "! " << c->key.ToString() << p.reset << " (" << c->id << ", " << ActionName(c->action)
        << "): " << c->blocked_reason << "\n";
  }
}

}  // namespace

std::string SummaryLine(const Plan& plan) {
  PlanSummary s = plan.Summary();
  std::ostringstream out;
  out << "Plan: " << s.create << " to create, " << s.update + s.restore << " to update, " << s.destroy << " to destroy";
  if (s.orphan) out << ", " << s.orphan << " to orphan";
  if (s.adopt) out << ", " << s.adopt << " to adopt";
  if (s.resume) out << ", " << s.resume << " to resume";
  out << ". Cost: " << FormatCost(s.cost) << (s.price_complete ? "" : " (some prices unknown)") << ".";
  return out.str();
}

std::string RenderPlanText(const Plan& plan, bool color) {
  Palette p = Colors(color);
  std::ostringstream out;
  if (!plan.HasChanges()) {
    if (plan.failures.empty()) {
      out << p.green << p.bold << "No changes." << p.reset << " The cloud matches the specs of stack " << plan.stack
          << ".\n";
    } else {
      out << p.bold << "No changes to make" << p.reset << ", but stack " << plan.stack
          << " does not match its specs until these failures are dealt with.\n\n";
      RenderFailures(plan, p, out);
    }
    for (const std::string& w : plan.warnings) out << p.yellow << "warning: " << p.reset << w << "\n";
    return out.str();
  }
  out << "Stack " << p.bold << plan.stack << p.reset << " will change as follows:\n\n";
  for (const Change& c : plan.changes) {
    out << "  " << ColorOf(c.action, p) << p.bold << ActionSymbol(c.action) << " " << Title(c) << p.reset << "  "
        << What(c) << "\n";
    out << "      " << p.dim << "reason: " << p.reset << c.reason << "\n";
    for (const FieldDiff& f : c.fields) {
      out << "      " << f.field << ": " << f.before << " \xe2\x86\x92 " << f.after << "\n";
    }
    if (c.replica && (c.action == Action::kCreate || c.action == Action::kReplace)) {
      const cloud::ReplicaRequest& q = *c.replica;
      out << "      " << p.dim << "in " << q.zone << ", master " << q.master_id << ", " << q.spec_code << ", "
          << q.storage_gb << " GB, " << (q.prepaid ? "PREPAID " + std::to_string(q.period_months) + " month(s)" : std::string("POSTPAID_BY_HOUR"))
          << p.reset << "\n";
    }
    if (c.preflight.state != PreflightState::kNotNeeded) {
      if (c.preflight.state == PreflightState::kFailed) {
        out << "      " << p.red << p.bold << "preflight failed: " << c.preflight.code << p.reset << ": " << c.preflight.message;
        if (!c.preflight.request_id.empty()) out << " (RequestId " << c.preflight.request_id << ")";
        out << "\n";
      } else {
        out << "      " << p.dim << "preflight: " << c.preflight.note << p.reset << "\n";
      }
    }
    if (c.cost) {
      out << "      " << p.dim << "price: " << p.reset << FormatCost(*c.cost);
      if (!c.price_note.empty()) out << " (" << c.price_note << ")";
      out << "\n";
    } else if (!c.price_note.empty()) {
      out << "      " << p.dim << "price: " << c.price_note << p.reset << "\n";
    }
    if (c.blocked) out << "      " << p.red << p.bold << "blocked: " << p.reset << c.blocked_reason << "\n";
    out << "\n";
  }
  RenderFailures(plan, p, out);
  for (const std::string& w : plan.warnings) out << p.yellow << "warning: " << p.reset << w << "\n";
  out << p.bold << SummaryLine(plan) << p.reset << "\n";
  RenderBlocked(plan, p, out);
  if (HasFailedPreflight(plan)) {
    out << p.red << "This plan cannot be applied as it is: see the failed preflights above." << p.reset << "\n";
  }
  return out.str();
}

std::string PlanCommentMarker(const std::string& stack) {
  // An HTML comment ends at "--" in some renderers and at ">" in all; neither may come
  // from the name.
  std::string name;
  for (char c : stack) {
    if (c == '>' || (c == '-' && !name.empty() && name.back() == '-') || c == '\n') continue;
    name += c;
  }
  return "<!-- reconciler-plan: " + name + " -->";
}

std::string RenderPlanMarkdown(const Plan& plan) {
  std::ostringstream out;
  out << PlanCommentMarker(plan.stack) << "\n";
  out << "### reconciler plan for stack `" << plan.stack << "`\n\n";
  auto failures = [&] {
    if (plan.failures.empty()) return;
    out << "\n**Failed purchases**" << (plan.retry_failed ? " (bought again: `--retry-failed`)" : " (nothing is bought for these until you act)") << ":\n\n";
    for (const Failure& f : plan.failures) {
      out << "- \xe2\x9d\x8c `" << f.key.ToString() << "` `" << f.operation_id << "` `" << f.code << "`: " << f.message;
      if (!f.retrying) out << " **What to do:** " << f.remedy;
      out << "\n";
    }
  };
  if (!plan.HasChanges()) {
    if (plan.failures.empty()) out << "**No changes.** The cloud matches the specs.\n";
    else out << "**No changes to make**, but the stack does not match its specs until these failures are dealt with.\n";
    failures();
    return out.str();
  }
  // A long table is folded, so the pull request stays readable; the summary stays in view.
  const bool fold = plan.changes.size() > kMarkdownUnfoldedChanges;
  if (fold) out << "<details><summary>" << SummaryLine(plan) << " (" << plan.changes.size() << " rows)</summary>\n\n";
  out << "| | Resource | Change | Reason | Preflight | Cost |\n|---|---|---|---|---|---|\n";
  auto cell = [](std::string s) {
    // Search on past each replacement: the escaped '|' is still a '|'.
    for (size_t at = 0; (at = s.find('|', at)) != std::string::npos; at += 2) s.replace(at, 1, "\\|");
    return s;
  };
  for (const Change& c : plan.changes) {
    std::string preflight = c.preflight.state == PreflightState::kFailed
                                ? "\xe2\x9d\x8c `" + c.preflight.code + "`: " + c.preflight.message
                                : c.preflight.state == PreflightState::kNotNeeded ? "" : "\xe2\x9c\x85 " + c.preflight.note;
    if (c.blocked) preflight += (preflight.empty() ? "" : "<br>") + std::string("\xe2\x9b\x94 ") + c.blocked_reason;
    out << "| `" << ActionSymbol(c.action) << "` | `" << cell(Title(c)) << "` | " << What(c) << " | " << cell(c.reason);
    for (const FieldDiff& f : c.fields) out << "<br>`" << cell(f.field) << "`: " << cell(f.before) << " \xe2\x86\x92 " << cell(f.after);
    out << " | " << cell(preflight) << " | " << (c.cost ? FormatCost(*c.cost) : "") << " |\n";
  }
  if (fold) out << "\n</details>\n";
  failures();
  out << "\n";
  for (const std::string& w : plan.warnings) out << "> **warning:** " << w << "\n";
  out << "**" << SummaryLine(plan) << "**\n";
  for (const Change& c : plan.changes) {
    if (c.blocked) out << "\n**Blocked** `" << c.key.ToString() << "` (" << c.id << "): " << cell(c.blocked_reason) << "\n";
  }
  if (HasFailedPreflight(plan)) out << "\n**This plan cannot be applied as it is.**\n";
  return out.str();
}

}  // namespace reconciler
