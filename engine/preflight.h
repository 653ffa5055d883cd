#pragma once

// Preflight: the cloud's verdict and price on every change that spends money, before apply.
//
// Each planned purchase is sent with "DryRun": true (the "validate without initiation" mode
// of CreateReadOnlyDBInstance), once per distinct call shape (DryRunShape) in the whole
// plan: a count is bought in calls of at most 6, and a hundred resources alike need only
// the DryRuns of one. The executor sends no DryRun again for a shape its plan proved
// (ExecutorOptions::preflight_max_age). An endpoint that answers UnknownParameter to DryRun gets read-only
// checks instead: DescribeZones (zone state), DescribeClasses (spec and storage range),
// DescribeDBInstanceAttribute on the master (exists, running, charge type). CreateReadOnlyGroup
// has no DryRun, so groups always get the master check.
//
// Prices come from InquiryPriceCreateDBInstances and are shown per month: prepaid prices
// divided over their period, postpaid hourly prices times 720.

#include <map>
#include <string>
#include <vector>

#include "providers/provider.h"
#include "engine/diff.h"
#include "engine/plan.h"

namespace reconciler {

// What a DryRun of a create proves, as a key: the request as the cloud judges it, without
// what varies between purchases alike. For replicas that is the name (checked by the spec,
// and not unique) and the values of the reconciler/* tags; the count stays, since quotas
// judge it. A serverless instance keeps its name, which must be unique in the account.
std::string DryRunShape(const cloud::ReplicaRequest& q);
std::string DryRunShape(const cloud::ServerlessRequest& q);

// The shapes `plan`'s preflight proved: its DryRun passed, or the endpoint has no DryRun
// (then true: none is to be sent). Shapes whose DryRun failed are not listed.
std::map<std::string, bool> ProvenShapes(const Plan& plan);

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
