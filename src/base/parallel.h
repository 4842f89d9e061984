// ParallelFor: one thread per index for a handful of blocking calls (one per member or agent),
// so the slowest host, not the sum of them, sets the wait. Not a pool: n is small.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "base/status.h"

namespace lifeboat {

// Runs fn(0..n-1) on n threads and returns their results in order.
std::vector<Status> ParallelFor(size_t n, const std::function<Status(size_t)>& fn);
// The first failure among `results` with the failures of the others appended, or OK.
Status Combine(const std::vector<Status>& results);

}  // namespace lifeboat
