// snapshot restore without etcd: ids and URLs as etcd derives them, WAL and .snap bytes equal
// to etcdctl 3.4.23's (the format document's vectors) and etcdutl 3.5.30's (vectors taken from
// its output here), the layout per target version, the rewritten db, and every kind of bad
// input refused with the target untouched. tests/integration/snapshot_restore_test.cc compares
// with etcdctl run on the spot and starts real etcd on the output.
#include "snapshot/restore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "base/sha256.h"
#include "scratch_dir.h"
#include "snapshot/bbolt_reader.h"
#include "snapshot/bbolt_writer.h"
#include "snapshot/raft_messages.h"
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
  for (int64_t rev = 1; rev <= 307; rev += 17) {
    std::string k(8, '\0');
    for (int i = 0; i < 8; ++i) k[7 - i] = static_cast<char>((rev >> (8 * i)) & 0xff);  // big-endian, as etcd
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

  // etcdutl's rule: both flags or neither.
  RestoreOptions bad = Defaults(dir_.Join("e"));
  bad.mark_compacted = true;
  EXPECT_EQ(RestoreSnapshot(bad).status().code(), Status::Code::kInvalidArgument);
  bad.mark_compacted = false;
  bad.bump_revision = 10;
  Status s = RestoreSnapshot(bad).status();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("--bump-revision needs --mark-compacted"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("e")));
}

// A point-in-time restore with a bump: the bump lands above the last replayed change, and the
// `key` bucket's pages are still copied whole (only the bump entry is added after them).
TEST_F(RestoreTest, BumpAboveAReplay) {
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.bump_revision = 50;
  o.mark_compacted = true;
  MvccChange put;
  put.revision = 310;
  put.key = "replayed";
  put.value = "v";
  put.create_revision = 310;
  put.version = 1;
  VectorChangeStream replay({put});
  o.replay = &replay;
  auto r = RestoreSnapshot(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->replayed, 1u);
  EXPECT_EQ(r->revision, 360);
  auto out = StatusOfFile(dir_.Join("d/member/snap/db"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->revision, 360);
  EXPECT_EQ(*out->scheduled_compaction, 360);
  EXPECT_EQ(out->key_entries, 308u);  // the 306 of the vector, the replayed change and the bump
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

TEST_F(RestoreRefusalTest, NotTheExpectedFile) {
  // A whole, valid snapshot, but not the one the caller planned: refused in the same pass, and
  // nothing is renamed into place.
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.expect_file_sha256 = Sha(std::string("another backup"));
  ExpectRefused(o, Status::Code::kCorruption, "not the expected " + o.expect_file_sha256);
  o.skip_hash_check = true;
  ExpectRefused(o, Status::Code::kInvalidArgument, "drop --skip-hash-check");
  // The planned one passes, and the result names what was read.
  o.skip_hash_check = false;
  o.expect_file_sha256 = Sha(ReadFile(kVector));
  auto r = RestoreSnapshot(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->file_sha256, o.expect_file_sha256);
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


// ---- per target version ----

std::string BE64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
  return s;
}

// The 3.4 vector rewritten with `meta` and `cluster` entries set (as a 3.5 or 3.6 member writes
// them), plus a valid trailer: a snapshot of that version without running that etcd.
std::string VariantOfVector(const ScratchDir& dir, const std::string& name,
                            const std::map<std::pair<std::string, std::string>, std::string>& set) {
  const std::string img_path = dir.Join(name + ".img");
  {
    auto w = BboltWriter::Create(img_path);
    EXPECT_TRUE(w.ok());
    auto r = BboltReader::Open(kVector, 49152);
    EXPECT_TRUE(r.ok());
    struct V : BboltVisitor {
      BboltWriter* w;
      const std::map<std::pair<std::string, std::string>, std::string>* set;
      std::string bucket;
      std::map<std::string, std::string> pending;
      Status BeginBucket(std::string_view n, uint64_t seq) override {
        bucket.assign(n);
        pending.clear();
        for (const auto& [k, v] : *set) {
          if (k.first == bucket) pending[k.second] = v;
        }
        return w->BeginBucket(n, seq);
      }
      Status Entry(std::string_view k, std::string_view v, bool) override {
        while (!pending.empty() && pending.begin()->first < k) {
          LB_RETURN_IF_ERROR(w->Put(pending.begin()->first, pending.begin()->second));
          pending.erase(pending.begin());
        }
        if (auto it = pending.find(std::string(k)); it != pending.end()) {
          Status s = w->Put(k, it->second);
          pending.erase(it);
          return s;
        }
        return w->Put(k, v);
      }
      Status EndBucket() override {
        for (const auto& [k, v] : pending) LB_RETURN_IF_ERROR(w->Put(k, v));
        return w->EndBucket();
      }
    } v;
    v.w = w->get();
    v.set = &set;
    EXPECT_TRUE((*r)->Walk(v).ok());
    EXPECT_TRUE((*w)->Finish().ok());
  }
  const std::string img = ReadFile(img_path);
  auto sha = Sha256::Of(Bytes(img));
  const std::string path = dir.Join(name + ".db");
  WriteFile(path, img + std::string(reinterpret_cast<const char*>(sha.data()), sha.size()));
  return path;
}

const std::map<std::pair<std::string, std::string>, std::string> k35 = {
    {{"meta", "term"}, BE64(8)},
    {{"meta", "confState"}, "{\"voters\":[10276657743932975437],\"auto_leave\":false}"},
    {{"cluster", "clusterVersion"}, "3.5.0"}};

// The three-member restore that etcdutl 3.5.30 was run with here (its WAL and .snap depend only
// on these flags, not on the snapshot).
RestoreOptions ThreeMembers(const std::string& snapshot, const std::string& data_dir) {
  RestoreOptions o;
  o.snapshot_path = snapshot;
  o.data_dir = data_dir;
  o.name = "n1";
  o.initial_cluster = "n1=http://127.0.0.1:25381,n2=http://127.0.0.1:25382,n3=http://127.0.0.1:25383";
  o.initial_cluster_token = "new-tok";
  o.initial_advertise_peer_urls = "http://127.0.0.1:25381";
  return o;
}
constexpr char kWal[] = "/member/wal/0000000000000000-0000000000000000.wal";
constexpr char kSnap3[] = "/member/snap/0000000000000001-0000000000000003.snap";

TEST_F(RestoreTest, DetectsTheSnapshotsVersion) {
  auto check = [](const std::string& path, int layout, int required) {
    auto r = BboltReader::Open(path);
    ASSERT_TRUE(r.ok());
    auto v = DetectSnapshotVersion(**r);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->layout_minor, layout) << path;
    EXPECT_EQ(v->required_minor, required) << path;
  };
  check(kVector, 4, 4);  // clusterVersion 3.4.0, no meta/term
  check(VariantOfVector(dir_, "v35", k35), 5, 5);
  auto k36 = k35;
  k36[{"meta", "storageVersion"}] = "3.6.0";
  k36[{"cluster", "clusterVersion"}] = "3.6.0";
  check(VariantOfVector(dir_, "v36", k36), 6, 6);
  auto k37 = k36;
  k37[{"meta", "storageVersion"}] = "3.7.0";
  k37[{"cluster", "clusterVersion"}] = "3.7.0";
  check(VariantOfVector(dir_, "v37", k37), 6, 7);  // 3.7 writes 3.6's layout
  // A 3.5 member of a cluster still at 3.4 (an upgrade under way) writes meta/term: etcd 3.4 may run it.
  auto mixed = k35;
  mixed[{"cluster", "clusterVersion"}] = "3.4.0";
  check(VariantOfVector(dir_, "mixed", mixed), 5, 4);
  for (const char* bad : {"3.3", "3.8", "4.0", "3", "", "3.x", "three"}) {
    auto p = ParseTargetVersion(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  }
  EXPECT_EQ(*ParseTargetVersion("3.5.30"), 5);
  EXPECT_EQ(*ParseTargetVersion("3.7"), 7);
}

// etcdutl 3.5.30's output for ThreeMembers(), byte for byte: the WAL (its last snapshot record
// carries conf_state) and the .snap (the same as 3.4's); the db gets meta/term = 1.
TEST_F(RestoreTest, Target35MatchesEtcdutl3530Bytes) {
  const std::string src35 = VariantOfVector(dir_, "v35", k35);
  for (const std::string& src : {std::string(kVector), src35}) {
    SCOPED_TRACE(src);
    const std::string d = dir_.Join(src == kVector ? "from34" : "from35");
    RestoreOptions o = ThreeMembers(src, d);
    if (src == kVector) o.target_version = "3.5";  // the upgrade path: a 3.4 backup into 3.5
    auto r = RestoreSnapshot(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->target_version, "3.5");
    const std::string wal = ReadFile(d + kWal);
    ASSERT_EQ(wal.size(), 64000000u);
    EXPECT_EQ(Sha(wal), "9bcac0319bb78de28fbb0aeec3b74944afd4048b1807d1db6e3e02c7fc538cfb");
    EXPECT_EQ(Sha(wal.substr(0, 600)), "732a27e9d6dd5acfd30b866ad1cccef47aa2292f92fa0e928884983f66458f5b");
    const std::string snap = ReadFile(d + kSnap3);
    EXPECT_EQ(snap.size(), 7570u);
    EXPECT_EQ(Sha(snap), "c30ff86c0b605f73c197458762efe4ca438d1a4853c4192aa098904df8b4db53");
    auto db = BboltReader::Open(d + "/member/snap/db");
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(*(*db)->Get("meta", "term"), BE64(1));
    EXPECT_EQ(*(*db)->Get("meta", "consistent_index"), BE64(3));
    // meta/confState is the source's, as etcdutl leaves it (etcd rewrites it on its next
    // membership change; raft itself starts from the .snap's ConfState).
    EXPECT_EQ(*(*db)->Get("meta", "confState"),
              src == kVector ? std::nullopt : std::optional<std::string>(k35.at({"meta", "confState"})));
  }
}

// 3.4: the WAL's last snapshot record has no conf_state (etcdctl 3.4.23's bytes, as before).
// A source term is reset to 1 even so: 3.4 ignores it, an upgrade to 3.5 would not.
TEST_F(RestoreTest, Target34KeepsEtcdctlsWalAndResetsAStaleTerm) {
  auto mixed = k35;
  mixed[{"cluster", "clusterVersion"}] = "3.4.0";
  const std::string src = VariantOfVector(dir_, "mixed", mixed);
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.snapshot_path = src;
  o.target_version = "3.4";
  auto r = RestoreSnapshot(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->target_version, "3.4");
  EXPECT_EQ(Sha(ReadFile(dir_.Join("d") + kWal)), "73fd7868675205938f74fe11200674fec6b6704f3a3e0412e55e4ded923099f3");
  auto db = BboltReader::Open(dir_.Join("d/member/snap/db"));
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->Get("meta", "term"), BE64(1));
  // Without a source term (a 3.4 snapshot) none is written: etcdctl 3.4's db.
  auto r34 = RestoreSnapshot(Defaults(dir_.Join("e")));
  ASSERT_TRUE(r34.ok());
  EXPECT_EQ(r34->target_version, "3.4");
  auto db34 = BboltReader::Open(dir_.Join("e/member/snap/db"));
  ASSERT_TRUE(db34.ok());
  EXPECT_FALSE((*db34)->Get("meta", "term")->has_value());
}

// 3.6, as etcdutl 3.6.14 wrote it here for these flags: the same WAL as 3.5 (conf_state in the
// last snapshot record), the same db edits (TrimMembershipFromBackend, the new members,
// UpdateConsistentIndexForce(N, 1)), meta/storageVersion left as the source's. Its .snap holds
// membership only (GetMembershipInfoInV2Format) but numbers the members in Go map order, a
// different v2 index per run (three .snap files in 14 runs); ours is the id-ordered one, equal
// to 3.5's, and holds the same members (tests/integration compares them as etcd reads them).
TEST_F(RestoreTest, Target36Layout) {
  auto k36 = k35;
  k36[{"meta", "storageVersion"}] = "3.6.0";
  k36[{"cluster", "clusterVersion"}] = "3.6.0";
  const std::string src = VariantOfVector(dir_, "v36", k36);
  auto r = RestoreSnapshot(ThreeMembers(src, dir_.Join("d")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->target_version, "3.6");
  EXPECT_EQ(Sha(ReadFile(dir_.Join("d") + kWal)), "9bcac0319bb78de28fbb0aeec3b74944afd4048b1807d1db6e3e02c7fc538cfb");
  EXPECT_EQ(Sha(ReadFile(dir_.Join("d") + kSnap3)), "c30ff86c0b605f73c197458762efe4ca438d1a4853c4192aa098904df8b4db53");
  auto sf = ReadSnapFile(dir_.Join("d") + kSnap3);
  ASSERT_TRUE(sf.ok());
  EXPECT_EQ(sf->store_json.find("/1/"), std::string::npos) << "a 3.6 .snap holds no v2 keys";
  auto db = BboltReader::Open(dir_.Join("d/member/snap/db"));
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->Get("meta", "storageVersion"), std::optional<std::string>("3.6.0"));
  EXPECT_EQ(*(*db)->Get("meta", "term"), BE64(1));
  // A 3.5 backup restored for 3.6 is the same as for 3.5 (the 3.6 server writes storageVersion).
  RestoreOptions up = ThreeMembers(VariantOfVector(dir_, "v35", k35), dir_.Join("up"));
  up.target_version = "3.6";
  ASSERT_TRUE(RestoreSnapshot(up).ok());
  auto dbup = BboltReader::Open(dir_.Join("up/member/snap/db"));
  ASSERT_TRUE(dbup.ok());
  EXPECT_FALSE((*dbup)->Get("meta", "storageVersion")->has_value());
}

// `snapshot status` gives the numbers of the etcdutl of the snapshot's version: etcdutl 3.6+
// counts live keys as totalKey (and prints meta/storageVersion), 3.5 and 3.4 every entry.
TEST_F(RestoreTest, StatusCountsAsTheEtcdutlOfTheSnapshotsVersion) {
  auto k36 = k35;
  k36[{"meta", "storageVersion"}] = "3.6.0";
  auto k37 = k36;
  k37[{"meta", "storageVersion"}] = "3.7.0";
  auto k36cluster = k35;  // before 3.6 wrote storageVersion: its cluster version tells
  k36cluster[{"cluster", "clusterVersion"}] = "3.6.0";
  struct Case {
    std::map<std::pair<std::string, std::string>, std::string> set;
    int minor;
    std::string storage;
  };
  for (const auto& [set, minor, storage] : {Case{k35, 5, ""}, Case{k36, 6, "3.6.0"}, Case{k37, 7, "3.7.0"},
                                            Case{k36cluster, 6, ""}}) {
    SCOPED_TRACE(minor);
    auto st = StatusOfFile(VariantOfVector(dir_, "s" + std::to_string(minor) + storage, set));
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->status_minor, minor);
    EXPECT_EQ(st->storage_version, storage);
    EXPECT_EQ(st->live_keys, 303u);
    EXPECT_EQ(st->total_keys, minor >= 6 ? 303u : st->bucket_entries);
    EXPECT_EQ(st->bucket_entries, 312u + (storage.empty() ? 2u : 3u));  // + term, confState (, storageVersion)
  }
}

// 3.7, as etcdutl 3.7.1 wrote it here for these flags (raft 3.7 marshals with proto2 presence):
// the WAL's ConfChange entries lack the ID field and its ConfState lacks auto_leave, so the WAL
// differs from 3.6's; so does the .snap's ConfState. The db edits are 3.6's. A 3.4 backup
// restored for 3.7 and a 3.7 snapshot get the same WAL.
TEST_F(RestoreTest, Target37MatchesEtcdutl371Bytes) {
  auto k37 = k35;
  k37[{"meta", "storageVersion"}] = "3.7.0";
  k37[{"cluster", "clusterVersion"}] = "3.7.0";
  for (const std::string& src : {std::string(kVector), VariantOfVector(dir_, "v37", k37)}) {
    SCOPED_TRACE(src);
    const std::string d = dir_.Join(src == kVector ? "from34" : "from37");
    RestoreOptions o = ThreeMembers(src, d);
    if (src == kVector) o.target_version = "3.7";
    auto r = RestoreSnapshot(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->target_version, "3.7");
    const std::string wal = ReadFile(d + kWal);
    EXPECT_EQ(Sha(wal), "24aa13747f4162a29518e13b9d5ef52176cc6c37d4a511805effb98ef3673581");
    EXPECT_EQ(Sha(wal.substr(0, 600)), "6f428f2e34127355d41923e9020f0fe09df69635eca90fa9dcafec6adc88e714");
    const std::string snap = ReadFile(d + kSnap3);
    EXPECT_EQ(snap.size(), 7568u);  // etcdutl 3.7.1's size: 3.6's without auto_leave
    auto sf = ReadSnapFile(d + kSnap3);
    ASSERT_TRUE(sf.ok());
    EXPECT_EQ(sf->voters.size(), 3u);
    EXPECT_EQ(sf->index, 3u);
    auto db = BboltReader::Open(d + "/member/snap/db");
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(*(*db)->Get("meta", "term"), BE64(1));
    EXPECT_EQ(*(*db)->Get("meta", "consistent_index"), BE64(3));
  }
}

TEST_F(RestoreRefusalTest, DowngradeBelowTheClusterVersion) {
  const std::string src = VariantOfVector(dir_, "v35", k35);
  before_entries_ = 2;  // the variant's image and snapshot
  RestoreOptions o = Defaults(dir_.Join("d"));
  o.snapshot_path = src;
  o.target_version = "3.4";
  ExpectRefused(o, Status::Code::kInvalidArgument, "cluster/clusterVersion 3.5.0): restoring it for etcd 3.4 would "
                                                   "downgrade it, which etcd refuses (its rule: no downgrade below the "
                                                   "snapshot's cluster version); use --target-version 3.5");
  // Snapshots of 3.6, 3.7 and 3.8 (their storageVersion), each refused for an older target.
  auto refused = [&](const std::string& storage, const std::string& target, Status::Code code,
                     const std::string& needle) {
    auto k = k35;
    k[{"meta", "storageVersion"}] = storage;
    o.snapshot_path = VariantOfVector(dir_, "v" + storage, k);
    before_entries_ += 2;
    o.target_version = target;
    ExpectRefused(o, code, needle);
  };
  refused("3.6.0", "3.5", Status::Code::kInvalidArgument, "use --target-version 3.6");
  refused("3.7.0", "3.6", Status::Code::kInvalidArgument, "use --target-version 3.7");
  refused("3.8.0", "", Status::Code::kFailedPrecondition, "newer than lifeboat restores (3.4 to 3.7)");
  o.snapshot_path = kVector;
  o.target_version = "3.3";
  ExpectRefused(o, Status::Code::kInvalidArgument, "--target-version 3.3");
}

}  // namespace
}  // namespace lifeboat::snapshot
