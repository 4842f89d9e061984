// What the daemon tells Prometheus: schedule intervals, the check's gauges, the check: config.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/config.h"
#include "daemon/health.h"
#include "daemon/metrics.h"
#include "daemon/scheduler.h"
#include "scratch_dir.h"

namespace lifeboat::daemon {
namespace {

double Gap(const char* cron) {
  auto c = catalog::CronSchedule::Parse(cron);
  EXPECT_TRUE(c.ok()) << cron;
  // A Tuesday noon, UTC.
  return LongestGap(*c, std::chrono::system_clock::time_point(std::chrono::seconds(1796126400)));
}

TEST(LongestGapTest, TheLongestGapOfIrregularSchedules) {
  EXPECT_EQ(Gap("*/5 * * * * *"), 5);
  EXPECT_EQ(Gap("0 * * * *"), 3600);
  EXPECT_EQ(Gap("*/5 * * * *"), 300);
  EXPECT_EQ(Gap("0 0,12 * * *"), 43200);
  EXPECT_EQ(Gap("0 0,6 * * *"), 64800) << "6 h then 18 h apart: the 18 h count";
  EXPECT_EQ(Gap("0 3 * * 1"), 7 * 86400) << "weekly";
  EXPECT_GE(Gap("0 0 1 * *"), 28 * 86400) << "monthly: a gap beyond the week looked at";
}

std::optional<std::string> Line(const std::string& text, const std::string& series) {
  std::string all = "\n" + text;
  size_t at = all.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  size_t end = all.find('\n', at + 1);
  return all.substr(at + 1 + series.size() + 1, end - at - series.size() - 2);
}

TEST(MetricsTest, CheckGaugesAppearWithTheFirstVerdictAndFollowTheLast) {
  Metrics m;
  m.SetCheckInterval(300);
  EXPECT_FALSE(Line(m.Render(), "lifeboat_cluster_consistent")) << "no verdict yet: no gauge";
  EXPECT_EQ(Line(m.Render(), "lifeboat_check_last_run_timestamp_seconds"), "0.000");
  m.RecordCheckFailure();
  EXPECT_FALSE(Line(m.Render(), "lifeboat_cluster_consistent"));
  EXPECT_EQ(Line(m.Render(), "lifeboat_checks_total{result=\"failed\"}"), "1");

  m.RecordCheck(false, {{"m1", true}, {"m2", false}, {"m3", false}}, 0.25);
  std::string r = m.Render();
  EXPECT_EQ(Line(r, "lifeboat_cluster_consistent"), "0");
  EXPECT_EQ(Line(r, "lifeboat_member_divergent{member=\"m1\"}"), "1");
  EXPECT_EQ(Line(r, "lifeboat_member_divergent{member=\"m2\"}"), "0");
  EXPECT_EQ(Line(r, "lifeboat_check_duration_seconds"), "0.250");
  EXPECT_EQ(Line(r, "lifeboat_check_interval_seconds"), "300");
  EXPECT_NE(Line(r, "lifeboat_check_last_run_timestamp_seconds"), "0.000");

  // A failure after a verdict keeps it; the next verdict replaces every member's gauge.
  m.RecordCheckFailure();
  EXPECT_EQ(Line(m.Render(), "lifeboat_cluster_consistent"), "0");
  m.RecordCheck(true, {{"m1", false}, {"m4", false}}, 0.1);
  r = m.Render();
  EXPECT_EQ(Line(r, "lifeboat_cluster_consistent"), "1");
  EXPECT_EQ(Line(r, "lifeboat_member_divergent{member=\"m1\"}"), "0");
  EXPECT_FALSE(Line(r, "lifeboat_member_divergent{member=\"m2\"}")) << "a member gone from the cluster leaves";
}

TEST(MetricsTest, SeededAgesAndIntervals) {
  Metrics m;
  m.SeedBackup("hourly", "file:///b", 0);
  m.SeedBackup("daily", "file:///b", 1700000000);
  m.SeedVerifiedRestore(1700000100);
  m.SetTierInterval("hourly", 3600);
  m.SetInfo("prod");
  std::string r = m.Render();
  EXPECT_EQ(Line(r, "lifeboat_backup_last_success_timestamp_seconds{tier=\"hourly\",store=\"file:///b\"}"), "0.000");
  EXPECT_EQ(Line(r, "lifeboat_backup_newest_age_seconds{tier=\"hourly\",store=\"file:///b\"}"), "-1");
  EXPECT_EQ(Line(r, "lifeboat_backup_last_success_timestamp_seconds{tier=\"daily\",store=\"file:///b\"}"),
            "1700000000.000");
  EXPECT_EQ(Line(r, "lifeboat_backup_success_total{tier=\"daily\",store=\"file:///b\"}"), "0") << "seeded, not stored";
  EXPECT_EQ(Line(r, "lifeboat_last_verified_restore_timestamp_seconds"), "1700000100.000");
  EXPECT_EQ(Line(r, "lifeboat_backup_interval_seconds{tier=\"hourly\"}"), "3600");
  EXPECT_EQ(Line(r, "lifeboat_daemon_info{cluster=\"prod\"}"), "1");
}

// /readyz's judgement: each reason appears only past its limit, names itself, and clears.
TEST(HealthTest, NotReadyOnlyPastEachLimitAndNamingWhy) {
  using std::chrono::seconds;
  const Health::Time t0 = std::chrono::system_clock::time_point(seconds(1796126400));
  Health::Limits l;
  l.tick_margin = seconds(30);
  l.changelog_stall = seconds(50);
  l.store_failures = 3;
  Health h(l, t0);
  EXPECT_TRUE(h.Problems(t0 + seconds(50)).empty()) << "the change log's limit is not yet passed";

  h.TickDue(t0 + seconds(10));
  EXPECT_TRUE(h.Problems(t0 + seconds(40)).empty());
  auto p = h.Problems(t0 + seconds(51));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NE(p[0].find("scheduler: the tick of"), std::string::npos) << p[0];
  EXPECT_NE(p[1].find("change log: nothing received from etcd for 51s (limit 50s)"), std::string::npos) << p[1];
  h.TickDue(t0 + seconds(60));
  h.ChangeLogError("m2: the member has no leader");
  p = h.Problems(t0 + seconds(55));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find(": m2: the member has no leader"), std::string::npos) << p[0];
  h.ChangeLogProgress(t0 + seconds(54));
  EXPECT_TRUE(h.Problems(t0 + seconds(55)).empty());

  h.StoreResult("s3://b", Status::Unavailable("connection refused"));
  h.StoreResult("s3://b", Status::Unavailable("connection refused"));
  h.StoreResult("file:///x", Status::OK());
  EXPECT_TRUE(h.Problems(t0 + seconds(55)).empty()) << "two failures are not three";
  h.StoreResult("s3://b", Status::Unavailable("connection refused"));
  p = h.Problems(t0 + seconds(55));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "store s3://b: 3 failures in a row, the last: connection refused");
  h.StoreResult("s3://b", Status::OK());
  EXPECT_TRUE(h.Problems(t0 + seconds(55)).empty()) << "one success ends the run";
}

}  // namespace
}  // namespace lifeboat::daemon

namespace lifeboat::cli {
namespace {

Result<Settings> ResolveYaml(const std::string& yaml) {
  lifeboat::testing::ScratchDir dir;
  std::string path = dir.path() + "/c.yaml";
  std::ofstream(path) << yaml;
  Flags f;
  f.config = path;
  return Resolve(f);
}

TEST(ConfigTest, CheckSection) {
  auto s = ResolveYaml("store: file:///x\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->check_schedule, "*/5 * * * *") << "on by default, every 5 minutes";
  s = ResolveYaml("check:\n  schedule: \"*/10 * * * * *\"\n  settle-timeout: 500ms\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->check_schedule, "*/10 * * * * *");
  EXPECT_EQ(s->check_settle_timeout.count(), 500);
  s = ResolveYaml("check:\n  enabled: false\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->check_schedule, "");
  for (const char* bad : {"check:\n  schedule: \"every 5 minutes\"\n", "check:\n  enabled: false\n  schedule: \"* * * * *\"\n",
                          "check:\n  interval: 5m\n", "check:\n  settle-timeout: soon\n"}) {
    s = ResolveYaml(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.status().message().find("check"), std::string::npos) << s.status().message();
  }
}

}  // namespace
}  // namespace lifeboat::cli
