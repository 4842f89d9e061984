// Scheduler: when the next tick is and what it serves. A tick is one scheduled second; every
// tier whose cron schedule matches it is due, and one snapshot serves them all. A restore drill
// is work of its own kind, on a schedule of its own, that may fall on the same second.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "catalog/tiers.h"

namespace lifeboat::daemon {

struct Tick {
  std::chrono::system_clock::time_point at;
  std::vector<catalog::Tier> tiers;  // due at `at`
  bool drill = false;                // a restore drill is due at `at`
};

// The earliest tick strictly after `after`, with every tier due then.
Tick NextTick(const std::vector<catalog::Tier>& tiers, std::chrono::system_clock::time_point after);
// The same with the drills' schedule too (none when unset): the tick's `drill` says whether a
// drill is due; `tiers` may then be empty.
Tick NextTick(const std::vector<catalog::Tier>& tiers, const std::optional<catalog::CronSchedule>& drill_schedule,
              std::chrono::system_clock::time_point after);

// The longest gap between two consecutive fires of `schedule` in the week after `from` (a cron
// schedule need not be regular: "0 0,6 * * *" fires 6 h then 18 h apart), in seconds; 0 when it
// never fires. Alert rules compare ages with it.
double LongestGap(const catalog::CronSchedule& schedule, std::chrono::system_clock::time_point from);

// On start-up: for each tier, its most recent scheduled time at or before `now`; the tier is
// overdue when its newest backup finished before that time (or it has none). Returns the
// latest such time with the overdue tiers, or a Tick with no tiers.
Tick MissedTick(const std::vector<catalog::Tier>& tiers,
                const std::vector<std::chrono::system_clock::time_point>& newest_backup,  // per tier; min() = none
                std::chrono::system_clock::time_point now);

}  // namespace lifeboat::daemon
