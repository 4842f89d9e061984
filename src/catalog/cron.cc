#include "catalog/cron.h"

#include <ctime>
#include <sstream>
#include <vector>

namespace lifeboat::catalog {
namespace {

using Clock = std::chrono::system_clock;

// Parses one field into `bits` (indexes lo..hi). Returns false on malformed input.
template <size_t N>
bool ParseField(const std::string& field, int lo, int hi, std::bitset<N>& bits, bool* restricted) {
  *restricted = field != "*";
  std::stringstream ss(field);
  std::string part;
  while (std::getline(ss, part, ',')) {
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string::npos) {
      try {
        size_t used = 0;
        step = std::stoi(part.substr(slash + 1), &used);
        if (used != part.size() - slash - 1 || step <= 0) return false;
      } catch (...) {
        return false;
      }
      part = part.substr(0, slash);
    }
    int a = lo, b = hi;
    if (part != "*") {
      try {
        size_t used = 0;
        auto dash = part.find('-');
        a = std::stoi(part.substr(0, dash), &used);
        if (used != (dash == std::string::npos ? part.size() : dash)) return false;
        b = a;
        if (dash != std::string::npos) {
          b = std::stoi(part.substr(dash + 1), &used);
          if (used != part.size() - dash - 1) return false;
        } else if (step != 1) {
          b = hi;  // "N/step" means from N to the end
        }
      } catch (...) {
        return false;
      }
    }
    if (a < lo || b > hi || a > b) return false;
    for (int v = a; v <= b; v += step) bits.set(static_cast<size_t>(v));
  }
  return true;
}

std::tm Local(Clock::time_point t) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  return tm;
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  std::vector<std::string> f;
  std::stringstream ss{std::string(text)};
  for (std::string w; ss >> w;) f.push_back(w);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid cron expression '" + std::string(text) + "': " + why +
                                   " (use 5 fields: minute hour day month weekday, e.g. \"0 0,12 * * *\")");
  };
  if (f.size() == 5) f.insert(f.begin(), "0");
  if (f.size() != 6) return bad("expected 5 or 6 fields, got " + std::to_string(f.size()));
  CronSchedule c;
  c.text_ = std::string(text);
  bool r = false;
  if (!ParseField(f[0], 0, 59, c.seconds_, &r)) return bad("bad seconds field '" + f[0] + "'");
  if (!ParseField(f[1], 0, 59, c.minutes_, &r)) return bad("bad minute field '" + f[1] + "'");
  if (!ParseField(f[2], 0, 23, c.hours_, &r)) return bad("bad hour field '" + f[2] + "'");
  if (!ParseField(f[3], 1, 31, c.days_, &c.days_restricted_)) return bad("bad day-of-month field '" + f[3] + "'");
  if (!ParseField(f[4], 1, 12, c.months_, &r)) return bad("bad month field '" + f[4] + "'");
  std::bitset<8> wd;
  if (!ParseField(f[5], 0, 7, wd, &c.weekdays_restricted_)) return bad("bad day-of-week field '" + f[5] + "'");
  for (size_t i = 0; i < 7; ++i) c.weekdays_[i] = wd[i];
  if (wd[7]) c.weekdays_.set(0);  // 7 is Sunday too
  return c;
}

bool CronSchedule::Matches(Clock::time_point t) const {
  std::tm tm = Local(t);
  if (!seconds_[static_cast<size_t>(tm.tm_sec)] || !minutes_[static_cast<size_t>(tm.tm_min)] ||
      !hours_[static_cast<size_t>(tm.tm_hour)] || !months_[static_cast<size_t>(tm.tm_mon + 1)]) {
    return false;
  }
  bool day = days_[static_cast<size_t>(tm.tm_mday)];
  bool wday = weekdays_[static_cast<size_t>(tm.tm_wday)];
  if (days_restricted_ && weekdays_restricted_) return day || wday;
  return day && wday;
}

Clock::time_point CronSchedule::Next(Clock::time_point after) const {
  // Second by second would be slow for yearly schedules; skip whole minutes and hours that cannot
  // match. Bounded at ~5 years so an impossible date (Feb 30) ends instead of looping forever.
  auto t = std::chrono::time_point_cast<std::chrono::seconds>(after) + std::chrono::seconds(1);
  auto limit = t + std::chrono::hours(24 * 366 * 5);
  while (t < limit) {
    std::tm tm = Local(t);
    if (!months_[static_cast<size_t>(tm.tm_mon + 1)] || !hours_[static_cast<size_t>(tm.tm_hour)]) {
      t += std::chrono::seconds(3600 - tm.tm_min * 60 - tm.tm_sec);
      continue;
    }
    if (!minutes_[static_cast<size_t>(tm.tm_min)]) {
      t += std::chrono::seconds(60 - tm.tm_sec);
      continue;
    }
    if (Matches(t)) return t;
    t += std::chrono::seconds(1);
  }
  return Clock::time_point::max();
}

Clock::time_point CronSchedule::Previous(Clock::time_point at) const {
  auto t = std::chrono::time_point_cast<std::chrono::seconds>(at);
  auto limit = t - std::chrono::hours(24 * 366);
  while (t > limit) {
    std::tm tm = Local(t);
    if (!hours_[static_cast<size_t>(tm.tm_hour)] || !months_[static_cast<size_t>(tm.tm_mon + 1)]) {
      t -= std::chrono::seconds(tm.tm_min * 60 + tm.tm_sec + 1);
      continue;
    }
    if (!minutes_[static_cast<size_t>(tm.tm_min)]) {
      t -= std::chrono::seconds(tm.tm_sec + 1);
      continue;
    }
    if (Matches(t)) return t;
    t -= std::chrono::seconds(1);
  }
  return Clock::time_point::min();
}

}  // namespace lifeboat::catalog
