// Point-in-time restore against a real cluster: a full backup, the change log written while the
// cluster keeps changing, then `lifeboat snapshot restore --to-revision M` into a new data dir.
// A real etcd started on it serves exactly what the source cluster held at M, key by key (read
// with etcd's own history, --rev=M). A target older than every backup, beyond the log, or
// across a gap in the log is refused and creates nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "base/timefmt.h"
#include "catalog/change_segment.h"
#include "etcd/client.h"
#include "harness/change_log.h"
#include "harness/cluster_data.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/store_probe.h"
#include "ops/backup/changelog.h"
#include "store/store.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using KV = std::map<std::string, std::string>;

KV Parse(const std::string& out) {
  KV kv;
  std::istringstream in(out);
  std::string k, v;
  while (std::getline(in, k) && std::getline(in, v)) kv[k] = v;
  return kv;
}

int64_t Revision(const std::string& endpoint) {
  etcd::ClientOptions o;
  o.endpoints = {endpoint};
  auto cl = etcd::Client::Connect(endpoint, o);
  if (!cl.ok()) return -1;
  auto st = (*cl)->Status();
  return st.ok() ? st->header.revision : -1;
}

// Starts a real single-member etcd on a restored data dir, reads every key and the revision,
// stops it. Empty result and revision -1 when it does not serve.
// `while_up` runs against its client URL before it stops.
std::pair<KV, int64_t> ServeAndRead(const std::string& data, const std::string& name, const std::string& log_dir,
                                    const std::function<void(const std::string&)>& while_up = nullptr) {
  // Another test process may take a port between FreePorts and etcd's bind: then etcd exits at
  // once, and it is started again on fresh ports.
  for (int attempt = 1;; ++attempt) {
    auto ports = FreePorts(2);
    const std::string cu = "http://127.0.0.1:" + std::to_string(ports[0]);
    const std::string pu = "http://127.0.0.1:" + std::to_string(ports[1]);
    const std::string err = log_dir + "/etcd.err";
    pid_t etcd = Spawn({harness::EtcdTool("", "etcd"), "--name", name, "--data-dir", data, "--listen-client-urls", cu,
                        "--advertise-client-urls", cu, "--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
                        "--initial-cluster", name + "=" + pu},
                       log_dir + "/etcd.out", err);
    if (etcd <= 0) return {{}, -1};
    bool exited = false;
    bool up = PollUntil(std::chrono::seconds(60), [&] {
      exited = waitpid(etcd, nullptr, WNOHANG) == etcd;
      return exited || Revision(cu) > 0;
    }, std::chrono::milliseconds(100));
    up = up && !exited;
    std::ifstream in(err);
    const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (exited && attempt < 3 && log.find("address already in use") != std::string::npos) continue;
    std::pair<KV, int64_t> out{{}, -1};
    if (up) {
      out = {Parse(harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", cu, "get", "", "--prefix"}).out),
             Revision(cu)};
    } else {
      ADD_FAILURE() << "the restored etcd did not serve" << (exited ? " (it exited)" : " in 60 s") << "; its log ends: "
                    << log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
    }
    if (up && while_up) while_up(cu);
    if (!exited) {
      kill(etcd, SIGTERM);
      Wait(etcd, std::chrono::seconds(30));
    }
    return out;
  }
}

TEST(PitrTest, RestoreToARevisionInTheMiddleEqualsEtcdsHistory) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(c->Etcdctl({"put", "k/" + std::to_string(i), "full"}).ok());
  std::string dir = MakeTempDir("lb-pitr-");
  const std::string store_url = "file://" + dir + "/store";
  std::vector<std::string> g = {"--endpoints", c->endpoints(), "--store", store_url, "--cluster-name", "prod"};
  auto lb = [&](std::vector<std::string> args) {
    args.insert(args.end(), g.begin(), g.end());
    return Lifeboat(args);
  };
  auto b = lb({"backup", "-w", "json"});
  ASSERT_TRUE(b.ok()) << b.err;
  const int64_t full = ParseJson(b.out)["revision"].get<int64_t>();

  auto store = store::OpenStore(store_url);
  ASSERT_TRUE(store.ok());
  ops::ChangeLogOptions o = FastChangeLog();
  o.hash_interval = std::chrono::milliseconds(1);  // a HashKV checkpoint on every segment
  BackgroundChangeLog log(c->endpoint("m3"), **store, full + 1, o);

  int64_t middle = 0;
  std::string lease;  // granted after the full backup: only the change log knows it
  for (int i = 0; i < 80; ++i) {
    ASSERT_TRUE(c->Etcdctl({"put", "k/" + std::to_string(i % 50), "v" + std::to_string(i)}).ok());
    if (i == 10) {
      ProcResult g = c->Etcdctl({"lease", "grant", "600"});  // "lease <hex> granted with TTL(600s)"
      ASSERT_TRUE(g.ok()) << g.err;
      lease = g.out.substr(6, g.out.find(' ', 6) - 6);
      ASSERT_TRUE(c->Etcdctl({"put", "leased/k", "on a lease", "--lease=" + lease}).ok());
    }
    if (i % 7 == 0) {
      ASSERT_TRUE(c->Etcdctl({"del", "k/" + std::to_string(i / 2)}).ok());
    }
    if (i == 45) middle = Revision(c->endpoint("m1"));
  }
  const int64_t last = Revision(c->endpoint("m1"));
  ASSERT_TRUE(log.WaitFor(last));
  Status logged = log.Stop();
  ASSERT_TRUE(logged.ok()) << logged.ToString();
  const KV want = Parse(c->Etcdctl({"get", "", "--prefix", "--rev=" + std::to_string(middle)}).out);
  ASSERT_GT(want.size(), 10u);

  const std::string pu = "http://127.0.0.1:" + std::to_string(FreePorts(1)[0]);
  const std::string data = dir + "/pitr.etcd";
  auto restore = [&](const std::vector<std::string>& target) {
    std::vector<std::string> args = {"snapshot", "restore", "--name", "pitr", "--initial-cluster", "pitr=" + pu,
                                     "--initial-advertise-peer-urls", pu, "--data-dir", data};
    args.insert(args.end(), target.begin(), target.end());
    return lb(args);
  };
  // Refusals first: nothing is created.
  auto r = restore({"--to-revision", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("older than every full backup"), std::string::npos) << r.err;
  r = restore({"--to-revision", std::to_string(last + 1000)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("reaches revision"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(data));

  r = restore({"--to-revision", std::to_string(middle)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("logged changes"), std::string::npos) << r.err;
  // The key count printed is the restored db's: the backup's keys with the changes applied.
  EXPECT_NE(r.out.find("revision " + std::to_string(middle) + ", " + std::to_string(want.size()) + " keys)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("equal to etcd's HashKV at revision "), std::string::npos) << r.err;
  std::string lease_ttl;
  auto [got, rev] = ServeAndRead(data, "pitr", dir, [&](const std::string& cu) {
    lease_ttl = harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", cu, "lease", "timetolive", lease, "--keys"}).out;
  });
  ASSERT_GT(rev, 0) << "the restored etcd did not serve";
  // The key is attached to its lease again, with the TTL it was granted.
  EXPECT_NE(lease_ttl.find("granted with TTL(600s)"), std::string::npos) << lease_ttl;
  EXPECT_NE(lease_ttl.find("leased/k"), std::string::npos) << lease_ttl;
  EXPECT_EQ(got.count("leased/k"), 1u);
  EXPECT_EQ(rev, middle);
  EXPECT_EQ(got, want) << "key by key, at revision " << middle;

  // With etcdutl's --bump-revision N --mark-compacted: the same keys, served N above the target,
  // and a watcher of any revision the cluster had after the target told "compacted", never given
  // an event of the history the restore dropped.
  fs::remove_all(data);
  r = restore({"--to-revision", std::to_string(middle), "--bump-revision", "1000", "--mark-compacted"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("revision " + std::to_string(middle + 1000) + ", "), std::string::npos) << r.out;
  Watched after_target;
  auto [bgot, brev] = ServeAndRead(data, "pitr", dir, [&](const std::string& cu) {
    after_target = WatchFrom(cu, "k/", middle + 1, last);
  });
  EXPECT_EQ(brev, middle + 1000);
  EXPECT_EQ(bgot, want);
  EXPECT_EQ(after_target.status.code(), Status::Code::kFailedPrecondition) << after_target.status.ToString();
  EXPECT_NE(after_target.status.message().find("compacted at " + std::to_string(middle + 1000)), std::string::npos)
      << after_target.status.message();
  EXPECT_TRUE(after_target.events.empty());

  // To the log's end, the state is checked against the hash etcd gave for exactly that revision.
  auto l = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(l->segments.back().hashkv);
  EXPECT_EQ(l->segments.back().hashkv->revision, last);
  fs::remove_all(data);
  r = restore({"--to-revision", std::to_string(last)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("equal to etcd's HashKV at revision " + std::to_string(last)), std::string::npos) << r.err;
  fs::remove_all(data);

  // A segment rewritten with one value changed and a manifest to match (size, SHA-256, count):
  // every segment check passes, and the result differs from etcd's hash. Refused; no data dir.
  {
    const catalog::SegmentManifest* victim = nullptr;
    catalog::SegmentData content;
    for (const auto& seg : l->segments) {
      auto d = catalog::ReadSegment(**store, seg);
      ASSERT_TRUE(d.ok());
      auto& ev = d->events;
      if (seg.start_revision > full + 1 && std::any_of(ev.begin(), ev.end(), [](auto& e) { return !e.is_delete; })) {
        victim = &seg;
        content = *d;
        break;
      }
    }
    ASSERT_NE(victim, nullptr);
    const catalog::SegmentData original = content;
    for (auto& e : content.events) {
      if (!e.is_delete) {
        e.value = "forged";
        break;
      }
    }
    auto forged = catalog::WriteSegment(**store, "db-etcd", *victim, content);
    ASSERT_TRUE(forged.ok());
    ASSERT_TRUE(catalog::ReadSegment(**store, *forged).ok()) << "the forged segment passes its own checks";
    r = restore({"--to-revision", std::to_string(last)});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("differs from the cluster: HashKV at revision " + std::to_string(last)), std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(data));
    auto put_back = catalog::WriteSegment(**store, "db-etcd", *victim, original);
    ASSERT_TRUE(put_back.ok());
  }

  // The stored backup itself damaged (a local-folder store's plain object is read in place): a
  // flipped byte fails the restore's own hash of the image, a changed trailer the manifest's
  // image SHA-256; no data dir either time.
  {
    std::string object;
    for (const auto& e : fs::recursive_directory_iterator(dir + "/store")) {
      if (e.is_regular_file() && e.path().extension() == ".db") object = e.path().string();
    }
    ASSERT_FALSE(object.empty());
    const uint64_t size = fs::file_size(object);
    std::fstream f(object, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size / 2));
    const char orig = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put(static_cast<char>(orig ^ 0x10));
    f.close();
    r = restore({"--to-revision", std::to_string(last)});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("SHA-256 mismatch"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(data));
    auto flip = [&](uint64_t at, char byte) {
      std::fstream g(object, std::ios::in | std::ios::out | std::ios::binary);
      g.seekp(static_cast<std::streamoff>(at));
      g.put(byte);
    };
    flip(size / 2, orig);
    std::ifstream in(object, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(size - 1));
    const char last_byte = static_cast<char>(in.get());
    in.close();
    flip(size - 1, static_cast<char>(last_byte ^ 0x01));  // the trailer no longer the manifest's
    r = restore({"--to-revision", std::to_string(last)});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("is damaged (restore from another backup)"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(data));
    flip(size - 1, last_byte);
    r = restore({"--to-revision", std::to_string(last)});
    ASSERT_EQ(r.exit_code, 0) << "the mended object restores again: " << r.err;
    fs::remove_all(data);
  }

  // A segment lost from the middle of the log: refused, naming the gap.
  l = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(l.ok() && l->segments.size() >= 3) << (l.ok() ? l->segments.size() : 0);
  // One that holds changes (an empty one, written while the log was idle, covers no revision).
  auto holds = std::find_if(l->segments.begin() + 1, l->segments.end() - 1, [](const auto& m) { return m.count > 0; });
  ASSERT_NE(holds, l->segments.end() - 1);
  const auto& gone = *holds;
  ASSERT_TRUE((*store)->Delete(catalog::SegmentManifestKey(gone.object_key)).ok());
  fs::remove_all(data);
  r = restore({"--to-revision", std::to_string(last)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("gap: revisions " + std::to_string(gone.start_revision)), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(data));
  if (!HasFailure()) fs::remove_all(dir);
}

// The daemon keeps the change log beside its scheduled backups; --to-time restores the state the
// log had reached at that time; prune drops segments no kept backup needs.
// The replay streams: a log of 40 segments holding 160 MiB of values is replayed by a process
// whose peak RSS stays below 64 MiB, which holding every change (let alone twice) cannot.
// The log is written in the change log's own format after a real backup; a real etcd then
// serves the result at the log's last revision.
TEST(PitrTest, ReplayMemoryIsBoundedByASegmentNotTheLog) {
  EtcdCluster::Options co;
  co.members = 1;
  auto c = EtcdCluster::Start(co);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Etcdctl({"put", "small", "before"}).ok());
  std::string dir = MakeTempDir("lb-pitr-mem-");
  const std::string store_url = "file://" + dir + "/store";
  auto b = Lifeboat({"backup", "--endpoints", c->endpoints(), "--store", store_url, "--cluster-name", "prod", "--source",
                     "any", "-w", "json"});
  ASSERT_TRUE(b.ok()) << b.err;
  const int64_t full = ParseJson(b.out)["revision"].get<int64_t>();
  auto store = store::OpenStore(store_url);
  ASSERT_TRUE(store.ok());

  constexpr int kSegments = 40, kPerSegment = 16;
  constexpr size_t kValue = 256 << 10;  // 40 x 16 x 256 KiB = 160 MiB of values
  int64_t rev = full;
  for (int s = 0; s < kSegments; ++s) {
    catalog::SegmentData data;
    for (int i = 0; i < kPerSegment; ++i) {
      ++rev;
      catalog::ChangeEvent e;
      e.revision = rev;
      e.key = "big/" + std::to_string(rev);
      e.value = std::string(kValue, static_cast<char>('a' + rev % 26));
      e.create_revision = rev;
      e.version = 1;
      data.events.push_back(std::move(e));
    }
    catalog::SegmentManifest m;
    m.cluster_name = "prod";
    m.start_revision = rev - kPerSegment + 1;
    m.end_revision = rev;
    m.finished_at = FormatRFC3339(std::chrono::system_clock::now());
    ASSERT_TRUE(catalog::WriteSegment(**store, "db-etcd", m, data).ok());
  }

  const std::string pu = "http://127.0.0.1:" + std::to_string(FreePorts(1)[0]);
  const std::string data = dir + "/pitr.etcd";
  pid_t pid = Spawn({LB_BINARY, "snapshot", "restore", "--to-revision", std::to_string(rev), "--name", "pitr",
                     "--initial-cluster", "pitr=" + pu, "--initial-advertise-peer-urls", pu, "--data-dir", data,
                     "--store", store_url, "--cluster-name", "prod"},
                    dir + "/restore.out", dir + "/restore.err");
  ASSERT_GT(pid, 0);
  struct rusage usage {};
  ProcResult r = Wait(pid, std::chrono::seconds(300), &usage);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const long peak_kib = usage.ru_maxrss;
  RecordProperty("replay_peak_rss_kib", std::to_string(peak_kib));
  EXPECT_LT(peak_kib, 64 << 10) << "peak RSS of the replay: " << peak_kib << " KiB for a log of "
                                << (kSegments * kPerSegment * kValue >> 20) << " MiB";

  auto [kv, served] = ServeAndRead(data, "pitr", dir);
  EXPECT_EQ(served, rev);
  EXPECT_EQ(kv["small"], "before");
  size_t big = 0;
  for (const auto& [k, v] : kv) {
    if (!k.starts_with("big/")) continue;
    ++big;
    const int64_t at = std::stoll(k.substr(4));
    EXPECT_EQ(v, std::string(kValue, static_cast<char>('a' + at % 26))) << k;
  }
  EXPECT_EQ(big, static_cast<size_t>(kSegments * kPerSegment));
}

TEST(PitrTest, DaemonLogsChangesAndToTimeRestores) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-pitr-d-");
  auto ports = FreePorts(3);
  const std::string listen = "127.0.0.1:" + std::to_string(ports[2]);
  std::ofstream(dir + "/d.yaml") << "endpoints: [" << c->endpoints() << "]\nstore: file://" << dir << "/store\n"
                                 << "cluster-name: prod\n"
                                 << "tiers:\n  - name: fast\n    schedule: \"*/3 * * * * *\"\n    keep: 1h\n"
                                 << "changelog: {enabled: true, flush-interval: 200ms, idle-flush: 1s}\n";
  pid_t d = Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen", listen}, dir + "/out",
                  dir + "/err");
  auto logged_to = [&] {
    auto r = harness::Run({"curl", "-s", "http://" + listen + "/metrics"});
    auto pos = r.out.find("\nlifeboat_changelog_revision ");
    return pos == std::string::npos ? int64_t{0} : std::stoll(r.out.substr(pos + 29));
  };
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] { return logged_to() > 0; }, std::chrono::milliseconds(200)))
      << harness::Run({"cat", dir + "/err"}).out;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c->Etcdctl({"put", "d/" + std::to_string(i), "x" + std::to_string(i)}).ok());
  const int64_t last = Revision(c->endpoint("m1"));
  ASSERT_TRUE(PollUntil(std::chrono::seconds(20), [&] { return logged_to() >= last; }, std::chrono::milliseconds(100)));
  const std::string when = harness::Run({"date", "-u", "+%Y-%m-%dT%H:%M:%S.%3NZ"}).out.substr(0, 24);
  kill(d, SIGTERM);
  ProcResult dr = Wait(d, std::chrono::seconds(60));
  EXPECT_EQ(dr.exit_code, 0) << dr.err;
  EXPECT_NE(dr.err.find("change log: watching cluster "), std::string::npos) << dr.err;

  auto pu = "http://127.0.0.1:" + std::to_string(ports[1]);
  auto r = Lifeboat({"--config", dir + "/d.yaml", "snapshot", "restore", "--to-time", when, "--name", "p",
                     "--initial-cluster", "p=" + pu, "--initial-advertise-peer-urls", pu, "--data-dir",
                     dir + "/p.etcd", "-w", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_GE(j["revision"].get<int64_t>(), last) << "the log had reached the last write before " << when;
  auto [got, rev] = ServeAndRead(dir + "/p.etcd", "p", dir);
  ASSERT_GT(rev, 0);
  EXPECT_EQ(got, Parse(c->Etcdctl({"get", "", "--prefix", "--rev=" + std::to_string(rev)}).out));
  EXPECT_EQ(got.count("d/29"), 1u);

  // Prune as of far in the future: the tier keeps its newest backup, and the log before it goes.
  auto p = Lifeboat({"--config", dir + "/d.yaml", "prune", "--now", "2099-01-01T00:00:00Z", "-w", "json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  int deleted_segments = 0;
  for (const auto& i : ParseJson(p.out)) deleted_segments += i["tier"] == "changes" && i["deleted"].get<bool>();
  auto store = store::OpenStore("file://" + dir + "/store");
  ASSERT_TRUE(store.ok());
  auto segs = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(segs.ok());
  auto newest = Lifeboat({"--config", dir + "/d.yaml", "list", "-w", "json"});
  int64_t kept_rev = ParseJson(newest.out)[0]["revision"].get<int64_t>();
  for (const auto& m : segs->segments) EXPECT_GE(m.end_revision, kept_rev) << m.object_key;
  EXPECT_GT(deleted_segments + static_cast<int>(segs->segments.size()), 0);
  if (!HasFailure()) fs::remove_all(dir);
}

// The daemon was down while etcd compacted past its log: on restart the watch start is gone, so
// it says so, records the gap in the store and counts it, takes a full backup at once and logs
// from there; a restore into the gap is refused, naming the compaction.
TEST(PitrTest, CompactedGapMakesTheDaemonTakeAFullBackup) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-pitr-gap-");
  const std::string store_url = "file://" + dir + "/store";
  // In the daemon's tier: its start-up finds no tick to make up (which would move the log's start).
  auto b = Lifeboat({"backup", "--endpoints", c->endpoints(), "--store", store_url, "--cluster-name", "prod",
                     "--tier", "yearly"});
  ASSERT_TRUE(b.ok()) << b.err;
  const int64_t first = ParseJson(Lifeboat({"--store", store_url, "list", "-w", "json"}).out)[0]["revision"].get<int64_t>();
  // Changes, then a compaction past them, while no log runs.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c->Etcdctl({"put", "g/" + std::to_string(i), "v"}).ok());
  const int64_t compact = Revision(c->endpoint("m1"));
  ASSERT_TRUE(c->Etcdctl({"compaction", std::to_string(compact)}).ok());
  // ...and a daemon whose log would start right after the first backup, now compacted away.
  auto ports = FreePorts(1);
  std::ofstream(dir + "/d.yaml") << "endpoints: [" << c->endpoints() << "]\nstore: " << store_url << "\n"
                                 << "cluster-name: prod\n"
                                 << "tiers:\n  - name: yearly\n    schedule: \"0 0 1 1 *\"\n    keep: 400d\n"
                                 << "changelog: {enabled: true, flush-interval: 200ms, idle-flush: 500ms}\n";
  pid_t d = Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen",
                   "127.0.0.1:" + std::to_string(ports[0])},
                  dir + "/out", dir + "/err");
  auto store = store::OpenStore(store_url);
  ASSERT_TRUE(store.ok());
  int n = 0;
  bool logging = PollUntil(std::chrono::seconds(30), [&] {
    c->Etcdctl({"put", "after/" + std::to_string(n++), "v"});  // something for the new log to hold
    auto segs = catalog::ListSegments(**store, "db-etcd", "prod");
    return segs.ok() && !segs->segments.empty();
  }, std::chrono::milliseconds(200));
  const std::string metrics = harness::Run({"curl", "-sf", "http://127.0.0.1:" + std::to_string(ports[0]) + "/metrics"}).out;
  EXPECT_NE(metrics.find("\nlifeboat_changelog_gaps_total 1\n"), std::string::npos) << "counted once\n" << metrics;
  kill(d, SIGTERM);
  ProcResult dr = Wait(d, std::chrono::seconds(60));
  ASSERT_TRUE(logging) << dr.err;
  EXPECT_NE(dr.err.find("compacted at " + std::to_string(compact)), std::string::npos) << dr.err;
  EXPECT_NE(dr.err.find("taking a full backup"), std::string::npos) << dr.err;
  auto listing = Lifeboat({"--store", store_url, "list", "-w", "json"});
  auto backups = ParseJson(listing.out);
  // The first backup and the gap's backup.
  ASSERT_EQ(backups.size(), 2u) << listing.out;
  const int64_t fresh = backups[0]["revision"].get<int64_t>();
  EXPECT_GE(fresh, compact);
  auto segs = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(segs.ok());
  EXPECT_EQ(segs->segments.front().start_revision, fresh + 1) << "the new log starts after the new backup";
  ASSERT_EQ(segs->gaps.size(), 1u) << "recorded in the store";
  EXPECT_EQ(segs->gaps[0].from_revision, first + 1);
  EXPECT_EQ(segs->gaps[0].compact_revision, compact);
  EXPECT_EQ(segs->gaps[0].cluster_id, segs->segments.front().cluster_id);
  auto into = Lifeboat({"--store", store_url, "--cluster-name", "prod", "snapshot", "restore", "--to-revision",
                        std::to_string(first + 2), "--name", "m1", "--initial-cluster", "m1=http://127.0.0.1:2380",
                        "--data-dir", dir + "/restored"});
  EXPECT_EQ(into.exit_code, 1) << into.err;
  EXPECT_NE(into.err.find("compacted it at revision " + std::to_string(compact)), std::string::npos) << into.err;
  EXPECT_FALSE(fs::exists(dir + "/restored"));
  if (!HasFailure()) fs::remove_all(dir);
}

// A whole-cluster restore makes a new cluster (a new id) under the same name, whose revisions
// repeat the old history's. The change log of the new cluster starts after its own first backup,
// not after the old log; segments of the two histories never share a name; a point-in-time
// restore stays within one history (the newest backup's, or --source-cluster-id); prune drops
// the old history's segments once no backup of it is kept.
TEST(PitrTest, ARestoredClusterStartsANewHistoryUnderTheSameName) {
  std::string dir = MakeTempDir("lb-pitr-h-");
  const std::string store_url = "file://" + dir + "/store";
  auto store = store::OpenStore(store_url);
  ASSERT_TRUE(store.ok());
  auto lb = [&](const EtcdCluster& c, std::vector<std::string> args) {
    args.insert(args.end(), {"--endpoints", c.endpoints(), "--store", store_url, "--cluster-name", "prod"});
    return Lifeboat(args);
  };
  // Logs `writes` puts of prefix/N to `c` from its newest backup on; returns {middle, last}.
  auto log_writes = [&](const EtcdCluster& c, const std::string& prefix, uint64_t id, int64_t expect_start) {
    auto start = ops::ChangeLogStart(**store, "db-etcd", "prod", id);
    EXPECT_TRUE(start.ok()) << start.status().ToString();
    EXPECT_EQ(start.ok() ? *start : 0, expect_start);
    ops::ChangeLogOptions o = FastChangeLog();
    o.hash_interval = std::chrono::milliseconds(1);
    BackgroundChangeLog log(c.endpoint("m2"), **store, expect_start, o, id);
    int64_t middle = 0;
    for (int i = 0; i < 30; ++i) {
      EXPECT_TRUE(c.Etcdctl({"put", prefix + std::to_string(i % 12), "v" + std::to_string(i)}).ok());
      if (i == 14) middle = Revision(c.endpoint("m1"));
    }
    const int64_t last = Revision(c.endpoint("m1"));
    EXPECT_TRUE(log.WaitFor(last));
    Status logged = log.Stop();
    EXPECT_TRUE(logged.ok()) << logged.ToString();
    return std::pair{middle, last};
  };

  // History A: a backup, then logged writes.
  auto a = EtcdCluster::Start();
  ASSERT_TRUE(a);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(a->Etcdctl({"put", "base/" + std::to_string(i), "a"}).ok());
  auto ba = lb(*a, {"backup", "-w", "json"});
  ASSERT_TRUE(ba.ok()) << ba.err;
  const int64_t rev_a = ParseJson(ba.out)["revision"].get<int64_t>();
  auto served_id = [](const EtcdCluster& c) {
    etcd::ClientOptions co;
    co.endpoints = {c.endpoint("m1")};
    return ops::ServedClusterId(co);
  };
  auto id_a = served_id(*a);
  ASSERT_TRUE(id_a.ok());
  auto [mid_a, last_a] = log_writes(*a, "a/", *id_a, rev_a + 1);
  const KV want_a = Parse(a->Etcdctl({"get", "", "--prefix", "--rev=" + std::to_string(mid_a)}).out);
  ASSERT_TRUE(lb(*a, {"fetch", "latest", "-o", dir + "/a.db"}).ok());
  a.reset();  // history A is gone: its cluster was lost

  // History B: every member restored from A's backup (a new token, so a new cluster id).
  EtcdCluster::Options ob;
  ob.restore = dir + "/a.db";
  auto b = EtcdCluster::Start(ob);
  ASSERT_TRUE(b);
  auto id_b = served_id(*b);
  ASSERT_TRUE(id_b.ok());
  ASSERT_NE(*id_b, *id_a);
  EXPECT_EQ(ops::ChangeLogStart(**store, "db-etcd", "prod", *id_b).status().code(), Status::Code::kNotFound)
      << "A's backups and log do not count for B";
  auto bb = lb(*b, {"backup", "-w", "json"});
  ASSERT_TRUE(bb.ok()) << bb.err;
  const int64_t rev_b = ParseJson(bb.out)["revision"].get<int64_t>();
  ASSERT_LT(rev_b, last_a) << "B's revisions repeat A's";
  auto [mid_b, last_b] = log_writes(*b, "b/", *id_b, rev_b + 1);  // not last_a + 1
  ASSERT_LE(mid_b, last_a);
  const KV want_b = Parse(b->Etcdctl({"get", "", "--prefix", "--rev=" + std::to_string(mid_b)}).out);

  auto l = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(l.ok());
  std::set<std::string> keys;
  int of_a = 0, of_b = 0;
  for (const auto& s : l->segments) {
    keys.insert(s.object_key);
    of_a += s.cluster_id == *id_a;
    of_b += s.cluster_id == *id_b;
  }
  EXPECT_EQ(keys.size(), l->segments.size());
  EXPECT_EQ(of_a + of_b, static_cast<int>(l->segments.size()));
  EXPECT_GT(of_a, 0);
  EXPECT_GT(of_b, 0);

  auto restore = [&](const std::string& data, std::vector<std::string> extra) {
    std::vector<std::string> args = {"snapshot", "restore", "--name", "p", "--initial-cluster", "p=http://127.0.0.1:1",
                                     "--initial-advertise-peer-urls", "http://127.0.0.1:1", "--data-dir", data};
    args.insert(args.end(), extra.begin(), extra.end());
    return lb(*b, args);
  };
  // Default: the newest backup's history, B.
  auto r = restore(dir + "/pb.etcd", {"--to-revision", std::to_string(mid_b)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("equal to etcd's HashKV"), std::string::npos) << r.err;
  auto [got_b, rb] = ServeAndRead(dir + "/pb.etcd", "p", dir);
  EXPECT_EQ(rb, mid_b);
  EXPECT_EQ(got_b, want_b);
  // A's history, though its cluster is gone.
  r = restore(dir + "/pa.etcd", {"--to-revision", std::to_string(mid_a), "--source-cluster-id", etcd::IdHex(*id_a)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("equal to etcd's HashKV"), std::string::npos) << r.err;
  auto [got_a, ra] = ServeAndRead(dir + "/pa.etcd", "p", dir);
  EXPECT_EQ(ra, mid_a);
  EXPECT_EQ(got_a, want_a);
  EXPECT_NE(got_a, got_b);
  EXPECT_EQ(restore(dir + "/px.etcd", {"--to-revision", "5", "--source-cluster-id", "zz"}).exit_code, 2);

  // Far in the future only the tier's newest backup (B's) stays: A's log goes with A's backup.
  auto p = lb(*b, {"prune", "--now", "2099-01-01T00:00:00Z", "-w", "json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  l = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(l.ok());
  for (const auto& s : l->segments) EXPECT_EQ(s.cluster_id, *id_b) << s.object_key;
  EXPECT_GT(l->segments.size(), 0u);
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::harness
