#include "daemon/scheduler.h"

#include <algorithm>

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

Tick NextTick(const std::vector<catalog::Tier>& tiers, const std::optional<catalog::CronSchedule>& drill_schedule,
              Clock::time_point after) {
  Tick t = NextTick(tiers, after);
  if (!drill_schedule) return t;
  auto n = drill_schedule->Next(after);
  if (n < t.at) t = Tick{n, {}};
  t.drill = n == t.at && n != Clock::time_point::max();
  return t;
}

double LongestGap(const catalog::CronSchedule& schedule, Clock::time_point from) {
  // A week holds every pattern of minute, hour and weekday; 10000 fires bound the work for
  // schedules every second (their gap is found long before).
  const auto end = from + std::chrono::hours(24 * 8);
  auto prev = schedule.Next(from);
  if (prev == Clock::time_point::max()) return 0;
  Clock::duration longest{0};
  for (int i = 0; i < 10000 && (i == 0 || prev < end); ++i) {  // one gap at least: monthly schedules
    auto next = schedule.Next(prev);
    if (next == Clock::time_point::max()) break;
    longest = std::max(longest, next - prev);
    prev = next;
  }
  return std::chrono::duration<double>(longest).count();
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
