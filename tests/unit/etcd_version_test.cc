#include "ops/verify/etcd_version.h"

#include <gtest/gtest.h>

namespace lifeboat::ops {
namespace {

TEST(EtcdVersion, ParsesMajorMinor) {
  EXPECT_EQ(ParseMajorMinor("3.5.30"), (MajorMinor{3, 5}));
  EXPECT_EQ(ParseMajorMinor("3.4.0"), (MajorMinor{3, 4}));
  EXPECT_EQ(ParseMajorMinor("3.6"), (MajorMinor{3, 6}));
  EXPECT_EQ(ParseMajorMinor(""), std::nullopt);
  EXPECT_EQ(ParseMajorMinor("3"), std::nullopt);
  EXPECT_EQ(ParseMajorMinor("x.5.1"), std::nullopt);
  EXPECT_LT(*ParseMajorMinor("3.4.23"), *ParseMajorMinor("3.5.0"));
  EXPECT_LT(*ParseMajorMinor("3.9.0"), *ParseMajorMinor("3.10.0"));
}

TEST(EtcdVersion, AnOlderServerIsRefusedNamingItAndTheFix) {
  EXPECT_TRUE(CheckCanServe("m1", "3.5.30", "3.5.0").ok());
  EXPECT_TRUE(CheckCanServe("m1", "3.5.30", "3.4.0").ok());  // the upgrade path
  EXPECT_TRUE(CheckCanServe("m1", "", "3.5.0").ok());        // unknown: not refused
  EXPECT_TRUE(CheckCanServe("m1", "3.4.23", "").ok());
  Status s = CheckCanServe("m2 (agent 127.0.0.1:1)", "3.4.23", "3.5.0");
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "m2 (agent 127.0.0.1:1) runs etcd 3.4.23, older than the backup's cluster version 3.5.0 "
                         "(etcd's rule: no downgrade below the snapshot's cluster version): give it an etcd 3.5 or "
                         "newer binary");
  EXPECT_NE(CheckCanServe("drill", "3.4.23", "3.5.0", "set drill.etcd-binary").message().find("set drill.etcd-binary"),
            std::string::npos);
}

TEST(EtcdVersion, TheUpgradeRuleIs3526OrLaterBefore36) {
  using Fleet = std::vector<std::pair<std::string, std::string>>;
  EXPECT_TRUE(CheckUpgradeRule(Fleet{{"m1", "3.5.26"}, {"m2", "3.6.14"}}).ok());
  EXPECT_TRUE(CheckUpgradeRule(Fleet{{"m1", "3.5.30"}, {"m2", "3.7.1"}}).ok());
  EXPECT_TRUE(CheckUpgradeRule(Fleet{{"m1", "3.5.16"}, {"m2", "3.5.30"}}).ok());  // no 3.6 yet
  EXPECT_TRUE(CheckUpgradeRule(Fleet{{"m1", "3.4.23"}, {"m2", "3.5.16"}}).ok());
  EXPECT_TRUE(CheckUpgradeRule(Fleet{{"m1", ""}, {"m2", "3.6.14"}}).ok());       // unknown: not refused
  Status s = CheckUpgradeRule(Fleet{{"m1", "3.5.25"}, {"m2", "3.6.14"}, {"m3", "3.4.23"}});
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "etcd's upgrade rule: 3.5.26 or later before 3.6 (m2 3.6.14 beside m1 3.5.25, m3 3.4.23; a 3.6 member reads "
            "back zombie members older ones leave, etcd #20967): upgrade m1 3.5.25, m3 3.4.23 to etcd 3.5.26 or later "
            "first");
  EXPECT_FALSE(CheckUpgradeRule(Fleet{{"m1", "3.5.2"}, {"m2", "3.6.0-rc.1"}}).ok());
}

}  // namespace
}  // namespace lifeboat::ops
