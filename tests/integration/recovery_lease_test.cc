// One recovery at a time: coordinators exclude each other through the recovery lease the agents
// hold. Real agents, real etcd 3.4 members, the coordinator run as the CLI; a coordinator is
// frozen (SIGSTOP) while it holds the lease so that the other can be seen refused, and every
// refusal is checked to have changed nothing (same etcd pids, no data dir moved).
#include <gtest/gtest.h>
#include <signal.h>

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

// The live lease on member i's agent, as GetStatus reports it (empty owner: none).
host::LeaseInfo LeaseOn(const AgentCluster& c, size_t i) {
  auto st = c.Agent(i)->GetStatus();
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return st.ok() ? st->lease : host::LeaseInfo{};
}

bool HeldBy(const AgentCluster& c, const std::string& operation) {
  for (size_t i = 0; i < 3; ++i) {
    if (LeaseOn(c, i).operation != operation) return false;
  }
  return true;
}

// A lease taken on every agent by a coordinator that is not running: "alice@ws1". Returns the
// epoch each agent granted it.
std::vector<uint64_t> HoldAsAlice(const AgentCluster& c, const std::string& owner, std::chrono::milliseconds ttl) {
  std::vector<uint64_t> epochs;
  for (size_t i = 0; i < 3; ++i) {
    agent::LeaseRequest req;
    req.lease = {owner, "alice@ws1", "restore-cluster", "ws1:/var/lib/lifeboat/restore-journal.json"};
    req.ttl = ttl;
    auto g = c.Agent(i)->AcquireLease(req);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    epochs.push_back(g.ok() ? g->lease.epoch : 0);
  }
  return epochs;
}

struct Pids {
  std::vector<pid_t> etcd;
  bool operator==(const Pids&) const = default;
};
Pids EtcdPids(const AgentCluster& c) {
  Pids p;
  for (size_t i = 0; i < 3; ++i) p.etcd.push_back(c.EtcdPid(i));
  return p;
}

size_t MovedAside(AgentCluster& c) {
  size_t n = 0;
  for (const auto& m : c.members()) n += AsideDirs(m.data_dir).size();
  return n;
}

TEST(RecoveryLease, TwoRestoreClustersStartedTogetherExactlyOneProceeds) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 60, "t");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const KV before = ReadAll(c->members()[0].client_url);

  std::vector<pid_t> pids;
  for (std::string who : {"a", "b"}) {
    pids.push_back(Spawn({LB_BINARY, "restore-cluster", "--config", cfg, "--yes", "--journal",
                          c->dir() + "/journal-" + who + ".json"},
                         c->dir() + "/rc-" + who + ".out", c->dir() + "/rc-" + who + ".err"));
  }
  ProcResult a = Wait(pids[0], seconds(240)), b = Wait(pids[1], seconds(240));
  ASSERT_TRUE((a.exit_code == 0) != (b.exit_code == 0)) << "exactly one proceeds\nA: " << a.err << "\nB: " << b.err;
  const ProcResult& loser = a.exit_code == 0 ? b : a;
  EXPECT_EQ(loser.exit_code, 1) << loser.err;
  EXPECT_NE(loser.err.find("failed at lease: restore-cluster by "), std::string::npos) << loser.err;
  // Refused at m1, the first member in name order; the winner may not hold m2 and m3 yet.
  EXPECT_NE(loser.err.find("holds m1"), std::string::npos) << loser.err;
  EXPECT_NE(loser.err.find("(nothing was changed)"), std::string::npos) << loser.err;
  // The loser wrote no journal: nothing to resume, nothing it could redo.
  std::string loser_journal = c->dir() + (a.exit_code == 0 ? "/journal-b.json" : "/journal-a.json");
  EXPECT_FALSE(fs::exists(loser_journal));
  for (const auto& m : c->members()) {
    EXPECT_EQ(AsideDirs(m.data_dir).size(), 1u) << m.name << ": moved aside once, by the one restore";
    EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
  }
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(LeaseOn(*c, i).empty()) << "released at the end";
}

TEST(RecoveryLease, RestoreClusterAndRecoverMemberExcludeEachOther) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 60, "x");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());

  // A recover-member frozen while it holds the lease: restore-cluster is refused, changing nothing.
  pid_t rm = Spawn({LB_BINARY, "recover-member", "m2", "--force", "--config", cfg}, c->dir() + "/rm.out",
                   c->dir() + "/rm.err");
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] { return HeldBy(*c, "recover-member m2"); }));
  ASSERT_EQ(kill(rm, SIGSTOP), 0);
  Pids m1m3 = EtcdPids(*c);
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes", "--journal", c->dir() + "/j1.json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("recover-member m2 by "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("holds m1, m2, m3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--break-lease"), std::string::npos) << r.err;
  EXPECT_EQ(EtcdPids(*c).etcd[0], m1m3.etcd[0]);
  EXPECT_EQ(EtcdPids(*c).etcd[2], m1m3.etcd[2]);
  EXPECT_TRUE(AsideDirs(c->members()[0].data_dir).empty());
  EXPECT_TRUE(AsideDirs(c->members()[2].data_dir).empty());
  ASSERT_EQ(kill(rm, SIGCONT), 0);
  auto rmr = Wait(rm, seconds(240));
  EXPECT_EQ(rmr.exit_code, 0) << "the frozen recovery finishes: " << rmr.err;
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);

  // The other way round: a frozen restore-cluster refuses recover-member.
  pid_t rc = Spawn({LB_BINARY, "restore-cluster", "--config", cfg, "--yes"}, c->dir() + "/rc.out",
                   c->dir() + "/rc.err");
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] { return HeldBy(*c, "restore-cluster"); }));
  ASSERT_EQ(kill(rc, SIGSTOP), 0);
  size_t aside = MovedAside(*c);
  r = Lifeboat({"recover-member", "m3", "--force", "--config", cfg});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("failed at lease: restore-cluster by "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("holds m1, m2, m3"), std::string::npos) << r.err;
  EXPECT_EQ(MovedAside(*c), aside) << "recover-member moved nothing";
  ASSERT_EQ(kill(rc, SIGCONT), 0);
  auto rcr = Wait(rc, seconds(240));
  EXPECT_EQ(rcr.exit_code, 0) << rcr.err;
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
}

TEST(RecoveryLease, AKilledCoordinatorsLeaseExpiresThenItsResumeFinishes) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 60, "k");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const KV before = ReadAll(c->members()[0].client_url);

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes", "--lease-ttl", "8s"},
                    {{"LIFEBOAT_TEST_CRASH_AFTER", "moved-aside"}});
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.out << r.err;
  ASSERT_TRUE(HeldBy(*c, "restore-cluster")) << "a killed coordinator's lease outlives it";

  // Another coordinator (its own journal) is refused while the lease lives, and changes nothing.
  std::string other = c->dir() + "/other-journal.json";
  r = Lifeboat({"restore-cluster", "--config", cfg, "--yes", "--journal", other});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("holds m1, m2, m3"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(other));
  EXPECT_EQ(MovedAside(*c), 3u);
  // Its dry run says the same until the lease expires, then passes (nobody renews it).
  bool refused_while_live = false;
  ASSERT_TRUE(PollUntil(std::chrono::seconds(40), [&] {
    auto d = Lifeboat({"restore-cluster", "--config", cfg, "--dry-run", "--journal", other});
    refused_while_live |= d.exit_code == 1 && d.err.find("a restore now would be refused") != std::string::npos;
    return d.exit_code == 0;
  }, std::chrono::milliseconds(500)));
  EXPECT_TRUE(refused_while_live);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(LeaseOn(*c, i).empty()) << "expired";

  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume"}, {}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& m : c->members()) {
    EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
    EXPECT_EQ(AsideDirs(m.data_dir).size(), 1u) << m.name;
  }
}

TEST(RecoveryLease, BreakLeaseTakesOverAfterNamingTheHolder) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 40, "b");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const std::vector<uint64_t> alice = HoldAsAlice(*c, "alices-lease", std::chrono::minutes(10));

  // status shows who holds the cluster.
  auto st = Lifeboat({"status", "--config", cfg, "--no-hash"});
  EXPECT_NE(st.out.find("recovery in progress: restore-cluster by alice@ws1 since "), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("holds m1, m2, m3"), std::string::npos) << st.out;

  Pids pids = EtcdPids(*c);
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("restore-cluster by alice@ws1 since "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("journal ws1:/var/lib/lifeboat/restore-journal.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--break-lease"), std::string::npos) << r.err;
  EXPECT_EQ(EtcdPids(*c), pids);
  EXPECT_EQ(MovedAside(*c), 0u);
  // Nor may a lease-less caller change anything meanwhile.
  auto stray = c->Agent(0)->StopEtcd(std::chrono::seconds(5));
  EXPECT_EQ(stray.status().code(), Status::Code::kFailedPrecondition) << stray.status().ToString();
  EXPECT_EQ(EtcdPids(*c), pids);

  r = Lifeboat({"restore-cluster", "--config", cfg, "--yes", "--break-lease"}, {}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("--break-lease: taking over m1 from restore-cluster by alice@ws1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 taken over"), std::string::npos) << r.err;
  for (const auto& m : c->members()) {
    EXPECT_NE(ReadFile(c->dir() + "/agent-" + m.name + ".err").find("recovery lease BROKEN by"), std::string::npos)
        << m.name << "'s agent logs the break";
  }
  // The old holder can no longer act: its lease is gone, although nobody holds the member now.
  auto old = c->Agent(1);
  old->SetLease("alices-lease", alice[1]);
  auto moved = old->MoveDataAside();
  EXPECT_EQ(moved.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(moved.status().message().find("was broken by restore-cluster by "), std::string::npos)
      << moved.status().ToString();
  auto renewed = old->RenewLease("alices-lease", alice[1], std::chrono::minutes(10));
  EXPECT_EQ(renewed.status().code(), Status::Code::kFailedPrecondition) << "a renewal never re-acquires";
  EXPECT_EQ(MovedAside(*c), 3u);
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
}

int Metric(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::atoi(text.c_str() + at + series.size() + 2);
}

TEST(RecoveryLease, TheDaemonSkipsTicksAndChecksWhileARecoveryHoldsTheCluster) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  std::string store = c->dir() + "/store";
  std::string cfg = c->WriteConfig("file://" + store,
                                   "tiers:\n  - name: fast\n    schedule: \"* * * * * *\"\n    keep: 1h\n"
                                   "check:\n  schedule: \"* * * * * *\"\n");
  std::string listen = "127.0.0.1:" + std::to_string(FreePorts(1).at(0));
  pid_t d = Spawn({LB_BINARY, "--config", cfg, "daemon", "--metrics-listen", listen}, c->dir() + "/d.out",
                  c->dir() + "/d.err");
  auto metrics = [&] { return "\n" + harness::Run({"curl", "-sf", "http://" + listen + "/metrics"}).out; };
  auto backups = [&] {
    size_t n = 0;
    for (const auto& f : FilesUnder(store)) n += f.ends_with(".manifest.json");
    return n;
  };
  const std::string verdicts = "lifeboat_checks_total{result=\"verdict\"}";
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] { return backups() >= 1 && Metric(metrics(), verdicts) >= 1; }));
  EXPECT_EQ(Metric(metrics(), "lifeboat_recovery_in_progress"), 0);
  EXPECT_EQ(Metric(metrics(), "lifeboat_cluster_consistent"), 1);

  const std::vector<uint64_t> alice = HoldAsAlice(*c, "alices-lease", std::chrono::minutes(10));
  // Once a tick was skipped no backup starts; a tick already under way may still finish.
  ASSERT_TRUE(PollUntil(std::chrono::seconds(20), [&] {
    return Metric(metrics(), "lifeboat_ticks_total{result=\"skipped_recovery\"}") >= 1;
  }));
  size_t held_at = backups();
  // A check already under way when the lease was taken may still finish; none starts after.
  int checks_held_at = Metric(metrics(), verdicts);
  ASSERT_TRUE(PollUntil(std::chrono::seconds(20), [&] {
    return Metric(metrics(), "lifeboat_ticks_total{result=\"skipped_recovery\"}") >= 4;
  }));
  EXPECT_EQ(backups(), held_at) << "no backup of a cluster under recovery";
  EXPECT_LE(Metric(metrics(), verdicts), checks_held_at + 1) << "no consistency check of a cluster under recovery";
  EXPECT_NE(ReadFile(c->dir() + "/d.err").find("consistency check: skipped, recovery in progress"), std::string::npos);
  EXPECT_EQ(Metric(metrics(), "lifeboat_recovery_in_progress"), 1);
  EXPECT_NE(ReadFile(c->dir() + "/d.err").find("skipped, recovery in progress: restore-cluster by alice@ws1"),
            std::string::npos);

  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(c->Agent(i)->ReleaseLease("alices-lease", alice[i]).ok());
  int checks_released_at = Metric(metrics(), verdicts);
  EXPECT_TRUE(PollUntil(std::chrono::seconds(20), [&] {
    return backups() > held_at && Metric(metrics(), "lifeboat_recovery_in_progress") == 0 &&
           Metric(metrics(), verdicts) > checks_released_at;
  }));
  kill(d, SIGTERM);
  EXPECT_EQ(Wait(d, seconds(30)).exit_code, 0);
}

}  // namespace
}  // namespace lifeboat::harness
