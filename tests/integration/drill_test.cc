// Restore drills against real backups of a real cluster: a good backup is restored into a
// throwaway etcd that serves the snapshot's revision and key count; a corrupted one fails; the
// outcome is recorded beside the backup, shown by `list`, and pruned with it; the daemon drills
// on its own schedule and exports when it last proved a restore.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;

std::string DbFile(const std::string& store) {
  for (const auto& f : FilesUnder(store)) {
    if (f.size() > 3 && f.substr(f.size() - 3) == ".db") return store + "/" + f;
  }
  return "";
}

TEST(DrillTest, GoodBackupServesItsDataCorruptOneFailsAndBothAreRecorded) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(c->Etcdctl({"put", "drill/" + std::to_string(i), "v"}).ok());
  ASSERT_TRUE(c->Etcdctl({"del", "drill/7"}).ok());
  std::string dir = MakeTempDir("lb-drill-");
  std::string store = dir + "/store";
  std::vector<std::string> g = {"--endpoints", c->endpoints(), "--store", "file://" + store};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), g.begin(), g.end());
    return args;
  };
  // The drills' throwaway dirs go to a TMPDIR of this test's own (other tests drill at the same time).
  const std::map<std::string, std::string> tmp = {{"TMPDIR", dir + "/tmp"}};
  fs::create_directories(dir + "/tmp");
  ASSERT_TRUE(Lifeboat(with({"backup"})).ok());

  auto r = Lifeboat(with({"drill", "-w", "json", "--etcd-binary", EtcdTool("", "etcd")}), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["keys"], 39);
  EXPECT_EQ(j["keys"], j["expected_keys"]);
  EXPECT_EQ(j["revision"], j["expected_revision"]);
  EXPECT_EQ(j["etcd_version"], ResolvedEtcdVersion(""));
  // The restored etcd's HashKV equals what the source member answered when the backup was taken.
  auto m = ParseJson(Lifeboat(with({"list", "-w", "json"})).out);
  ASSERT_TRUE(m.is_array() && m.size() == 1);
  EXPECT_EQ(j["hashkv_revision"], m[0]["revision"]) << r.err;
  EXPECT_NE(r.err.find("equal to the source member's"), std::string::npos) << r.err;
  auto list = Lifeboat(with({"list"}));
  EXPECT_NE(list.out.find("ok 20"), std::string::npos) << list.out;  // "ok <RFC 3339 time>"

  // The restore Kubernetes survives, rehearsed: the throwaway etcd serves the backup's keys at the
  // bumped revision and is compacted there; the source's HashKV is then checked on the file.
  auto bumped = Lifeboat(with({"drill", "-w", "json", "--etcd-binary", EtcdTool("", "etcd"), "--bump-revision",
                               "1000000000", "--mark-compacted"}),
                         tmp);
  ASSERT_EQ(bumped.exit_code, 0) << bumped.out << bumped.err;
  auto bj = ParseJson(bumped.out);
  EXPECT_EQ(bj["bump_revision"], 1000000000);
  EXPECT_EQ(bj["expected_revision"], j["expected_revision"].get<int64_t>() + 1000000000) << bumped.out;
  EXPECT_EQ(bj["revision"], bj["expected_revision"]);
  EXPECT_EQ(bj["keys"], 39);
  EXPECT_NE(bumped.err.find("compacted there"), std::string::npos) << bumped.err;
  EXPECT_NE(bumped.err.find("equal to the source member's"), std::string::npos) << bumped.err;

  // One byte flipped in the stored object: the drill fails and says so; the record says FAILED.
  std::string db = DbFile(store);
  ASSERT_FALSE(db.empty());
  ASSERT_TRUE(FlipByte(db, 9000));
  r = Lifeboat(with({"drill", "--etcd-binary", EtcdTool("", "etcd")}), tmp);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("drill of"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is corrupt: sha256"), std::string::npos) << r.err;
  list = Lifeboat(with({"list", "-w", "json"}));
  j = ParseJson(list.out);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << list.out;
  EXPECT_FALSE(j[0]["drill"]["ok"].get<bool>());
  // No throwaway dir is left behind.
  for (const auto& e : fs::directory_iterator(dir + "/tmp")) ADD_FAILURE() << "left behind: " << e.path();

  // Prune takes the drill record with its backup and reports nothing left alone. (A write first:
  // a second backup at the same revision within the same second would have the same name.)
  ASSERT_TRUE(c->Etcdctl({"put", "drill/after", "v"}).ok());
  ASSERT_TRUE(Lifeboat(with({"backup"})).ok());
  auto p = Lifeboat(with({"prune", "--now", "2099-01-01T00:00:00Z"}));
  EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
  EXPECT_EQ(p.out.find("left alone"), std::string::npos) << p.out;
  for (const auto& f : FilesUnder(store)) EXPECT_EQ(f.find(fs::path(db).stem().string()), std::string::npos) << f;
}

TEST(DrillTest, DaemonDrillsOnItsScheduleAndExportsTheTime) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-ddrill-");
  auto ports = FreePorts(1);
  std::string listen = "127.0.0.1:" + std::to_string(ports[0]);
  std::ofstream(dir + "/d.yaml") << "endpoints: [" << c->endpoints() << "]\nstore: file://" << dir << "/store"
                                 << "\ntiers:\n  - name: fast\n    schedule: \"*/2 * * * * *\"\n    keep: 1h\n"
                                 << "drill:\n  schedule: \"*/4 * * * * *\"\n  etcd-binary: " << EtcdTool("", "etcd")
                                 << "\n";
  pid_t d = Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen", listen}, dir + "/out",
                  dir + "/err");
  std::string metrics;
  bool drilled = PollUntil(std::chrono::seconds(60), [&] {
    auto r = harness::Run({"curl", "-s", "http://" + listen + "/metrics"});
    metrics = r.out;
    auto pos = metrics.find("lifeboat_drills_total{result=\"ok\"} ");
    return pos != std::string::npos && metrics.compare(pos + 35, 2, "0\n") != 0;
  }, std::chrono::milliseconds(250));
  kill(d, SIGTERM);
  ProcResult r = Wait(d, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(drilled) << metrics << "\n" << r.err;
  EXPECT_EQ(metrics.find("lifeboat_last_verified_restore_timestamp_seconds 0.000"), std::string::npos) << metrics;
  EXPECT_NE(r.err.find("restored and served revision"), std::string::npos) << r.err;
  EXPECT_NE(Lifeboat({"--store", "file://" + dir + "/store", "list"}).out.find("ok 20"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::harness
