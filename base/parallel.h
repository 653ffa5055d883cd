#pragma once

// Runs independent calls at once. The calls that go to the cloud spend most of their time
// waiting on the network or on the rate budget, so a thread each is cheap next to them.

#include <cstddef>
#include <functional>

namespace reconciler {

// Calls fn(i) for every i in [0, n), on up to `threads` threads at once (the caller's among
// them), each taking the next index as it frees, and returns when every call has returned.
void ParallelFor(size_t n, size_t threads, const std::function<void(size_t)>& fn);

}  // namespace reconciler
