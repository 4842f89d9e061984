// `lifeboat snapshot hashkv` against what a real etcd member (the pass's version: 3.4.23, 3.5.16,
// 3.5.30) answers to HashKV
// (`etcdctl endpoint hashkv --rev`): on snapshots with overwrites, leases, multi-key deletes
// (several entries of one revision) and a physically compacted history, and on a snapshot taken
// before a compaction the member made later (--compact-revision).
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "harness/etcd_cluster.h"
#include "harness/process.h"

namespace lifeboat::harness {
namespace {

struct Hash {
  uint32_t hash = 0;
  int64_t compact = 0;
};

// etcd's answer from one member.
Hash EtcdHashKV(const EtcdCluster& c, int64_t rev) {
  ProcResult r = c.EtcdctlAt(c.endpoint("m1"), {"endpoint", "hashkv", "--rev=" + std::to_string(rev), "-w", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Hash h;
  try {
    auto j = nlohmann::json::parse(r.out).at(0).at("HashKV");
    h.hash = j.at("hash").get<uint32_t>();
    h.compact = j.value("compact_revision", int64_t{0});
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << ": " << r.out;
  }
  return h;
}

// lifeboat's answer from a file. A key table of 4 slots sends each key's newest entry through the
// spill files, as on a db with millions of keys.
Hash NativeHashKV(const std::string& file, int64_t rev, int64_t compact = -1, bool spill = false) {
  std::vector<std::string> args = {"-w", "json", "snapshot", "hashkv", file, "--rev", std::to_string(rev)};
  if (compact >= 0) args.insert(args.end(), {"--compact-revision", std::to_string(compact)});
  std::map<std::string, std::string> env;
  if (spill) env["LIFEBOAT_KEY_TABLE_SLOTS"] = "4";
  ProcResult r = Lifeboat(args, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Hash h;
  try {
    auto j = nlohmann::json::parse(r.out);
    h.hash = j.at("hash").get<uint32_t>();
    h.compact = j.at("compactRevision").get<int64_t>();
    EXPECT_EQ(j.at("revision").get<int64_t>(), rev);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << ": " << r.out << r.err;
  }
  return h;
}

int64_t Revision(const EtcdCluster& c) {
  ProcResult r = c.EtcdctlAt(c.endpoint("m1"), {"endpoint", "status", "-w", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out).at(0).at("Status").at("header").at("revision").get<int64_t>();
}

void Ok(const ProcResult& r) { EXPECT_EQ(r.exit_code, 0) << r.err << r.out; }

TEST(HashKvTest, NativeHashEqualsTheMembersAtEveryRevisionAndAfterCompaction) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-hashkv-");
  // A new cluster's empty store is at revision 1.
  Ok(c->EtcdctlAt(c->endpoint("m1"), {"snapshot", "save", dir + "/s0.db"}));
  EXPECT_EQ(NativeHashKV(dir + "/s0.db", 1).hash, EtcdHashKV(*c, 1).hash) << "empty store";
  for (int i = 0; i < 40; ++i) Ok(c->Etcdctl({"put", "/a/" + std::to_string(i), "v" + std::to_string(i)}));
  for (int i = 0; i < 10; ++i) Ok(c->Etcdctl({"put", "/a/" + std::to_string(i), "overwritten-" + std::to_string(i)}));
  ProcResult lease = c->Etcdctl({"lease", "grant", "600"});
  Ok(lease);
  std::string id = lease.out.substr(6, lease.out.find(' ', 6) - 6);  // "lease <hex> granted with TTL(600s)"
  Ok(c->Etcdctl({"put", "/leased", "x", "--lease=" + id}));
  Ok(c->Etcdctl({"del", "/a/3"}));
  Ok(c->Etcdctl({"del", "/a/2", "--prefix"}));  // /a/2 and /a/20.. /a/29: one revision, 11 entries
  Ok(c->Etcdctl({"put", "/a/3", "back"}));        // a new generation of a deleted key
  const int64_t mid = Revision(*c) - 6;
  for (int i = 40; i < 50; ++i) Ok(c->Etcdctl({"put", "/a/" + std::to_string(i), "late"}));
  const int64_t r1 = Revision(*c);

  Ok(c->EtcdctlAt(c->endpoint("m1"), {"snapshot", "save", dir + "/s1.db"}));
  for (int64_t rev : {int64_t{2}, mid, mid + 1, r1}) {
    EXPECT_EQ(NativeHashKV(dir + "/s1.db", rev).hash, EtcdHashKV(*c, rev).hash) << "revision " << rev;
  }

  // Compact in the middle (the deleted keys' tombstones and the overwritten values go), write on.
  Ok(c->Etcdctl({"compact", std::to_string(mid), "--physical"}));
  for (int i = 0; i < 5; ++i) Ok(c->Etcdctl({"put", "/b/" + std::to_string(i), "after"}));
  Ok(c->Etcdctl({"del", "/a/1"}));
  const int64_t r2 = Revision(*c);
  Ok(c->EtcdctlAt(c->endpoint("m1"), {"snapshot", "save", dir + "/s2.db"}));
  for (int64_t rev : {mid + 1, r1, r2}) {
    Hash live = EtcdHashKV(*c, rev);
    EXPECT_EQ(live.compact, mid);
    Hash native = NativeHashKV(dir + "/s2.db", rev);
    EXPECT_EQ(native.hash, live.hash) << "compacted snapshot, revision " << rev;
    EXPECT_EQ(native.compact, mid);
    EXPECT_EQ(NativeHashKV(dir + "/s2.db", rev, -1, true).hash, live.hash) << "through the spill, revision " << rev;
    // The snapshot from before the compaction, hashed as the compacted member does.
    if (rev <= r1) {
      EXPECT_EQ(NativeHashKV(dir + "/s1.db", rev, mid).hash, live.hash) << "older snapshot, revision " << rev;
    }
  }
  // Without the member's compact revision the older snapshot's hash differs: the overwritten
  // history is still in it. This is why the compact revision travels with a recorded hash.
  EXPECT_NE(NativeHashKV(dir + "/s1.db", r1).hash, EtcdHashKV(*c, r1).hash);

  // Every key deleted: etcd's Keep is empty, and then it counts every entry <= C it still holds.
  Ok(c->Etcdctl({"del", "", "--from-key"}));
  const int64_t r3 = Revision(*c);
  Ok(c->EtcdctlAt(c->endpoint("m1"), {"snapshot", "save", dir + "/s3.db"}));
  EXPECT_EQ(NativeHashKV(dir + "/s3.db", r3).hash, EtcdHashKV(*c, r3).hash) << "empty key space";
  EXPECT_EQ(NativeHashKV(dir + "/s3.db", r3, -1, true).hash, EtcdHashKV(*c, r3).hash) << "through the spill";
  EXPECT_EQ(NativeHashKV(dir + "/s3.db", r2).hash, EtcdHashKV(*c, r2).hash);

  // A compacted revision is refused, as etcd refuses it.
  ProcResult refused = Lifeboat({"snapshot", "hashkv", dir + "/s2.db", "--rev", std::to_string(mid - 1)});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("is compacted"), std::string::npos) << refused.err;
  EXPECT_NE(c->EtcdctlAt(c->endpoint("m1"), {"endpoint", "hashkv", "--rev=" + std::to_string(mid - 1)}).exit_code, 0);
  ProcResult future = Lifeboat({"snapshot", "hashkv", dir + "/s3.db", "--rev", std::to_string(r3 + 1)});
  EXPECT_EQ(future.exit_code, 1);
  EXPECT_NE(future.err.find("beyond the db's current revision"), std::string::npos) << future.err;
}

// A tombstone exactly at the compact revision: etcd 3.4.34+/3.5.16+ keep it through a compaction
// (upstream #18274), 3.4.23 drops it. With no key live at the hashed revision etcd counts every
// entry <= the compact revision its bucket holds, so the versions answer differently there, and
// the native hash must answer as the member of the snapshot's version does: for a snapshot taken
// after the compaction (what the bucket holds) and for one taken before it (the rule predicted).
TEST(HashKvTest, TombstoneAtTheCompactRevision) {
  EtcdClusterOptions o;
  o.members = 1;
  auto c = EtcdCluster::Start(o);
  ASSERT_TRUE(c);
  Ok(c->Etcdctl({"put", "/t/a", "1"}));
  Ok(c->Etcdctl({"put", "/t/b", "1"}));
  Ok(c->Etcdctl({"put", "/t/a", "2"}));
  Ok(c->Etcdctl({"del", "/t/a"}));
  const int64_t tomb = Revision(*c);
  Ok(c->Etcdctl({"put", "/t/b", "2"}));
  const int64_t live_b = Revision(*c);
  Ok(c->Etcdctl({"del", "/t/b"}));
  const int64_t none_live = Revision(*c);
  std::string dir = MakeTempDir("lb-hashkv-tomb-");
  Ok(c->EtcdctlAt(c->endpoint("m1"), {"snapshot", "save", dir + "/before.db"}));

  Ok(c->Etcdctl({"compact", std::to_string(tomb), "--physical"}));
  Ok(c->EtcdctlAt(c->endpoint("m1"), {"snapshot", "save", dir + "/after.db"}));
  // At the compact revision itself 3.4 refuses; 3.5 answers the hash it kept from compacting,
  // taken before the compaction: the uncompacted snapshot's own hash at that revision.
  ProcResult at = c->EtcdctlAt(c->endpoint("m1"), {"endpoint", "hashkv", "--rev=" + std::to_string(tomb), "-w", "json"});
  if (c->etcd_version().starts_with("3.4")) {
    EXPECT_NE(at.exit_code, 0) << at.out;
  } else {
    EXPECT_EQ(NativeHashKV(dir + "/before.db", tomb).hash, EtcdHashKV(*c, tomb).hash) << "at the compact revision";
  }
  for (int64_t rev : {live_b, none_live}) {
    Hash live = EtcdHashKV(*c, rev);
    EXPECT_EQ(live.compact, tomb);
    EXPECT_EQ(NativeHashKV(dir + "/after.db", rev).hash, live.hash) << "compacted snapshot, revision " << rev;
    EXPECT_EQ(NativeHashKV(dir + "/before.db", rev, tomb).hash, live.hash)
        << "snapshot from before the compaction, revision " << rev << ", etcd " << c->etcd_version();
  }
}

}  // namespace
}  // namespace lifeboat::harness
