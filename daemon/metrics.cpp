#include "daemon/metrics.h"

#include <charconv>
#include <cmath>

namespace reconciler::daemon {

namespace {

// A pass is a listing at best and a purchase with its waits at worst, so the buckets run from
// tens of milliseconds to five minutes.
const std::vector<double> kPassSecondsBounds = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                5,    10,  30,   60,  120, 300};

// The exposition format takes Go's float syntax; the shortest round-trip form is a subset of
// it, and "+Inf" / "NaN" are spelled as Prometheus expects.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void Family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void Sample(std::string& out, const std::string& name, const std::string& labels,
            const std::string& value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += value;
  out += '\n';
}

std::string Label(const char* name, const std::string& value) {
  return std::string(name) + "=\"" + EscapeLabelValue(value) + "\"";
}

std::string Labels2(const char* a, const std::string& va, const char* b, const std::string& vb) {
  return Label(a, va) + "," + Label(b, vb);
}

}  // namespace

Metrics::Metrics()
    : bucket_bounds_(kPassSecondsBounds), bucket_counts_(kPassSecondsBounds.size() + 1, 0) {}

void Metrics::CountReconcile(const std::string& result) {
  std::lock_guard<std::mutex> lock(mu_);
  ++reconciles_[result];
}

void Metrics::ObserveReconcileSeconds(double seconds) {
  if (std::isnan(seconds)) return;  // a NaN would poison _sum for the life of the process
  if (seconds < 0) seconds = 0;
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = 0;
  while (i < bucket_bounds_.size() && seconds > bucket_bounds_[i]) ++i;
  ++bucket_counts_[i];  // the last slot is +Inf only
  ++duration_count_;
  duration_sum_ += seconds;
}

void Metrics::SetResources(const std::map<std::pair<std::string, std::string>, int64_t>& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  resources_ = counts;
}

void Metrics::CountApiCall(const std::string& action, const std::string& code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++api_calls_[{action, code}];
}

void Metrics::SetOrdersPending(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  orders_pending_ = n;
}

void Metrics::CountDrift(int64_t n) {
  if (n <= 0) return;  // a counter never goes down
  std::lock_guard<std::mutex> lock(mu_);
  drift_total_ += n;
}

void Metrics::SetLastSuccess(double unix_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  last_success_ = unix_seconds;
}

void Metrics::SetPaused(bool paused) {
  std::lock_guard<std::mutex> lock(mu_);
  paused_ = paused;
}

void Metrics::CountWebhook(const std::string& source, const std::string& result) {
  std::lock_guard<std::mutex> lock(mu_);
  ++webhooks_[{source, result}];
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;

  Family(out, "reconciler_reconcile_total", "counter", "Reconcile passes, by result.");
  for (const auto& [result, n] : reconciles_) {
    Sample(out, "reconciler_reconcile_total", Label("result", result), std::to_string(n));
  }

  const char* hist = "reconciler_reconcile_duration_seconds";
  Family(out, hist, "histogram", "Wall time of reconcile passes, in seconds.");
  int64_t cumulative = 0;
  for (size_t i = 0; i < bucket_bounds_.size(); ++i) {
    cumulative += bucket_counts_[i];
    Sample(out, std::string(hist) + "_bucket", Label("le", FormatValue(bucket_bounds_[i])),
           std::to_string(cumulative));
  }
  cumulative += bucket_counts_.back();
  Sample(out, std::string(hist) + "_bucket", Label("le", "+Inf"), std::to_string(cumulative));
  Sample(out, std::string(hist) + "_sum", "", FormatValue(duration_sum_));
  Sample(out, std::string(hist) + "_count", "", std::to_string(duration_count_));

  Family(out, "reconciler_resources", "gauge", "Managed resources, by kind and condition.");
  for (const auto& [key, n] : resources_) {
    Sample(out, "reconciler_resources", Labels2("kind", key.first, "condition", key.second),
           std::to_string(n));
  }

  Family(out, "reconciler_api_calls_total", "counter",
         "Cloud API calls, by action and answer (ok or the error code).");
  for (const auto& [key, n] : api_calls_) {
    Sample(out, "reconciler_api_calls_total", Labels2("action", key.first, "code", key.second),
           std::to_string(n));
  }

  Family(out, "reconciler_orders_pending", "gauge", "Purchase orders sent and not yet settled.");
  Sample(out, "reconciler_orders_pending", "", std::to_string(orders_pending_));

  Family(out, "reconciler_drift_detected_total", "counter",
         "Drifted changes found between the cloud and the specs.");
  Sample(out, "reconciler_drift_detected_total", "", std::to_string(drift_total_));

  Family(out, "reconciler_last_success_timestamp_seconds", "gauge",
         "Unix time the last pass without error ended (0 before the first).");
  Sample(out, "reconciler_last_success_timestamp_seconds", "", FormatValue(last_success_));

  Family(out, "reconciler_paused", "gauge", "1 while the stack is paused, else 0.");
  Sample(out, "reconciler_paused", "", paused_ ? "1" : "0");

  Family(out, "reconciler_webhooks_total", "counter", "Webhooks received, by source and verdict.");
  for (const auto& [key, n] : webhooks_) {
    Sample(out, "reconciler_webhooks_total", Labels2("source", key.first, "result", key.second),
           std::to_string(n));
  }
  return out;
}

}  // namespace reconciler::daemon
