// restore-cluster and recover-member end to end: three `lifeboat agent` processes, each
// supervising a real etcd 3.4 member in process mode, a coordinator run as the CLI, backups in a
// local-folder store and in radosgw. Every assertion reads the real cluster back (etcdctl,
// HashKV through `lifeboat check`) and the real file system (data dirs moved aside, never gone).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "catalog/change_segment.h"
#include "etcd/client.h"
#include "harness/agent_cluster.h"
#include "harness/change_log.h"
#include "harness/cluster_data.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"
#include "ops/backup/changelog.h"
#include "store/store.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;

// Running: exists and is not a zombie (an orphan waits for init to reap it).
bool Alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("State:", 0) == 0) return line.find('Z') == std::string::npos;
  }
  return false;
}

std::string Journal(const AgentCluster& c) { return c.dir() + "/restore-journal.json"; }

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseJson(ss.str());
}

// (a) Every member killed; restore-cluster from radosgw, then again from the local store while
// the cluster runs (so a safety backup is taken first).
// The step lines of a text-mode restore-cluster or recover-member: "  NAME   1.2s  detail" on
// stderr as each step ends. Each step is printed once, and stdout (the outcome) holds none.
std::vector<std::string> StepLines(const std::string& text) {
  static const std::regex line(R"(^  (\S.*?) +\d+\.\ds  )");
  std::vector<std::string> steps;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) steps.push_back(m[1]);
  }
  return steps;
}

void ExpectStepsPrintedOnce(const ProcResult& r, const std::vector<std::string>& expected) {
  EXPECT_EQ(StepLines(r.err), expected) << r.err;
  EXPECT_TRUE(StepLines(r.out).empty()) << "steps repeated on stdout: " << r.out;
  EXPECT_EQ(r.out.find("STEP"), std::string::npos) << r.out;
}

TEST(RestoreCluster, EveryMemberFromTheSameBackupThroughAgents) {
  S3Server* s3 = S3Server::Shared();
  ASSERT_NE(s3, nullptr);
  ASSERT_TRUE(s3->CreateBucket("restore-cluster"));
  AgentClusterOptions ao;
  ao.env = s3->Env();
  ao.stores = {s3->Url("restore-cluster", "team")};
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 300, "a");
  const std::string local = "file://" + c->dir() + "/store";
  const std::string remote = s3->Url("restore-cluster", "team");
  std::string cfg = c->WriteConfig(local);
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  auto b = Lifeboat({"backup", "--config", cfg, "--store", remote}, s3->Env());
  ASSERT_TRUE(b.ok()) << b.err;
  const KV before = ReadAll(c->members()[0].client_url);
  ASSERT_EQ(before.size(), 300u - 43u);

  for (size_t i = 0; i < 3; ++i) c->KillEtcd(i);
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--store", remote, "--yes", "-w", "json"}, s3->Env(),
                    std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["plan"]["phase"], "verified");
  EXPECT_EQ(j["plan"]["safety_backup"], "none: no member answered");
  EXPECT_EQ(j["plan"]["live_keys"], 257);
  for (const auto& s : j["steps"]) {
    if (s["step"] == "fetch") {
      EXPECT_NE(s["detail"].get<std::string>().find("0 checked in place"), std::string::npos) << s;
    }
  }
  std::set<std::string> shas;
  for (const auto& m : j["plan"]["members"]) {
    shas.insert(m["restored_sha256"].get<std::string>());
    // The epoch each agent granted is in the plan: a later recovery can be told from an earlier one.
    EXPECT_GT(m["lease_epoch"].get<uint64_t>(), 0u) << m;
  }
  EXPECT_EQ(shas, std::set<std::string>{j["plan"]["sha256"].get<std::string>()});
  for (const auto& m : c->members()) {
    EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
    EXPECT_EQ(AsideDirs(m.data_dir).size(), 1u) << m.name;  // the old data, kept
  }
  auto check = Lifeboat({"check", "--config", cfg});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // The restored cluster takes writes; then restore it again from the local store while it runs.
  Load(c->members()[1].client_url, 10, "after");
  r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectStepsPrintedOnce(r, {"connect agents", "lease", "find backup", "check disk", "fetch", "check coverage",
                             "check versions", "journal", "safety backup", "stop", "move aside", "restore", "start",
                             "verify", "release lease"});
  EXPECT_NE(r.out.find("restored 3 members from "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("old data dirs kept: "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("safety backup"), std::string::npos) << r.err;
  // A plain backup in a local folder is restored from where it is, checked but not copied.
  EXPECT_NE(r.err.find("3 checked in place"), std::string::npos) << r.err;
  // The safety backup holds the writes made after the first restore; it is in the store.
  bool safety = false;
  for (const auto& f : FilesUnder(c->dir() + "/store")) safety |= f.find("/pre-restore/") != std::string::npos;
  EXPECT_TRUE(safety);
  for (const auto& m : c->members()) {
    EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
    EXPECT_EQ(AsideDirs(m.data_dir).size(), 2u) << m.name;
  }
  // "latest" skipped the safety backup: the restored data is the hourly backup's.
  EXPECT_EQ(ReadAll(c->members()[2].client_url).count("k/0001"), 1u);
}

// A compressed and encrypted backup: every agent decrypts it with its own copy of the key
// (the coordinator never sends keys), and the cluster comes back with every key.
TEST(RestoreCluster, FromACompressedEncryptedBackup) {
  std::string keydir = MakeTempDir("lb-agent-key-");
  std::ofstream(keydir + "/k.key") << std::string(64, '3') << "\n";
  AgentClusterOptions ao;
  ao.agent_yaml = "encryption: {key-file: " + keydir + "/k.key, key-id: k3}\n";
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 80, "e");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store", ao.agent_yaml);
  auto b = Lifeboat({"backup", "--config", cfg, "--compress", "zstd"});
  ASSERT_TRUE(b.ok()) << b.err;
  const KV before = ReadAll(c->members()[0].client_url);
  for (size_t i = 0; i < 3; ++i) c->KillEtcd(i);
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find(".db.zst.enc"), std::string::npos) << r.err;
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
  std::filesystem::remove_all(keydir);
}

// restore-cluster to a point in time: the newest full backup plus the change log up to revision
// M, built once and restored on every member; every member then holds etcd's own history at M.
TEST(RestoreCluster, ToARevisionFromTheChangeLog) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 60, "base");
  const std::string store_url = "file://" + c->dir() + "/store";
  std::string cfg = c->WriteConfig(store_url);
  auto b = Lifeboat({"backup", "--config", cfg, "-w", "json"});
  ASSERT_TRUE(b.ok()) << b.err;
  const int64_t full = ParseJson(b.out)["revision"].get<int64_t>();
  auto store = store::OpenStore(store_url);
  ASSERT_TRUE(store.ok());
  BackgroundChangeLog log(c->members()[1].client_url, **store, full + 1);
  auto w = ClientTo(c->members()[0].client_url);
  ASSERT_NE(w, nullptr);
  int64_t middle = 0, last = 0;
  for (int i = 0; i < 50; ++i) {
    auto put = w->Put("later/" + std::to_string(i % 20), "v" + std::to_string(i));
    ASSERT_TRUE(put.ok());
    last = *put;
    if (i == 25) middle = last;
  }
  ASSERT_TRUE(log.WaitFor(last));
  Status logged = log.Stop();
  ASSERT_TRUE(logged.ok()) << logged.ToString();
  auto hist = harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", c->members()[0].client_url, "get", "", "--prefix",
                            "--rev=" + std::to_string(middle)});
  KV want;
  {
    std::istringstream in(hist.out);
    std::string k, v;
    while (std::getline(in, k) && std::getline(in, v)) want[k] = v;
  }
  ASSERT_EQ(want.count("later/5"), 1u);
  for (size_t i = 0; i < 3; ++i) c->KillEtcd(i);
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--to-revision", std::to_string(middle), "--yes", "-w", "json"},
                    {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("built point-in-time backup"), std::string::npos) << r.err;
  auto j = ParseJson(r.out);
  EXPECT_EQ(j["plan"]["revision"], middle);
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), want) << m.name;
}

// Agents serving mutual TLS: the coordinator with the client certificate recovers a member;
// without one, with one from another CA, or in plain text it is refused before the token counts.
TEST(RecoverMember, ThroughMutualTls) {
  AgentClusterOptions ao;
  ao.mtls = true;
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 30, "tls");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  c->KillEtcd(2);
  const std::string pki = c->pki();
  auto refused = [&](const std::string& name, const std::string& extra) {
    std::string bad = c->dir() + "/" + name + ".yaml";
    std::ofstream(bad) << "endpoints: " << c->endpoints() << "\nagents: " << c->agents()
                       << "\nagent-token-file: " << c->token_file() << "\n" << extra;
    auto r = Lifeboat({"recover-member", "m3", "--config", bad});
    EXPECT_EQ(r.exit_code, 1) << name << ": " << r.err;
    EXPECT_NE(r.err.find("failed at connect agents"), std::string::npos) << name << ": " << r.err;
  };
  refused("plain", "");
  refused("no-client-cert", "agent-cacert: " + pki + "/ca.crt\n");
  refused("wrong-ca-client", "agent-cacert: " + pki + "/ca.crt\nagent-cert: " + pki + "/wrong-client.crt\nagent-key: " +
                                 pki + "/wrong-client.key\n");
  EXPECT_EQ(c->EtcdPid(2), -1) << "nothing was started by a refused coordinator";
  auto r = Lifeboat({"recover-member", "m3", "--config", cfg}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
}

// Bad input: each refusal happens in the preflight and changes nothing.
TEST(RestoreCluster, RefusesBeforeChangingAnything) {
  AgentClusterOptions ao;
  ao.stores = {"file://{dir}/bad-store"};
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 50, "x");
  const std::string store_dir = c->dir() + "/store";
  std::string cfg = c->WriteConfig("file://" + store_dir);
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  std::vector<pid_t> pids;
  for (size_t i = 0; i < 3; ++i) pids.push_back(c->EtcdPid(i));
  auto unchanged = [&](const std::string& what) {
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(c->EtcdPid(i), pids[i]) << what << ": " << c->members()[i].name << " was restarted or stopped";
      EXPECT_TRUE(AsideDirs(c->members()[i].data_dir).empty()) << what;
    }
    EXPECT_FALSE(fs::exists(Journal(*c))) << what;
  };

  // Contradictory point-in-time flags: a usage error, as in `snapshot restore`.
  auto both = Lifeboat({"restore-cluster", "--config", cfg, "--to-revision", "5", "--to-time", "2026-11-24T12:00:00Z",
                        "--yes"});
  EXPECT_EQ(both.exit_code, 2) << both.err;
  EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
  unchanged("both --to-revision and --to-time");

  // A corrupt backup (one byte flipped in a copy of the store): refused when checked (in place:
  // a plain object of a local-folder store), before any stop.
  const std::string bad_dir = c->dir() + "/bad-store";
  fs::copy(store_dir, bad_dir, fs::copy_options::recursive);
  for (const auto& f : FilesUnder(bad_dir)) {
    if (f.size() > 3 && f.substr(f.size() - 3) == ".db") {
      ASSERT_TRUE(FlipByte(bad_dir + "/" + f, 20000));
    }
  }
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--store", "file://" + bad_dir, "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("failed at fetch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is damaged (restore another backup)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  unchanged("corrupt backup");

  // The plan, with nothing changed.
  r = Lifeboat({"restore-cluster", "--config", cfg, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("plan: restore every member"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("nothing changed"), std::string::npos) << r.out;
  unchanged("dry run");

  // Quarantine asked for, but the agents have no quarantine URL: a config error, found up front.
  r = Lifeboat({"restore-cluster", "--config", cfg, "--quarantine", "--yes"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("failed at check quarantine"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("has no member.quarantine-client-url"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  unchanged("quarantine without URLs");

  // Not on a terminal and no --yes.
  r = Lifeboat({"restore-cluster", "--config", cfg});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--yes"), std::string::npos) << r.err;

  // A backup of another cluster: refused, unless allowed.
  r = Lifeboat({"restore-cluster", "--config", cfg, "--cluster-name", "staging", "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("is of cluster 'prod', not 'staging'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-other-cluster"), std::string::npos) << r.err;
  r = Lifeboat({"restore-cluster", "--config", cfg, "--cluster-name", "staging", "--allow-other-cluster", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  unchanged("other cluster");

  // A wrong agent token.
  const std::string wrong = WriteToken(c->dir() + "/wrong.token");
  r = Lifeboat({"restore-cluster", "--config", cfg, "--agent-token-file", c->dir() + "/wrong.token", "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("wrong bearer token"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(wrong), std::string::npos) << r.err;
  unchanged("wrong token");

  // An agent down.
  c->KillAgent(2);
  r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(c->members()[2].agent_address), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(c->EtcdPid(i), pids[i]);
}

// An agent that crashed and came back does not know the etcd its predecessor started. The
// restore must still stop that etcd before its data dir moves, and finish.
TEST(RestoreCluster, AfterAnAgentRestartStopsTheEtcdItDidNotStart) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 60, "a");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  auto b = Lifeboat({"backup", "--config", cfg});
  ASSERT_TRUE(b.ok()) << b.err;
  const KV backed_up = ReadAll(c->members()[0].client_url);
  Load(c->members()[0].client_url, 90, "after");
  c->KillAgent(1);
  const pid_t orphan = c->members()[1].orphan_etcd;
  ASSERT_GT(orphan, 0);
  c->RestartAgent(1);
  if (HasFatalFailure()) return;
  auto st = c->Agent(1)->GetStatus();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_TRUE(st->etcd_running);
  EXPECT_EQ(st->pid, orphan);

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(Alive(orphan)) << "the etcd the killed agent started still runs";
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), backed_up) << m.name;
  EXPECT_EQ(AsideDirs(c->members()[1].data_dir).size(), 1u);
  if (!Alive(orphan)) c->members()[1].orphan_etcd = -1;  // stopped by its agent; else the destructor kills it
}

TEST(RestoreCluster, RefusesWhenADiskIsTooSmall) {
  AgentClusterOptions ao;
  ao.min_free_bytes = 1ull << 60;  // an agent reserve no disk here can leave free
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  pid_t pid = c->EtcdPid(0);
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("disk too small"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("failed at check disk"), std::string::npos) << r.err;
  EXPECT_EQ(c->EtcdPid(0), pid);
  EXPECT_FALSE(fs::exists(Journal(*c)));
}

// (c) The coordinator dies between "move aside" and "start"; --resume finishes. A member that
// then does not come back fails the resume, naming it; once fixed, --resume verifies.
TEST(RestoreCluster, ResumesAfterTheCoordinatorIsKilled) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 120, "r");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const KV before = ReadAll(c->members()[0].client_url);

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"}, {{"LIFEBOAT_TEST_CRASH_AFTER", "moved-aside"}});
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.out << r.err;
  auto j = ReadJson(Journal(*c));
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["phase"], "moved-aside");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(c->EtcdPid(i), -1) << "etcd runs on " << c->members()[i].name;
    EXPECT_FALSE(fs::exists(c->members()[i].data_dir));
    EXPECT_EQ(AsideDirs(c->members()[i].data_dir).size(), 1u);
  }
  // A fresh restore refuses to start over an unfinished one.
  r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;

  // m3 will not start: the resume restores every member, then fails at start naming m3.
  std::ofstream(c->dir() + "/fail-m3") << "\n";
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume"}, {}, std::chrono::seconds(240));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("failed at start"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("m3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refusing to start m3"), std::string::npos) << "the log tail is quoted: " << r.err;
  j = ReadJson(Journal(*c));
  EXPECT_EQ(j["phase"], "restored");

  fs::remove(c->dir() + "/fail-m3");
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume", "-w", "json"}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  j = ReadJson(Journal(*c));
  EXPECT_EQ(j["phase"], "verified");
  for (const auto& m : c->members()) {
    EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
    EXPECT_EQ(AsideDirs(m.data_dir).size(), 1u) << m.name << ": the pre-restore data is kept";
  }
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume"});
  EXPECT_EQ(r.exit_code, 0) << "resuming a finished restore only re-reports it: " << r.err;
}

// Whether anything serves etcd's API on `url` (a 2 s probe).
bool Serves(const std::string& url) {
  return harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", url, "--dial-timeout=1s", "--command-timeout=2s", "endpoint",
                       "status"})
      .ok();
}

// Quarantine: the restored members serve only their quarantine URLs until verified. The
// coordinator is killed right after the start, so the quarantined cluster can be looked at.
TEST(RestoreCluster, QuarantineKeepsClientsOutUntilVerified) {
  AgentClusterOptions ao;
  ao.quarantine = true;
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 80, "q");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const KV before = ReadAll(c->members()[0].client_url);
  Load(c->members()[0].client_url, 20, "later");  // not in the backup
  ASSERT_NE(ReadAll(c->members()[0].client_url), before);

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--quarantine", "--yes"},
                    {{"LIFEBOAT_TEST_CRASH_AFTER", "started"}}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.out << r.err;
  EXPECT_NE(r.err.find("serves clients only on its quarantine URL"), std::string::npos)
      << "the plan says so: " << r.err;
  auto j = ReadJson(Journal(*c));
  EXPECT_EQ(j["phase"], "started");
  EXPECT_TRUE(j["quarantine"].get<bool>());
  for (const auto& m : c->members()) {
    EXPECT_FALSE(Serves(m.client_url)) << m.name << " serves clients before verification";
    EXPECT_EQ(ReadAll(m.quarantine_url), before) << m.name;
  }

  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume", "-w", "json"}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto out = ParseJson(r.out);
  ASSERT_FALSE(out.is_discarded()) << r.out;
  std::vector<std::string> steps;
  for (const auto& s : out["steps"]) steps.push_back(s["step"]);
  EXPECT_EQ(steps, (std::vector<std::string>{"connect agents", "check later recoveries", "lease", "verify",
                                             "open to clients", "release lease"}));
  j = ReadJson(Journal(*c));
  EXPECT_EQ(j["phase"], "opened");
  for (const auto& m : c->members()) {
    EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
    EXPECT_FALSE(Serves(m.quarantine_url)) << m.name << " still serves its quarantine URL";
    EXPECT_EQ(AsideDirs(m.data_dir).size(), 1u) << m.name;
  }
  // The member list advertises the client URLs again.
  auto list = harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", c->members()[1].client_url, "member", "list"});
  ASSERT_TRUE(list.ok()) << list.err;
  for (const auto& m : c->members()) {
    EXPECT_NE(list.out.find(m.client_url), std::string::npos) << list.out;
    EXPECT_EQ(list.out.find(m.quarantine_url), std::string::npos) << list.out;
  }
  auto check = Lifeboat({"check", "--config", cfg});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // The quarantined restore counts as finished: a new one (without quarantine) is not refused.
  r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"}, {}, std::chrono::seconds(240));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadAll(c->members()[2].client_url), before);
}

// (b) One member SIGKILLed and its data dir wiped; recover-member brings it back while a client
// keeps writing, and no acknowledged write is lost.
TEST(RecoverMember, KilledAndWipedMemberComesBackWithoutLosingWrites) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 200, "m");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");

  // Refused on a healthy member; --auto finds nothing to do.
  auto r = Lifeboat({"recover-member", "m1", "--config", cfg});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("healthy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  r = Lifeboat({"recover-member", "--auto", "--config", cfg});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing to recover"), std::string::npos) << r.out;

  c->KillEtcd(1);
  fs::remove_all(c->members()[1].data_dir);

  // The writer gives each put 1 s, as a client that retries would: when the killed member led,
  // a put sent before the election is forwarded to it and lost, and with etcd's default the
  // writer would sit out a whole recovery of this small cluster on that one put. The recovery
  // starts once the writer has been acknowledged, so that it runs while writes go on.
  std::atomic<bool> stop{false};
  std::atomic<size_t> acked_count{0};
  std::vector<std::string> acked;
  std::thread writer([&] {
    etcd::ClientOptions wo;
    wo.endpoints = {c->members()[0].client_url};
    wo.command_timeout = std::chrono::milliseconds(1000);
    auto w = etcd::Client::Connect(c->members()[0].client_url, wo);
    for (int i = 0; !stop; ++i) {
      std::string key = "during/" + std::to_string(i);
      if (w.ok() && (*w)->Put(key, "v" + std::to_string(i)).ok()) {
        acked.push_back(key);
        acked_count = acked.size();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       acked_count == 0 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r = Lifeboat({"recover-member", "m2", "--config", cfg, "-w", "json"}, {}, std::chrono::seconds(240));
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  std::vector<std::string> steps;
  for (const auto& s : j["steps"]) steps.push_back(s["step"]);
  EXPECT_EQ(steps, (std::vector<std::string>{"connect agents", "lease", "check coverage", "survey", "check versions",
                                             "member remove", "stop + move aside", "member add", "start", "promote",
                                             "catch up", "release lease"}));
  EXPECT_NE(j["old_id"], j["new_id"]);
  EXPECT_GT(acked.size(), 20u) << "the writer should have kept writing during the recovery";

  // Every acknowledged write, on every member (m2 read locally, serializable), after a settled check.
  auto check = Lifeboat({"check", "--config", cfg});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  for (const auto& m : c->members()) {
    KV kv = ReadAll(m.client_url);
    size_t missing = 0;
    for (const auto& k : acked) missing += kv.count(k) == 0;
    EXPECT_EQ(missing, 0u) << m.name << " lacks acknowledged writes";
    EXPECT_EQ(kv.size(), 200u - 29u + acked.size()) << m.name;
  }
  auto ml = harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", c->endpoints(), "member", "list"});
  EXPECT_EQ(ml.out.find("true"), std::string::npos) << "no learner left: " << ml.out;

  // --auto: m3 killed (data kept): found, replaced, its old data dir moved aside.
  c->KillEtcd(2);
  r = Lifeboat({"recover-member", "--auto", "--config", cfg}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("replacing m3"), std::string::npos) << r.err;
  ExpectStepsPrintedOnce(r, {"connect agents", "lease", "check coverage", "survey", "check versions", "member remove",
                             "stop + move aside", "member add", "start", "promote", "catch up", "release lease"});
  EXPECT_NE(r.out.find("recovered m3: member "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("old data dir kept: " + c->members()[2].data_dir + ".lifeboat-"), std::string::npos) << r.out;
  EXPECT_EQ(AsideDirs(c->members()[2].data_dir).size(), 1u);
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);

  // Two members down: replacing one would leave no quorum. Refused, nothing removed.
  c->KillEtcd(1);
  c->KillEtcd(2);
  r = Lifeboat({"recover-member", "m2", "--config", cfg});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("quorum"), std::string::npos) << r.err;
}

// A recover-member killed after starting the new member leaves a learner: check says so (it serves
// no HashKV: not compared, not "divergent"), and the next recover-member --auto only promotes it.
TEST(RecoverMember, ALearnerLeftByAKilledRecoveryIsPromotedByTheNextOne) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 40, "l");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  auto r = Lifeboat({"recover-member", "m2", "--force", "--config", cfg, "--lease-ttl", "3s"},
                    {{"LIFEBOAT_TEST_CRASH_AFTER", "start"}}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  auto chk = Lifeboat({"check", "--config", cfg});
  EXPECT_EQ(chk.exit_code, 1) << chk.out << chk.err;
  EXPECT_NE(chk.out.find("m2 is a learner (added, not promoted)"), std::string::npos) << chk.out;
  EXPECT_EQ(chk.out.find("DIVERGENT"), std::string::npos) << chk.out;

  r = Lifeboat({"recover-member", "--auto", "--config", cfg, "--break-lease"}, {}, std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("finishing m2: a learner an interrupted recovery added"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("recovered m2: learner "), std::string::npos) << r.out;
  EXPECT_EQ(AsideDirs(c->members()[1].data_dir).size(), 1u) << "the first run's aside dir only";
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
}

}  // namespace
}  // namespace lifeboat::harness
