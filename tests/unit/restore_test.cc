// snapshot restore without etcd: ids and URLs as etcd derives them, WAL and .snap bytes equal
// to etcdctl 3.4.23's (the format document's vectors), the rewritten db, and every kind of bad
// input refused with the target untouched. tests/integration/snapshot_restore_test.cc compares
// with etcdctl run on the spot and starts real etcd on the output.
#include "snapshot/restore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/sha256.h"
#include "scratch_dir.h"
#include "snapshot/bbolt_reader.h"
#include "snapshot/cluster_config.h"
#include "snapshot/snap_file.h"
#include "snapshot/snapshot.h"
#include "snapshot/wal_reader.h"

namespace lifeboat::snapshot {
namespace {

using lifeboat::testing::Bytes;
using lifeboat::testing::ReadFile;
using lifeboat::testing::ScratchDir;
using lifeboat::testing::WriteFile;

const char kVector[] = LB_TEST_DATA "/small-snapshot.db";

std::string Sha(const std::string& data) { return HexEncode(Sha256::Of(Bytes(data))); }

TEST(ClusterConfigTest, IdsAsEtcd) {
  auto c = PlanCluster("default", "default=http://localhost:2380", "etcd-cluster", "http://localhost:2380");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->local_id, 0x8e9e05c52164694dull);
  EXPECT_EQ(c->cluster_id, 0xcdf818194e3a8c32ull);
  EXPECT_EQ(MemberJson(c->members[0]),
            "{\"id\":10276657743932975437,\"peerURLs\":[\"http://localhost:2380\"],\"name\":\"default\"}");

  auto three = PlanCluster("m2",
                           "m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380,m2=https://10.0.0.2:12380,"
                           "m3=http://10.0.0.3:2380",
                           "tok-xyz", "https://10.0.0.2:12380, http://10.0.0.2:2380");
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  ASSERT_EQ(three->members.size(), 3u);
  EXPECT_EQ(IdString(three->members[0].id), "614222aa6b90f72");   // m1, smallest
  EXPECT_EQ(IdString(three->members[1].id), "176678df30ca0773");  // m3
  EXPECT_EQ(IdString(three->members[2].id), "ed3bf1ee3c99687d");  // m2
  EXPECT_EQ(three->local_id, 0xed3bf1ee3c99687dull);
  EXPECT_EQ(IdString(three->cluster_id), "6588afefaca6cee6");
  EXPECT_EQ(three->members[2].peer_urls, (std::vector<std::string>{"http://10.0.0.2:2380", "https://10.0.0.2:12380"}));
}

TEST(ClusterConfigTest, BadFlags) {
  auto err = [](std::string_view name, std::string_view ic, std::string_view adv) {
    return PlanCluster(name, ic, "t", adv).status();
  };
  Status s = err("m4", "m1=http://a:1,m2=http://b:2", "http://a:1");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("couldn't find local name \"m4\""), std::string::npos) << s.message();
  s = err("m1", "m1=http://a:1,m2=http://a:1", "http://a:1");
  EXPECT_NE(s.message().find("duplicate url http://a:1"), std::string::npos) << s.message();
  s = err("m1", "m1=http://a:1,m2=http://b:2", "http://b:2");
  EXPECT_NE(s.message().find("--initial-advertise-peer-urls"), std::string::npos) << s.message();
  EXPECT_EQ(err("m1", "m1=ftp://a:1", "ftp://a:1").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(err("m1", "m1=http://a", "http://a").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(err("m1", "m1=http://a:1/path", "http://a:1/path").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(err("", "", "http://a:1").code(), Status::Code::kInvalidArgument);
  // Scheme case and surrounding blanks are normalised as Go does.
  EXPECT_TRUE(PlanCluster("m1", "m1=HTTP://a:1", "t", " http://a:1 ").ok());
}

class RestoreTest : public ::testing::Test {
 protected:
  RestoreOptions Defaults(const std::string& data_dir) {
    RestoreOptions o;
    o.snapshot_path = kVector;
    o.data_dir = data_dir;
    return o;
  }
  ScratchDir dir_;
};

TEST_F(RestoreTest, DefaultRestoreMatchesEtcdctlBytes) {
  auto r = RestoreSnapshot(Defaults(dir_.Join("e1.etcd")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(dir_.Files(), (std::vector<std::string>{"e1.etcd/member/snap/0000000000000001-0000000000000001.snap",
                                                    "e1.etcd/member/snap/db",
                                                    "e1.etcd/member/wal/0000000000000000-0000000000000000.wal"}));
  const std::string wal = ReadFile(dir_.Join("e1.etcd/member/wal/0000000000000000-0000000000000000.wal"));
  ASSERT_EQ(wal.size(), 64000000u);
  EXPECT_EQ(Sha(wal.substr(0, 272)), "998433ada9e5ef3b2890ff34c680938790a190000239b88b6343e5ce66de7544");
  EXPECT_EQ(Sha(wal), "73fd7868675205938f74fe11200674fec6b6704f3a3e0412e55e4ded923099f3");
  const std::string snap = ReadFile(dir_.Join("e1.etcd/member/snap/0000000000000001-0000000000000001.snap"));
  EXPECT_EQ(snap.size(), 6490u);
  EXPECT_EQ(Sha(snap), "391e233526d2ed237b95d33b9d3c7975cf3db23b1913a478baacdeee4177b533");
  EXPECT_EQ(r->member_id, 0x8e9e05c52164694dull);
  EXPECT_EQ(r->cluster_id, 0xcdf818194e3a8c32ull);
  EXPECT_EQ(r->revision, 307);
  EXPECT_EQ(r->live_keys, 303u);

  struct stat st;
  ASSERT_EQ(stat(dir_.Join("e1.etcd").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(dir_.Join("e1.etcd/member/snap/db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(RestoreTest, WalRecordsAndSnapReadBack) {
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.name = "m2";
  o.initial_cluster =
      "m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380,m2=https://10.0.0.2:12380,m3=http://10.0.0.3:2380";
  o.initial_cluster_token = "tok-xyz";
  o.initial_advertise_peer_urls = "http://10.0.0.2:2380,https://10.0.0.2:12380";
  ASSERT_TRUE(RestoreSnapshot(o).ok());
  const std::string snap_path = dir_.Join("d/member/snap/0000000000000001-0000000000000003.snap");
  const std::string snap = ReadFile(snap_path);
  EXPECT_EQ(snap.size(), 7608u);
  EXPECT_EQ(Sha(snap), "4d99b7d363af53876f0a8d237680ecb5f5b88612bc19c8dda570ab021bd2ac02");
  auto sf = ReadSnapFile(snap_path);
  ASSERT_TRUE(sf.ok()) << sf.status().ToString();
  EXPECT_EQ(sf->index, 3u);
  EXPECT_EQ(sf->term, 1u);
  EXPECT_EQ(sf->voters, (std::vector<uint64_t>{0x614222aa6b90f72ull, 0x176678df30ca0773ull, 0xed3bf1ee3c99687dull}));

  auto recs = ReadWalSegment(dir_.Join("d/member/wal/0000000000000000-0000000000000000.wal"));
  ASSERT_TRUE(recs.ok()) << recs.status().ToString();
  std::vector<int64_t> types;
  for (const auto& rec : *recs) types.push_back(rec.type);
  EXPECT_EQ(types, (std::vector<int64_t>{4, 1, 5, 2, 2, 2, 3, 5}));
}

TEST_F(RestoreTest, DbHoldsOnlyTheNewMembersAndTheIndex) {
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.name = "a";
  o.initial_cluster = "a=http://127.0.0.1:1,b=http://127.0.0.1:2,c=http://127.0.0.1:3";
  o.initial_advertise_peer_urls = "http://127.0.0.1:1";
  ASSERT_TRUE(RestoreSnapshot(o).ok());
  auto src = StatusOfFile(kVector);
  auto out = StatusOfFile(dir_.Join("d/member/snap/db"));
  ASSERT_TRUE(src.ok() && out.ok()) << out.status().ToString();
  EXPECT_EQ(out->revision, src->revision);
  EXPECT_EQ(out->live_keys, src->live_keys);
  EXPECT_EQ(out->key_entries, src->key_entries);
  EXPECT_EQ(out->leases, src->leases);
  EXPECT_EQ(out->cluster_version, src->cluster_version);
  EXPECT_EQ(out->buckets, src->buckets);
  ASSERT_TRUE(out->consistent_index.has_value());
  EXPECT_EQ(*out->consistent_index, 3u);
  ASSERT_EQ(out->members.size(), 3u);
  std::vector<std::string> names;
  for (const auto& m : out->members) names.push_back(m.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(out->removed_member_ids.empty());
  // Every key of `key` and `lease` byte for byte.
  auto a = BboltReader::Open(kVector, 49152);
  auto b = BboltReader::Open(dir_.Join("d/member/snap/db"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE((*b)->Check().ok());
  for (int rev = 1; rev <= 307; rev += 17) {
    std::string k(8, '\0');
    for (int i = 0; i < 8; ++i) k[7 - i] = static_cast<char>((rev >> (8 * i)) & 0xff);
    k += std::string("_\0\0\0\0\0\0\0\0", 9);
    auto va = (*a)->Get("key", k), vb = (*b)->Get("key", k);
    ASSERT_TRUE(va.ok() && vb.ok());
    EXPECT_EQ(*va, *vb) << rev;
  }
}

TEST_F(RestoreTest, BumpRevisionMarkCompacted) {
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.bump_revision = 1000;
  o.mark_compacted = true;
  auto r = RestoreSnapshot(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->revision, 1307);
  auto out = StatusOfFile(dir_.Join("d/member/snap/db"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->revision, 1307);
  ASSERT_TRUE(out->scheduled_compaction.has_value());
  EXPECT_EQ(*out->scheduled_compaction, 1307);
  EXPECT_EQ(out->key_entries, 307u);

  RestoreOptions bad = Defaults(dir_.Join("e"));
  bad.mark_compacted = true;
  EXPECT_EQ(RestoreSnapshot(bad).status().code(), Status::Code::kInvalidArgument);
}

// Bad input: each refused, and nothing left behind (no data dir, no temp dir).
class RestoreRefusalTest : public RestoreTest {
 protected:
  void ExpectRefused(const RestoreOptions& o, Status::Code code, const std::string& needle) {
    auto before = dir_.Files();
    auto r = RestoreSnapshot(o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
    EXPECT_EQ(dir_.Files(), before) << "restore left files behind";
    size_t entries = 0;
    for (auto it = std::filesystem::directory_iterator(dir_.path()); it != std::filesystem::directory_iterator();
         ++it) {
      ++entries;
    }
    EXPECT_EQ(entries, before_entries_) << "restore left a directory behind";
  }
  void SetUp() override {}
  size_t before_entries_ = 0;
};

TEST_F(RestoreRefusalTest, FlippedByteInTheImage) {
  std::string v = ReadFile(kVector);
  v[5 * 4096 + 2990] ^= 1;
  WriteFile(dir_.Join("bad.db"), v);
  before_entries_ = 1;
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.snapshot_path = dir_.Join("bad.db");
  ExpectRefused(o, Status::Code::kCorruption, "SHA-256 mismatch");
}

TEST_F(RestoreRefusalTest, TruncatedFile) {
  std::string v = ReadFile(kVector);
  WriteFile(dir_.Join("t.db"), v.substr(0, 30000));  // 30000 % 512 != 32: no trailer
  before_entries_ = 1;
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.snapshot_path = dir_.Join("t.db");
  ExpectRefused(o, Status::Code::kFailedPrecondition, "snapshot missing hash");
  o.skip_hash_check = true;
  ExpectRefused(o, Status::Code::kCorruption, "truncated");
}

TEST_F(RestoreRefusalTest, NoTrailerNeedsSkipHashCheck) {
  std::string v = ReadFile(kVector);
  WriteFile(dir_.Join("db"), v.substr(0, v.size() - 32));
  before_entries_ = 1;
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.snapshot_path = dir_.Join("db");
  ExpectRefused(o, Status::Code::kFailedPrecondition, "--skip-hash-check");
  o.skip_hash_check = true;
  EXPECT_TRUE(RestoreSnapshot(o).ok());
}

TEST_F(RestoreRefusalTest, CorruptPageReachedThroughTheTree) {
  std::string v = ReadFile(kVector);
  std::string img = v.substr(0, v.size() - 32);
  img[6 * 4096 + 8] = 0x20;  // a leaf of `key` with an invalid type, under a valid trailer
  auto sha = Sha256::Of(Bytes(img));
  WriteFile(dir_.Join("c.db"), img + std::string(reinterpret_cast<const char*>(sha.data()), sha.size()));
  before_entries_ = 1;
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.snapshot_path = dir_.Join("c.db");
  ExpectRefused(o, Status::Code::kCorruption, "bbolt page 6");
}

TEST_F(RestoreRefusalTest, NameNotInInitialCluster) {
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.name = "m9";
  ExpectRefused(o, Status::Code::kInvalidArgument, "couldn't find local name \"m9\"");
}

TEST_F(RestoreRefusalTest, DuplicatePeerUrls) {
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.name = "m1";
  o.initial_cluster = "m1=http://127.0.0.1:2380,m2=http://127.0.0.1:2380";
  o.initial_advertise_peer_urls = "http://127.0.0.1:2380";
  ExpectRefused(o, Status::Code::kInvalidArgument, "duplicate url");
}

TEST_F(RestoreRefusalTest, ExistingDataDir) {
  std::filesystem::create_directories(dir_.Join("d/member"));
  WriteFile(dir_.Join("d/member/keep"), "x");
  before_entries_ = 1;
  ExpectRefused(Defaults(dir_.Join("d")), Status::Code::kInvalidArgument, "already exists and is not empty");
  EXPECT_EQ(ReadFile(dir_.Join("d/member/keep")), "x");
  // An empty directory (a mount point, say) is accepted, as etcdutl 3.5 does.
  std::filesystem::create_directories(dir_.Join("empty"));
  EXPECT_TRUE(RestoreSnapshot(Defaults(dir_.Join("empty"))).ok());
}

TEST_F(RestoreRefusalTest, ExistingWalDir) {
  std::filesystem::create_directories(dir_.Join("w"));
  WriteFile(dir_.Join("w/x.wal"), "x");
  before_entries_ = 1;
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.wal_dir = dir_.Join("w");
  ExpectRefused(o, Status::Code::kInvalidArgument, "--wal-dir");
}

TEST_F(RestoreTest, SeparateWalDir) {
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.wal_dir = dir_.Join("wal");
  ASSERT_TRUE(RestoreSnapshot(o).ok());
  EXPECT_EQ(dir_.Files(), (std::vector<std::string>{"d/member/snap/0000000000000001-0000000000000001.snap",
                                                    "d/member/snap/db", "wal/0000000000000000-0000000000000000.wal"}));
}

}  // namespace
}  // namespace lifeboat::snapshot
