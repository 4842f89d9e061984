#include "base/timefmt.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

system_clock::time_point At(year_month_day ymd, system_clock::duration since_midnight) {
  return sys_days(ymd) + since_midnight;
}

const system_clock::time_point kSample = At(2026y / 11 / 24, 20h + 12min + 23s + 123ms);

TEST(TimeFmtTest, FormatsUtc) {
  EXPECT_EQ(FormatRFC3339(kSample), "2026-11-24T20:12:23.123Z");
  EXPECT_EQ(FormatCompactUTC(kSample), "20261124T201223Z");
  EXPECT_EQ(FormatDate(kSample), "2026-11-24");
  EXPECT_EQ(FormatHour(kSample), "20");
  EXPECT_EQ(FormatHour(At(2026y / 1 / 2, 3h)), "03");
  EXPECT_EQ(FormatRFC3339(At(2026y / 1 / 2, 3h)), "2026-01-02T03:00:00.000Z");
}

TEST(TimeFmtTest, TruncatesInsteadOfRounding) {
  // 23.9999 s must stay in second 23, or names and manifests would disagree by a second.
  const auto t = At(2026y / 12 / 31, 23h + 59min + 59s + 999999us);
  EXPECT_EQ(FormatRFC3339(t), "2026-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatCompactUTC(t), "20261231T235959Z");
  EXPECT_EQ(FormatDate(t), "2026-12-31");
  // Before the epoch the division must round down too.
  EXPECT_EQ(FormatRFC3339(At(1969y / 12 / 31, 23h + 59min + 59s + 500ms)), "1969-12-31T23:59:59.500Z");
}

TEST(TimeFmtTest, ParsesVariants) {
  struct Case {
    const char* text;
    system_clock::time_point want;
  } cases[] = {
      {"2026-11-24T20:12:23.123Z", kSample},
      {"2026-11-24T20:12:23Z", kSample - 123ms},
      {"2026-11-24t20:12:23.123z", kSample},
      {"2026-11-24T21:12:23.123+01:00", kSample},
      {"2026-11-24T14:42:23.123-05:30", kSample},
      {"2026-11-24T20:12:23.1Z", kSample - 23ms},
      {"2026-11-24T20:12:23.123456789Z", kSample + 456789ns},
      {"2026-11-24T20:12:23.1234567891234Z", kSample + 456789ns},  // beyond nanoseconds: dropped
      {"2024-02-29T00:00:00Z", At(2024y / 2 / 29, 0s)},
  };
  for (const Case& c : cases) {
    auto got = ParseRFC3339(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().ToString();
    EXPECT_EQ(got.value(), c.want) << c.text;
  }
}

TEST(TimeFmtTest, RoundTrip) {
  auto parsed = ParseRFC3339(FormatRFC3339(kSample));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value(), kSample);
}

TEST(TimeFmtTest, RejectsMalformed) {
  for (const char* text : {"", "2026-11-24", "2026-11-24T20:12:23", "2026-11-24 20:12", "2026-13-01T00:00:00Z",
                           "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-24T24:00:00Z",
                           "2026-11-24T20:60:00Z", "2026-11-24T20:12:23.Z", "2026-11-24T20:12:23Zjunk",
                           "2026-11-24T20:12:23+1:00", "2026-11-24T20:12:23+01", "26-11-24T20:12:23Z",
                           "2026-11-24T20:12:23+24:00"}) {
    auto got = ParseRFC3339(text);
    ASSERT_FALSE(got.ok()) << "accepted \"" << text << "\"";
    EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(got.status().message().find(std::string("\"") + text + "\""), std::string::npos)
        << got.status().message();
    EXPECT_NE(got.status().message().find("RFC 3339"), std::string::npos) << got.status().message();
  }
}

}  // namespace
}  // namespace lifeboat
