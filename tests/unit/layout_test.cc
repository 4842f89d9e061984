#include "catalog/layout.h"
#include "catalog/drill_record.h"

#include <gtest/gtest.h>

#include "store/store.h"

namespace lifeboat::catalog {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

const system_clock::time_point kWhen = sys_days(2026y / 11 / 24) + 20h + 12min + 23s + 456ms;

TEST(LayoutTest, ObjectKeyFollowsDateHourLayout) {
  const std::string key = ObjectKey("db-etcd/prod", "daily", "prod-main", "etcd-0", 12345, kWhen);
  EXPECT_EQ(key, "db-etcd/prod/daily/2026-11-24/20/prod-main_etcd-0_r12345_20261124T201223Z.db");
  EXPECT_TRUE(store::ValidateKey(key).ok());
  EXPECT_EQ(ObjectKey("/db-etcd//prod/", "daily", "prod-main", "etcd-0", 12345, kWhen), key);
  EXPECT_EQ(ObjectKey("", "hourly", "c", "m", 7, kWhen), "hourly/2026-11-24/20/c_m_r7_20261124T201223Z.db");
  EXPECT_EQ(ObjectKey("/", "hourly", "c", "m", 7, kWhen), "hourly/2026-11-24/20/c_m_r7_20261124T201223Z.db");
}

TEST(LayoutTest, NamesAreSanitized) {
  EXPECT_EQ(SanitizeName("my_cluster name/x"), "my-cluster-name-x");
  EXPECT_EQ(SanitizeName("etcd-0.example.com"), "etcd-0.example.com");
  EXPECT_EQ(SanitizeName(".hidden"), "-hidden");  // would otherwise be skipped by List
  EXPECT_EQ(SanitizeName(""), "unnamed");
  EXPECT_EQ(SanitizeName(std::string(100, 'n')), std::string(64, 'n'));
  const std::string key = ObjectKey("p", "daily", "a_b", "..", 1, kWhen);
  EXPECT_EQ(key, "p/daily/2026-11-24/20/a-b_-._r1_20261124T201223Z.db");
  EXPECT_TRUE(store::ValidateKey(key).ok());
}

TEST(LayoutTest, ManifestKeys) {
  EXPECT_EQ(ManifestKey("p/daily/x.db"), "p/daily/x.manifest.json");
  EXPECT_EQ(ManifestKey("p/daily/x.bin"), "p/daily/x.bin.manifest.json");
  EXPECT_TRUE(IsManifestKey("p/daily/x.manifest.json"));
  EXPECT_FALSE(IsManifestKey("p/daily/x.db"));
  EXPECT_FALSE(IsManifestKey("manifest.json.db"));
}

TEST(LayoutTest, ValidateTierNames) {
  for (const char* ok : {"daily", "hourly", "pre-upgrade", "tier7"}) EXPECT_TRUE(ValidateName(ok).ok()) << ok;
  for (const char* bad : {"", "Daily", "a_b", "a/b", "a.b", "-x y"}) {
    Status s = ValidateName(bad);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("lowercase"), std::string::npos) << s.message();
  }
  EXPECT_FALSE(ValidateName(std::string(64, 'a')).ok());
}

TEST(LayoutTest, ValidatePrefixes) {
  for (const char* ok : {"", "/", "db-etcd/prod", "/db-etcd/prod/", "Team_A/etcd.v3"}) {
    EXPECT_TRUE(ValidatePrefix(ok).ok()) << ok;
  }
  for (const char* bad : {"../x", "a/.b", ".", "a b", "a/..", "a\\b"}) {
    EXPECT_EQ(ValidatePrefix(bad).code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(NormalizePrefix("//a//b/"), "a/b");
}

}  // namespace
}  // namespace lifeboat::catalog

namespace lifeboat::catalog {
namespace {

TEST(DrillKeyTest, RoundTripsForPlainAndCompressedObjects) {
  for (std::string key : {"db-etcd/a/2026-11-24/23/prod_m1_r5_20261124T230000Z.db",
                          "db-etcd/a/2026-11-24/23/prod_m1_r5_20261124T230000Z.db.zst"}) {
    std::string d = DrillKey(key);
    EXPECT_TRUE(IsDrillKey(d)) << d;
    EXPECT_FALSE(IsManifestKey(d));
    EXPECT_EQ(ObjectOfDrillKey(d), key);
  }
  EXPECT_EQ(DrillKey("p/x.db"), "p/x.drill.json");
}

}  // namespace
}  // namespace lifeboat::catalog
