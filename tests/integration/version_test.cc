// Clusters of different etcd versions side by side: the upgrade path operators take (a 3.4
// cluster backed up and restored into a 3.5 one), the guard that refuses a restore into a fleet
// of mixed versions or into an etcd older than the backup's cluster version, and etcd's upgrade
// rules for a member that joins a running cluster (3.5.26 or later before 3.6; no downgrade
// below the cluster's version). The versions are named explicitly, so each test runs in one
// pass: the default one, or the etcd3.6 pass for those that need 3.6.
#include <gtest/gtest.h>

#include <filesystem>

#include "harness/agent_cluster.h"
#include "harness/cluster_data.h"
#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;

constexpr char k35[] = "3.5.30";

bool Fetched() { return fs::exists(EtcdTool(k35, "etcd")); }

#define SKIP_UNLESS_DEFAULT_PASS()                                                              \
  if (!PassEtcdVersion().empty()) GTEST_SKIP() << "names its versions itself: runs in the default pass"; \
  ASSERT_TRUE(Fetched()) << EtcdTool(k35, "etcd") << " missing: run scripts/fetch-etcd"

// Each member's server version as `lifeboat status -w json` reports it.
std::map<std::string, std::string> Versions(const std::string& cfg) {
  auto r = Lifeboat({"status", "--config", cfg, "--no-hash", "-w", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::map<std::string, std::string> out;
  auto j = ParseJson(r.out);
  for (const auto& m : j["members"]) out[m["name"].get<std::string>()] = m["version"].get<std::string>();
  return out;
}

TEST(VersionMatrix, A34BackupRestoresIntoA35ClusterAndNotBack) {
  SKIP_UNLESS_DEFAULT_PASS();
  // Both fleets may fetch from both stores: the 3.4 cluster's and the 3.5 cluster's.
  const std::string stores = MakeTempDir("lb-version-stores-");
  const std::string store = "file://" + stores + "/34", store35 = "file://" + stores + "/35";
  AgentClusterOptions o34;
  o34.etcd_version = "3.4.23";
  o34.stores = {store, store35};
  auto old = AgentCluster::Start(o34);
  ASSERT_NE(old, nullptr);
  AgentClusterOptions o35;
  o35.etcd_version = k35;
  o35.stores = {store, store35};
  auto neu = AgentCluster::Start(o35);
  ASSERT_NE(neu, nullptr);
  const std::string cfg_old = old->WriteConfig(store);
  const std::string cfg_new = neu->WriteConfig(store);
  EXPECT_EQ(Versions(cfg_old), (std::map<std::string, std::string>{{"m1", "3.4.23"}, {"m2", "3.4.23"}, {"m3", "3.4.23"}}));

  Load(old->members()[0].client_url, 200, "v34");
  auto b = Lifeboat({"backup", "--config", cfg_old});
  ASSERT_TRUE(b.ok()) << b.err;
  const KV before = ReadAll(old->members()[0].client_url);

  // The upgrade: the 3.4 backup into the 3.5 cluster's members, which serve it.
  for (size_t i = 0; i < 3; ++i) neu->KillEtcd(i);
  auto r = Lifeboat({"restore-cluster", "--config", cfg_new, "--yes"}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("etcd 3.5.30 on every host; backup's cluster 3.4.0"), std::string::npos) << r.err;
  for (const auto& m : neu->members()) EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
  EXPECT_EQ(Versions(cfg_new), (std::map<std::string, std::string>{{"m1", k35}, {"m2", k35}, {"m3", k35}}));
  auto check = Lifeboat({"check", "--config", cfg_new});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // The restored 3.5 cluster takes writes.
  Load(neu->members()[1].client_url, 10, "after");

  // Back the other way: a backup of the 3.5 cluster (cluster version 3.5.0) is refused by the 3.4
  // fleet before anything is touched, naming every member.
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg_new, "--store", store35}).ok());
  r = Lifeboat({"restore-cluster", "--config", cfg_old, "--store", store35, "--allow-other-cluster", "--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  for (const char* m : {"m1", "m2", "m3"}) {
    EXPECT_NE(r.err.find(std::string(m) + " (agent "), std::string::npos) << m << ": " << r.err;
  }
  EXPECT_NE(r.err.find("runs etcd 3.4.23, older than the backup's cluster version 3.5.0"), std::string::npos) << r.err;
  EXPECT_EQ(ReadAll(old->members()[0].client_url), before);

  // Asked by hand to write that 3.5 backup for etcd 3.4: a usage error in preflight, before any
  // etcd is stopped, naming the version that would work.
  const KV served = ReadAll(neu->members()[0].client_url);
  r = Lifeboat({"restore-cluster", "--config", cfg_new, "--store", store35, "--target-version", "3.4", "--yes"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("would downgrade it, which etcd refuses (its rule: no downgrade below the snapshot's cluster "
                       "version); use --target-version 3.5 or newer"),
            std::string::npos)
      << r.err;
  for (const auto& m : neu->members()) EXPECT_EQ(ReadAll(m.client_url), served) << m.name;
}

TEST(VersionMatrix, MixedFleetIsShownAndRefusedForARestore) {
  SKIP_UNLESS_DEFAULT_PASS();
  AgentClusterOptions o;
  o.etcd_version = k35;
  o.member_etcd_version = {{"m3", "3.4.23"}};
  auto c = AgentCluster::Start(o);
  ASSERT_NE(c, nullptr);
  const std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  EXPECT_EQ(Versions(cfg), (std::map<std::string, std::string>{{"m1", k35}, {"m2", k35}, {"m3", "3.4.23"}}));
  auto st = Lifeboat({"status", "--config", cfg, "--no-hash"});
  EXPECT_NE(st.out.find("STORAGE"), std::string::npos) << st.out;
  auto check = Lifeboat({"check", "--config", cfg});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;  // same data: consistent, with a finding
  EXPECT_NE(check.out.find("members run different etcd versions: m1 3.5.30, m2 3.5.30, m3 3.4.23"), std::string::npos)
      << check.out;

  Load(c->members()[0].client_url, 20, "mixed");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("the agents run different etcd versions (m1 3.5.30, m2 3.5.30, m3 3.4.23)"), std::string::npos)
      << r.err;
}

// A fleet in the middle of an upgrade etcd forbids (3.5.16 beside 3.6) and one where the member
// to replace runs an etcd older than the cluster's version: recover-member refuses both in its
// version check, naming the rule, before it removes anything; restore-cluster refuses the mixed
// fleet naming the rule too.
TEST(VersionMatrix, UpgradeRulesAreEnforcedBeforeAMemberJoins) {
  if (!ResolvedEtcdVersion("").starts_with("3.6.")) GTEST_SKIP() << "names its versions itself: runs in the etcd3.6 pass";
  const std::string v36 = ResolvedEtcdVersion("");
  AgentClusterOptions o;
  o.etcd_version = "3.5.16";
  o.member_etcd_version = {{"m3", v36}};
  auto c = AgentCluster::Start(o);
  ASSERT_NE(c, nullptr);
  const std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  Load(c->members()[0].client_url, 20, "mixed");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const KV before = ReadAll(c->members()[0].client_url);
  auto r = Lifeboat({"recover-member", "m3", "--force", "--config", cfg}, {}, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("etcd's upgrade rule: 3.5.26 or later before 3.6 (m3 " + v36 + " beside m1 3.5.16, m2 3.5.16"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("upgrade m1 3.5.16, m2 3.5.16 to etcd 3.5.26 or later first"), std::string::npos) << r.err;
  r = Lifeboat({"restore-cluster", "--config", cfg, "--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("etcd's upgrade rule: 3.5.26 or later before 3.6"), std::string::npos) << r.err;
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), before) << m.name << " changed";
  c.reset();

  AgentClusterOptions d;
  d.etcd_version = v36;
  d.member_etcd_version = {{"m2", k35}};
  auto e = AgentCluster::Start(d);
  ASSERT_NE(e, nullptr);
  const std::string cfg2 = e->WriteConfig("file://" + e->dir() + "/store");
  r = Lifeboat({"recover-member", "m2", "--force", "--config", cfg2}, {}, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("m2 (agent " + e->members()[1].agent_address + ") runs etcd 3.5.30, older than the cluster's "
                       "version " + v36 + " (etcd's rule: no downgrade below the snapshot's cluster version)"),
            std::string::npos) << r.err;
  auto ml = harness::Run({e->EtcdTool(0, "etcdctl"), "--endpoints", e->endpoints(), "member", "list"});
  EXPECT_NE(ml.out.find("m2"), std::string::npos) << "nothing removed: " << ml.out;
}

}  // namespace
}  // namespace lifeboat::harness
