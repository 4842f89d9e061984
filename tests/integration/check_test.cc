// lifeboat check and status against real clusters: healthy, the trap (one member restored,
// the others empty), members down.
#include <gtest/gtest.h>

#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

// A snapshot of a cluster with some history, taken by etcdctl (the oracle).
std::string MakeSnapshot(const std::string& dir) {
  auto src = EtcdCluster::Start();
  if (!src) return "";
  src->Load(0.5);
  src->Etcdctl({"put", "/trap/key", "value"});
  std::string file = dir + "/source.db";
  ProcResult r = src->EtcdctlAt(src->endpoint(src->names()[0]), {"snapshot", "save", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return file;
}

TEST(CheckTest, HealthyClusterIsConsistentUnderStatusAndCheck) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(0.5));
  ProcResult chk = Lifeboat({"--endpoints", c->endpoints(), "check"});
  EXPECT_EQ(chk.exit_code, 0) << chk.out << chk.err;
  EXPECT_NE(chk.out.find("verdict: consistent"), std::string::npos) << chk.out;

  // Compacted history: hashes are compared at a revision every member still has.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->Etcdctl({"put", "/history", std::to_string(i)}).ok());
  ProcResult rev = c->Etcdctl({"get", "/history", "-w", "json"});
  int64_t now = ParseJson(rev.out)["header"]["revision"];
  ASSERT_TRUE(c->Etcdctl({"compact", std::to_string(now - 2), "--physical"}).ok());
  chk = Lifeboat({"--endpoints", c->endpoints(), "check", "-w", "json"});
  EXPECT_EQ(chk.exit_code, 0) << chk.out << chk.err;
  const auto checked = ParseJson(chk.out);  // a named value: a temporary's member would dangle in the loop
  ASSERT_EQ(checked["members"].size(), 3u) << chk.out;
  for (const auto& m : checked["members"]) EXPECT_EQ(m["compact_revision"], now - 2) << m.dump();

  ProcResult st = Lifeboat({"--endpoints", c->endpoints(), "status", "-w", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  auto j = ParseJson(st.out);
  ASSERT_EQ(j["members"].size(), 3u);
  int leaders = 0;
  for (const auto& m : j["members"]) {
    leaders += m["is_leader"].get<bool>() ? 1 : 0;
    EXPECT_EQ(m["hashkv"], j["members"][0]["hashkv"]);
    EXPECT_EQ(m["revision"], j["members"][0]["revision"]);
    EXPECT_EQ(m["version"], ResolvedEtcdVersion(""));
    EXPECT_GE(m["keys"].get<int64_t>(), 500);
  }
  EXPECT_EQ(leaders, 1);

  // Only one endpoint given: status shows one row, --cluster shows all three (like etcdctl).
  st = Lifeboat({"--endpoints", c->endpoint("m1"), "status", "-w", "json", "--no-hash"});
  EXPECT_EQ(ParseJson(st.out)["members"].size(), 1u);
  st = Lifeboat({"--endpoints", c->endpoint("m1"), "status", "--cluster", "-w", "json"});
  EXPECT_EQ(ParseJson(st.out)["members"].size(), 3u);
}

TEST(CheckTest, TrapOneMemberRestoredIsDivergent) {
  std::string dir = MakeTempDir("lb-trap-");
  std::string snap = MakeSnapshot(dir);
  ASSERT_FALSE(snap.empty());
  EtcdCluster::Options trap;
  trap.restore_one = snap;
  auto c = EtcdCluster::Start(trap);
  ASSERT_TRUE(c);
  // What operators see: health and member list are fine.
  ASSERT_EQ(c->Etcdctl({"endpoint", "health"}).exit_code, 0);
  ASSERT_EQ(c->Etcdctl({"member", "list"}).exit_code, 0);

  ProcResult chk = Lifeboat({"--endpoints", c->endpoints(), "check", "-w", "json"});
  EXPECT_EQ(chk.exit_code, 1) << chk.out << chk.err;
  auto j = ParseJson(chk.out);
  ASSERT_FALSE(j.is_discarded()) << chk.out;
  EXPECT_EQ(j["verdict"], "DIVERGENT");
  // m1 holds the restored data; m2 and m3 agree with each other, and are empty: they are the
  // divergent ones, majority or not.
  for (const auto& m : j["members"]) {
    EXPECT_EQ(m["divergent"].get<bool>(), m["name"] != "m1") << m.dump();
  }
  ProcResult table = Lifeboat({"--endpoints", c->endpoints(), "check"});
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.out.find("- m2 is empty (revision 1, 0 keys) while m1 holds the data (revision "), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("- m3 is empty"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("lifeboat restore-cluster"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("DIVERGENT"), std::string::npos) << table.out;

  // New writes replicate to all members; the divergence stays and is still caught.
  ASSERT_TRUE(c->Etcdctl({"put", "/after", "restore"}).ok());
  chk = Lifeboat({"--endpoints", c->endpoints(), "check"});
  EXPECT_EQ(chk.exit_code, 1) << chk.out;

  // The correct procedure, every member restored from the same snapshot, passes.
  EtcdCluster::Options correct;
  correct.restore = snap;
  auto good = EtcdCluster::Start(correct);
  ASSERT_TRUE(good);
  chk = Lifeboat({"--endpoints", good->endpoints(), "check"});
  EXPECT_EQ(chk.exit_code, 0) << chk.out << chk.err;
}

TEST(CheckTest, MembersDown) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string leader = c->Leader();
  std::vector<std::string> followers;
  for (const auto& n : c->names()) {
    if (n != leader) followers.push_back(n);
  }
  ASSERT_TRUE(c->Kill(followers[0]));
  ProcResult chk = Lifeboat({"--endpoints", c->endpoints(), "--dial-timeout", "1s", "check"});
  EXPECT_EQ(chk.exit_code, 1) << chk.out;
  EXPECT_NE(chk.out.find("verdict: incomplete"), std::string::npos) << chk.out;
  EXPECT_NE(chk.out.find(followers[0] + " not checked"), std::string::npos) << chk.out;

  ASSERT_TRUE(c->Kill(followers[1]));
  chk = Lifeboat({"--endpoints", c->endpoints(), "--dial-timeout", "1s", "check"});
  EXPECT_EQ(chk.exit_code, 2) << chk.out;
  EXPECT_NE(chk.out.find("at least 2"), std::string::npos) << chk.out;
}

}  // namespace
}  // namespace lifeboat::harness
