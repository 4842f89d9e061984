// Point-in-time restore against a real cluster: a full backup, the change log written while the
// cluster keeps changing, then `lifeboat snapshot restore --to-revision M` into a new data dir.
// A real etcd started on it serves exactly what the source cluster held at M, key by key (read
// with etcd's own history, --rev=M). A target older than every backup, beyond the log, or
// across a gap in the log is refused and creates nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "catalog/change_segment.h"
#include "etcd/client.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/store_probe.h"
#include "ops/changelog.h"
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
  etcd::ClientOptions co;
  co.endpoints = {c->endpoint("m3")};
  ops::ChangeLogOptions o;
  o.cluster_name = "prod";
  o.flush_interval = std::chrono::milliseconds(200);
  o.idle_flush = std::chrono::milliseconds(400);
  std::atomic<bool> stop{false};
  Status logged;
  std::thread logger([&] { logged = ops::RunChangeLog(co, **store, o, full + 1, stop, nullptr); });

  int64_t middle = 0;
  for (int i = 0; i < 80; ++i) {
    ASSERT_TRUE(c->Etcdctl({"put", "k/" + std::to_string(i % 50), "v" + std::to_string(i)}).ok());
    if (i % 7 == 0) {
      ASSERT_TRUE(c->Etcdctl({"del", "k/" + std::to_string(i / 2)}).ok());
    }
    if (i == 45) middle = Revision(c->endpoint("m1"));
  }
  const int64_t last = Revision(c->endpoint("m1"));
  ASSERT_TRUE(PollUntil(std::chrono::seconds(20), [&] {
    auto l = catalog::ListSegments(**store, "db-etcd", "prod");
    return l.ok() && !l->segments.empty() && l->segments.back().end_revision >= last;
  }, std::chrono::milliseconds(100)));
  stop = true;
  logger.join();
  ASSERT_TRUE(logged.ok()) << logged.ToString();
  const KV want = Parse(c->Etcdctl({"get", "", "--prefix", "--rev=" + std::to_string(middle)}).out);
  ASSERT_GT(want.size(), 10u);

  auto ports = FreePorts(2);
  const std::string cu = "http://127.0.0.1:" + std::to_string(ports[0]);
  const std::string pu = "http://127.0.0.1:" + std::to_string(ports[1]);
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
  pid_t etcd = Spawn({"etcd", "--name", "pitr", "--data-dir", data, "--listen-client-urls", cu, "--advertise-client-urls",
                      cu, "--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu, "--initial-cluster",
                      "pitr=" + pu},
                     dir + "/etcd.out", dir + "/etcd.err");
  ASSERT_GT(etcd, 0);
  bool up = PollUntil(std::chrono::seconds(30), [&] { return Revision(cu) > 0; }, std::chrono::milliseconds(100));
  KV got;
  int64_t rev = -1;
  if (up) {
    got = Parse(harness::Run({"etcdctl", "--endpoints", cu, "get", "", "--prefix"}).out);
    rev = Revision(cu);
  }
  kill(etcd, SIGTERM);
  Wait(etcd, std::chrono::seconds(30));
  ASSERT_TRUE(up) << "the restored etcd did not serve";
  EXPECT_EQ(rev, middle);
  EXPECT_EQ(got, want) << "key by key, at revision " << middle;

  // A segment lost from the middle of the log: refused, naming the gap.
  auto l = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(l.ok() && l->segments.size() >= 3) << (l.ok() ? l->segments.size() : 0);
  const auto& gone = l->segments[1];
  ASSERT_TRUE((*store)->Delete(catalog::SegmentManifestKey(gone.object_key)).ok());
  fs::remove_all(data);
  r = restore({"--to-revision", std::to_string(last)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("gap: revisions " + std::to_string(gone.start_revision)), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(data));
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::harness
