#include "ops/recovery/recovery_plan.h"

#include <gtest/gtest.h>

namespace lifeboat::ops {
namespace {

ClusterReport Three() {
  ClusterReport c;
  for (int i = 1; i <= 3; ++i) {
    MemberReport r;
    r.name = "m" + std::to_string(i);
    r.id = static_cast<uint64_t>(i);
    r.reachable = true;
    c.reports.push_back(r);
  }
  return c;
}

TEST(RecoveryPlanTest, DownMemberOfThreeMayBeReplaced) {
  auto c = Three();
  c.reports[2].reachable = false;
  CheckResult check;
  auto pick = ChooseMemberToRecover(c, check, "m3", false);
  ASSERT_TRUE(pick.ok()) << pick.status().ToString();
  EXPECT_EQ(*pick, 2u);
  auto broken = FindBrokenMember(c, check);
  ASSERT_TRUE(broken.ok());
  EXPECT_EQ(*broken, 2u);
}

TEST(RecoveryPlanTest, HealthyMemberNeedsForceAndUnknownNameIsUsage) {
  auto c = Three();
  CheckResult check;
  auto pick = ChooseMemberToRecover(c, check, "m1", false);
  ASSERT_FALSE(pick.ok());
  EXPECT_NE(pick.status().message().find("--force"), std::string::npos);
  EXPECT_TRUE(ChooseMemberToRecover(c, check, "m1", true).ok());
  EXPECT_EQ(ChooseMemberToRecover(c, check, "m9", true).status().ExitCode(), 2);
  EXPECT_EQ(FindBrokenMember(c, check).status().code(), Status::Code::kNotFound);
}

TEST(RecoveryPlanTest, RefusesWhenQuorumWouldBeLost) {
  auto c = Three();
  c.reports[1].reachable = false;
  c.reports[2].reachable = false;
  CheckResult check;
  // Replacing m3 would leave m1 (healthy) and m2 (down): 1 of 2, below a quorum of 2.
  auto pick = ChooseMemberToRecover(c, check, "m3", false);
  ASSERT_FALSE(pick.ok());
  EXPECT_NE(pick.status().message().find("quorum"), std::string::npos) << pick.status().message();
  // m1 is the only healthy one.
  pick = ChooseMemberToRecover(c, check, "m1", true);
  ASSERT_FALSE(pick.ok());
  EXPECT_NE(pick.status().message().find("only healthy member"), std::string::npos);
  // --auto refuses to guess between two.
  EXPECT_EQ(FindBrokenMember(c, check).status().code(), Status::Code::kFailedPrecondition);
}

TEST(RecoveryPlanTest, DivergentMemberCountsAsBroken) {
  auto c = Three();
  CheckResult check;
  check.divergent = {0};
  auto broken = FindBrokenMember(c, check);
  ASSERT_TRUE(broken.ok());
  EXPECT_EQ(c.reports[*broken].name, "m1");
  EXPECT_TRUE(ChooseMemberToRecover(c, check, "m1", false).ok());
}

}  // namespace
}  // namespace lifeboat::ops
