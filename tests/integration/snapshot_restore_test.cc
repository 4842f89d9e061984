// lifeboat snapshot status / verify / restore against the real etcd of the pass (3.4.23, 3.5.30,
// 3.6.14, 3.7.1): snapshots of live clusters (leases, deleted keys, compacted history, auth,
// removed members), compared with etcdctl 3.4's / etcdutl 3.5's, 3.6's and 3.7's own status and
// restore run on the spot (WAL byte for byte, .snap byte for byte or, from 3.6, member for member,
// the db bucket by bucket and key by key), then restored 3-member clusters started with the real
// etcd of that version, read back key by key, and restarted under writes.
//
// Restored clusters are started here, not through scripts/etcd-cluster (whose `start
// --restore` runs etcdctl): same flags as the script's launch_member, free loopback ports.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <tuple>

#include "fmt/format.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/store_probe.h"
#include "snapshot/bbolt_reader.h"
#include "snapshot/snap_file.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every bucket -> its entries, read with our reader (small test dbs only).
using Buckets = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;
Buckets ReadDb(const std::string& path) {
  Buckets out;
  auto r = snapshot::BboltReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  struct V : snapshot::BboltVisitor {
    Buckets* out;
    std::string bucket;
    Status BeginBucket(std::string_view n, uint64_t) override {
      bucket.assign(n);
      (*out)[bucket];
      return Status::OK();
    }
    Status Entry(std::string_view k, std::string_view v, bool) override {
      (*out)[bucket].emplace_back(std::string(k), std::string(v));
      return Status::OK();
    }
    Status EndBucket() override { return Status::OK(); }
  } v;
  v.out = &out;
  Status s = (*r)->Walk(v);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// A cluster run by this test with the etcd of `version` (harness::EtcdTool): on data dirs that
// lifeboat restored, or bootstrapped fresh when they are empty.
class RestoredCluster {
 public:
  RestoredCluster(std::string dir, int members, std::string version = "")
      : dir_(std::move(dir)), version_(std::move(version)) {
    auto ports = FreePorts(2 * members);
    for (int k = 1; k <= members; ++k) {
      names_.push_back("m" + std::to_string(k));
      clients_.push_back("http://127.0.0.1:" + std::to_string(ports[2 * k - 2]));
      peers_.push_back("http://127.0.0.1:" + std::to_string(ports[2 * k - 1]));
      initial_cluster_ += (k > 1 ? "," : "") + names_.back() + "=" + peers_.back();
    }
    token_ = "lb-restored-" + std::to_string(getpid());
  }
  ~RestoredCluster() { Stop(); }

  std::string data_dir(size_t i) const { return dir_ + "/" + names_[i] + ".etcd"; }
  std::string endpoints() const {
    std::string s;
    for (const auto& c : clients_) s += (s.empty() ? "" : ",") + c;
    return s;
  }
  size_t size() const { return names_.size(); }

  ProcResult Restore(size_t i, const std::string& snapshot, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"snapshot",       "restore",
                                  snapshot,         "--name",
                                  names_[i],        "--initial-cluster",
                                  initial_cluster_, "--initial-cluster-token",
                                  token_,           "--initial-advertise-peer-urls",
                                  peers_[i],        "--data-dir",
                                  data_dir(i)};
    args.insert(args.end(), extra.begin(), extra.end());
    return Lifeboat(args);
  }

  bool Start() {
    pids_.assign(names_.size(), -1);
    for (size_t i = 0; i < names_.size(); ++i) Launch(i);
    return Healthy(endpoints());
  }

  // Stops one member (SIGTERM) and starts it again on its data dir; true once it is healthy.
  bool Restart(size_t i) {
    if (pids_[i] > 0) {
      kill(pids_[i], SIGTERM);
      Wait(pids_[i], std::chrono::seconds(20));
    }
    Launch(i);
    return Healthy(clients_[i]);
  }

  void Launch(size_t i) {
    {
      pids_[i] = Spawn({EtcdTool(version_, "etcd"),
                             "--name",
                             names_[i],
                             "--data-dir",
                             data_dir(i),
                             "--listen-client-urls",
                             clients_[i],
                             "--advertise-client-urls",
                             clients_[i],
                             "--listen-peer-urls",
                             peers_[i],
                             "--initial-advertise-peer-urls",
                             peers_[i],
                             "--initial-cluster",
                             initial_cluster_,
                             "--initial-cluster-token",
                             token_,
                             "--initial-cluster-state",
                             "new",
                             "--snapshot-count",
                             "10000",
                             "--heartbeat-interval",
                             "50",
                             "--election-timeout",
                             "500",
                             "--logger",
                             "zap",
                             "--log-outputs",
                             "stderr"},
                       dir_ + "/" + names_[i] + ".out", dir_ + "/" + names_[i] + ".log");
    }
  }

  bool Healthy(const std::string& eps) const {
    return PollUntil(
        std::chrono::seconds(60),
        [&] { return Ctl({"--endpoints=" + eps, "--dial-timeout=1s", "--user=" + user_, "endpoint", "health"}).ok(); },
        std::chrono::milliseconds(200));
  }

  void Stop() {
    for (pid_t p : pids_) {
      if (p > 0) kill(p, SIGTERM);
    }
    for (pid_t p : pids_) {
      if (p > 0) Wait(p, std::chrono::seconds(20));
    }
    pids_.clear();
  }

  void set_user(const std::string& u) { user_ = u; }
  // etcdctl of this cluster's version (3.4's when none was given).
  ProcResult Ctl(const std::vector<std::string>& args) const {
    if (version_.empty() || version_ == "3.4") return RunEtcdctl(args);
    std::vector<std::string> argv{EtcdTool(version_, "etcdctl")};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv, {{"ETCDCTL_API", "3"}});
  }
  ProcResult Etcdctl(std::vector<std::string> args) const {
    std::vector<std::string> all{"--endpoints=" + endpoints(), "--dial-timeout=3s"};
    if (!user_.empty()) all.push_back("--user=" + user_);
    all.insert(all.end(), args.begin(), args.end());
    return Ctl(all);
  }
  std::map<std::string, std::string> DumpKeys(const std::string& endpoint) const {
    std::vector<std::string> all{"--endpoints=" + endpoint, "--dial-timeout=3s"};
    if (!user_.empty()) all.push_back("--user=" + user_);
    all.insert(all.end(), {"get", "", "--prefix", "-w", "json", "--consistency=s"});
    ProcResult r = Ctl(all);
    std::map<std::string, std::string> kvs;
    EXPECT_TRUE(r.ok() && ParseEtcdctlGetJson(r.out, &kvs)) << r.err;
    return kvs;
  }
  const std::vector<std::string>& clients() const { return clients_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::string& initial_cluster() const { return initial_cluster_; }
  const std::string& token() const { return token_; }
  const std::vector<std::string>& peers() const { return peers_; }

 private:
  std::string dir_, version_, initial_cluster_, token_, user_;
  std::vector<std::string> names_, clients_, peers_;
  std::vector<pid_t> pids_;
};

// Minor version of the pass: 4 .. 7.
int PassMinor() {
  const std::string v = ResolvedEtcdVersion("");
  return std::stoi(v.substr(2, v.find('.', 2) - 2));
}

class SnapshotRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override { work_ = MakeTempDir("lb-snaprestore-"); }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(work_);
  }

  // A source cluster with history worth restoring: a leased key, updates, a deleted key,
  // a compaction, and a user key named like a member id (etcd 3.4's restore deletes it).
  std::string MakeSnapshot(EtcdCluster& c, std::map<std::string, std::string>* keys) {
    for (int i = 0; i < 50; ++i)
      EXPECT_TRUE(c.Etcdctl({"put", "/k/" + std::to_string(i), "v" + std::to_string(i)}).ok());
    EXPECT_TRUE(c.Etcdctl({"put", "/app/config", "v1"}).ok());
    EXPECT_TRUE(c.Etcdctl({"put", "/app/config", "v2"}).ok());
    EXPECT_TRUE(c.Etcdctl({"put", "/app/gone", "x"}).ok());
    EXPECT_TRUE(c.Etcdctl({"del", "/app/gone"}).ok());
    ProcResult lease = c.Etcdctl({"lease", "grant", "3600"});
    EXPECT_TRUE(lease.ok()) << lease.err;
    std::string id = lease.out.substr(6, lease.out.find(' ', 6) - 6);  // "lease <hex> granted ..."
    EXPECT_TRUE(c.Etcdctl({"put", "/leased", "yes", "--lease=" + id}).ok());
    ProcResult st = c.Etcdctl({"endpoint", "status", "-w", "json"});
    auto sj = ParseJson(st.out);
    const long long rev = sj[0]["Status"]["header"]["revision"];
    EXPECT_TRUE(c.Etcdctl({"compact", std::to_string(rev - 3)}).ok());
    std::string member_hex = fmt::format("{:x}", sj[0]["Status"]["header"]["member_id"].get<uint64_t>());
    EXPECT_TRUE(c.Etcdctl({"put", member_hex, "not a member"}).ok());
    EXPECT_TRUE(c.Etcdctl({"put", "/after/compaction", "z"}).ok());
    *keys = c.DumpKeys();
    WaitForStorageVersion(c);
    std::string file = work_ + "/snap-" + std::to_string(counter_++) + ".db";
    ProcResult save = c.EtcdctlAt(c.endpoint(c.names()[0]), {"snapshot", "save", file});
    EXPECT_TRUE(save.ok()) << save.err;
    return file;
  }

  // etcd 3.6+ writes meta/storageVersion a few seconds after a new cluster starts; a snapshot
  // taken before is a 3.5-layout db. Waited for, so that the snapshot is of the pass's version.
  static void WaitForStorageVersion(const EtcdCluster& c) {
    if (PassMinor() < 6) return;
    const std::string want = fmt::format("3.{}.0", PassMinor());
    EXPECT_TRUE(PollUntil(std::chrono::seconds(30), [&] {
      auto st = c.EtcdctlAt(c.endpoint(c.names()[0]), {"endpoint", "status", "-w", "json"});
      auto j = ParseJson(st.out);
      return st.ok() && j.is_array() && j[0]["Status"].value("storageVersion", "") == want;
    }, std::chrono::milliseconds(200))) << "storageVersion did not reach " << want;
  }

  std::string work_;
  int counter_ = 0;
};


// A .snap as etcd reads it: raft index, term and voters, and each member's raftAttributes in the
// v2 store (keyed by hex id), with the store's current index and event count.
std::string SnapMeaning(const std::string& path) {
  auto f = snapshot::ReadSnapFile(path);
  EXPECT_TRUE(f.ok()) << path << ": " << f.status().ToString();
  if (!f.ok()) return "";
  auto store = ParseJson(f->store_json);
  std::string out = fmt::format("index {} term {} voters", f->index, f->term);
  for (uint64_t v : f->voters) out += fmt::format(" {:x}", v);
  const auto& members = store["Root"]["Children"]["0"]["Children"]["members"]["Children"];
  for (const auto& [hex, node] : members.items()) {
    out += "; " + hex + " " + node["Children"]["raftAttributes"]["Value"].get<std::string>();
  }
  size_t events = 0;
  for (const auto& e : store["WatcherHub"]["EventHistory"]["Queue"]["Events"]) events += !e.is_null();
  return out + fmt::format("; current index {}; {} events", store["CurrentIndex"].get<uint64_t>(), events);
}

// The data dir the tool wrote and ours hold the same three files (WAL, .snap, db), and every file
// but the db is byte-identical (the db is compared bucket by bucket by the callers). From etcd
// 3.6 on, etcdutl writes the .snap's members in Go's map order, one of N! numberings per run:
// that file is compared by what etcd reads from it.
void ExpectSameFilesButDb(const std::string& theirs, const std::string& ours, const std::string& tool,
                          bool snap_in_map_order = false) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(theirs)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), theirs).string());
  }
  ASSERT_EQ(files.size(), 3u);
  for (const auto& f : files) {
    ASSERT_TRUE(fs::exists(ours + "/" + f)) << f;
    if (f.ends_with("/db")) continue;
    if (snap_in_map_order && f.ends_with(".snap")) {
      EXPECT_EQ(SnapMeaning(theirs + "/" + f), SnapMeaning(ours + "/" + f)) << f << " differs from " << tool;
      continue;
    }
    EXPECT_TRUE(ReadAll(theirs + "/" + f) == ReadAll(ours + "/" + f)) << f << " differs from " << tool;
  }
}

// etcdctl 3.4's and etcdutl 3.5's totalKey counts every entry of every bucket; etcdutl 3.6+'s
// counts live keys and adds the storage version: each pass compares with its own tool.
TEST_F(SnapshotRestoreTest, StatusAndVerifyMatchEtcdutlOnARealSnapshot) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::map<std::string, std::string> keys;
  std::string file = MakeSnapshot(*c, &keys);
  ProcResult ours = Lifeboat({"snapshot", "status", file, "-w", "json"});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  ProcResult theirs = RunEtcdutl({"snapshot", "status", file, "-w", "json"});
  ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
  auto o = ParseJson(ours.out), t = ParseJson(theirs.out);
  for (const char* f : {"hash", "revision", "totalKey", "totalSize"}) EXPECT_EQ(o[f], t[f]) << f << ": " << theirs.out;
  if (PassMinor() >= 6) {
    EXPECT_EQ(o["version"], t["version"]) << theirs.out;
    EXPECT_EQ(o["version"], fmt::format("3.{}.0", PassMinor()));
    EXPECT_EQ(o["totalKey"], keys.size()) << "etcdutl 3.6+ counts live keys";
  } else {
    EXPECT_GT(o["totalKey"].get<size_t>(), keys.size()) << "etcdutl 3.5 and etcdctl 3.4 count every bucket entry";
  }
  EXPECT_EQ(o["bucketEntries"].get<size_t>() > keys.size(), true);
  EXPECT_EQ(o["liveKeys"], keys.size());
  // The same count when each key's newest entry goes through the spill files (a 4-slot table).
  ProcResult spilled = Lifeboat({"snapshot", "status", file, "-w", "json"}, {{"LIFEBOAT_KEY_TABLE_SLOTS", "4"}});
  ASSERT_EQ(spilled.exit_code, 0) << spilled.err;
  EXPECT_EQ(ParseJson(spilled.out)["liveKeys"], keys.size());
  EXPECT_EQ(o["members"].size(), 3u);
  EXPECT_FALSE(o["compactedRevision"].is_null());
  EXPECT_EQ(o["leases"], 1);
  ProcResult simple = Lifeboat({"snapshot", "status", file, "-w", "simple"});
  ProcResult esimple = RunEtcdutl({"snapshot", "status", file, "-w", "simple"});
  EXPECT_EQ(simple.out.substr(0, esimple.out.size() - 1), esimple.out.substr(0, esimple.out.size() - 1));
  ProcResult v = Lifeboat({"verify", file});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  // A flipped byte: etcdctl's status does not notice, verify does.
  std::string bytes = ReadAll(file);
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(work_ + "/flipped.db", std::ios::binary) << bytes;
  ProcResult bad = Lifeboat({"verify", work_ + "/flipped.db"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("SHA-256 mismatch"), std::string::npos) << bad.err;
}

TEST_F(SnapshotRestoreTest, RestoreOutputEqualsEtcdctls) {
  // Out of the 3.5 pass: this holds etcdctl 3.4's restore layout (db, WAL, .snap). What etcdutl
  // 3.5 writes (meta/term 1, trimmed members, conf_state in the WAL) is the native restore per
  // target version's own comparison, not this one's.
  if (!ResolvedEtcdVersion("").starts_with("3.4")) GTEST_SKIP() << "etcdctl 3.4's restore layout only";
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::map<std::string, std::string> keys;
  std::string file = MakeSnapshot(*c, &keys);
  struct Case {
    std::string name, cluster, token, advertise;
  };
  const std::vector<Case> cases = {
      {"default", "default=http://localhost:2380", "etcd-cluster", "http://localhost:2380"},
      {"n2", "n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n3=http://10.0.0.3:2380", "tok-3",
       "http://10.0.0.2:2380"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    const std::string theirs = work_ + "/etcdctl-" + k.name, ours = work_ + "/lifeboat-" + k.name;
    std::vector<std::string> flags{"--name",
                                   k.name,
                                   "--initial-cluster",
                                   k.cluster,
                                   "--initial-cluster-token",
                                   k.token,
                                   "--initial-advertise-peer-urls",
                                   k.advertise};
    std::vector<std::string> a{"snapshot", "restore", file, "--data-dir", theirs};
    a.insert(a.end(), flags.begin(), flags.end());
    ProcResult e = RunEtcdctl(a);
    ASSERT_EQ(e.exit_code, 0) << e.err;
    std::vector<std::string> b{"snapshot", "restore", file, "--data-dir", ours};
    b.insert(b.end(), flags.begin(), flags.end());
    ProcResult l = Lifeboat(b);
    ASSERT_EQ(l.exit_code, 0) << l.err;

    ExpectSameFilesButDb(theirs, ours, "etcdctl's");
    // The db: every bucket equal, except that ours holds only the new members (etcdctl 3.4
    // keeps the old ones) and keeps the user key that 3.4's restore tombstones.
    Buckets tb = ReadDb(theirs + "/member/snap/db"), ob = ReadDb(ours + "/member/snap/db");
    for (const auto& [bucket, entries] : tb) {
      if (bucket == "members" || bucket == "members_removed" || bucket == "key") continue;
      EXPECT_EQ(ob[bucket], entries) << "bucket " << bucket;
    }
    const auto& tkey = tb["key"];
    const auto& okey = ob["key"];
    ASSERT_EQ(okey.size() + 1, tkey.size()) << "etcdctl 3.4 adds one tombstone (the member-id key)";
    EXPECT_TRUE(std::equal(okey.begin(), okey.end(), tkey.begin()));
    EXPECT_EQ(ob["members"].size(), k.name == "default" ? 1u : 3u);
    EXPECT_TRUE(ob["members_removed"].empty());
  }
}

TEST_F(SnapshotRestoreTest, ThreeMembersWithAuthStartAndServeEveryKey) {
  EtcdClusterOptions o;
  o.auth = true;
  auto c = EtcdCluster::Start(o);
  ASSERT_TRUE(c);
  std::map<std::string, std::string> keys;
  std::string file = MakeSnapshot(*c, &keys);
  ASSERT_GT(keys.size(), 50u);
  const std::string user = "root:" + c->root_password();
  const std::string src_rev_out = c->Etcdctl({"endpoint", "status", "-w", "json"}).out;
  const long long src_rev = ParseJson(src_rev_out)[0]["Status"]["header"]["revision"];
  c->Stop();

  for (bool bump : {false, true}) {
    SCOPED_TRACE(bump ? "--bump-revision" : "plain");
    const std::string dir = work_ + (bump ? "/bumped" : "/plain");
    fs::create_directories(dir);
    RestoredCluster r(dir, 3);
    r.set_user(user);
    for (size_t i = 0; i < r.size(); ++i) {
      ProcResult p = bump ? r.Restore(i, file, {"--bump-revision", "1000", "--mark-compacted"}) : r.Restore(i, file);
      ASSERT_EQ(p.exit_code, 0) << p.err;
    }
    ASSERT_TRUE(r.Start()) << "etcd did not become healthy on the restored data dirs; logs in " << dir;
    for (const auto& ep : r.clients()) EXPECT_EQ(r.DumpKeys(ep), keys) << ep;
    ProcResult members = r.Etcdctl({"member", "list", "-w", "json"});
    ASSERT_TRUE(members.ok()) << members.err;
    EXPECT_EQ(ParseJson(members.out)["members"].size(), 3u);
    ProcResult chk = Lifeboat({"--endpoints", r.endpoints(), "--user", user, "check"});
    EXPECT_EQ(chk.exit_code, 0) << chk.out << chk.err;
    ProcResult st = r.Etcdctl({"endpoint", "status", "-w", "json"});
    ASSERT_TRUE(st.ok()) << st.err;
    const long long rev = ParseJson(st.out)[0]["Status"]["header"]["revision"];
    if (bump) {
      EXPECT_GE(rev, src_rev + 1000);
    } else {
      EXPECT_EQ(rev, src_rev);
    }
    // Writes work and replicate.
    EXPECT_TRUE(r.Etcdctl({"put", "/new", "after-restore"}).ok());
    r.Stop();
  }
}

// The pass's etcd (3.5.30, 3.6.14, 3.7.1; 3.4 has RestoreOutputEqualsEtcdctls) end to end. The
// source: a cluster of that version with history (updates, a delete, a lease, a compaction,
// removed learners, a key named like a member id). Per member of the new cluster, lifeboat's
// restore (the snapshot's own version, detected) equals that version's etcdutl's: the same
// files, the WAL byte for byte, the .snap byte for byte (3.5) or member for member (3.6+), the db
// bucket by bucket and key by key (its pages differ: etcdutl edits the copied file in place,
// lifeboat writes a compact one). Then the restored cluster runs on that etcd, each member
// restarted twice while a client writes, and every member's HashKV agrees at the same revision;
// `check datascale` passes.
TEST_F(SnapshotRestoreTest, RestoreEqualsEtcdutlsAndSurvivesRestartsUnderWrites) {
  const std::string v = ResolvedEtcdVersion("");
  if (PassMinor() < 5) GTEST_SKIP() << "etcdctl 3.4's restore is RestoreOutputEqualsEtcdctls";
  fs::create_directories(work_ + "/src");
  RestoredCluster src(work_ + "/src", 3, v);
  ASSERT_TRUE(src.Start()) << "etcd " << v << " did not start; logs in " << work_ << "/src";
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(src.Etcdctl({"put", "/k/" + std::to_string(i), "v" + std::to_string(i)}).ok());
  ASSERT_TRUE(src.Etcdctl({"put", "/app/config", "v2"}).ok());
  ASSERT_TRUE(src.Etcdctl({"del", "/k/7"}).ok());
  ProcResult lease = src.Etcdctl({"lease", "grant", "3600"});
  ASSERT_TRUE(lease.ok()) << lease.err;
  ASSERT_TRUE(src.Etcdctl({"put", "/leased", "yes", "--lease=" + lease.out.substr(6, lease.out.find(' ', 6) - 6)}).ok());
  for (int l = 0; l < 2; ++l) {  // removed members: members_removed must come out empty
    // etcd refuses a reconfiguration until every member has been connected for 5 s
    // ("unhealthy cluster"): right after the start, and after the previous removal.
    ProcResult add;
    const std::string peer = "--peer-urls=http://127.0.0.1:" + std::to_string(FreePorts(1)[0]);
    ASSERT_TRUE(PollUntil(std::chrono::seconds(60), [&] {
      add = src.Etcdctl({"member", "add", "gone" + std::to_string(l), "--learner", peer, "-w", "json"});
      return add.ok() || add.err.find("unhealthy cluster") == std::string::npos;
    }, std::chrono::milliseconds(500)));
    ASSERT_TRUE(add.ok()) << add.err;
    ASSERT_TRUE(src.Etcdctl({"member", "remove", fmt::format("{:x}", ParseJson(add.out)["member"]["ID"].get<uint64_t>())}).ok());
  }
  ProcResult st = src.Etcdctl({"endpoint", "status", "-w", "json"});
  auto sj = ParseJson(st.out);
  const long long rev = sj[0]["Status"]["header"]["revision"];
  ASSERT_TRUE(src.Etcdctl({"compact", std::to_string(rev - 5)}).ok());
  ASSERT_TRUE(src.Etcdctl({"put", fmt::format("{:x}", sj[0]["Status"]["header"]["member_id"].get<uint64_t>()), "x"}).ok());
  if (PassMinor() >= 6) {  // a snapshot of this version's layout (see WaitForStorageVersion)
    ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] {
      return ParseJson(src.Etcdctl({"endpoint", "status", "-w", "json"}).out)[0]["Status"].value("storageVersion", "") ==
             fmt::format("3.{}.0", PassMinor());
    }, std::chrono::milliseconds(200)));
  }
  const auto keys = src.DumpKeys(src.clients()[0]);
  const std::string file = work_ + "/snap.db";
  ProcResult save = src.Ctl({"--endpoints=" + src.clients()[1], "snapshot", "save", file});
  ASSERT_TRUE(save.ok()) << save.err;
  src.Stop();

  const std::string dir = work_ + "/ours";
  fs::create_directories(dir);
  RestoredCluster r(dir, 3, v);
  for (size_t i = 0; i < r.size(); ++i) {
    SCOPED_TRACE(r.names()[i]);
    const std::string theirs = work_ + "/etcdutl-" + r.names()[i];
    ProcResult e = RunEtcdutl({"snapshot", "restore", file, "--name", r.names()[i], "--initial-cluster",
                               r.initial_cluster(), "--initial-cluster-token", r.token(),
                               "--initial-advertise-peer-urls", r.peers()[i], "--data-dir", theirs});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    ProcResult l = r.Restore(i, file, {"-w", "json"});
    ASSERT_EQ(l.exit_code, 0) << l.err;
    EXPECT_EQ(ParseJson(l.out)["targetVersion"], fmt::format("3.{}", PassMinor())) << l.out;
    const std::string ours = r.data_dir(i);
    ExpectSameFilesButDb(theirs, ours, "etcdutl " + v + "'s", PassMinor() >= 6);
    Buckets tb = ReadDb(theirs + "/member/snap/db"), ob = ReadDb(ours + "/member/snap/db");
    EXPECT_EQ(ob.size(), tb.size());
    for (const auto& [bucket, entries] : tb) EXPECT_TRUE(ob[bucket] == entries) << "bucket " << bucket << " differs";
    EXPECT_EQ(ob["members"].size(), 3u);
    EXPECT_TRUE(ob["members_removed"].empty());
  }

  ASSERT_TRUE(r.Start()) << "etcd " << v << " did not start on lifeboat's restore; logs in " << dir;
  for (const auto& ep : r.clients()) EXPECT_EQ(r.DumpKeys(ep), keys) << ep;
  // A writer runs (bounded: 600 puts, 2 minutes) while each member is restarted twice.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    for (int i = 0; i < 600 && !stop && std::chrono::steady_clock::now() < deadline; ++i) {
      if (r.Etcdctl({"put", "/w/" + std::to_string(i % 50), std::to_string(i)}).ok()) ++written;
    }
  });
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < r.size(); ++i) EXPECT_TRUE(r.Restart(i)) << r.names()[i] << " round " << round;
  }
  stop = true;
  writer.join();
  EXPECT_GT(written.load(), 0);
  // Every member at the same revision, then the same HashKV there.
  long long head = 0;
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] {
    std::set<long long> revs;
    for (const auto& ep : r.clients()) {
      ProcResult s = r.Ctl({"--endpoints=" + ep, "endpoint", "status", "-w", "json"});
      if (!s.ok()) return false;
      revs.insert(ParseJson(s.out)[0]["Status"]["header"]["revision"].get<long long>());
    }
    head = *revs.begin();
    return revs.size() == 1;
  })) << "members did not converge on one revision";
  std::set<uint64_t> hashes;
  for (const auto& ep : r.clients()) {
    ProcResult h = r.Ctl({"--endpoints=" + ep, "endpoint", "hashkv", "--rev", std::to_string(head), "-w", "json"});
    ASSERT_TRUE(h.ok()) << h.err;
    hashes.insert(ParseJson(h.out)[0]["HashKV"]["hash"].get<uint64_t>());
  }
  EXPECT_EQ(hashes.size(), 1u) << "HashKV differs between members at revision " << head;
  ProcResult ds = r.Etcdctl({"check", "datascale"});
  EXPECT_EQ(ds.exit_code, 0) << ds.err;
  EXPECT_NE(ds.out.find("PASS"), std::string::npos) << ds.out;
  r.Stop();
}

// etcd #20967: an upgrade to 3.6 brought back members the cluster had dropped long ago, because
// 3.6 reads the membership from the v3 store (the `members` bucket) and older etcds left
// members there: etcdctl 3.4's restore kept the old cluster's, 3.5 kept removed ones. Backups of
// both, restored by lifeboat for this pass's etcd (3.6, 3.7), come up with only the new members,
// in the v3 store and the .snap's v2 store alike, also after every member restarted.
TEST_F(SnapshotRestoreTest, OlderBackupsRestoreForThisVersionWithOnlyTheNewMembers) {
  if (PassMinor() < 6) GTEST_SKIP() << "restores for etcd 3.6+: runs in the etcd3.6 and etcd3.7 passes";
  const std::string target = fmt::format("3.{}", PassMinor());
  // 3.4: a cluster started from etcdctl 3.4's restore of another one holds both clusters' members.
  EtcdClusterOptions first;
  first.etcd_version = "3.4.23";
  auto a = EtcdCluster::Start(first);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->Etcdctl({"put", "/from/a", "1"}).ok());
  ASSERT_TRUE(a->EtcdctlAt(a->endpoint("m1"), {"snapshot", "save", work_ + "/a.db"}).ok());
  a->Stop();
  EtcdClusterOptions second = first;
  second.restore = work_ + "/a.db";
  auto b = EtcdCluster::Start(second);
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->Etcdctl({"put", "/from/b", "2"}).ok());
  ASSERT_TRUE(b->EtcdctlAt(b->endpoint("m1"), {"snapshot", "save", work_ + "/v34.db"}).ok());
  const auto keys34 = b->DumpKeys();
  b->Stop();
  // 3.5: a learner added and removed, so members_removed holds it.
  fs::create_directories(work_ + "/src35");
  RestoredCluster c(work_ + "/src35", 1, "3.5.30");
  ASSERT_TRUE(c.Start());
  ASSERT_TRUE(c.Etcdctl({"put", "/from/c", "3"}).ok());
  ProcResult add = c.Etcdctl({"member", "add", "gone", "--learner", "--peer-urls=http://127.0.0.1:1", "-w", "json"});
  ASSERT_TRUE(add.ok()) << add.err;
  ASSERT_TRUE(c.Etcdctl({"member", "remove", fmt::format("{:x}", ParseJson(add.out)["member"]["ID"].get<uint64_t>())}).ok());
  ASSERT_TRUE(c.Ctl({"--endpoints=" + c.clients()[0], "snapshot", "save", work_ + "/v35.db"}).ok());
  const auto keys35 = c.DumpKeys(c.clients()[0]);
  c.Stop();

  const std::vector<std::tuple<std::string, std::map<std::string, std::string>, std::string>> sources = {
      {work_ + "/v34.db", keys34, "members"}, {work_ + "/v35.db", keys35, "removedMembers"}};
  for (const auto& [file, keys, stale] : sources) {
    SCOPED_TRACE(file);
    auto before = ParseJson(Lifeboat({"snapshot", "status", file, "-w", "json"}).out);
    EXPECT_EQ(before[stale].size(), stale == "members" ? 6u : 1u) << "the zombies are in the backup";
    const std::string dir = file + ".restored";
    fs::create_directories(dir);
    RestoredCluster r(dir, 3);
    for (size_t i = 0; i < r.size(); ++i) {
      ProcResult p = r.Restore(i, file, {"--target-version", target});
      ASSERT_EQ(p.exit_code, 0) << p.err;
      auto st = ParseJson(Lifeboat({"snapshot", "status", r.data_dir(i) + "/member/snap/db", "-w", "json"}).out);
      EXPECT_EQ(st["members"].size(), 3u);
      EXPECT_TRUE(st["removedMembers"].empty());
      for (const auto& entry : fs::directory_iterator(r.data_dir(i) + "/member/snap")) {
        if (entry.path().extension() != ".snap") continue;
        const std::string v2 = SnapMeaning(entry.path());
        size_t members = 0;
        for (size_t at = v2.find("peerURLs"); at != std::string::npos; at = v2.find("peerURLs", at + 1)) ++members;
        EXPECT_EQ(members, 3u) << "the v2 store: " << v2;
      }
    }
    ASSERT_TRUE(r.Start()) << "etcd did not start; logs in " << dir;
    for (int round = 0; round < 2; ++round) {
      ProcResult ml = r.Etcdctl({"member", "list", "-w", "json"});
      ASSERT_TRUE(ml.ok()) << ml.err;
      std::set<std::string> names;
      const auto listed = ParseJson(ml.out);
      for (const auto& m : listed["members"]) names.insert(m.value("name", ""));
      EXPECT_EQ(names, (std::set<std::string>{"m1", "m2", "m3"})) << "round " << round << ": " << ml.out;
      EXPECT_EQ(r.DumpKeys(r.clients()[0]), keys);
      for (size_t i = 0; round == 0 && i < r.size(); ++i) EXPECT_TRUE(r.Restart(i)) << r.names()[i];
    }
    r.Stop();
    for (const auto& n : r.names()) {
      const std::string log = ReadAll(dir + "/" + n + ".log");
      EXPECT_EQ(log.find("only in v3store"), std::string::npos) << n << " found a zombie member";
    }
  }
}

TEST_F(SnapshotRestoreTest, BadInputLeavesNoDataDir) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::map<std::string, std::string> keys;
  std::string file = MakeSnapshot(*c, &keys);
  std::string bytes = ReadAll(file);
  bytes[4096 * 3 + 100] ^= 0x40;
  std::ofstream(work_ + "/flipped.db", std::ios::binary) << bytes;
  ProcResult r = Lifeboat({"snapshot", "restore", work_ + "/flipped.db", "--data-dir", work_ + "/out"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("SHA-256 mismatch"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(work_ + "/out"));
  r = Lifeboat({"snapshot", "restore", file, "--data-dir", work_ + "/out", "--name", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(fs::exists(work_ + "/out"));
  fs::create_directories(work_ + "/busy/member");
  r = Lifeboat({"snapshot", "restore", file, "--data-dir", work_ + "/busy"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(fs::is_empty(work_ + "/busy/member"));
}

}  // namespace
}  // namespace lifeboat::harness
