// The runbook's world, for real: three host boxes, each with systemd as PID 1, Debian's
// etcd.service configured through /etc/default/etcd on the default ports of the host's own
// address, and deploy/lifeboat-agent.service in systemd mode; the test process is the operator's
// workstation (the coordinator namespace on the same bridge). NEEDS ROOT AND NAMESPACES (network,
// PID, mount, UTS, cgroup): every test here starts boxes through scripts/hosts. ctest label `hosts`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "harness/agent_cluster.h"
#include "harness/cluster_data.h"
#include "harness/host_boxes.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr auto kRecovery = seconds(300);

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The name of the member that leads now ("" when none answers).
std::string Leader(const HostBoxes& h) {
  ProcResult r = Run({h.etcdctl(), "--endpoints", h.endpoints(), "endpoint", "status", "-w", "json"});
  auto j = ParseJson(r.out);
  if (!j.is_array()) return "";
  for (size_t i = 0; i < j.size(); ++i) {
    if (j[i]["Status"]["leader"] == j[i]["Status"]["header"]["member_id"]) return h.name(static_cast<int>(i));
  }
  return "";
}

// How often systemd restarted box i's etcd.service by itself (-1 when unknown).
int NRestarts(const HostBoxes& h, int i) {
  std::string v = Trim(h.Exec(i, {"systemctl", "show", "-p", "NRestarts", "--value", "etcd"}).out);
  return v.empty() || v.find_first_not_of("0123456789") != std::string::npos ? -1 : std::stoi(v);
}

// Every box's etcd.service and lifeboat-agent.service are enabled and active.
void ExpectUnitsUp(const HostBoxes& h) {
  for (int i = 0; i < h.size(); ++i) {
    for (const char* u : {"etcd.service", "lifeboat-agent.service"}) {
      EXPECT_EQ(h.UnitEnabled(i, u), "enabled") << h.name(i) << " " << u;
      EXPECT_EQ(h.UnitState(i, u), "active") << h.name(i) << " " << u << "\n" << h.Journal(i, u);
    }
  }
}

// The member settings the agent last gave etcd.service on box i (its EnvironmentFile).
std::string AgentEnvFile(const HostBoxes& h, int i) {
  return h.Exec(i, {"cat", "/run/lifeboat/etcd.service.env"}).out;
}

// The boxes run the repo's own units: both deploy files verify where they are installed, the
// agent serves in systemd mode on each host's address, etcd.service is Debian's reading
// /etc/default/etcd, a box's /tmp and /usr are its own, and teardown leaves no namespace, cgroup
// or /tmp file behind.
TEST(HostsNeedRootNs, BoxesRunTheRepoUnitsAndLeaveNothingBehind) {
  std::string root, ns;
  std::string probe = "/tmp/lb-hosts-probe-" + std::to_string(getpid());
  std::ofstream(probe) << "must survive the boxes' boot";
  {
    auto h = HostBoxes::Start();
    ASSERT_NE(h, nullptr);
    root = h->root();
    ns = h->Var("SW_NS");
    for (int i = 0; i < h->size(); ++i) {
      ProcResult v = h->Exec(i, {"systemd-analyze", "verify", "--man=no", LB_SOURCE_DIR "/deploy/lifeboat-agent.service",
                                 LB_SOURCE_DIR "/deploy/lifeboat.service"});
      EXPECT_TRUE(v.ok() && v.out.empty() && v.err.empty()) << h->name(i) << ": " << v.out << v.err;
      ProcResult frag = h->Sh(i, "readlink -f $(systemctl show -p FragmentPath --value lifeboat-agent.service)");
      EXPECT_EQ(Trim(frag.out), LB_SOURCE_DIR "/deploy/lifeboat-agent.service") << "the repo's unit, not a copy";
      frag = h->Exec(i, {"systemctl", "show", "-p", "FragmentPath", "--value", "etcd.service"});
      EXPECT_EQ(Trim(frag.out), "/lib/systemd/system/etcd.service") << "Debian's unit";
      EXPECT_EQ(Trim(h->Exec(i, {"hostname"}).out), h->name(i));
      auto st = h->Agent(i)->GetStatus();
      ASSERT_TRUE(st.ok()) << st.status().message();
      EXPECT_EQ(st->mode, "systemd");
      EXPECT_TRUE(st->etcd_running);
      EXPECT_EQ(st->client_url, h->client_url(i));
      EXPECT_EQ(st->etcd_version, h->etcd_version());
    }
    ExpectUnitsUp(*h);
    EXPECT_NE(h->ClusterId(0), 0u);
    EXPECT_EQ(h->ClusterId(0), h->ClusterId(2));
    // The boxes' private /tmp and their own /usr layer: what one writes, the machine does not see.
    EXPECT_TRUE(h->Exec(0, {"touch", "/tmp/box-only", "/usr/lib/lifeboat-box-only"}).ok());
    EXPECT_FALSE(fs::exists("/tmp/box-only"));
    EXPECT_FALSE(fs::exists("/usr/lib/lifeboat-box-only"));
  }
  EXPECT_TRUE(fs::exists(probe)) << "a box emptied the machine's /tmp";
  fs::remove(probe);
  ProcResult nsl = harness::Run({"ip", "netns", "list"});
  EXPECT_EQ(nsl.out.find(ns.substr(0, ns.size() - 3)), std::string::npos) << nsl.out;
  ProcResult cg = harness::Run({"sh", "-c", "find /sys/fs/cgroup -maxdepth 4 -name 'lifeboat-hosts-*' | head"});
  EXPECT_EQ(cg.out.find(ns.substr(0, ns.size() - 3)), std::string::npos) << cg.out;
  EXPECT_FALSE(fs::exists(root)) << "removed after a passing test";
}

// The runbook's disaster, replaced: the daemon (deploy/lifeboat.service on h1) takes backups from
// a follower into radosgw; then every host loses etcd (units stopped, h2's data dir deleted) and
// `lifeboat restore-cluster` from the coordinator brings the cluster back from the newest one.
TEST(HostsNeedRootNs, RunbookDisasterRestoreClusterFromRadosgw) {
  auto h = HostBoxes::Start();
  ASSERT_NE(h, nullptr);
  auto box_store = h->StartStore("db-etcd");  // radosgw in the coordinator's namespace
  ASSERT_NE(box_store.server, nullptr);
  S3Server* s3 = box_store.server.get();
  const std::string store = box_store.store_url;
  std::string creds;
  for (const auto& [k, v] : s3->Env()) creds += k + "=" + v + "\n";

  Load(h->client_url(0), 300, "a");
  const KV before = h->KeysInBox(0);
  ASSERT_EQ(before.size(), 300u - 43u);
  const uint64_t old_id = h->ClusterId(0);
  const std::string leader = Leader(*h);
  ASSERT_FALSE(leader.empty());

  // The agents read store credentials from /etc/lifeboat/agent.env; the daemon from /etc/lifeboat/env.
  for (int i = 0; i < h->size(); ++i) {
    ASSERT_TRUE(h->Sh(i, "umask 077 && cat > /etc/lifeboat/agent.env <<'EOF'\n" + creds + "EOF").ok());
    ASSERT_TRUE(h->RestartAgent(i)) << h->Journal(i, "lifeboat-agent.service");
  }
  std::string daemon_yaml = "endpoints: [" + h->endpoints() + "]\nstore: " + store +
                            "\ncluster-name: prod\ntiers:\n  - name: hourly\n    schedule: \"*/3 * * * * *\"\n"
                            "    keep: 3d\n";
  ASSERT_TRUE(h->Sh(0, "cat > /etc/lifeboat/lifeboat.yaml <<'EOF'\n" + daemon_yaml + "EOF\n"
                       "umask 077 && cat > /etc/lifeboat/env <<'EOF'\n" + creds + "EOF").ok());
  ProcResult en = h->Exec(0, {"systemctl", "enable", "--now", LB_SOURCE_DIR "/deploy/lifeboat.service"});
  ASSERT_TRUE(en.ok()) << en.err;
  bool backed_up = PollUntil(seconds(90), [&] {
    auto list = Lifeboat({"list", "--store", store, "-w", "json"}, s3->Env());
    auto j = ParseJson(list.out);
    return list.ok() && j.is_array() && !j.empty();
  }, std::chrono::milliseconds(500));
  ASSERT_TRUE(backed_up) << h->Journal(0, "lifeboat.service", 60);
  EXPECT_EQ(h->UnitState(0, "lifeboat.service"), "active");
  // Taken from a follower: the daemon's journal names the member of every stored backup.
  ProcResult dj = h->Exec(0, {"journalctl", "--no-pager", "-u", "lifeboat.service", "-o", "cat"});
  EXPECT_NE(dj.out.find(", from h"), std::string::npos) << dj.out;
  EXPECT_EQ(dj.out.find(", from " + leader + ")"), std::string::npos) << "leader " << leader << ":\n" << dj.out;

  // The disaster: every host's etcd stopped, h2's data dir gone.
  for (int i = 0; i < h->size(); ++i) ASSERT_TRUE(h->Exec(i, {"systemctl", "stop", "etcd"}).ok());
  ASSERT_TRUE(h->Exec(1, {"rm", "-rf", HostBoxes::BoxDataDir()}).ok());

  std::string cfg = h->WriteConfig(store);
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes", "-w", "json"}, s3->Env(), kRecovery);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << h->Diagnostics();
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["plan"]["phase"], "verified") << r.out;
  // The backup's keys: the test's and the daemon's tick claims taken before it.
  EXPECT_GE(j["plan"]["live_keys"].get<int>(), 257) << r.out;

  // Verified from each host: every key equal to the backup's, read by etcdctl inside the box.
  for (int i = 0; i < h->size(); ++i) EXPECT_EQ(h->KeysInBox(i), before) << h->name(i);
  auto check = Lifeboat({"check", "--config", cfg});
  EXPECT_EQ(check.exit_code, 0) << "one HashKV on every member: " << check.out << check.err;
  const uint64_t new_id = h->ClusterId(0);
  EXPECT_NE(new_id, 0u);
  EXPECT_NE(new_id, old_id) << "a restore makes a new cluster";
  for (int i = 0; i < h->size(); ++i) {
    EXPECT_EQ(h->ClusterId(i), new_id) << h->name(i);
    // The old data kept aside (h2 had none left to keep).
    EXPECT_EQ(AsideDirs(h->data_dir(i)).size(), i == 1 ? 0u : 1u) << h->name(i);
    // The restored dir belongs to etcd's user, as Debian's unit (User=etcd) needs.
    EXPECT_EQ(Trim(h->Exec(i, {"stat", "-c", "%U", HostBoxes::BoxDataDir() + "/member/snap/db"}).out), "etcd");
    std::string env = AgentEnvFile(*h, i);
    EXPECT_NE(env.find("ETCD_INITIAL_CLUSTER_STATE=\"new\""), std::string::npos) << env;
    EXPECT_NE(env.find("ETCD_INITIAL_CLUSTER=\"" + h->Var("INITIAL_CLUSTER") + "\""), std::string::npos) << env;
  }
  ExpectUnitsUp(*h);
  // The daemon goes on: it backs up the restored cluster (its new cluster id) at the next ticks.
  EXPECT_EQ(h->UnitState(0, "lifeboat.service"), "active");
  bool again = PollUntil(seconds(60), [&] {
    ProcResult dj = h->Exec(0, {"journalctl", "--no-pager", "-u", "lifeboat.service", "-o", "cat", "-n", "5"});
    const size_t stored = dj.out.rfind("stored"), error = dj.out.rfind("error");
    return stored != std::string::npos && (error == std::string::npos || stored > error);
  }, seconds(1));
  EXPECT_TRUE(again) << h->Journal(0, "lifeboat.service", 30);
}

// The runbook's single-member failure, replaced: h2's data dir is corrupted, so its etcd.service
// (Restart=on-failure) crash-loops; `recover-member --auto` finds it, stops the unit for good,
// moves the dir aside and brings h2 back as a new member with ETCD_INITIAL_CLUSTER_STATE=existing.
TEST(HostsNeedRootNs, RunbookMemberFailureRecoverMemberAuto) {
  auto h = HostBoxes::Start();
  ASSERT_NE(h, nullptr);
  Load(h->client_url(0), 200, "m");
  const KV before = ReadAll(h->client_url(0));
  const uint64_t id = h->ClusterId(0);
  std::string cfg = h->WriteConfig("file://" + h->root() + "/store");

  ASSERT_TRUE(h->Exec(1, {"systemctl", "stop", "etcd"}).ok());
  // The bbolt meta pages overwritten: etcd refuses the db and exits.
  ASSERT_TRUE(h->Sh(1, "dd if=/dev/urandom of=" + HostBoxes::BoxDataDir() +
                           "/member/snap/db bs=4096 count=2 conv=notrunc status=none").ok());
  ASSERT_TRUE(h->Exec(1, {"systemctl", "start", "--no-block", "etcd"}).ok());
  bool looping = PollUntil(seconds(30), [&] {
    return NRestarts(*h, 1) >= 1;
  }, std::chrono::milliseconds(300));
  ASSERT_TRUE(looping) << h->Journal(1, "etcd.service");

  auto r = Lifeboat({"recover-member", "--auto", "--config", cfg}, {}, kRecovery);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << h->Diagnostics();
  EXPECT_NE(r.err.find("replacing h2"), std::string::npos) << r.err;
  EXPECT_NE(AgentEnvFile(*h, 1).find("ETCD_INITIAL_CLUSTER_STATE=\"existing\""), std::string::npos)
      << AgentEnvFile(*h, 1);
  auto aside = AsideDirs(h->data_dir(1));
  ASSERT_EQ(aside.size(), 1u) << "the corrupted dir, kept";
  // Restart=on-failure did not bring the old etcd back on a half-moved dir: three RestartSec
  // later the member still runs from its new dir, and the corrupted one is untouched aside.
  const int restarts = NRestarts(*h, 1);
  bool steady = !PollUntil(seconds(6), [&] {
    return NRestarts(*h, 1) != restarts ||
           h->UnitState(1, "etcd.service") != "active";
  }, std::chrono::milliseconds(500));
  EXPECT_TRUE(steady) << h->Journal(1, "etcd.service");

  for (int i = 0; i < h->size(); ++i) EXPECT_EQ(h->KeysInBox(i), before) << h->name(i);
  auto check = Lifeboat({"check", "--config", cfg});
  EXPECT_EQ(check.exit_code, 0) << "one HashKV on every member: " << check.out << check.err;
  EXPECT_EQ(h->ClusterId(1), id) << "the same cluster, one member replaced";
  ExpectUnitsUp(*h);
}

// A host's etcd that also listens on 127.0.0.1 (where a local kube-apiserver talks to it) keeps
// that listener through restore-cluster and recover-member: the agent's environment file holds
// the start's cluster settings and leaves every URL /etc/default/etcd gives alone.
TEST(HostsNeedRootNs, EtcdKeepsItsLoopbackListenerThroughRestoreClusterAndRecoverMember) {
  auto h = HostBoxes::Start();
  ASSERT_NE(h, nullptr);
  // The value of lb/k as etcd answers on the box's own 127.0.0.1 ("" when it does not answer).
  auto loopback = [&](int i) {
    ProcResult r = h->Exec(i, {"etcdctl", "--endpoints", "http://127.0.0.1:2379", "--dial-timeout", "2s",
                               "--command-timeout", "5s", "get", "lb/k", "--print-value-only"});
    return r.ok() ? Trim(r.out) : "";
  };
  auto every_loopback = [&](const std::string& want) {
    return PollUntil(seconds(60), [&] {
      for (int i = 0; i < h->size(); ++i) {
        if (loopback(i) != want) return false;
      }
      return true;
    }, std::chrono::milliseconds(500));
  };
  for (int i = 0; i < h->size(); ++i) {
    const std::string urls = h->client_url(i) + ",http://127.0.0.1:2379";
    ProcResult r = h->Sh(i, "sed -i 's|^ETCD_LISTEN_CLIENT_URLS=.*|ETCD_LISTEN_CLIENT_URLS=" + urls +
                                "|' /etc/default/etcd && systemctl restart etcd");
    ASSERT_TRUE(r.ok()) << r.err << h->Journal(i, "etcd.service");
  }
  ASSERT_TRUE(harness::Run({h->etcdctl(), "--endpoints", h->endpoints(), "put", "lb/k", "backed-up"}).ok());
  ASSERT_TRUE(every_loopback("backed-up")) << h->Diagnostics();
  std::string cfg = h->WriteConfig("file://" + h->root() + "/store");
  ProcResult b = Lifeboat({"backup", "--config", cfg});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ASSERT_TRUE(harness::Run({h->etcdctl(), "--endpoints", h->endpoints(), "put", "lb/k", "after the backup"}).ok());

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"}, {}, kRecovery);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << h->Diagnostics();
  EXPECT_TRUE(every_loopback("backed-up")) << "127.0.0.1 after restore-cluster\n" << h->Diagnostics();
  for (int i = 0; i < h->size(); ++i) {
    std::string env = AgentEnvFile(*h, i);
    EXPECT_EQ(env.find("ETCD_LISTEN_CLIENT_URLS"), std::string::npos) << h->name(i) << ": " << env;
    EXPECT_NE(env.find("ETCD_INITIAL_CLUSTER_STATE=\"new\""), std::string::npos) << env;
  }

  auto rm = Lifeboat({"recover-member", "h2", "--force", "--config", cfg}, {}, kRecovery);
  ASSERT_EQ(rm.exit_code, 0) << rm.out << rm.err << h->Diagnostics();
  EXPECT_TRUE(every_loopback("backed-up")) << "127.0.0.1 after recover-member\n" << h->Diagnostics();
  std::string env = AgentEnvFile(*h, 1);
  EXPECT_NE(env.find("ETCD_INITIAL_CLUSTER_STATE=\"existing\""), std::string::npos) << env;
  EXPECT_EQ(env.find("ETCD_LISTEN_CLIENT_URLS"), std::string::npos) << env;
  ExpectUnitsUp(*h);
}

// A start that cannot succeed ends in seconds with etcd's journal quoted, not at the deadline:
// a member restored into another cluster (cluster ID mismatch), and an etcd that exits.
TEST(HostsNeedRootNs, AStartThatCannotSucceedFailsInSeconds) {
  auto h = HostBoxes::Start();
  ASSERT_NE(h, nullptr);
  Load(h->client_url(0), 50, "f");
  // Into h3's staging dir: an agent restores only what it staged.
  const std::string snap = "/var/lib/etcd/default.lifeboat-staging/s.db";
  ASSERT_TRUE(h->Exec(2, {"mkdir", "-p", "/var/lib/etcd/default.lifeboat-staging"}).ok());
  ASSERT_TRUE(h->Exec(2, {"etcdctl", "--endpoints", h->client_url(0), "snapshot", "save", snap}).ok());
  auto a = h->Agent(2);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(HoldLease(*a, "hosts-test").ok());
  ASSERT_TRUE(a->StopEtcd().ok());
  ASSERT_TRUE(a->MoveDataAside().ok());
  agent::RestoreRequest rr;
  rr.snapshot_path = snap;
  rr.initial_cluster = h->Var("INITIAL_CLUSTER");
  rr.initial_cluster_token = "another-cluster";
  auto rest = a->RestoreSnapshot(rr);
  ASSERT_TRUE(rest.ok()) << rest.status().message();

  // h3 now belongs to a cluster h1 and h2 are not in: they refuse its messages.
  agent::StartRequest sr;
  sr.initial_cluster = rr.initial_cluster;
  sr.initial_cluster_token = rr.initial_cluster_token;
  sr.timeout = std::chrono::milliseconds(120000);
  auto t0 = std::chrono::steady_clock::now();
  auto st = a->StartEtcd(sr);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("cluster ID mismatch"), std::string::npos) << st.status().message();
  EXPECT_NE(st.status().message().find("log ends with"), std::string::npos) << st.status().message();
  EXPECT_LT(took, seconds(30)) << "must not wait out the 120 s start timeout";
  std::cerr << "cluster ID mismatch: StartEtcd failed after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms:\n"
            << st.status().message() << "\n";

  // An etcd that exits at once (its db overwritten): the unit restarts it; the start fails.
  ASSERT_TRUE(a->StopEtcd().ok());
  ASSERT_TRUE(h->Sh(2, "dd if=/dev/urandom of=" + HostBoxes::BoxDataDir() +
                           "/member/snap/db bs=4096 count=2 conv=notrunc status=none").ok());
  t0 = std::chrono::steady_clock::now();
  st = a->StartEtcd(sr);
  took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("etcd"), std::string::npos) << st.status().message();
  EXPECT_NE(st.status().message().find("log ends with"), std::string::npos) << st.status().message();
  EXPECT_LT(took, seconds(30)) << st.status().message();
  std::cerr << "exiting etcd: StartEtcd failed after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms:\n"
            << st.status().message() << "\n";
  ASSERT_TRUE(a->StopEtcd().ok());
  EXPECT_EQ(h->UnitState(2, "etcd.service"), "inactive");
}

// Writes ~mb MiB through member 0 in 100 KiB values (a db a rate-limited backup needs seconds for).
void Fill(const HostBoxes& h, int mb) {
  auto c = ClientTo(h.client_url(0));
  ASSERT_NE(c, nullptr);
  const std::string v(100 * 1024, 'x');
  for (int i = 0; i < mb * 10; ++i) ASSERT_TRUE(c->Put("fill/" + std::to_string(i), v).ok());
}

// Partition: the source host cut off the bridge in the middle of a backup. The stream stalls
// (no reset arrives through a link that is down); the stall watchdog ends it; nothing is stored.
// Healed, the next backup succeeds.
TEST(HostsNeedRootNs, PartitionOfTheSourceHostDuringABackupStoresNothing) {
  auto h = HostBoxes::Start();
  ASSERT_NE(h, nullptr);
  Fill(*h, 8);
  const std::string store_dir = h->root() + "/store";
  std::string cfg = h->WriteConfig("file://" + store_dir);
  pid_t b = Spawn({LB_BINARY, "backup", "--config", cfg, "--source", "h2", "--max-rate", "1MB", "--stall-timeout",
                   "5s"},
                  h->root() + "/backup.out", h->root() + "/backup.err");
  ASSERT_GT(b, 0);
  // Cut once the stream is under way: the staging temp file has bytes in it.
  bool streaming = PollUntil(seconds(30), [&] {
    for (const auto& f : FilesUnder(store_dir)) {
      std::error_code ec;
      if (f.find(".tmp-") != std::string::npos && fs::file_size(store_dir + "/" + f, ec) > 1024 * 1024) return true;
    }
    return false;
  }, std::chrono::milliseconds(100));
  EXPECT_TRUE(streaming) << "the backup did not start streaming";
  ASSERT_TRUE(h->Cut(1));
  ProcResult r = Wait(b, seconds(120));
  ASSERT_TRUE(h->Heal(1));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("nothing was stored"), std::string::npos) << r.err;
  std::cerr << "backup with its source cut off:\n" << r.err;
  for (const auto& f : FilesUnder(store_dir)) EXPECT_EQ(f.find(".db"), std::string::npos) << "stored: " << f;
  r = Lifeboat({"backup", "--config", cfg, "--source", "h2"}, {}, seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Partition: the last host cut off while restore-cluster starts the members. Its start fails
// when the call to h3's agent runs out (--start-timeout plus the call's own 10 s); the
// coordinator stops naming h3 and --resume; healed, --resume finishes and verifies the restore.
TEST(HostsNeedRootNs, PartitionDuringRestoreClustersStartThenResumeFinishes) {
  auto h = HostBoxes::Start();
  ASSERT_NE(h, nullptr);
  Load(h->client_url(0), 300, "p");
  const KV before = ReadAll(h->client_url(0));
  std::string cfg = h->WriteConfig("file://" + h->root() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  for (int i = 0; i < h->size(); ++i) ASSERT_TRUE(h->Exec(i, {"systemctl", "stop", "etcd"}).ok());

  pid_t c = Spawn({LB_BINARY, "restore-cluster", "--config", cfg, "--yes", "--start-timeout", "30s"}, h->root() + "/restore.out",
                  h->root() + "/restore.err");
  ASSERT_GT(c, 0);
  // The start step begins with h1: once its unit is started, h3 is cut off.
  bool starting = PollUntil(seconds(120), [&] {
    std::string s = h->UnitState(0, "etcd.service");
    return s == "active" || s == "activating";
  }, std::chrono::milliseconds(50));
  ASSERT_TRUE(starting) << h->Diagnostics();
  ASSERT_TRUE(h->Cut(2));
  ProcResult r = Wait(c, kRecovery);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("h3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  std::cerr << "restore-cluster with h3 cut off at the start step:\n" << r.err;
  ASSERT_TRUE(h->Heal(2));
  // The link is back once h3's agent answers again (the bridge needs a moment after `ip link up`);
  // --resume before that fails at "connect agents", as it would for an operator.
  ASSERT_TRUE(PollUntil(seconds(60), [&] {
    auto a = agent::AgentClient::Connect(h->addr(2) + ":9438", h->token(), seconds(2), h->tls());
    return a.ok() && (*a)->GetStatus().ok();
  }, std::chrono::milliseconds(200))) << h->Diagnostics();

  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume"}, {}, kRecovery);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << h->Diagnostics();
  for (int i = 0; i < h->size(); ++i) {
    EXPECT_EQ(h->KeysInBox(i), before) << h->name(i);
    EXPECT_EQ(AsideDirs(h->data_dir(i)).size(), 1u) << h->name(i);
  }
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
  ExpectUnitsUp(*h);
}

// Partition: the member being recovered cut off right after its data dir was moved aside. The
// coordinator's StartEtcd call to h2's agent gets no answer: "failed at start ... Deadline
// Exceeded". The run could not release h2's recovery lease either, so a rerun is refused naming
// it until it expires (10 min) or is taken over with --break-lease; then it finishes.
TEST(HostsNeedRootNs, PartitionDuringRecoverMemberThenARerunFinishes) {
  auto h = HostBoxes::Start();
  ASSERT_NE(h, nullptr);
  Load(h->client_url(0), 200, "r");
  const KV before = ReadAll(h->client_url(0));
  std::string cfg = h->WriteConfig("file://" + h->root() + "/store");
  ASSERT_TRUE(h->Exec(1, {"systemctl", "stop", "etcd"}).ok());

  pid_t c = Spawn({LB_BINARY, "recover-member", "h2", "--config", cfg, "--timeout", "30s"},
                  h->root() + "/recover.out", h->root() + "/recover.err");
  ASSERT_GT(c, 0);
  bool moved = PollUntil(seconds(120), [&] { return !AsideDirs(h->data_dir(1)).empty(); },
                         std::chrono::milliseconds(20));
  ASSERT_TRUE(moved) << h->Diagnostics();
  ASSERT_TRUE(h->Cut(1));
  ProcResult r = Wait(c, kRecovery);
  ASSERT_TRUE(h->Heal(1));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // The next step renews the lease on every agent first; h2's is cut off, so the recovery stops
  // there (before the fencing, it went on to fail at the start on h2).
  EXPECT_NE(r.err.find("failed at member add: the recovery lease is lost on h2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(h->addr(1)), std::string::npos) << r.err;

  r = Lifeboat({"recover-member", "--auto", "--config", cfg}, {}, kRecovery);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("holds h2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--break-lease"), std::string::npos) << r.err;
  // h2 was removed and not added again: --auto names it from the agent that serves its client
  // URL (the member list has no name for it) and finishes. By timing, --auto may still say to
  // recover it by name, which finishes too.
  r = Lifeboat({"recover-member", "--auto", "--break-lease", "--config", cfg}, {}, kRecovery);
  std::cerr << "recover-member --auto --break-lease after the partition (exit " << r.exit_code << "):\n" << r.err;
  if (r.exit_code != 0) {
    EXPECT_NE(r.err.find("recover it by name"), std::string::npos) << r.err;
    r = Lifeboat({"recover-member", "h2", "--break-lease", "--config", cfg}, {}, kRecovery);
    std::cerr << "recover-member h2 --break-lease:\n" << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << h->Diagnostics();
  ProcResult ml = harness::Run({h->etcdctl(), "--endpoints", h->endpoints(), "member", "list"});
  EXPECT_EQ(ml.out.find("true"), std::string::npos) << "no learner left: " << ml.out;
  EXPECT_EQ(std::count(ml.out.begin(), ml.out.end(), '\n'), 3) << ml.out;
  bool settled = PollUntil(seconds(60), [&] { return Lifeboat({"check", "--config", cfg}).exit_code == 0; },
                           std::chrono::seconds(1));
  EXPECT_TRUE(settled);
  for (int i = 0; i < h->size(); ++i) EXPECT_EQ(h->KeysInBox(i), before) << h->name(i);
  ExpectUnitsUp(*h);
}

// restore-cluster --quarantine under systemd: the quarantine client URL reaches Debian's unit
// through the agent's environment file, so until verified the members serve only on :23790
// (checked with the coordinator killed right after the start); --resume verifies, restarts them
// on :2379 and the member list advertises those again.
TEST(HostsNeedRootNs, RestoreClusterQuarantinedUnderSystemd) {
  auto h = HostBoxes::Start();
  ASSERT_NE(h, nullptr);
  Load(h->client_url(0), 80, "q");
  std::string cfg = h->WriteConfig("file://" + h->root() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const KV before = h->KeysInBox(0);
  Load(h->client_url(0), 20, "later");  // not in the backup
  auto serves = [&](const std::string& url) {
    return harness::Run({h->etcdctl(), "--endpoints", url, "--dial-timeout", "1s", "--command-timeout", "2s",
                         "endpoint", "status"}).ok();
  };
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--quarantine", "--yes"},
                    {{"LIFEBOAT_TEST_CRASH_AFTER", "started"}}, kRecovery);
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.out << r.err << h->Diagnostics();
  for (int i = 0; i < h->size(); ++i) {
    const std::string q = "http://" + h->addr(i) + ":23790";
    EXPECT_FALSE(serves(h->client_url(i))) << h->name(i) << " serves clients before verification";
    EXPECT_TRUE(serves(q)) << h->name(i);
    EXPECT_NE(AgentEnvFile(*h, i).find("ETCD_LISTEN_CLIENT_URLS=\"" + q + "\""), std::string::npos)
        << AgentEnvFile(*h, i);
  }
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume"}, {}, kRecovery);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << h->Diagnostics();
  ProcResult list = harness::Run({h->etcdctl(), "--endpoints", h->client_url(1), "member", "list"});
  for (int i = 0; i < h->size(); ++i) {
    EXPECT_EQ(h->KeysInBox(i), before) << h->name(i);
    EXPECT_FALSE(serves("http://" + h->addr(i) + ":23790")) << h->name(i) << " still serves its quarantine URL";
    EXPECT_NE(list.out.find(h->client_url(i)), std::string::npos) << list.out;
    EXPECT_EQ(AsideDirs(h->data_dir(i)).size(), 1u) << h->name(i);
  }
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
  ExpectUnitsUp(*h);
}

}  // namespace
}  // namespace lifeboat::harness
