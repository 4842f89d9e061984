#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include "base/timefmt.h"
#include "catalog/cron.h"
#include "catalog/tiers.h"
#include "daemon/scheduler.h"

namespace lifeboat {
namespace {

using catalog::CronSchedule;
using Clock = std::chrono::system_clock;

Clock::time_point T(const char* s) { return ParseRFC3339(s).value(); }
std::string F(Clock::time_point t) { return FormatRFC3339(t); }

class CronTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

TEST_F(CronTest, OperatorsTiers) {
  auto hourly = CronSchedule::Parse("0 * * * *").value();
  auto twice = CronSchedule::Parse("0 0,12 * * *").value();
  EXPECT_EQ(F(hourly.Next(T("2026-11-24T20:12:23Z"))), "2026-11-24T21:00:00.000Z");
  EXPECT_EQ(F(hourly.Next(T("2026-11-24T21:00:00Z"))), "2026-11-24T22:00:00.000Z") << "strictly after";
  EXPECT_EQ(F(twice.Next(T("2026-11-24T20:12:23Z"))), "2026-11-25T00:00:00.000Z");
  EXPECT_EQ(F(twice.Next(T("2026-11-25T00:00:00Z"))), "2026-11-25T12:00:00.000Z");
  EXPECT_EQ(F(twice.Previous(T("2026-11-24T20:12:23Z"))), "2026-11-24T12:00:00.000Z");
  EXPECT_EQ(F(hourly.Previous(T("2026-11-24T21:00:00Z"))), "2026-11-24T21:00:00.000Z") << "at or before";
}

TEST_F(CronTest, FieldsStepsRangesSecondsAndWeekdays) {
  EXPECT_EQ(F(CronSchedule::Parse("*/15 9-17 * * 1-5")->Next(T("2026-11-28T10:00:00Z"))),  // a Saturday
            "2026-11-30T09:00:00.000Z");
  EXPECT_EQ(F(CronSchedule::Parse("*/3 * * * * *")->Next(T("2026-11-24T20:12:23Z"))), "2026-11-24T20:12:24.000Z");
  EXPECT_EQ(F(CronSchedule::Parse("30 2 1 * *")->Next(T("2026-11-24T00:00:00Z"))), "2026-12-01T02:30:00.000Z");
  EXPECT_EQ(F(CronSchedule::Parse("0 0 * * 7")->Next(T("2026-11-24T00:00:00Z"))), "2026-11-29T00:00:00.000Z")
      << "7 is Sunday";
  EXPECT_EQ(CronSchedule::Parse("0 0 30 2 *")->Next(T("2026-01-01T00:00:00Z")), Clock::time_point::max())
      << "February 30th never comes";
}

TEST_F(CronTest, TimeZoneOfTheSchedule) {
  setenv("TZ", "Asia/Shanghai", 1);  // UTC+8, no DST
  tzset();
  auto twice = CronSchedule::Parse("0 0,12 * * *").value();
  EXPECT_EQ(F(twice.Next(T("2026-11-24T10:00:00Z"))), "2026-11-24T16:00:00.000Z") << "00:00 in Shanghai";
}

TEST_F(CronTest, Rejects) {
  for (const char* bad : {"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
                          "a * * * *", "*/0 * * * *", "5-1 * * * *", "1,,2 * * * *", "* * * * * * *"}) {
    auto r = CronSchedule::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().ExitCode(), 2);
    EXPECT_NE(r.status().message().find("cron"), std::string::npos);
  }
}

TEST_F(CronTest, DefaultTiersAndValidation) {
  auto tiers = catalog::DefaultTiers();
  ASSERT_EQ(tiers.size(), 2u);
  EXPECT_EQ(tiers[0].keep, std::chrono::hours(72));
  EXPECT_EQ(tiers[1].keep, std::chrono::hours(360));
  EXPECT_TRUE(catalog::ValidateTiers(tiers).ok());
  auto overlap = tiers;
  overlap[1].folder = "hourly/noon";
  EXPECT_FALSE(catalog::ValidateTiers(overlap).ok());
  auto dup = tiers;
  dup[1].name = "hourly";
  EXPECT_FALSE(catalog::ValidateTiers(dup).ok());
  auto zero = tiers;
  zero[0].keep = std::chrono::seconds(0);
  EXPECT_FALSE(catalog::ValidateTiers(zero).ok());
  auto similar = tiers;
  similar[1].folder = "hourly-b";  // a shared leading string is not an overlap
  EXPECT_TRUE(catalog::ValidateTiers(similar).ok());
  EXPECT_EQ(catalog::ParseRetention("15d")->count(), 15 * 86400);
  EXPECT_FALSE(catalog::ParseRetention("15").ok());
  EXPECT_EQ(catalog::FormatRetention(std::chrono::hours(72)), "3d");
}

TEST_F(CronTest, TicksServeEveryDueTierOnceAndMissedTicksAreFound) {
  auto tiers = catalog::DefaultTiers();
  auto tick = daemon::NextTick(tiers, T("2026-11-24T23:30:00Z"));
  EXPECT_EQ(F(tick.at), "2026-11-25T00:00:00.000Z");
  EXPECT_EQ(tick.tiers.size(), 2u) << "midnight serves hourly and twice-daily with one snapshot";
  tick = daemon::NextTick(tiers, T("2026-11-25T00:00:00Z"));
  EXPECT_EQ(tick.tiers.size(), 1u);

  // Newest hourly backup at 21:00, newest twice-daily at 00:00 the day before: at 22:10 both are late.
  auto missed = daemon::MissedTick(tiers, {T("2026-11-24T21:00:05Z"), T("2026-11-23T00:00:05Z")},
                                   T("2026-11-24T22:10:00Z"));
  EXPECT_EQ(F(missed.at), "2026-11-24T22:00:00.000Z");
  EXPECT_EQ(missed.tiers.size(), 2u);
  missed = daemon::MissedTick(tiers, {T("2026-11-24T22:00:05Z"), T("2026-11-24T12:00:05Z")},
                              T("2026-11-24T22:10:00Z"));
  EXPECT_TRUE(missed.tiers.empty());
}

}  // namespace
}  // namespace lifeboat
