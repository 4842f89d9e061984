// A recovery is never undone and never split. Real agents (process mode) and real etcd members of
// the pass's version; coordinators run as the CLI, one of them on a pseudo-terminal, answering
// the confirmation prompt late. Each refusal is checked to have changed nothing: the same etcd
// pids, no data dir moved aside, the data the last successful recovery restored still served.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/agent_cluster.h"
#include "harness/cluster_data.h"
#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

size_t MovedAside(AgentCluster& c) {
  size_t n = 0;
  for (const auto& m : c.members()) n += AsideDirs(m.data_dir).size();
  return n;
}

std::vector<pid_t> EtcdPids(AgentCluster& c) {
  std::vector<pid_t> p;
  for (size_t i = 0; i < c.members().size(); ++i) p.push_back(c.EtcdPid(i));
  return p;
}

// The object keys of the store's backups, newest first.
std::vector<std::string> Backups(const std::string& cfg) {
  std::vector<std::string> keys;
  for (const auto& b : ParseJson(Lifeboat({"list", "--config", cfg, "-w", "json"}).out)) keys.push_back(b["object_key"]);
  return keys;
}

// Two backups of one cluster: `older` (the "old/" keys only) and `newer` (also "new/").
struct TwoBackups {
  std::string older, newer;
  KV older_data, newer_data;
};
TwoBackups TakeTwoBackups(AgentCluster& c, const std::string& cfg) {
  TwoBackups t;
  Load(c.members()[0].client_url, 40, "old");
  EXPECT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  t.older_data = ReadAll(c.members()[0].client_url);
  Load(c.members()[0].client_url, 40, "new");
  EXPECT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  t.newer_data = ReadAll(c.members()[0].client_url);
  auto keys = Backups(cfg);
  EXPECT_EQ(keys.size(), 2u);
  if (keys.size() == 2) {
    t.newer = keys[0];
    t.older = keys[1];
  }
  EXPECT_NE(t.older_data, t.newer_data);
  return t;
}

// The runbook's rollback, made impossible: operator A plans a restore of an older backup and
// leaves it at the prompt; operator B takes the cluster over with --break-lease and restores the
// newest backup. When A finally types "yes", A must stop before its first step, naming B, and
// B's restore stands.
TEST(Fencing, AStaleCoordinatorAtItsPromptIsRefusedAndTheLaterRestoreStands) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  TwoBackups b = TakeTwoBackups(*c, cfg);

  int terminal = -1;
  const std::string a_journal = c->dir() + "/journal-a.json";
  pid_t a = SpawnOnTerminal({LB_BINARY, "restore-cluster", "--config", cfg, "--backup", b.older, "--journal", a_journal},
                            c->dir() + "/a.out", c->dir() + "/a.err", &terminal);
  ASSERT_GT(a, 0);
  ASSERT_TRUE(PollUntil(seconds(60), [&] { return ReadFile(c->dir() + "/a.err").find("Type 'yes'") != std::string::npos; }))
      << ReadFile(c->dir() + "/a.err");

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes", "--break-lease", "--journal", c->dir() + "/journal-b.json"},
                    {}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("--break-lease: taking over m1 from restore-cluster by "), std::string::npos) << r.err;
  for (const auto& m : c->members()) ASSERT_EQ(ReadAll(m.client_url), b.newer_data) << m.name;
  const auto pids = EtcdPids(*c);
  const size_t aside = MovedAside(*c);

  ASSERT_EQ(write(terminal, "yes\n", 4), 4);
  ProcResult ra = Wait(a, seconds(120));
  close(terminal);
  EXPECT_EQ(ra.exit_code, 1) << ra.out << ra.err;
  EXPECT_NE(ra.err.find("the recovery lease is lost on m1"), std::string::npos) << ra.err;
  EXPECT_NE(ra.err.find("was broken by restore-cluster by"), std::string::npos) << "names who broke it: " << ra.err;
  EXPECT_NE(ra.err.find("nothing more was changed"), std::string::npos) << ra.err;
  EXPECT_NE(ra.err.find("another coordinator owns this cluster now"), std::string::npos) << ra.err;

  // B's restore stands: the same processes, no data dir moved, the newer data on every member.
  EXPECT_EQ(EtcdPids(*c), pids);
  EXPECT_EQ(MovedAside(*c), aside);
  EXPECT_FALSE(fs::exists(a_journal)) << "A wrote no journal: it never started";
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), b.newer_data) << m.name;
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
  // Each agent records B's restore as the last recovery that finished there.
  for (size_t i = 0; i < c->members().size(); ++i) {
    auto st = c->Agent(i)->GetStatus();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->last_recovery.backup, b.newer) << c->members()[i].name;
    EXPECT_EQ(st->last_recovery.operation, "restore-cluster");
  }
}

// A coordinator frozen (SIGSTOP) for longer than its lease, then let go: whatever happened
// meanwhile, it never acts again.
TEST(Fencing, ACoordinatorPausedPastItsLeaseNeverActsAgain) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  TwoBackups b = TakeTwoBackups(*c, cfg);

  // A freezes right after journaling the stop: every member is stopped, nothing moved yet.
  pid_t a = Spawn({LB_BINARY, "restore-cluster", "--config", cfg, "--backup", b.older, "--yes", "--lease-ttl", "3s",
                   "--journal", c->dir() + "/journal-a.json"},
                  c->dir() + "/a.out", c->dir() + "/a.err", {{"LIFEBOAT_TEST_STOP_AFTER", "stopped"}});
  ASSERT_GT(a, 0);
  ASSERT_TRUE(PollUntil(seconds(120), [&] {
    return ReadFile("/proc/" + std::to_string(a) + "/stat").find(") T ") != std::string::npos;
  })) << ReadFile(c->dir() + "/a.err");
  // Its lease lapses (nobody renews it); B restores the newest backup from its own journal.
  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    for (size_t i = 0; i < 3; ++i) {
      auto st = c->Agent(i)->GetStatus();
      if (!st.ok() || !st->lease.empty()) return false;
    }
    return true;
  }, std::chrono::milliseconds(200)));
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes", "--journal", c->dir() + "/journal-b.json"}, {},
                    seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto pids = EtcdPids(*c);
  const size_t aside = MovedAside(*c);

  ASSERT_EQ(kill(a, SIGCONT), 0);
  ProcResult ra = Wait(a, seconds(120));
  EXPECT_EQ(ra.exit_code, 1) << ra.out << ra.err;
  EXPECT_NE(ra.err.find("the recovery lease is lost on"), std::string::npos) << ra.err;
  EXPECT_NE(ra.err.find("nothing more was changed"), std::string::npos) << ra.err;
  EXPECT_EQ(EtcdPids(*c), pids);
  EXPECT_EQ(MovedAside(*c), aside);
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), b.newer_data) << m.name;

  // A's journal is older than B's finished restore: resuming it would undo B's, so it is refused
  // naming B's restore, until forced.
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume", "--journal", c->dir() + "/journal-a.json"}, {},
               seconds(240));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("a later recovery finished on m1: restore-cluster by "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("from " + b.newer), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(EtcdPids(*c), pids);
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume", "--force", "--journal", c->dir() + "/journal-a.json"},
               {}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), b.older_data) << m.name;
}

// Agents for two of three members: a restore would leave m3 serving the old data beside a new
// two-member cluster. Refused before any change, naming m3 and its peer URL; recover-member too.
TEST(Coverage, APartialFleetIsRefusedBeforeAnyChange) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  Load(c->members()[0].client_url, 30, "p");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const auto pids = EtcdPids(*c);
  const std::string two = c->members()[0].agent_address + "," + c->members()[1].agent_address;
  const std::string m3 = "member m3 (peer " + c->members()[2].peer_url + ") has no agent";

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--agents", two, "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("failed at check coverage"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(m3), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--without m3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  r = Lifeboat({"restore-cluster", "--config", cfg, "--agents", two, "--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << "a dry run says so too: " << r.err;
  r = Lifeboat({"recover-member", "m2", "--force", "--config", cfg, "--agents", two});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(m3), std::string::npos) << r.err;
  EXPECT_EQ(EtcdPids(*c), pids);
  EXPECT_EQ(MovedAside(*c), 0u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(c->Agent(i)->GetStatus()->lease.empty()) << "every lease released";
}

// --without leaves a member out only once it is gone: while any of its URLs answers it is
// refused; with its etcd dead, the other two become a cluster of two, and the plan says so.
TEST(Coverage, WithoutLeavesOutOnlyADeadMember) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  Load(c->members()[0].client_url, 30, "w");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const KV data = ReadAll(c->members()[0].client_url);
  const std::string two = c->members()[0].agent_address + "," + c->members()[1].agent_address;
  const auto pids = EtcdPids(*c);

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--agents", two, "--without", "m3", "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("m3 is not gone: " + c->members()[2].client_url + " answers"), std::string::npos) << r.err;
  EXPECT_EQ(EtcdPids(*c), pids);
  r = Lifeboat({"restore-cluster", "--config", cfg, "--without", "m2", "--yes"});
  EXPECT_EQ(r.exit_code, 2) << "m2 has an agent: " << r.err;
  EXPECT_NE(r.err.find("m2 has an agent"), std::string::npos) << r.err;
  r = Lifeboat({"restore-cluster", "--config", cfg, "--agents", two, "--without", "m9", "--yes"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(EtcdPids(*c), pids);
  EXPECT_EQ(MovedAside(*c), 0u);

  // m3's host is lost: its etcd dead, its agent gone with it.
  c->KillEtcd(2);
  c->KillAgent(2);
  r = Lifeboat({"restore-cluster", "--config", cfg, "--agents", two, "--without", "m3", "--yes"}, {}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("without: m3 (peer " + c->members()[2].peer_url + ") is left out of the new cluster"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("restored 2 members"), std::string::npos) << r.out;
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(ReadAll(c->members()[i].client_url), data) << c->members()[i].name;
  auto list = harness::Run({EtcdTool("", "etcdctl"), "--endpoints", c->members()[0].client_url, "member", "list"});
  ASSERT_TRUE(list.ok()) << list.err;
  EXPECT_EQ(list.out.find("m3"), std::string::npos) << "m3 is not a member of the new cluster: " << list.out;
  EXPECT_TRUE(AsideDirs(c->members()[2].data_dir).empty()) << "m3's data dir was not touched";
}

}  // namespace
}  // namespace lifeboat::harness
