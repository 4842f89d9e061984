// Judge and ChooseSource on hand-built cluster reports: the rules, without a cluster.
#include <gtest/gtest.h>

#include "ops/verify/check.h"
#include "ops/backup/source.h"

namespace lifeboat::ops {
namespace {

MemberReport M(const std::string& name, uint64_t id, int64_t rev, uint64_t applied, uint32_t hash, int64_t keys) {
  MemberReport r;
  r.name = name;
  r.id = id;
  r.endpoint = "http://127.0.0.1:" + std::to_string(2379 + id);
  r.reachable = true;
  r.status.header.member_id = id;
  r.status.header.revision = rev;
  r.status.raft_applied_index = applied;
  r.hash = hash;
  r.keys = keys;
  r.keys_at_common = keys;
  return r;
}

ClusterReport Report(std::vector<MemberReport> rs, uint64_t leader, bool settled = true) {
  ClusterReport c;
  c.leader_id = leader;
  c.settled = settled;
  c.common_revision = INT64_MAX;
  for (auto& r : rs) {
    r.is_leader = r.id == leader;
    r.status.leader = leader;
    c.common_revision = std::min(c.common_revision, r.status.header.revision);
  }
  c.reports = std::move(rs);
  return c;
}

TEST(JudgeTest, AgreeingMembersAreConsistent) {
  auto c = Report({M("m1", 1, 100, 50, 7, 10), M("m2", 2, 100, 50, 7, 10), M("m3", 3, 100, 50, 7, 10)}, 2);
  auto res = Judge(c);
  EXPECT_EQ(res.verdict, CheckResult::Verdict::kConsistent);
  EXPECT_TRUE(res.divergent.empty());
}

// A learner serves no HashKV: it is named and not compared, never "divergent"; the check is
// incomplete until it is promoted.
TEST(JudgeTest, ALearnerIsNamedNotCompared) {
  auto c = Report({M("m1", 1, 100, 50, 7, 10), M("m2", 2, 100, 50, 7, 10), M("m3", 3, 100, 50, 7, 10)}, 1);
  c.reports[1].status.is_learner = true;
  c.reports[1].hash.reset();
  c.reports[1].hash_error = "a learner serves no HashKV";
  auto res = Judge(c);
  EXPECT_EQ(res.verdict, CheckResult::Verdict::kIncomplete);
  EXPECT_TRUE(res.divergent.empty());
  ASSERT_FALSE(res.findings.empty());
  EXPECT_EQ(res.findings[0], "m2 is a learner (added, not promoted): not compared; if a recover-member was "
                             "interrupted, finish it: lifeboat recover-member m2");
}

TEST(JudgeTest, MixedVersionsAreAFindingNotADivergence) {
  auto c = Report({M("m1", 1, 100, 50, 7, 10), M("m2", 2, 100, 50, 7, 10), M("m3", 3, 100, 50, 7, 10)}, 2);
  for (auto& r : c.reports) r.status.version = "3.5.30";
  EXPECT_TRUE(Judge(c).findings.empty());
  c.reports[2].status.version = "3.6.4";
  c.reports[2].status.storage_version = "3.6.0";
  auto res = Judge(c);
  EXPECT_EQ(res.verdict, CheckResult::Verdict::kConsistent);
  ASSERT_EQ(res.findings.size(), 1u);
  EXPECT_EQ(res.findings[0], "members run different etcd versions: m1 3.5.30, m2 3.5.30, m3 3.6.4 (storage 3.6.0)");
}

TEST(JudgeTest, TrapRevisionDiffersAtSameAppliedIndexEvenWithEqualHashes) {
  // One restored member (revision 22), two empty ones (revision 1): HashKV at revision 1 agrees.
  auto c = Report({M("m1", 1, 22, 8, 5, 0), M("m2", 2, 1, 8, 5, 0), M("m3", 3, 1, 8, 5, 0)}, 2);
  c.reports[0].keys = 2048;
  auto res = Judge(c);
  ASSERT_EQ(res.verdict, CheckResult::Verdict::kDivergent);
  // The empty members are the divergent ones, though they are the majority: m1 holds the data.
  ASSERT_EQ(res.divergent.size(), 2u);
  EXPECT_EQ(c.reports[res.divergent[0]].name, "m2");
  EXPECT_EQ(c.reports[res.divergent[1]].name, "m3");
  ASSERT_EQ(res.findings.size(), 2u);
  EXPECT_EQ(res.findings[0],
            "m2 is empty (revision 1, 0 keys) while m1 holds the data (revision 22, 2048 keys): restored on some "
            "members only? Restore every member from one backup (lifeboat restore-cluster)");
}

TEST(JudgeTest, TheTrapAfterWritesStillBlamesTheMembersThatStartedEmpty) {
  // Writes since the restore reached every member: m2 and m3 are no longer at revision 1, but
  // still 21 revisions short of m1 at the same applied index.
  auto c = Report({M("m1", 1, 25, 10, 5, 2051), M("m2", 2, 4, 10, 6, 3), M("m3", 3, 4, 10, 6, 3)}, 2);
  auto res = Judge(c);
  ASSERT_EQ(res.verdict, CheckResult::Verdict::kDivergent);
  ASSERT_EQ(res.divergent.size(), 2u);
  EXPECT_EQ(c.reports[res.divergent[0]].name, "m2");
  EXPECT_EQ(c.reports[res.divergent[1]].name, "m3");
  EXPECT_EQ(res.findings[0],
            "m2 (revision 4, 3 keys) lacks data m1 holds (revision 25, 2051 keys): revision 4 vs 25 at raft applied "
            "index 10 vs 10: restored on some members only? Restore every member from one backup (lifeboat "
            "restore-cluster)");
}

TEST(JudgeTest, MajorityDecidesBetweenMembersThatStartedAlike) {
  // Same revision at the same applied index, different HashKV: the largest group is the reference.
  auto c = Report({M("m1", 1, 40, 30, 5, 12), M("m2", 2, 40, 30, 6, 12), M("m3", 3, 40, 30, 6, 12)}, 1);
  auto res = Judge(c);
  ASSERT_EQ(res.verdict, CheckResult::Verdict::kDivergent);
  ASSERT_EQ(res.divergent.size(), 1u);
  EXPECT_EQ(c.reports[res.divergent[0]].name, "m1");
  EXPECT_NE(res.findings.back().find("holds different data than m2, m3"), std::string::npos) << res.findings.back();
}

TEST(JudgeTest, AWriteBetweenTheCountsNowIsNotDivergence) {
  // Settled, same hashes and counts at the common revision; one more key on m3 by the time it
  // was counted "now" (a tick's claim written while the check ran).
  auto c = Report({M("m1", 1, 100, 50, 7, 10), M("m2", 2, 100, 50, 7, 10), M("m3", 3, 100, 50, 7, 10)}, 2);
  c.reports[2].keys = 11;
  EXPECT_EQ(Judge(c).verdict, CheckResult::Verdict::kConsistent);
  // Without the count at the common revision, "now" is all there is to compare.
  c.reports[2].keys_at_common.reset();
  EXPECT_EQ(Judge(c).verdict, CheckResult::Verdict::kDivergent);
}

TEST(JudgeTest, HashMismatchWithSameCompactionIsDivergent) {
  auto c = Report({M("m1", 1, 100, 50, 7, 10), M("m2", 2, 100, 50, 9, 10), M("m3", 3, 100, 50, 7, 10)}, 1);
  auto res = Judge(c);
  ASSERT_EQ(res.verdict, CheckResult::Verdict::kDivergent);
  EXPECT_EQ(c.reports[res.divergent.at(0)].name, "m2");
}

TEST(JudgeTest, BusyClusterToleratesLagThatAppliedIndexExplains) {
  // m3 is 5 entries behind and 5 revisions behind: consistent with replication lag.
  auto c = Report({M("m1", 1, 105, 55, 7, 10), M("m2", 2, 105, 55, 7, 10), M("m3", 3, 100, 50, 7, 10)}, 1, false);
  EXPECT_EQ(Judge(c).verdict, CheckResult::Verdict::kConsistent);
  // ...but 40 revisions apart with 5 entries of lag cannot be.
  c.reports[2].status.header.revision = 65;
  EXPECT_EQ(Judge(c).verdict, CheckResult::Verdict::kDivergent);
}

TEST(JudgeTest, TieBreaksTowardsTheLeadersGroup) {
  auto c = Report({M("m1", 1, 10, 8, 7, 3), M("m2", 2, 30, 8, 9, 9)}, 2);
  auto res = Judge(c);
  ASSERT_EQ(res.verdict, CheckResult::Verdict::kDivergent);
  EXPECT_EQ(c.reports[res.divergent.at(0)].name, "m1");
}

TEST(JudgeTest, UnreachableMembersMakeItIncompleteOrUnjudgeable) {
  auto c = Report({M("m1", 1, 100, 50, 7, 10), M("m2", 2, 100, 50, 7, 10), M("m3", 3, 100, 50, 7, 10)}, 1);
  c.reports[2].reachable = false;
  c.reports[2].error = "connection refused";
  EXPECT_EQ(Judge(c).verdict, CheckResult::Verdict::kIncomplete);
  c.reports[1].reachable = false;
  EXPECT_EQ(Judge(c).verdict, CheckResult::Verdict::kCannotJudge);
}

TEST(ChooseSourceTest, PrefersLeastLaggingHealthyFollower) {
  auto c = Report({M("m1", 1, 100, 1000, 7, 10), M("m2", 2, 100, 990, 7, 10), M("m3", 3, 100, 995, 7, 10)}, 1);
  auto pick = ChooseSource(c, SourcePolicy{});
  ASSERT_TRUE(pick.ok()) << pick.status().ToString();
  EXPECT_EQ(c.reports[*pick].name, "m3");
}

TEST(ChooseSourceTest, SkipsLaggingAlarmedLearnerAndUnreachableFollowers) {
  auto c = Report({M("m1", 1, 100, 5000, 7, 10), M("m2", 2, 100, 1000, 7, 10), M("m3", 3, 100, 5000, 7, 10),
                   M("m4", 4, 100, 5000, 7, 10), M("m5", 5, 100, 5000, 7, 10)},
                  1);
  c.reports[2].alarms = {"NOSPACE"};
  c.reports[3].status.is_learner = true;
  c.reports[4].reachable = false;
  SourcePolicy p;
  auto pick = ChooseSource(c, p);
  ASSERT_FALSE(pick.ok());
  EXPECT_EQ(pick.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(pick.status().message().find("4000 entries behind"), std::string::npos) << pick.status().message();
  EXPECT_NE(pick.status().message().find("--source any"), std::string::npos);
  p.mode = "any";
  pick = ChooseSource(c, p);
  ASSERT_TRUE(pick.ok());
  EXPECT_EQ(c.reports[*pick].name, "m1");
  p.mode = "m2";  // named explicitly: used although it lags
  pick = ChooseSource(c, p);
  ASSERT_TRUE(pick.ok());
  EXPECT_EQ(c.reports[*pick].name, "m2");
  p.mode = "zz";
  EXPECT_EQ(ChooseSource(c, p).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::ops
