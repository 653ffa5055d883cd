#pragma once

// The daemon's Prometheus metrics, rendered in the text exposition format (version 0.0.4).
// Every method is safe from any thread. Names and labels:
//   reconciler_reconcile_total{result}                counter: passes by result
//   reconciler_reconcile_duration_seconds             histogram: pass wall time
//   reconciler_resources{kind,condition}              gauge: resources by condition
//   reconciler_api_calls_total{action,code}           counter: API calls by action and answer
//                                                     ("ok", or the error code)
//   reconciler_orders_pending                         gauge
//   reconciler_drift_detected_total                   counter: drifted changes found
//   reconciler_last_success_timestamp_seconds         gauge: unix time of the last good pass
//   reconciler_paused                                 gauge: 1 while paused
//   reconciler_webhooks_total{source,result}          counter: webhooks by source and verdict

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace reconciler::daemon {

class Metrics {
 public:
  Metrics();

  void CountReconcile(const std::string& result);
  void ObserveReconcileSeconds(double seconds);
  // Replaces every reconciler_resources sample: (kind, condition) -> count.
  void SetResources(const std::map<std::pair<std::string, std::string>, int64_t>& counts);
  void CountApiCall(const std::string& action, const std::string& code);
  void SetOrdersPending(int64_t n);
  void CountDrift(int64_t n);
  void SetLastSuccess(double unix_seconds);
  void SetPaused(bool paused);
  void CountWebhook(const std::string& source, const std::string& result);

  // The whole exposition, each family with # HELP and # TYPE, label values escaped.
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t> reconciles_;
  std::vector<double> bucket_bounds_;
  std::vector<int64_t> bucket_counts_;  // cumulative is computed when rendered
  int64_t duration_count_ = 0;
  double duration_sum_ = 0;
  std::map<std::pair<std::string, std::string>, int64_t> resources_;
  std::map<std::pair<std::string, std::string>, int64_t> api_calls_;
  int64_t orders_pending_ = 0;
  int64_t drift_total_ = 0;
  double last_success_ = 0;
  bool paused_ = false;
  std::map<std::pair<std::string, std::string>, int64_t> webhooks_;
};

}  // namespace reconciler::daemon
