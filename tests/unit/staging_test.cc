// Agent staging: a plain backup in a local-folder store is checked where it is, not copied; a
// damaged stored copy is refused; a copy staged earlier is re-checked before it is used.
#include "host/staging.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/layout.h"
#include "scratch_dir.h"
#include "store/local_store.h"

namespace lifeboat::host {
namespace {

using testing::Bytes;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WriteFile;

class StagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::LocalStore::Open(dir_.Join("store"), /*create=*/true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    const std::string snap = ReadFile(std::string(LB_TEST_DATA) + "/small-snapshot.db");
    ASSERT_FALSE(snap.empty());
    auto sha = CheckSnapshotFile(std::string(LB_TEST_DATA) + "/small-snapshot.db");
    ASSERT_TRUE(sha.ok()) << sha.status().ToString();
    m_.object_key = "db-etcd/hourly/2026-11-25/04/prod_m1_r5_20261125T040000Z.db";
    m_.sha256 = *sha;
    m_.db_sha256 = std::string(64, '0');
    m_.size = snap.size();
    m_.revision = 5;
    m_.cluster_name = "prod";
    m_.member_name = "m1";
    m_.started_at = m_.finished_at = "2026-11-25T04:00:00.000Z";
    m_.tool_version = "0.1.0";
    m_.tier = "hourly";
    m_.store = store_->Describe();
    auto w = store_->Create(m_.object_key);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Bytes(snap)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    ASSERT_TRUE(catalog::WriteManifest(*store_, m_).ok());
  }

  StageRequest Request() const { return {"file://" + dir_.Join("store"), m_.object_key, m_.sha256, m_.size}; }
  std::string StoredPath() const { return dir_.Join("store") + "/" + m_.object_key; }

  ScratchDir dir_;
  std::unique_ptr<store::LocalStore> store_;
  catalog::Manifest m_;
};

TEST_F(StagingTest, APlainLocalBackupIsCheckedInPlaceNotCopied) {
  auto staged = StageBackup(Request(), dir_.Join("staging"), nullptr);
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  EXPECT_TRUE(staged->in_place);
  EXPECT_FALSE(staged->cached);
  EXPECT_EQ(staged->path, StoredPath());
  EXPECT_EQ(staged->sha256, m_.sha256);
  EXPECT_GT(staged->revision, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("staging"))) << "nothing was copied";
}

TEST_F(StagingTest, ADamagedStoredCopyIsRefused) {
  std::string bytes = ReadFile(StoredPath());
  bytes[bytes.size() / 2] = static_cast<char>(~bytes[bytes.size() / 2]);
  WriteFile(StoredPath(), bytes);
  auto staged = StageBackup(Request(), dir_.Join("staging"), nullptr);
  ASSERT_FALSE(staged.ok());
  EXPECT_EQ(staged.status().code(), Status::Code::kCorruption) << staged.status().ToString();
  EXPECT_NE(staged.status().message().find("is damaged (restore another backup)"), std::string::npos)
      << staged.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("staging")));
}

TEST_F(StagingTest, APlannedShaThatTheManifestNoLongerHasIsRefused) {
  StageRequest r = Request();
  r.sha256 = std::string(64, 'a');
  auto staged = StageBackup(r, dir_.Join("staging"), nullptr);
  ASSERT_FALSE(staged.ok());
  EXPECT_NE(staged.status().message().find("the store changed"), std::string::npos) << staged.status().ToString();
}

TEST_F(StagingTest, AnEncodedBackupIsCopiedAndThenServedFromTheStagingDir) {
  // Marked as compressed, the object cannot be restored in place: it goes through the copy path,
  // which (finding no zstd frame) refuses it and stages nothing.
  catalog::Manifest zm = m_;
  zm.format_version = 2;
  zm.compression = "zstd";
  zm.object_size = m_.size;
  zm.object_sha256 = m_.sha256;
  ASSERT_TRUE(catalog::WriteManifest(*store_, zm).ok());
  auto staged = StageBackup(Request(), dir_.Join("staging"), nullptr);
  ASSERT_FALSE(staged.ok()) << "a plain file is not a zstd stream";
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("staging") + "/" + m_.sha256 + ".db"));
  // A good copy already staged (as an earlier fetch leaves it) is re-checked and used.
  std::filesystem::create_directories(dir_.Join("staging"));
  std::filesystem::copy_file(StoredPath(), dir_.Join("staging") + "/" + m_.sha256 + ".db");
  staged = StageBackup(Request(), dir_.Join("staging"), nullptr);
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  EXPECT_TRUE(staged->cached);
  EXPECT_FALSE(staged->in_place);
}

}  // namespace
}  // namespace lifeboat::host
