#include "snapshot/newest_by_key.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <unordered_map>

#include "scratch_dir.h"

namespace lifeboat::snapshot {
namespace {

namespace fs = std::filesystem;

struct Model {
  std::unordered_map<std::string, bool> newest;
  uint64_t Live() const {
    uint64_t n = 0;
    for (const auto& [k, live] : newest) n += live;
    return n;
  }
};

// Random puts and deletes over `keys` distinct keys, fed to the counter and to an exact model.
uint64_t Feed(NewestByKey& c, Model& m, int entries, int keys, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(0, keys - 1);
  for (int i = 0; i < entries; ++i) {
    const std::string key = "/registry/secrets/ns-" + std::to_string(pick(rng));
    const bool live = rng() % 4 != 0;
    EXPECT_TRUE(c.Set(key, live ? 1 : 0).ok());
    m.newest[key] = live;
  }
  return m.Live();
}

// Keys whose last value is 1; `keys` (optional) gets how many keys were reported.
Result<uint64_t> CountLive(NewestByKey& c, uint64_t* keys = nullptr) {
  uint64_t n = 0, seen = 0;
  Status s = c.ForEachNewest([&](uint64_t v) {
    n += v;
    ++seen;
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (keys) *keys = seen;
  return n;
}

TEST(NewestByKeyTest, CountsTheNewestEntryOfEachKeyInTheTable) {
  NewestByKey c;
  Model m;
  const uint64_t want = Feed(c, m, 200000, 50000, 1);
  EXPECT_FALSE(c.spilled());
  auto got = CountLive(c);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, want);
}

// A table of 64 slots holds 32 keys: 50000 keys spill at level 0, and every level-0 file (~780
// keys) must split again, so the count goes through two levels of files.
TEST(NewestByKeyTest, SpillsPastTheTableAndStillCountsExactly) {
  testing::ScratchDir dir;
  for (size_t slots : {size_t{64}, size_t{1024}, size_t{1} << 14}) {
    NewestByKey c(slots, dir.path());
    Model m;
    const uint64_t want = Feed(c, m, 200000, 50000, static_cast<uint32_t>(slots));
    EXPECT_TRUE(c.spilled()) << slots;
    // The spill files are anonymous: nothing is left to clean up even after a crash.
    EXPECT_TRUE(fs::is_empty(dir.path())) << slots;
    uint64_t keys = 0;
    auto got = CountLive(c, &keys);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, want) << "max slots " << slots;
    EXPECT_EQ(keys, m.newest.size()) << "each key once, max slots " << slots;
  }
}

// The newest entry decides even when a key's older entries were spilled from the table and its
// newer ones came after: a key deleted after the spill is not live, a key put back is.
TEST(NewestByKeyTest, AnEntryAfterTheSpillOverridesTheTablesState) {
  testing::ScratchDir dir;
  NewestByKey c(16, dir.path());
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(c.Set("k" + std::to_string(i), 1).ok());
  EXPECT_FALSE(c.spilled());
  for (int i = 8; i < 100; ++i) ASSERT_TRUE(c.Set("k" + std::to_string(i), i % 2 == 0 ? 1 : 0).ok());
  ASSERT_TRUE(c.spilled());
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(c.Set("k" + std::to_string(i), 0).ok());  // deleted
  ASSERT_TRUE(c.Set("k9", 1).ok());                                                   // put back
  auto got = CountLive(c);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, 46u + 1u);  // k8, k10, ..., k98 and k9
}

// HashKV keeps each key's newest entry number: the values themselves, not just a bit, survive.
TEST(NewestByKeyTest, KeepsEachKeysLastValueThroughTheSpill) {
  testing::ScratchDir dir;
  NewestByKey c(64, dir.path());
  std::unordered_map<std::string, uint64_t> want;
  for (uint64_t n = 0; n < 30000; ++n) {
    const std::string key = "k" + std::to_string((n * 7919) % 9973);
    ASSERT_TRUE(c.Set(key, n).ok());
    want[key] = n;
  }
  std::unordered_map<uint64_t, int> got;
  ASSERT_TRUE(c.ForEachNewest([&](uint64_t v) {
                 ++got[v];
                 return Status::OK();
               }).ok());
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, n] : want) EXPECT_EQ(got[n], 1) << key;
}

TEST(NewestByKeyTest, AnUnwritableSpillDirIsAnErrorNamingIt) {
  NewestByKey c(16, "/nonexistent/lifeboat-spill");
  Status s;
  for (int i = 0; i < 100 && s.ok(); ++i) s = c.Set("k" + std::to_string(i), 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/lifeboat-spill"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("TMPDIR"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace lifeboat::snapshot
