// CloneDb: the clone holds exactly the source's entries with the edits applied, bbolt's Check()
// finds every page reachable or free, and a shape the fast path does not handle writes nothing.
// The restores in restore_test.cc and tests/integration (real etcd starting on the output) go
// through it too.
#include "snapshot/db_clone.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "scratch_dir.h"
#include "snapshot/bbolt_reader.h"
#include "snapshot/snapshot_file.h"

namespace lifeboat::snapshot {
namespace {

using lifeboat::testing::ReadFile;
using lifeboat::testing::ScratchDir;
using lifeboat::testing::WriteFile;

const char kVector[] = LB_TEST_DATA "/small-snapshot.db";
const char* const kRequired[] = {"cluster", "key", "lease", "members", "members_removed", "meta", "zz-new"};

using Dump = std::map<std::string, std::map<std::string, std::string>>;

Dump DumpOf(BboltReader& db) {
  struct V : BboltVisitor {
    Dump out;
    std::string bucket;
    Status BeginBucket(std::string_view n, uint64_t) override {
      bucket.assign(n);
      out[bucket];
      return Status::OK();
    }
    Status Entry(std::string_view k, std::string_view v, bool) override {
      out[bucket][std::string(k)] = std::string(v);
      return Status::OK();
    }
    Status EndBucket() override { return Status::OK(); }
  } v;
  EXPECT_TRUE(db.Walk(v).ok());
  return v.out;
}

// The clone at `path`, opened and passed through bbolt's Check(); null (with the failure
// recorded) otherwise.
std::unique_ptr<BboltReader> OpenChecked(const std::string& path, BboltWalkStats* stats) {
  auto db = BboltReader::Open(path);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return nullptr;
  Status check = (*db)->Check(stats);
  EXPECT_TRUE(check.ok()) << check.ToString();
  return check.ok() ? std::move(*db) : nullptr;
}

class DbCloneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto info = InspectSnapshotFile(kVector);
    ASSERT_TRUE(info.ok());
    auto db = BboltReader::Open(kVector, info->image_size);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    src_ = CloneSource{kVector, info->image_size, (*db)->meta()};
    before_ = DumpOf(**db);
  }
  CloneSource src_;
  Dump before_;
  ScratchDir dir_;
};

TEST_F(DbCloneTest, EditsLandAndEveryPageIsReachableOrFree) {
  std::map<std::string, BucketEdit> edits;
  edits["members"].drop_source = true;
  edits["members"].puts["abc"] = R"({"id":1})";
  edits["members_removed"].drop_source = true;
  edits["meta"].puts["consistent_index"] = std::string("\0\0\0\0\0\0\0\3", 8);
  edits["meta"].puts["term"] = std::nullopt;  // a delete of a key the source may not have
  ASSERT_FALSE(before_["members"].empty());

  auto cloned = CloneDb(src_, dir_.Join("db"), edits, kRequired);
  ASSERT_TRUE(cloned.ok()) << cloned.status().ToString();
  ASSERT_TRUE(*cloned);
  BboltWalkStats stats;
  auto db = OpenChecked(dir_.Join("db"), &stats);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->meta().txid, src_.meta.txid + 2);
  EXPECT_EQ(db->meta().freelist, bbolt::kNoFreelist) << "etcd does not sync its freelist, nor does the clone";

  Dump want = before_;
  want["members"] = {{"abc", R"({"id":1})"}};
  want["members_removed"] = {};
  want["meta"]["consistent_index"] = std::string("\0\0\0\0\0\0\0\3", 8);
  want["meta"].erase("term");
  want["zz-new"] = {};
  EXPECT_EQ(DumpOf(*db), want);
  EXPECT_EQ(db->Get("key", before_["key"].begin()->first).value(), before_["key"].begin()->second);
}

// A source with a synced freelist (bbolt's default; etcd turns it off): the clone's new freelist
// lists the old root and freelist pages, or Check() would find them "unreachable unfreed".
TEST_F(DbCloneTest, ASyncedFreelistListsTheReplacedPages) {
  std::string img = ReadFile(kVector).substr(0, src_.image_size);
  const uint32_t ps = src_.meta.page_size;
  const uint64_t fl = src_.meta.pgid;
  std::string page(ps, '\0');
  // Page 2 is the vector's one unreachable page (its writer's old freelist).
  bbolt::WritePageHeader(reinterpret_cast<uint8_t*>(page.data()), bbolt::PageHeader{fl, bbolt::kFreelistPage, 1, 0});
  bbolt::Store<uint64_t>(reinterpret_cast<uint8_t*>(page.data()) + bbolt::kPageHeaderSize, 2);
  img += page;
  bbolt::Meta m = src_.meta;
  m.freelist = fl;
  m.pgid = fl + 1;
  for (int slot : {0, 1}) {
    m.txid = src_.meta.txid + static_cast<uint64_t>(slot);
    bbolt::EncodeMeta(m, reinterpret_cast<uint8_t*>(img.data()) + (m.txid % 2) * ps + bbolt::kMetaOffset);
  }
  WriteFile(dir_.Join("synced.db"), img);
  auto synced = BboltReader::Open(dir_.Join("synced.db"));
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  Status fixture = (*synced)->Check();
  ASSERT_TRUE(fixture.ok()) << "the fixture itself: " << fixture.ToString();
  CloneSource src{dir_.Join("synced.db"), img.size(), (*synced)->meta()};

  std::map<std::string, BucketEdit> edits;
  edits["meta"].puts["consistent_index"] = std::string("\0\0\0\0\0\0\0\1", 8);
  auto cloned = CloneDb(src, dir_.Join("db"), edits, kRequired);
  ASSERT_TRUE(cloned.ok()) << cloned.status().ToString();
  ASSERT_TRUE(*cloned);
  BboltWalkStats stats;
  auto db = OpenChecked(dir_.Join("db"), &stats);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(stats.pages_free, 3u) << "page 2, the old root and the old freelist page";
  EXPECT_EQ(db->Get("meta", "consistent_index").value(), std::string("\0\0\0\0\0\0\0\1", 8));
}

TEST_F(DbCloneTest, ABucketThatIsNotInlineIsLeftToTheRebuild) {
  std::map<std::string, BucketEdit> edits;
  edits["key"].puts["x"] = "y";  // `key` has its own pages in any real db
  auto cloned = CloneDb(src_, dir_.Join("db"), edits, kRequired);
  ASSERT_TRUE(cloned.ok()) << cloned.status().ToString();
  EXPECT_FALSE(*cloned);
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("db")));
}

TEST_F(DbCloneTest, AnEditTooLargeToStayInlineIsLeftToTheRebuild) {
  std::map<std::string, BucketEdit> edits;
  edits["members"].puts["big"] = std::string(src_.meta.page_size, 'x');
  auto cloned = CloneDb(src_, dir_.Join("db"), edits, kRequired);
  ASSERT_TRUE(cloned.ok()) << cloned.status().ToString();
  EXPECT_FALSE(*cloned);
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("db")));
}

TEST_F(DbCloneTest, ARootPageThatIsNotTheMetasIsCorruption) {
  src_.meta.root = 0;  // a meta page, not a tree page
  auto cloned = CloneDb(src_, dir_.Join("db"), {}, kRequired);
  ASSERT_FALSE(cloned.ok());
  EXPECT_EQ(cloned.status().code(), Status::Code::kCorruption) << cloned.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("db")));
}

}  // namespace
}  // namespace lifeboat::snapshot
