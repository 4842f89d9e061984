#include "store/local_store.h"

#include <gtest/gtest.h>

#include "scratch_dir.h"

namespace lifeboat::store {
namespace {

using testing::Bytes;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WriteFile;

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = LocalStore::Open(dir_.Join("store"), /*create=*/true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  void Put(const std::string& key, const std::string& content) {
    auto w = store_->Create(key);
    ASSERT_TRUE(w.ok()) << key << ": " << w.status().ToString();
    ASSERT_TRUE((*w)->Append(Bytes(content)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }

  Result<std::string> Get(const std::string& key) {
    std::string out;
    Status s = store_->Read(key, [&out](std::span<const uint8_t> chunk) {
      out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
      return Status::OK();
    });
    if (!s.ok()) return s;
    return out;
  }

  std::vector<std::string> Keys(std::string_view prefix) {
    auto list = store_->List(prefix);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::string> keys;
    if (list.ok()) {
      for (const ObjectInfo& o : *list) keys.push_back(o.key);
    }
    return keys;
  }

  ScratchDir dir_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, CreateCommitListStatReadDelete) {
  EXPECT_EQ(store_->Describe(), "file://" + dir_.Join("store"));
  Put("prod/daily/2026-11-24/20/a.db", "first object");

  EXPECT_EQ(ReadFile(dir_.Join("store/prod/daily/2026-11-24/20/a.db")), "first object");
  auto list = store_->List("");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].key, "prod/daily/2026-11-24/20/a.db");
  EXPECT_EQ((*list)[0].size, 12u);
  EXPECT_GT((*list)[0].mtime_unix, 1'600'000'000);

  auto st = store_->Stat("prod/daily/2026-11-24/20/a.db");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 12u);

  auto got = Get("prod/daily/2026-11-24/20/a.db");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value(), "first object");

  ASSERT_TRUE(store_->Delete("prod/daily/2026-11-24/20/a.db").ok());
  EXPECT_TRUE(Keys("").empty());
  EXPECT_EQ(store_->Stat("prod/daily/2026-11-24/20/a.db").status().code(), Status::Code::kNotFound);
  // Emptied date/hour folders go too, but never the root.
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("store/prod")));
  EXPECT_TRUE(std::filesystem::is_directory(dir_.Join("store")));
}

TEST_F(LocalStoreTest, DeleteKeepsNonEmptyFoldersAndReportsMissing) {
  Put("p/a/1.db", "1");
  Put("p/a/2.db", "2");
  Put("p/b/3.db", "3");
  ASSERT_TRUE(store_->Delete("p/a/1.db").ok());
  EXPECT_EQ(Keys(""), (std::vector<std::string>{"p/a/2.db", "p/b/3.db"}));
  Status again = store_->Delete("p/a/1.db");
  EXPECT_EQ(again.code(), Status::Code::kNotFound);
  EXPECT_NE(again.message().find("p/a/1.db"), std::string::npos) << again.message();
  EXPECT_EQ(store_->Delete("p/a").code(), Status::Code::kNotFound);  // a folder is not an object
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("store/p/a/2.db")));
}

TEST_F(LocalStoreTest, UncommittedObjectsAreInvisible) {
  auto w = store_->Create("p/pending.db");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(Bytes("partial")).ok());
  EXPECT_TRUE(Keys("").empty());
  EXPECT_EQ(store_->Stat("p/pending.db").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(Get("p/pending.db").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(dir_.Files().size(), 1u);  // only the hidden temp file
  (*w)->Abort();
  EXPECT_TRUE(dir_.Files().empty());

  {
    auto dropped = store_->Create("p/dropped.db");
    ASSERT_TRUE(dropped.ok());
    ASSERT_TRUE((*dropped)->Append(Bytes("x")).ok());
  }
  EXPECT_TRUE(dir_.Files().empty());
}

TEST_F(LocalStoreTest, CommitReplacesExistingObject) {
  Put("k.db", "old");
  Put("k.db", "new and longer");
  auto got = Get("k.db");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value(), "new and longer");
  EXPECT_EQ(Keys(""), std::vector<std::string>{"k.db"});
}

TEST_F(LocalStoreTest, ListFiltersByPrefixSortsAndSkipsHidden) {
  for (const char* key : {"z.db", "a/c/3.db", "ab/4.db", "a/b/2.db", "a/b/1.db"}) Put(key, key);
  WriteFile(dir_.Join("store/a/b/.stale.tmp-1-2"), "hidden");
  std::filesystem::create_directories(dir_.Join("store/.trash"));
  WriteFile(dir_.Join("store/.trash/x.db"), "hidden");

  EXPECT_EQ(Keys(""), (std::vector<std::string>{"a/b/1.db", "a/b/2.db", "a/c/3.db", "ab/4.db", "z.db"}));
  EXPECT_EQ(Keys("a/"), (std::vector<std::string>{"a/b/1.db", "a/b/2.db", "a/c/3.db"}));
  EXPECT_EQ(Keys("a"), (std::vector<std::string>{"a/b/1.db", "a/b/2.db", "a/c/3.db", "ab/4.db"}));
  EXPECT_EQ(Keys("a/b/2"), std::vector<std::string>{"a/b/2.db"});
  EXPECT_TRUE(Keys("nope/").empty());
  EXPECT_TRUE(Keys("z.db/").empty());

  for (const char* bad : {"../", "/a/", "a//b/", ".trash/"}) {
    auto list = store_->List(bad);
    ASSERT_FALSE(list.ok()) << bad;
    EXPECT_EQ(list.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST_F(LocalStoreTest, ReadStreamsInBoundedChunksAndStopsOnSinkError) {
  std::string big(2 * 1024 * 1024 + 512 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 253);
  Put("big.db", big);

  std::string got;
  size_t chunks = 0;
  ASSERT_TRUE(store_
                  ->Read("big.db",
                         [&](std::span<const uint8_t> c) {
                           EXPECT_LE(c.size(), 1024u * 1024u);
                           ++chunks;
                           got.append(reinterpret_cast<const char*>(c.data()), c.size());
                           return Status::OK();
                         })
                  .ok());
  EXPECT_EQ(got, big);
  EXPECT_GE(chunks, 3u);

  size_t calls = 0;
  Status s = store_->Read("big.db", [&](std::span<const uint8_t>) {
    ++calls;
    return Status::Aborted("sink is full");
  });
  EXPECT_EQ(s.code(), Status::Code::kAborted);
  EXPECT_EQ(s.message(), "sink is full");
  EXPECT_EQ(calls, 1u);

  Status missing = store_->Read("no/such.db", [](std::span<const uint8_t>) { return Status::OK(); });
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
  EXPECT_NE(missing.message().find("lifeboat list"), std::string::npos) << missing.message();
}

TEST_F(LocalStoreTest, RejectsBadKeys) {
  for (const std::string& key : {std::string("../x"), std::string("/x"), std::string("a//b"), std::string(".hidden/x"),
                                 std::string("a/./b"), std::string("a/.."), std::string(""), std::string("a/"),
                                 std::string("a/.tmp"), std::string("a\0b", 3), std::string(1025, 'k')}) {
    EXPECT_EQ(ValidateKey(key).code(), Status::Code::kInvalidArgument) << key;
    auto w = store_->Create(key);
    ASSERT_FALSE(w.ok()) << key;
    EXPECT_EQ(w.status().code(), Status::Code::kInvalidArgument) << key;
    EXPECT_EQ(store_->Stat(key).status().code(), Status::Code::kInvalidArgument) << key;
    EXPECT_EQ(store_->Delete(key).code(), Status::Code::kInvalidArgument) << key;
  }
  EXPECT_TRUE(dir_.Files().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("x")));
  EXPECT_TRUE(ValidateKey(std::string(1024, 'k')).ok());
  EXPECT_TRUE(ValidateKey("db-etcd/prod/daily/2026-11-24/20/c_m_r1_20261124T201223Z.db").ok());
  EXPECT_NE(ValidateKey("a//b").message().find("\"a//b\""), std::string::npos);
}

TEST(LocalStoreOpenTest, RootHandling) {
  ScratchDir dir;
  EXPECT_EQ(LocalStore::Open("relative/path", true).status().code(), Status::Code::kInvalidArgument);

  // Without create nothing is made, and the missing folder is reported when used.
  auto lazy = LocalStore::Open(dir.Join("missing"), /*create=*/false);
  ASSERT_TRUE(lazy.ok());
  EXPECT_EQ((*lazy)->List("").status().code(), Status::Code::kNotFound);
  auto w = (*lazy)->Create("a/b.db");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Status::Code::kNotFound);
  EXPECT_NE(w.status().message().find(dir.Join("missing") + " does not exist"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.Join("missing")));

  // A root that is a file still opens (list/fetch may not need it), but writing explains why not.
  WriteFile(dir.Join("file-root"), "x");
  auto file_root = LocalStore::Open(dir.Join("file-root") + "/", /*create=*/true);
  ASSERT_TRUE(file_root.ok()) << file_root.status().ToString();
  EXPECT_EQ((*file_root)->root(), dir.Join("file-root"));
  auto fw = (*file_root)->Create("a.db");
  ASSERT_FALSE(fw.ok());
  EXPECT_EQ(fw.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(fw.status().message().find("is not a directory"), std::string::npos) << fw.status().message();

  // A root that cannot be created at all is an error at open time.
  auto impossible = LocalStore::Open(dir.Join("file-root/sub"), /*create=*/true);
  EXPECT_FALSE(impossible.ok());
}

TEST(OpenStoreTest, UrlForms) {
  ScratchDir dir;
  auto by_url = OpenStore("file://" + dir.Join("a/b"));
  ASSERT_TRUE(by_url.ok()) << by_url.status().ToString();
  EXPECT_EQ((*by_url)->Describe(), "file://" + dir.Join("a/b"));
  EXPECT_TRUE(std::filesystem::is_directory(dir.Join("a/b")));  // created for the operator

  auto by_path = OpenStore(dir.Join("c"));
  ASSERT_TRUE(by_path.ok()) << by_path.status().ToString();
  EXPECT_EQ((*by_path)->Describe(), "file://" + dir.Join("c"));

  // s3:// URLs go to the S3 store (s3_location_test.cc); a malformed one is a usage error.
  auto s3 = OpenStore("s3://Bad_Bucket/prefix");
  ASSERT_FALSE(s3.ok());
  EXPECT_EQ(s3.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s3.status().message().find("is not a bucket name"), std::string::npos) << s3.status().message();

  for (const char* bad : {"", "relative/dir", "file://relative", "http://host/x", "file:"}) {
    auto r = OpenStore(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("file:///"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace lifeboat::store
