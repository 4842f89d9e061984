// Retention of the tiers restores write ("pre-restore" safety backups, "pitr" states): kept
// seven days by default, never the newest of each, deleted by ApplyPrune like any other; and a
// configured tier in the same folder governs it instead.
#include "ops/backup/retention.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/layout.h"
#include "ops/recovery/pitr.h"
#include "ops/recovery/restore_cluster.h"
#include "scratch_dir.h"
#include "store/local_store.h"

namespace lifeboat::ops {
namespace {

using std::chrono::hours;
using Clock = std::chrono::system_clock;

// A backup of `tier` finished at `when`: object (4 bytes) then manifest.
std::string Put(store::Store& store, const std::string& tier, Clock::time_point when) {
  catalog::Manifest m;
  m.object_key = catalog::ObjectKey("db-etcd", tier, "prod", tier, 100, when);
  m.sha256 = m.db_sha256 = std::string(64, '0');
  m.size = 4;
  m.revision = 100;
  m.cluster_name = "prod";
  m.started_at = m.finished_at = FormatRFC3339(when);
  m.tier = tier;
  auto w = store.Create(m.object_key);
  EXPECT_TRUE(w.ok());
  const uint8_t body[4] = {1, 2, 3, 4};
  EXPECT_TRUE((*w)->Append(body).ok());
  EXPECT_TRUE((*w)->Commit().ok());
  EXPECT_TRUE(catalog::WriteManifest(store, m).ok());
  return m.object_key;
}

std::map<std::string, PruneItem> ByKey(const std::vector<PruneItem>& plan) {
  std::map<std::string, PruneItem> out;
  for (const auto& i : plan) out[i.object_key] = i;
  return out;
}

TEST(RetentionTest, RestoreTiersAreKeptSevenDaysButNeverTheNewest) {
  lifeboat::testing::ScratchDir dir;
  auto store = store::LocalStore::Open(dir.path(), true);
  ASSERT_TRUE(store.ok());
  const Clock::time_point now = *ParseRFC3339("2026-11-30T12:00:00Z");
  // pre-restore: one 10 days old, one 8 days old, one 1 day old (newest).
  const std::string pre_old = Put(**store, kSafetyTier, now - hours(240));
  const std::string pre_mid = Put(**store, kSafetyTier, now - hours(192));
  const std::string pre_new = Put(**store, kSafetyTier, now - hours(24));
  // pitr: one 9 days old and the newest, 8 days old: expired, but the newest of its tier.
  const std::string pitr_old = Put(**store, kPitrTier, now - hours(216));
  const std::string pitr_new = Put(**store, kPitrTier, now - hours(192));

  auto plan = PlanPrune(**store, "db-etcd", catalog::DefaultTiers(), now);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto items = ByKey(*plan);
  ASSERT_EQ(items.count(pre_old), 1u);
  EXPECT_EQ(items[pre_old].action, PruneItem::Action::kDelete) << items[pre_old].why;
  EXPECT_NE(items[pre_old].why.find("kept 7d"), std::string::npos) << items[pre_old].why;
  EXPECT_EQ(items[pre_old].tier, "pre-restore");
  EXPECT_EQ(items[pre_mid].action, PruneItem::Action::kDelete) << items[pre_mid].why;
  EXPECT_EQ(items[pre_new].action, PruneItem::Action::kKeep) << items[pre_new].why;
  EXPECT_EQ(items[pitr_old].action, PruneItem::Action::kDelete) << items[pitr_old].why;
  EXPECT_EQ(items[pitr_new].action, PruneItem::Action::kKeep);
  EXPECT_NE(items[pitr_new].why.find("newest of its tier"), std::string::npos) << items[pitr_new].why;

  ASSERT_TRUE(ApplyPrune(**store, *plan).ok());
  auto left = catalog::ListBackups(**store, "db-etcd", "");
  ASSERT_TRUE(left.ok());
  std::set<std::string> keys;
  for (const auto& b : left->backups) keys.insert(b.manifest.object_key);
  EXPECT_EQ(keys, (std::set<std::string>{pre_new, pitr_new}));
  // Nothing half-deleted: every remaining file is a listed backup or its manifest.
  EXPECT_EQ(dir.Files().size(), 4u);

  // A shorter keep is honoured too.
  auto strict = PlanPrune(**store, "db-etcd", catalog::DefaultTiers(), now + hours(24 * 30), hours(1));
  ASSERT_TRUE(strict.ok());
  for (const auto& i : *strict) EXPECT_NE(i.action, PruneItem::Action::kDelete) << i.object_key << ": " << i.why;
}

TEST(RetentionTest, ConfiguredTierInTheSameFolderGoverns) {
  lifeboat::testing::ScratchDir dir;
  auto store = store::LocalStore::Open(dir.path(), true);
  ASSERT_TRUE(store.ok());
  const Clock::time_point now = *ParseRFC3339("2026-11-30T12:00:00Z");
  const std::string old = Put(**store, kPitrTier, now - hours(240));
  Put(**store, kPitrTier, now - hours(1));
  auto tiers = catalog::DefaultTiers();
  catalog::Tier keep_long = tiers[0];
  keep_long.name = keep_long.folder = "pitr";
  keep_long.keep = hours(24 * 30);
  tiers.push_back(keep_long);
  auto plan = PlanPrune(**store, "db-etcd", tiers, now);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  int seen = 0;
  for (const auto& i : *plan) {
    if (i.object_key != old) continue;
    ++seen;
    EXPECT_EQ(i.action, PruneItem::Action::kKeep) << i.why;
  }
  EXPECT_EQ(seen, 1) << "planned once, by the configured tier";
}

}  // namespace
}  // namespace lifeboat::ops
