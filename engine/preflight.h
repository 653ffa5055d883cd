#pragma once

// Preflight: the cloud's verdict and price on every change that spends money, before apply.
//
// Each planned purchase is sent with "DryRun": true (the "validate without initiation" mode
// of CreateReadOnlyDBInstance), once per distinct call size, since a count is bought in
// calls of at most 6. An endpoint that answers UnknownParameter to DryRun gets read-only
// checks instead: DescribeZones (zone state), DescribeClasses (spec and storage range),
// DescribeDBInstanceAttribute on the master (exists, running, charge type). CreateReadOnlyGroup
// has no DryRun, so groups always get the master check.
//
// Prices come from InquiryPriceCreateDBInstances and are shown per month: prepaid prices
// divided over their period, postpaid hourly prices times 720.

#include <vector>

#include "providers/provider.h"
#include "engine/diff.h"
#include "engine/plan.h"

namespace reconciler {

// Splits `count` into purchase calls of at most 6: 13 -> {6, 6, 1}.
std::vector<uint64_t> SplitCount(uint64_t count);

// Whether `s` says the endpoint has no DryRun: UnknownParameter naming DryRun. An
// UnknownParameter naming anything else is a request the site does not take (the wrong
// site?), and a real failure.
bool RefusesDryRun(const Status& s);

// Fills preflight and price on each change; spec changes also get the memory and CPU their
// target spec code stands for. Never buys anything.
void RunPreflight(cloud::Cloud* cloud, const ObservedState& observed, std::vector<Change>* changes);

}  // namespace reconciler
