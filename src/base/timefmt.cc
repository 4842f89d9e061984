#include "base/timefmt.h"

#include <cstdint>
#include <ctime>

#include "fmt/format.h"

namespace lifeboat {

namespace {

using std::chrono::system_clock;

// Splits a time point into whole seconds (rounded down, also before 1970) and the rest, so
// that formatting never rounds a time stamp into the next second.
struct SplitTime {
  std::tm tm;
  system_clock::duration sub_second;
};

SplitTime Split(system_clock::time_point tp) {
  auto secs = std::chrono::floor<std::chrono::seconds>(tp);
  std::time_t t = static_cast<std::time_t>(secs.time_since_epoch().count());
  SplitTime out{};
  gmtime_r(&t, &out.tm);
  out.sub_second = tp - secs;
  return out;
}

std::string Strftime(system_clock::time_point tp, const char* format) {
  SplitTime s = Split(tp);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &s.tm);
  return std::string(buf, n);
}

// A tiny cursor over the input; every Read* returns false on a mismatch.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool ReadDigits(size_t count, int* out) {
    if (s_.size() - pos_ < count) return false;
    int v = 0;
    for (size_t i = 0; i < count; ++i) {
      char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += count;
    *out = v;
    return true;
  }
  bool ReadChar(char expected) { return ReadOneOf(std::string_view(&expected, 1)) != '\0'; }
  // Returns the matched character, or '\0' when the next one is none of `options`.
  char ReadOneOf(std::string_view options) {
    if (pos_ >= s_.size() || options.find(s_[pos_]) == std::string_view::npos) return '\0';
    return s_[pos_++];
  }
  bool AtDigit() const { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; }
  char Next() { return s_[pos_++]; }
  bool Done() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

Status BadTimestamp(std::string_view text, std::string_view why) {
  return Status::InvalidArgument(fmt::format(
      "bad time stamp \"{}\": {} (use RFC 3339 like 2026-11-24T20:12:23Z or 2026-11-24T21:12:23.5+01:00)", text, why));
}

}  // namespace

std::string FormatRFC3339(system_clock::time_point tp) {
  SplitTime s = Split(tp);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(s.sub_second).count();
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &s.tm);
  return fmt::format("{}.{:03d}Z", std::string_view(buf, n), ms);
}

Result<system_clock::time_point> ParseRFC3339(std::string_view text) {
  Scanner in(text);
  int year, month, day, hour, minute, second;
  if (!in.ReadDigits(4, &year) || !in.ReadChar('-') || !in.ReadDigits(2, &month) || !in.ReadChar('-') ||
      !in.ReadDigits(2, &day)) {
    return BadTimestamp(text, "the date must be YYYY-MM-DD");
  }
  if (in.ReadOneOf("Tt ") == '\0') return BadTimestamp(text, "expected 'T' between date and time");
  if (!in.ReadDigits(2, &hour) || !in.ReadChar(':') || !in.ReadDigits(2, &minute) || !in.ReadChar(':') ||
      !in.ReadDigits(2, &second)) {
    return BadTimestamp(text, "the time must be hh:mm:ss");
  }
  using std::chrono::year_month_day;
  const year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                           std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return BadTimestamp(text, "no such date");
  // 60 is allowed because RFC 3339 allows leap seconds; timegm folds it into the next minute.
  if (hour > 23 || minute > 59 || second > 60) return BadTimestamp(text, "hour, minute or second out of range");

  system_clock::duration fraction{0};
  if (in.ReadChar('.')) {
    if (!in.AtDigit()) return BadTimestamp(text, "expected digits after '.'");
    // Digits beyond the clock's resolution (nanoseconds here) cannot be represented; drop them.
    int64_t numerator = 0, denominator = 1;
    while (in.AtDigit()) {
      int digit = in.Next() - '0';
      if (denominator < 1'000'000'000) {
        numerator = numerator * 10 + digit;
        denominator *= 10;
      }
    }
    fraction = std::chrono::duration_cast<system_clock::duration>(std::chrono::nanoseconds(
        numerator * (1'000'000'000 / denominator)));
  }

  int offset_minutes = 0;
  char zone = in.ReadOneOf("Zz+-");
  if (zone == '\0') return BadTimestamp(text, "missing time zone ('Z' or +hh:mm)");
  if (zone == '+' || zone == '-') {
    int oh, om;
    if (!in.ReadDigits(2, &oh) || !in.ReadChar(':') || !in.ReadDigits(2, &om) || oh > 23 || om > 59) {
      return BadTimestamp(text, "the zone offset must be +hh:mm or -hh:mm");
    }
    offset_minutes = (oh * 60 + om) * (zone == '-' ? -1 : 1);
  }
  if (!in.Done()) return BadTimestamp(text, "unexpected text after the time zone");

  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = timegm(&tm);
  // A local time with offset +01:00 is one hour ahead of UTC, so subtract the offset.
  auto tp = system_clock::from_time_t(t) - std::chrono::minutes(offset_minutes) + fraction;
  return tp;
}

std::string FormatCompactUTC(system_clock::time_point tp) { return Strftime(tp, "%Y%m%dT%H%M%SZ"); }
std::string FormatDate(system_clock::time_point tp) { return Strftime(tp, "%Y-%m-%d"); }
std::string FormatHour(system_clock::time_point tp) { return Strftime(tp, "%H"); }

}  // namespace lifeboat
