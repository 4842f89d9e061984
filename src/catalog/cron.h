// A cron schedule: the classic 5 fields (minute hour day-of-month month day-of-week) or 6 with a
// leading seconds field (used by tests and sub-minute drills). Each field takes *, N, A-B, lists
// and /step. Times are read in the process's local time zone (the daemon sets TZ from its config).
// Day-of-month and day-of-week combine as in Vixie cron: when both are restricted, either matches.
#pragma once

#include <bitset>
#include <chrono>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::catalog {

class CronSchedule {
 public:
  static Result<CronSchedule> Parse(std::string_view text);

  // The first matching second strictly after `after`.
  std::chrono::system_clock::time_point Next(std::chrono::system_clock::time_point after) const;
  // The last matching second at or before `at`.
  std::chrono::system_clock::time_point Previous(std::chrono::system_clock::time_point at) const;
  bool Matches(std::chrono::system_clock::time_point t) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool days_restricted_ = false, weekdays_restricted_ = false;
};

}  // namespace lifeboat::catalog
