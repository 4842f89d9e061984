#include "base/parallel.h"

#include <thread>

namespace lifeboat {

std::vector<Status> ParallelFor(size_t n, const std::function<Status(size_t)>& fn) {
  std::vector<Status> out(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i) threads.emplace_back([&, i] { out[i] = fn(i); });
  for (auto& t : threads) t.join();
  return out;
}

Status Combine(const std::vector<Status>& results) {
  Status first;
  std::string more;
  for (const auto& s : results) {
    if (s.ok()) continue;
    if (first.ok()) {
      first = s;
    } else {
      more += "; " + s.message();
    }
  }
  if (first.ok() || more.empty()) return first;
  return first.WithMessage(first.message() + more);
}

}  // namespace lifeboat
