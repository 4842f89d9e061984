#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include "base/sha256.h"
#include "base/timefmt.h"
#include "catalog/layout.h"
#include "scratch_dir.h"
#include "store/local_store.h"

namespace lifeboat::catalog {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using testing::Bytes;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WriteFile;

const system_clock::time_point kT0 = sys_days(2026y / 11 / 24) + 20h;
constexpr std::string_view kPrefix = "db-etcd/prod";

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::LocalStore::Open(dir_.Join("store"), /*create=*/true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  void PutObject(const std::string& key, const std::string& content) {
    auto w = store_->Create(key);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(Bytes(content)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }

  // Writes an object and its manifest the way a backup does; returns the manifest.
  Manifest AddBackup(const std::string& tier, int64_t revision, system_clock::time_point finished,
                     const std::string& content = "snapshot bytes", const std::string& member = "etcd-0") {
    Manifest m;
    m.object_key = ObjectKey(kPrefix, tier, "prod", member, revision, finished);
    m.sha256 = HexEncode(Sha256::Of(Bytes(content)));
    m.db_sha256 = std::string(64, '0');
    m.size = content.size();
    m.revision = revision;
    m.cluster_name = "prod";
    m.member_name = member;
    m.started_at = FormatRFC3339(finished - 1s);
    m.finished_at = FormatRFC3339(finished);
    m.tool_version = "0.1.0";
    m.tier = tier;
    m.store = store_->Describe();
    PutObject(m.object_key, content);
    EXPECT_TRUE(WriteManifest(*store_, m).ok());
    return m;
  }

  static std::vector<std::string> ObjectKeys(const Listing& l) {
    std::vector<std::string> keys;
    for (const BackupEntry& e : l.backups) keys.push_back(e.manifest.object_key);
    return keys;
  }

  ScratchDir dir_;
  std::unique_ptr<store::LocalStore> store_;
};

TEST_F(CatalogTest, EmptyStore) {
  auto l = ListBackups(*store_, kPrefix, "");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_TRUE(l->backups.empty());
  EXPECT_TRUE(l->problems.empty());
  auto r = ResolveBackup(*store_, kPrefix, "", "latest");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no backup matches latest under " + store_->Describe() +
                                      "/db-etcd/prod (run `lifeboat list` to see what exists)");
}

TEST_F(CatalogTest, ListsNewestFirstAndFiltersByTier) {
  const Manifest a = AddBackup("daily", 10, kT0);
  const Manifest b = AddBackup("hourly", 20, kT0 + 2h);
  const Manifest c = AddBackup("daily", 30, kT0 + 1h);
  // Objects under a sibling prefix that starts with the same letters must not be read.
  PutObject("db-etcd/production/daily/x.manifest.json", "not ours");

  auto all = ListBackups(*store_, kPrefix, "");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_TRUE(all->problems.empty());
  EXPECT_EQ(ObjectKeys(*all), (std::vector<std::string>{b.object_key, c.object_key, a.object_key}));
  EXPECT_EQ(all->backups[0].manifest, b);
  EXPECT_EQ(all->backups[0].manifest_key, ManifestKey(b.object_key));

  auto daily = ListBackups(*store_, "/" + std::string(kPrefix) + "/", "daily");
  ASSERT_TRUE(daily.ok());
  EXPECT_EQ(ObjectKeys(*daily), (std::vector<std::string>{c.object_key, a.object_key}));

  // The tier argument is a folder (tiers may name their own): a path that escapes is refused.
  EXPECT_EQ(ListBackups(*store_, kPrefix, "../daily").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ListBackups(*store_, "../x", "").status().code(), Status::Code::kInvalidArgument);
}

TEST_F(CatalogTest, SameFinishTimeOrdersByKeyDescending) {
  const Manifest a = AddBackup("daily", 1, kT0, "x", "etcd-a");
  const Manifest b = AddBackup("daily", 1, kT0, "x", "etcd-b");
  auto l = ListBackups(*store_, kPrefix, "");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(ObjectKeys(*l), (std::vector<std::string>{b.object_key, a.object_key}));
}

TEST_F(CatalogTest, ResolvesReferences) {
  const Manifest old_daily = AddBackup("daily", 10, kT0);
  const Manifest hourly = AddBackup("hourly", 20, kT0 + 2h);
  const Manifest new_daily = AddBackup("daily", 30, kT0 + 1h);

  auto expect = [&](std::string_view tier, std::string_view ref, const Manifest& want) {
    auto r = ResolveBackup(*store_, kPrefix, tier, ref);
    ASSERT_TRUE(r.ok()) << ref << ": " << r.status().ToString();
    EXPECT_EQ(r->entry->manifest.object_key, want.object_key) << ref;
    EXPECT_EQ(r->entry->manifest_key, ManifestKey(want.object_key)) << ref;
  };
  expect("", "latest", hourly);
  expect("daily", "latest", new_daily);
  expect("", old_daily.object_key, old_daily);
  expect("", ManifestKey(old_daily.object_key), old_daily);
  expect("", old_daily.object_key.substr(kPrefix.size() + 1), old_daily);  // relative to the prefix
  const std::string base = old_daily.object_key.substr(old_daily.object_key.rfind('/') + 1);
  expect("", base, old_daily);
  expect("", base.substr(0, base.size() - 3), old_daily);  // without ".db"

  auto missing = ResolveBackup(*store_, kPrefix, "", "prod_etcd-0_r11_20261124T200000Z.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("no backup matches prod_etcd-0_r11_20261124T200000Z.db under " +
                                            store_->Describe() + "/db-etcd/prod"),
            std::string::npos)
      << missing.status().message();
  EXPECT_NE(missing.status().message().find("lifeboat list"), std::string::npos);

  // Outside the requested tier a backup does not exist.
  EXPECT_EQ(ResolveBackup(*store_, kPrefix, "hourly", base).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ResolveBackup(*store_, kPrefix, "", "").status().code(), Status::Code::kInvalidArgument);
}

TEST_F(CatalogTest, AmbiguousNameListsCandidates) {
  // The same snapshot kept in two tiers has the same file name in both.
  const Manifest daily = AddBackup("daily", 10, kT0);
  const Manifest weekly = AddBackup("weekly", 10, kT0);
  const std::string base = daily.object_key.substr(daily.object_key.rfind('/') + 1);

  auto r = ResolveBackup(*store_, kPrefix, "", base);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ambiguous"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(daily.object_key), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(weekly.object_key), std::string::npos) << r.status().message();

  auto in_tier = ResolveBackup(*store_, kPrefix, "weekly", base);
  ASSERT_TRUE(in_tier.ok());
  EXPECT_EQ(in_tier->entry->manifest.object_key, weekly.object_key);
  auto full = ResolveBackup(*store_, kPrefix, "", daily.object_key);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->entry->manifest.object_key, daily.object_key);
}

TEST_F(CatalogTest, BrokenManifestsAreProblemsNotFailures) {
  const Manifest good = AddBackup("daily", 10, kT0);
  const Manifest lost = AddBackup("daily", 20, kT0 + 1h);
  const Manifest resized = AddBackup("daily", 30, kT0 + 2h);
  const std::string garbage_key = std::string(kPrefix) + "/daily/2026-11-24/20/garbage.manifest.json";
  PutObject(garbage_key, "{ not json");
  ASSERT_TRUE(store_->Delete(lost.object_key).ok());
  PutObject(resized.object_key, "snapshot bytes plus more");

  auto l = ListBackups(*store_, kPrefix, "");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(ObjectKeys(*l), std::vector<std::string>{good.object_key});
  ASSERT_EQ(l->problems.size(), 3u);
  auto problem_for = [&](const std::string& manifest_key) -> std::string {
    for (const std::string& p : l->problems) {
      if (p.rfind(manifest_key + ": ", 0) == 0) return p;
    }
    return "";
  };
  EXPECT_NE(problem_for(garbage_key).find("not valid JSON"), std::string::npos) << problem_for(garbage_key);
  EXPECT_NE(problem_for(ManifestKey(lost.object_key)).find("is missing"), std::string::npos);
  EXPECT_NE(problem_for(ManifestKey(resized.object_key)).find("24 bytes but the manifest says 14"), std::string::npos)
      << problem_for(ManifestKey(resized.object_key));

  // The good backup stays usable.
  auto latest = ResolveBackup(*store_, kPrefix, "", "latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->entry->manifest.object_key, good.object_key);
}

TEST_F(CatalogTest, WriteManifestIsReadableJson) {
  const Manifest m = AddBackup("daily", 10, kT0);
  const std::string text = ReadFile(dir_.Join("store/" + ManifestKey(m.object_key)));
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto parsed = ParseManifest(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value(), m);
}

class CopyVerifiedTest : public CatalogTest {
 protected:
  Status Copy(const Manifest& m, std::string* out) {
    return CopyVerified(*store_, m, [out](std::span<const uint8_t> c) {
      out->append(reinterpret_cast<const char*>(c.data()), c.size());
      return Status::OK();
    });
  }
};

TEST_F(CopyVerifiedTest, CopiesARealSnapshot) {
  const std::string db = ReadFile(std::string(LB_TEST_DATA) + "/small-snapshot.db");
  ASSERT_EQ(db.size(), 49184u);
  const Manifest m = AddBackup("daily", 5, kT0, db);
  std::string out;
  ASSERT_TRUE(Copy(m, &out).ok());
  EXPECT_EQ(out, db);
}

TEST_F(CopyVerifiedTest, DetectsAFlippedByte) {
  const std::string db = ReadFile(std::string(LB_TEST_DATA) + "/small-snapshot.db");
  const Manifest m = AddBackup("daily", 5, kT0, db);
  std::string damaged = db;
  damaged[20000] = static_cast<char>(damaged[20000] ^ 0x01);
  WriteFile(dir_.Join("store/" + m.object_key), damaged);  // same size: only the hash can tell

  std::string out;
  Status s = Copy(m, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(s.message(), "backup " + m.object_key + " is corrupt: sha256 " +
                             HexEncode(Sha256::Of(Bytes(damaged))) + ", manifest says " + m.sha256 +
                             " (fetch another backup)");
}

TEST_F(CopyVerifiedTest, DetectsWrongSizeAndMissingObject) {
  const Manifest m = AddBackup("daily", 5, kT0, "0123456789");
  WriteFile(dir_.Join("store/" + m.object_key), "01234");
  std::string out;
  Status shorter = Copy(m, &out);
  EXPECT_EQ(shorter.code(), Status::Code::kCorruption);
  EXPECT_NE(shorter.message().find("5 bytes, manifest says 10"), std::string::npos) << shorter.message();

  WriteFile(dir_.Join("store/" + m.object_key), "0123456789-and-more");
  out.clear();
  Status longer = Copy(m, &out);
  EXPECT_EQ(longer.code(), Status::Code::kCorruption);
  EXPECT_NE(longer.message().find("longer than the 10 bytes"), std::string::npos) << longer.message();
  EXPECT_TRUE(out.empty());  // stopped before handing over the oversized chunk

  ASSERT_TRUE(store_->Delete(m.object_key).ok());
  EXPECT_EQ(Copy(m, &out).code(), Status::Code::kNotFound);
}

TEST_F(CopyVerifiedTest, SinkErrorsStopTheCopy) {
  const Manifest m = AddBackup("daily", 5, kT0);
  Status s = CopyVerified(*store_, m, [](std::span<const uint8_t>) { return Status::IOError("disk full"); });
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(s.message(), "disk full");
}

}  // namespace
}  // namespace lifeboat::catalog
