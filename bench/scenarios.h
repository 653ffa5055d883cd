#pragma once

// The scenarios of `make bench`, each adding its figures to `results`.

#include "bench/harness.h"

namespace reconciler::bench {

// The real `reconciler plan` over a stack whose state knows all N replicas (issue 12).
void BenchNoopPlan(const Options& options, Results* results);
// The no-op plan's figures side by side with the Terraform provider's calls, as a Markdown
// table; empty when the plan scenario did not run.
std::string NoopPlanSummary(const Results& results);
// The real `reconciler apply` buying replicas under the documented create limit.
void BenchApply(const Options& options, Results* results);
// DescribeOrders and DescribeDBInstances calls per prepaid purchase while its orders deliver.
void BenchOrderTracking(const Options& options, Results* results);
// Loading and validating a stack of many resources, in process.
void BenchSpecLoad(const Options& options, Results* results);
// The emulator's own page latency and Describe capacity, rate limits lifted.
void BenchEmulator(const Options& options, Results* results);
// The request signer and the curl transport, in process.
void BenchClient(const Options& options, Results* results);
// The daemon's figures (issue 11), on the real `reconciler run`.
void BenchDaemon(const Options& options, Results* results);

}  // namespace reconciler::bench
