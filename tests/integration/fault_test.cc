// Faults injected against the real things, each with its outcome asserted: S3 answering
// 503/500, resetting a download, answering slowly, and a coordinator clock 20 minutes off (an
// HTTP proxy in front of radosgw, libfaketime); a file system filling up while an agent stages
// a backup and while it restores one (tmpfs); an etcd member killed during a backup and during
// recover-member. docs/reliability.md lists every row and what the user sees.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/agent_cluster.h"
#include "harness/cluster_data.h"
#include "harness/etcd_cluster.h"
#include "harness/http_fault_proxy.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

class S3FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s3_ = S3Server::Shared();
    ASSERT_TRUE(s3_);
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    bucket_ = "f-";
    for (char ch : name) bucket_.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? static_cast<char>(std::tolower(ch)) : '-');
    bucket_ = bucket_.substr(0, 50);
    ASSERT_TRUE(s3_->CreateBucket(bucket_));
    work_ = MakeTempDir("lb-fault-");
    cluster_ = EtcdCluster::Start();
    ASSERT_TRUE(cluster_);
    ASSERT_TRUE(cluster_->Load(3));
  }
  ProcResult Lb(const std::string& store, std::vector<std::string> args) {
    std::vector<std::string> all = {"--store", store, "--endpoints", cluster_->endpoints()};
    all.insert(all.end(), args.begin(), args.end());
    return Lifeboat(all, s3_->Env(), seconds(240));
  }
  // Objects radosgw holds in the bucket, asked directly (not through a proxy).
  std::vector<std::string> Stored() {
    auto s = s3_->Open(bucket_);
    auto l = s->List("");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    std::vector<std::string> keys;
    if (l.ok()) {
      for (const auto& o : *l) keys.push_back(o.key);
    }
    return keys;
  }

  S3Server* s3_ = nullptr;
  std::string bucket_, work_;
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(S3FaultTest, SlowDownAnswersAreRetriedAndTheBackupIsStored) {
  HttpFaultProxy proxy(*s3_, "status:503:3", work_);
  auto r = Lb(proxy.Url(bucket_), {"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy.faults(), 3) << "the proxy answered 503 three times";
  EXPECT_EQ(Stored().size(), 2u) << "object and manifest";
  auto v = Lb(s3_->Url(bucket_), {"verify", "latest"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST_F(S3FaultTest, PersistentServerErrorsFailCleanlyStoringNothing) {
  HttpFaultProxy proxy(*s3_, "status:500:100000", work_);
  auto r = Lb(proxy.Url(bucket_), {"backup"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("gave up after 5 attempts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not stored"), std::string::npos) << r.err;
  EXPECT_GE(proxy.faults(), 5);
  EXPECT_TRUE(Stored().empty());
  auto uploads = s3_->Open(bucket_)->ListMultipartUploads();
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());
}

TEST_F(S3FaultTest, AManifestThatCannotBeStoredKeepsItsBackupListedIncomplete) {
  // The server refuses every manifest upload (and only those): the snapshot object is already
  // committed, whole and checked, by then. It is kept, the error says so, and list shows it.
  HttpFaultProxy proxy(*s3_, "match:403:100:.manifest.json", work_);
  auto r = Lb(proxy.Url(bucket_), {"backup"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("incomplete: the backup object"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is stored, but its manifest"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("AccessDenied"), std::string::npos) << r.err;
  EXPECT_GE(proxy.faults(), 1);
  const auto stored = Stored();
  ASSERT_EQ(stored.size(), 1u) << "the object, without its manifest";
  EXPECT_TRUE(stored.front().ends_with(".db")) << stored.front();
  auto list = Lb(s3_->Url(bucket_), {"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("INCOMPLETE"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(stored.front()), std::string::npos) << list.out;
  EXPECT_NE(list.err.find("is INCOMPLETE"), std::string::npos) << list.err;
  auto json = ParseJson(Lb(s3_->Url(bucket_), {"list", "-w", "json"}).out);
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["incomplete"], true);
  // No reader takes it for a backup; prune leaves it alone.
  EXPECT_EQ(Lb(s3_->Url(bucket_), {"fetch", "latest", "-o", work_ + "/x.db"}).exit_code, 1);
  auto prune = Lb(s3_->Url(bucket_), {"prune"});
  EXPECT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_EQ(Stored().size(), 1u);
}

TEST_F(S3FaultTest, DownloadsResetMidObjectResumeAndVerify) {
  ASSERT_EQ(Lb(s3_->Url(bucket_), {"backup"}).exit_code, 0);
  auto direct = Lb(s3_->Url(bucket_), {"fetch", "latest", "-o", work_ + "/direct.db"});
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  ASSERT_GT(fs::file_size(work_ + "/direct.db"), 600000u);
  HttpFaultProxy proxy(*s3_, "reset:2:300000", work_);
  auto r = Lb(proxy.Url(bucket_), {"fetch", "latest", "-o", work_ + "/through.db"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy.faults(), 2) << "two downloads were reset mid-object:\n" << proxy.log();
  EXPECT_EQ(ReadFile(work_ + "/through.db"), ReadFile(work_ + "/direct.db"));
}

TEST_F(S3FaultTest, SlowAnswersStillStoreTheBackup) {
  // Both requests of a small backup (object, manifest) held for 1.5 s each.
  HttpFaultProxy proxy(*s3_, "slow:2:1500", work_);
  auto r = Lb(proxy.Url(bucket_), {"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy.faults(), 2);
  EXPECT_EQ(Stored().size(), 2u);
}

TEST_F(S3FaultTest, ACoordinatorClockTwentyMinutesOffIsCorrectedFromTheServer) {
  // radosgw, like AWS, refuses a signature more than 15 minutes off (RequestTimeTooSkewed); the
  // client signs again with the server's time. 10 minutes off is accepted as it is.
  HttpFaultProxy proxy(*s3_, "pass", work_);
  std::vector<std::string> argv = {"faketime", "-f", "+20m", LB_BINARY, "--store", proxy.Url(bucket_),
                                   "--endpoints", cluster_->endpoints(), "backup"};
  auto r = harness::Run(argv, s3_->Env(), seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(proxy.log().find("403"), std::string::npos) << "the skewed request was refused first:\n" << proxy.log();
  EXPECT_NE(proxy.log().find("200"), std::string::npos) << proxy.log();
  EXPECT_EQ(Stored().size(), 2u);
  EXPECT_EQ(Lb(s3_->Url(bucket_), {"verify", "latest"}).exit_code, 0);
}

TEST(DiskFull, StagingOnAFullDiskStagesNothing) {
  S3Server* s3 = S3Server::Shared();
  ASSERT_NE(s3, nullptr);
  ASSERT_TRUE(s3->CreateBucket("disk-full-staging"));
  AgentClusterOptions ao;
  ao.env = s3->Env();
  std::string small = MakeTempDir("lb-staging-tmpfs-");
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m"), 0);
  ao.agent_yaml = "staging-dir: " + small + "\n";
  ao.stores = {s3->Url("disk-full-staging")};
  {
    auto c = AgentCluster::Start(ao);
    ASSERT_NE(c, nullptr);
    Load(c->members()[0].client_url, 400, std::string(2000, 'x'));  // a db of a few MB
    std::string cfg = c->WriteConfig(s3->Url("disk-full-staging"));
    ASSERT_EQ(Lifeboat({"backup", "--config", cfg}, s3->Env()).exit_code, 0);
    auto list = ParseJson(Lifeboat({"list", "--config", cfg, "-w", "json"}, s3->Env()).out);
    ASSERT_EQ(list.size(), 1u);
    // The agent itself, asked to stage a backup larger than its disk: refused, nothing left.
    agent::FetchRequest req{s3->Url("disk-full-staging"), list[0]["object_key"], list[0]["sha256"],
                            list[0]["size"].get<uint64_t>()};
    auto f = c->Agent(0)->FetchBackup(req);
    EXPECT_FALSE(f.ok());
    EXPECT_NE(f.status().message().find("no space left"), std::string::npos) << f.status().ToString();
    EXPECT_TRUE(FilesUnder(small).size() <= 3u) << "only the members' lease files, no partial copy";
    for (const auto& file : FilesUnder(small)) EXPECT_EQ(file.rfind("recovery-lease-", 0), 0u) << file;
    // restore-cluster finds it out before changing anything.
    pid_t pid = c->EtcdPid(0);
    auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"}, s3->Env());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("disk too small"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
    EXPECT_EQ(c->EtcdPid(0), pid);
  }
  umount2(small.c_str(), MNT_DETACH);
}

TEST(DiskFull, ARestoreOntoAFullDiskFailsCleanlyAndResumes) {
  AgentClusterOptions ao;
  ao.data_tmpfs_mb = 600;  // three members' WAL segments (64 MiB each) and room to spare
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 200, "d");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_EQ(Lifeboat({"backup", "--config", cfg}).exit_code, 0);
  const KV before = ReadAll(c->members()[0].client_url);

  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes"}, {{"LIFEBOAT_TEST_CRASH_AFTER", "moved-aside"}});
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  // The disk fills up between the preflight and the restore.
  std::string filler = c->data_root() + "/filler";
  harness::Run({"dd", "if=/dev/zero", "of=" + filler, "bs=1M", "count=1000"});
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume"}, {}, seconds(240));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("failed at restore"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no space left"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  for (const auto& m : c->members()) {
    EXPECT_FALSE(fs::exists(m.data_dir)) << m.name << ": no half-restored data dir";
    EXPECT_EQ(AsideDirs(m.data_dir).size(), 1u) << m.name << ": the old data is kept";
  }
  fs::remove(filler);
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume"}, {}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
}

TEST(MemberFaults, TheSourceMemberKilledMidBackupStoresNothingThenAnotherServes) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(8));
  std::string dir = MakeTempDir("lb-killsrc-");
  std::string store = dir + "/store";
  std::string source;
  for (const auto& n : c->names()) {
    if (n != c->Leader()) source = n;
  }
  pid_t pid = Spawn({LB_BINARY, "--endpoints", c->endpoints(), "--store", "file://" + store, "backup", "--source",
                     source, "--max-rate", "2MB"},
                    dir + "/b.out", dir + "/b.err");
  // Killed once bytes are flowing into the store's temp file.
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] { return !FilesUnder(store).empty(); }));
  ASSERT_TRUE(c->Kill(source));
  auto r = Wait(pid, seconds(120));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("nothing was stored"), std::string::npos) << r.err;
  EXPECT_TRUE(FilesUnder(store).empty()) << "no partial object";
  // The next backup takes another follower (or the leader: one follower is not enough).
  r = Lifeboat({"--endpoints", c->endpoints(), "--store", "file://" + store, "backup", "--source", "any"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FilesUnder(store).size(), 2u);
}

TEST(MemberFaults, AMemberKilledDuringRecoverMemberFailsItThenAReRunFinishes) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 60, "r");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  pid_t pid = Spawn({LB_BINARY, "recover-member", "m3", "--force", "--timeout", "15s", "--config", cfg},
                    c->dir() + "/rm.out", c->dir() + "/rm.err");
  // m1 dies once m3 is out of the member list: two members left, one of them dead, no quorum.
  ASSERT_TRUE(PollUntil(std::chrono::seconds(60), [&] {
    return ReadFile(c->dir() + "/rm.err").find("member remove") != std::string::npos;
  }));
  c->KillEtcd(0);
  auto r = Wait(pid, seconds(120));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("recover-member failed at"), std::string::npos) << r.err;
  // m1 back (its data is intact); the re-run picks up where the cluster is and finishes.
  agent::StartRequest start;
  start.initial_cluster_state = "existing";
  ASSERT_TRUE(c->LeasedAgent(0)->StartEtcd(start).ok());
  c->ReleaseLeases();
  r = Lifeboat({"recover-member", "m3", "--force", "--config", cfg}, {}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Lifeboat({"check", "--config", cfg}).exit_code, 0);
  KV m1 = ReadAll(c->members()[0].client_url);
  EXPECT_EQ(ReadAll(c->members()[2].client_url), m1);
}

}  // namespace
}  // namespace lifeboat::harness

namespace lifeboat::harness {
namespace {

TEST_F(S3FaultTest, TheGatewayKilledMidDownloadWritesNoFileThenAFetchSucceeds) {
  ASSERT_EQ(Lb(s3_->Url(bucket_), {"backup"}).exit_code, 0);
  // The proxy holds every request 3 s: the gateway dies while the fetch waits for its answers.
  HttpFaultProxy proxy(*s3_, "slow:1000:3000", work_);
  pid_t pid = Spawn({LB_BINARY, "--store", proxy.Url(bucket_), "fetch", "latest", "-o", work_ + "/out.db"},
                    work_ + "/fetch.out", work_ + "/fetch.err", s3_->Env());
  // The third request is the object's GET (after the listing and the manifest).
  ASSERT_TRUE(PollUntil(std::chrono::seconds(20), [&] { return proxy.faults() >= 3; }));
  ASSERT_TRUE(s3_->KillGateway());
  auto r = Wait(pid, seconds(180));
  ASSERT_TRUE(s3_->Restart());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("S3 download"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(gave up after 5 attempts)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(work_ + "/out.db")) << "no partial file at the output path";
  for (const auto& f : FilesUnder(work_)) EXPECT_EQ(f.find(".tmp"), std::string::npos) << f;
  r = Lb(s3_->Url(bucket_), {"fetch", "latest", "-o", work_ + "/out.db"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// The first leftover of a half-done restore beside `data_dir` (empty: none).
std::string RestoreTempDir(const std::string& data_dir) {
  const fs::path target(data_dir);
  const std::string prefix = "." + target.filename().string() + ".lifeboat-restore-";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(target.parent_path(), ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) return e.path().string();
  }
  return "";
}

TEST(AgentFaults, AnAgentKilledMidRestoreLeavesNoHalfDataDirThenResumeFinishes) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  {
    // A db of ~60 MB: the restore writes long enough for the test to see its temp dir.
    auto client = ClientTo(c->members()[0].client_url);
    ASSERT_NE(client, nullptr);
    const std::string big(1 << 20, 'b');
    for (int i = 0; i < 60; ++i) ASSERT_TRUE(client->Put("big/" + std::to_string(i), big).ok());
  }
  Load(c->members()[0].client_url, 30, "a");
  std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  ASSERT_EQ(Lifeboat({"backup", "--config", cfg}).exit_code, 0);
  const KV before = ReadAll(c->members()[0].client_url);
  const std::string data_dir = c->members()[0].data_dir;

  pid_t pid = Spawn({LB_BINARY, "restore-cluster", "--config", cfg, "--yes"}, c->dir() + "/rc.out",
                    c->dir() + "/rc.err");
  std::string half;
  ASSERT_TRUE(PollUntil(
      seconds(180), [&] { return !(half = RestoreTempDir(data_dir)).empty(); }, std::chrono::milliseconds(2)))
      << ReadFile(c->dir() + "/rc.err");
  c->KillAgent(0);
  auto r = Wait(pid, seconds(240));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(data_dir)) << "no half-restored data dir in place";
  EXPECT_EQ(AsideDirs(data_dir).size(), 1u) << "the old data is kept aside";
  EXPECT_TRUE(fs::exists(half)) << "the killed agent's temp dir stays until an agent starts";

  c->RestartAgent(0);
  EXPECT_FALSE(fs::exists(half)) << "the restarted agent sweeps its predecessor's temp dir";
  r = Lifeboat({"restore-cluster", "--config", cfg, "--resume"}, {}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& m : c->members()) {
    EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
    EXPECT_EQ(AsideDirs(m.data_dir).size(), 1u) << m.name;
  }
}

TEST(AgentFaults, AnAgentKilledMidFetchStagesNothingThenAFetchSucceeds) {
  S3Server* s3 = S3Server::Shared();
  ASSERT_NE(s3, nullptr);
  ASSERT_TRUE(s3->CreateBucket("agent-killed-mid-fetch"));
  // Every request through the proxy is held 5 s: the agent dies with its temp file open, waiting
  // for the object. The agents may fetch through it (their stores).
  const std::string proxy_dir = MakeTempDir("lb-fault-proxy-");
  HttpFaultProxy proxy(*s3, "slow:10:5000", proxy_dir);
  AgentClusterOptions ao;
  ao.env = s3->Env();
  ao.stores = {proxy.Url("agent-killed-mid-fetch"), s3->Url("agent-killed-mid-fetch")};
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 100, "f");
  std::string cfg = c->WriteConfig(s3->Url("agent-killed-mid-fetch"));
  ASSERT_EQ(Lifeboat({"backup", "--config", cfg}, s3->Env()).exit_code, 0);
  auto list = ParseJson(Lifeboat({"list", "--config", cfg, "-w", "json"}, s3->Env()).out);
  ASSERT_EQ(list.size(), 1u);
  const std::string staging = c->members()[0].data_dir + ".lifeboat-staging";
  auto temp_files = [&] {
    std::vector<std::string> t;
    for (const auto& f : FilesUnder(staging)) {
      if (f.find(".tmp-") != std::string::npos) t.push_back(f);
    }
    return t;
  };

  agent::FetchRequest req{proxy.Url("agent-killed-mid-fetch"), list[0]["object_key"], list[0]["sha256"],
                          list[0]["size"].get<uint64_t>()};
  Result<agent::FetchResponse> killed = Status::Unavailable("not called");
  std::thread call([&] { killed = c->Agent(0)->FetchBackup(req); });
  const bool caught = PollUntil(seconds(60), [&] { return !temp_files().empty(); }, std::chrono::milliseconds(5));
  c->KillAgent(0);
  call.join();
  ASSERT_TRUE(caught) << "the agent never opened its temp file";
  EXPECT_FALSE(killed.ok());
  EXPECT_EQ(temp_files().size(), 1u) << "the dead agent's temp file, until an agent starts";
  EXPECT_FALSE(fs::exists(staging + "/" + req.sha256 + ".db")) << "nothing staged under the final name";

  c->RestartAgent(0);
  EXPECT_TRUE(temp_files().empty()) << "swept by the restarted agent";
  req.store_url = s3->Url("agent-killed-mid-fetch");
  auto again = c->Agent(0)->FetchBackup(req);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->sha256, req.sha256);
  EXPECT_FALSE(again->cached);
  EXPECT_TRUE(fs::exists(staging + "/" + req.sha256 + ".db"));
}

TEST(StoreDamage, ATruncatedManifestIsRefusedNamingIt) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  Load(c->members()[0].client_url, 30, "t");
  std::string store = c->dir() + "/store";
  std::string cfg = c->WriteConfig("file://" + store);
  ASSERT_EQ(Lifeboat({"backup", "--config", cfg}).exit_code, 0);
  std::string manifest;
  for (const auto& f : FilesUnder(store)) {
    if (f.ends_with(".manifest.json")) manifest = store + "/" + f;
  }
  ASSERT_FALSE(manifest.empty());
  std::string text = ReadFile(manifest);
  std::ofstream(manifest, std::ios::trunc) << text.substr(0, text.size() / 2);
  std::string key = manifest.substr(store.size() + 1, manifest.size() - store.size() - 1 - std::string(".manifest.json").size()) + ".db";

  auto v = Lifeboat({"verify", key, "--config", cfg});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  EXPECT_NE(v.err.find("manifest"), std::string::npos) << v.err;
  pid_t pid = c->EtcdPid(0);
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--yes", "--backup", key});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("manifest"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(c->EtcdPid(0), pid);
  EXPECT_EQ(AsideDirs(c->members()[0].data_dir).size(), 0u);
}

}  // namespace
}  // namespace lifeboat::harness
