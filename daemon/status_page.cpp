#include "daemon/status_page.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "base/clock.h"

namespace reconciler::daemon {

namespace {

// Unix seconds are for machines; the text beside them is for people reading the JSON by eye.
// 0 means "never" or "none" throughout the status model, so it has no text.
std::string TimeText(int64_t unix_seconds) { return unix_seconds > 0 ? UtcText(unix_seconds) : ""; }

void PutTime(nlohmann::json& j, const char* name, int64_t unix_seconds) {
  j[name] = unix_seconds;
  j[std::string(name) + "Text"] = TimeText(unix_seconds);
}

nlohmann::json ResourceJson(const ResourceStatus& r) {
  nlohmann::json j = {
      {"key", r.key},
      {"kind", r.kind},
      {"desired", r.desired},
      {"observed", r.observed},
      {"condition", ConditionName(r.condition)},
      {"message", r.message},
      {"lastError", r.last_error},
      {"lastErrorCode", r.last_error_code},
      {"pendingOrders", r.pending_orders},
      {"waiting", r.waiting},
  };
  PutTime(j, "backoffUntil", r.backoff_until);
  PutTime(j, "since", r.since);
  return j;
}

nlohmann::json EventJson(const StackEvent& e) {
  nlohmann::json j = {{"kind", e.kind}, {"message", e.message}};
  PutTime(j, "at", e.at);
  return j;
}

std::string Escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// An id may hold any character but whitespace; the data-key attribute keeps the key exact.
std::string IdFor(const std::string& key) {
  std::string id = "resource-";
  for (char c : key) id += std::isspace(static_cast<unsigned char>(c)) ? '_' : c;
  return Escape(id);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string WhenText(int64_t unix_seconds, const char* none) {
  return unix_seconds > 0 ? UtcText(unix_seconds) : none;
}

constexpr char kStyle[] = R"(
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fff}
h1{font-size:1.4em;margin:0 0 .4em}
h2{font-size:1.1em;margin:1.4em 0 .4em}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;margin:0}
dl.facts dt{color:#57606a}
dl.facts dd{margin:0}
.banner{padding:.6em .9em;margin:.8em 0;border-radius:4px;border:1px solid}
.banner.paused{background:#fff8c5;border-color:#d4a72c}
.banner.rejected,.banner.error{background:#ffebe9;border-color:#cf222e}
pre{white-space:pre-wrap;margin:.3em 0 0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #d0d7de;vertical-align:top}
th{background:#f6f8fa}
td.code{font-family:ui-monospace,monospace;font-size:.9em}
.cond{font-weight:600}
.cond-ready{color:#1a7f37}
.cond-progressing{color:#0969da}
.cond-drifted,.cond-paused,.cond-blocked{color:#9a6700}
.cond-retrying,.cond-failed{color:#cf222e}
.cond-unknown{color:#57606a}
.muted{color:#57606a}
ol.events{padding-left:1.2em}
)";

void Fact(std::string& out, const char* name, const std::string& value) {
  out += "<dt>" + Escape(name) + "</dt><dd>" + Escape(value) + "</dd>\n";
}

void Facts(std::string& out, const StackStatus& s) {
  out += "<dl class=\"facts\" id=\"facts\">\n";
  Fact(out, "Source", s.source);
  std::string commit = s.commit.empty() ? "(not from git)" : s.commit;
  if (!s.commit_subject.empty()) commit += " " + s.commit_subject;
  Fact(out, "Applied commit", commit);
  Fact(out, "Ready", s.ready ? "yes" : "no, the first observation has not succeeded");
  Fact(out, "Drift", s.drift_mode.empty() ? "correct" : s.drift_mode);
  Fact(out, "Apply", s.auto_apply ? "automatic" : "plan and report only");
  Fact(out, "Destroy", s.allow_destroy ? "allowed" : "not allowed");
  Fact(out, "Resync interval", std::to_string(s.interval_seconds) + " s");
  Fact(out, "Passes", std::to_string(s.passes));
  Fact(out, "Last pass", WhenText(s.last_pass_at, "never"));
  Fact(out, "Last success", WhenText(s.last_success_at, "never"));
  Fact(out, "Next pass", WhenText(s.next_pass_at, "not scheduled"));
  Fact(out, "Last trigger", s.last_trigger.empty() ? "none" : s.last_trigger);
  Fact(out, "Last result", s.last_result.empty() ? "none" : s.last_result);
  Fact(out, "Orders pending", std::to_string(s.orders_pending));
  out += "</dl>\n";
}

void Banner(std::string& out, const char* id, const char* cls, const std::string& title,
            const std::string& detail) {
  out += "<div class=\"banner " + std::string(cls) + "\" id=\"" + id + "\"><strong>" +
         Escape(title) + "</strong>";
  if (!detail.empty()) out += "<pre>" + Escape(detail) + "</pre>";
  out += "</div>\n";
}

void Banners(std::string& out, const StackStatus& s) {
  if (s.paused) {
    Banner(out, "paused-banner", "paused", "Paused: nothing is applied until the stack is resumed.",
           s.paused_reason);
  }
  if (!s.rejected_commit.empty()) {
    Banner(out, "rejected-banner", "rejected",
           "Commit " + s.rejected_commit +
               " was not applied: its specs do not validate. The last good commit stays in force.",
           s.rejected_error);
  }
  if (!s.spec_error.empty()) {
    Banner(out, "spec-error-banner", "rejected",
           "The specs on disk do not validate; the last good ones stay in force.", s.spec_error);
  }
  if (!s.last_error.empty())
    Banner(out, "last-error-banner", "error", "The last pass failed.", s.last_error);
}

void ResourceRow(std::string& out, const ResourceStatus& r) {
  std::string cond = ConditionName(r.condition);
  out += "<tr id=\"" + IdFor(r.key) + "\" data-key=\"" + Escape(r.key) + "\" class=\"cond-" +
         Lower(cond) + "\">";
  out += "<td class=\"code key\">" + Escape(r.key) + "</td>";
  out += "<td><span class=\"cond cond-" + Lower(cond) + "\">" + Escape(cond) + "</span>";
  if (!r.message.empty())
    out += "<br><span class=\"muted message\">" + Escape(r.message) + "</span>";
  if (r.since > 0) out += "<br><span class=\"muted\">since " + Escape(UtcText(r.since)) + "</span>";
  out += "</td>";
  out += "<td class=\"counts\">" + std::to_string(r.desired) + " / " + std::to_string(r.observed) +
         "</td>";
  out += "<td class=\"waiting\">" + Escape(r.waiting);
  if (r.backoff_until > 0)
    out +=
        "<br><span class=\"muted\">backoff until " + Escape(UtcText(r.backoff_until)) + "</span>";
  out += "</td>";
  out += "<td class=\"error\">" + Escape(r.last_error);
  if (!r.last_error_code.empty())
    out += "<br><span class=\"code\">" + Escape(r.last_error_code) + "</span>";
  out += "</td>";
  out += "<td class=\"code orders\">";
  for (size_t i = 0; i < r.pending_orders.size(); ++i)
    out += (i ? "<br>" : "") + Escape(r.pending_orders[i]);
  out += "</td></tr>\n";
}

void Resources(std::string& out, const StackStatus& s) {
  out += "<h2>Resources</h2>\n";
  if (s.resources.empty()) {
    out += "<p class=\"muted\" id=\"no-resources\">No resources yet.</p>\n";
    return;
  }
  out +=
      "<table id=\"resources\"><thead><tr><th>Resource</th><th>Condition</th><th>Desired / "
      "observed</th>"
      "<th>Waiting</th><th>Last error</th><th>Pending orders</th></tr></thead>\n<tbody>\n";
  for (const ResourceStatus& r : s.resources) ResourceRow(out, r);
  out += "</tbody></table>\n";
}

void Events(std::string& out, const StackStatus& s) {
  out += "<h2>Recent events</h2>\n";
  if (s.events.empty()) {
    out += "<p class=\"muted\" id=\"no-events\">None yet.</p>\n";
    return;
  }
  out += "<ol class=\"events\" id=\"events\">\n";
  // The model keeps the newest last; a person wants it first.
  for (auto it = s.events.rbegin(); it != s.events.rend(); ++it) {
    out += "<li data-kind=\"" + Escape(it->kind) + "\"><span class=\"muted\">" +
           Escape(WhenText(it->at, "")) + "</span> <strong>" + Escape(it->kind) + "</strong> " +
           Escape(it->message) + "</li>\n";
  }
  out += "</ol>\n";
}

}  // namespace

nlohmann::json StatusJson(const StackStatus& s) {
  nlohmann::json j = {
      {"stack", s.stack},
      {"source", s.source},
      {"commit", s.commit},
      {"commitSubject", s.commit_subject},
      {"rejectedCommit", s.rejected_commit},
      {"rejectedError", s.rejected_error},
      {"specError", s.spec_error},
      {"paused", s.paused},
      {"pausedReason", s.paused_reason},
      {"ready", s.ready},
      {"driftMode", s.drift_mode},
      {"autoApply", s.auto_apply},
      {"allowDestroy", s.allow_destroy},
      {"intervalSeconds", s.interval_seconds},
      {"passes", s.passes},
      {"passesByTrigger", s.passes_by_trigger},
      {"lastTrigger", s.last_trigger},
      {"lastResult", s.last_result},
      {"lastError", s.last_error},
      {"ordersPending", s.orders_pending},
  };
  PutTime(j, "lastPassAt", s.last_pass_at);
  PutTime(j, "lastSuccessAt", s.last_success_at);
  PutTime(j, "nextPassAt", s.next_pass_at);
  j["resources"] = nlohmann::json::array();
  for (const ResourceStatus& r : s.resources) j["resources"].push_back(ResourceJson(r));
  j["events"] = nlohmann::json::array();
  for (const StackEvent& e : s.events) j["events"].push_back(EventJson(e));
  return j;
}

std::string StatusHtml(const StackStatus& s, int refresh_seconds) {
  if (refresh_seconds < 1) refresh_seconds = 1;
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>reconciler: " + Escape(s.stack) + "</title>\n<style>" + kStyle +
         "</style>\n</head>\n<body>\n";
  out += "<header>\n<h1 id=\"stack\">" + Escape(s.stack) + "</h1>\n";
  Facts(out, s);
  out += "</header>\n<main>\n";
  Banners(out, s);
  Resources(out, s);
  Events(out, s);
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace reconciler::daemon
