#include "daemon/scheduler.h"

namespace lifeboat::daemon {

using Clock = std::chrono::system_clock;

Tick NextTick(const std::vector<catalog::Tier>& tiers, Clock::time_point after) {
  Tick t{Clock::time_point::max(), {}};
  for (const auto& tier : tiers) {
    auto n = tier.schedule.Next(after);
    if (n < t.at) {
      t.at = n;
      t.tiers.clear();
    }
    if (n == t.at) t.tiers.push_back(tier);
  }
  return t;
}

Tick MissedTick(const std::vector<catalog::Tier>& tiers, const std::vector<Clock::time_point>& newest_backup,
                Clock::time_point now) {
  Tick t{Clock::time_point::min(), {}};
  for (size_t i = 0; i < tiers.size(); ++i) {
    auto prev = tiers[i].schedule.Previous(now);
    if (prev == Clock::time_point::min() || newest_backup[i] >= prev) continue;
    t.at = std::max(t.at, prev);
    t.tiers.push_back(tiers[i]);
  }
  return t;
}

}  // namespace lifeboat::daemon
