// The backup daemon, tiers, retention and several stores, against a real cluster.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <regex>

#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

int CountSuffix(const std::vector<std::string>& files, const std::string& suffix) {
  int n = 0;
  for (const auto& f : files) n += f.size() > suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0;
  return n;
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(DaemonTest, TwoDaemonsOneClusterExactlyOneBackupPerTick) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-daemon-");
  std::string store = dir + "/store";
  std::ofstream(dir + "/d.yaml") << "endpoints: [" << c->endpoints() << "]\nstore: file://" << store
                                 << "\ntiers:\n  - name: fast\n    schedule: \"*/2 * * * * *\"\n    keep: 1h\n";
  pid_t a = Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen", "127.0.0.1:0"},
                  dir + "/a.out", dir + "/a.err");
  pid_t b = Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen", "127.0.0.1:0"},
                  dir + "/b.out", dir + "/b.err");
  auto ticks = [&] {
    ProcResult r = c->Etcdctl({"get", "/lifeboat/ticks/", "--prefix", "--keys-only"});
    int n = 0;
    for (char ch : r.out) n += ch == '\n';
    return n / 2;  // etcdctl prints a blank line after each key
  };
  auto logs = [&] { return ReadFile(dir + "/a.err") + ReadFile(dir + "/b.err"); };
  // Wait for contention to have happened, not just for ticks: a daemon's start-up catch-up runs a
  // tick the other daemon never sees, so the first ticks can all be uncontested.
  EXPECT_TRUE(PollUntil(std::chrono::seconds(40),
                        [&] { return ticks() >= 4 && CountOccurrences(logs(), "another daemon claimed it") >= 2; },
                        std::chrono::milliseconds(200)));
  kill(a, SIGTERM);
  kill(b, SIGTERM);
  ProcResult ra = Wait(a, std::chrono::seconds(30));
  ProcResult rb = Wait(b, std::chrono::seconds(30));
  EXPECT_EQ(ra.exit_code, 0) << ra.err;
  EXPECT_EQ(rb.exit_code, 0) << rb.err;

  int n = ticks();
  auto files = FilesUnder(store);
  EXPECT_EQ(CountSuffix(files, ".manifest.json"), n) << "one backup per claimed tick";
  EXPECT_EQ(CountSuffix(files, ".db"), n);
  EXPECT_EQ(files.size(), static_cast<size_t>(2 * n)) << "no temp files left";
  // Per tick: stored by exactly one daemon; a tick a daemon saw claimed was stored by the other.
  std::string both = ra.err + rb.err;
  std::map<std::string, int> stored;
  std::vector<std::string> claimed;
  static const std::regex kLine(R"(tick (\S+?)(?: \(fast\))?: (stored db-etcd/fast/|another daemon claimed it))");
  for (std::sregex_iterator it(both.begin(), both.end(), kLine), end; it != end; ++it) {
    if ((*it)[2].str().rfind("stored", 0) == 0) {
      ++stored[(*it)[1].str()];
    } else {
      claimed.push_back((*it)[1].str());
    }
  }
  EXPECT_EQ(static_cast<int>(stored.size()), n) << both;
  for (const auto& [tick, count] : stored) EXPECT_EQ(count, 1) << "tick " << tick << " stored twice\n" << both;
  EXPECT_GE(claimed.size(), 2u) << both;
  for (const auto& tick : claimed) EXPECT_EQ(stored.count(tick), 1u) << "tick " << tick << " claimed but not stored\n" << both;
}

// Checks and drills are claimed per tick like backups: of two daemons, one checks (and drills)
// each tick and publishes its verdict; the other shows that verdict in its own metrics.
TEST(DaemonTest, TwoDaemonsRunOneCheckAndOneDrillPerTick) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-checks-");
  std::ofstream(dir + "/d.yaml") << "endpoints: [" << c->endpoints() << "]\nstore: file://" << dir << "/store"
                                 << "\ncluster-name: prod\ntiers:\n  - {name: yearly, schedule: \"0 0 1 1 *\", keep: 400d}\n"
                                    "check:\n  schedule: \"*/2 * * * * *\"\ndrill:\n  schedule: \"*/5 * * * * *\"\n"
                                    "  etcd-binary: "
                                 << EtcdTool("", "etcd") << "\n";
  std::vector<int> ports = FreePorts(2);
  std::vector<pid_t> daemons;
  for (int i = 0; i < 2; ++i) {
    daemons.push_back(Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen",
                             "127.0.0.1:" + std::to_string(ports[i])},
                            dir + "/" + std::to_string(i) + ".out", dir + "/" + std::to_string(i) + ".err"));
  }
  auto logs = [&] { return ReadFile(dir + "/0.err") + ReadFile(dir + "/1.err"); };
  auto keys = [&](const std::string& prefix) {
    ProcResult r = c->Etcdctl({"get", prefix, "--prefix", "--keys-only"});
    int n = 0;
    for (char ch : r.out) n += ch == '\n';
    return n / 2;
  };
  auto metric = [&](int i) {
    return harness::Run({"curl", "-sf", "http://127.0.0.1:" + std::to_string(ports[i]) + "/metrics"}).out;
  };
  // Both daemons show a verdict, each adopted the other's at least once, and drills ran.
  EXPECT_TRUE(PollUntil(std::chrono::seconds(60), [&] {
    std::string l = logs();
    return keys("/lifeboat/checks/") >= 5 && CountOccurrences(ReadFile(dir + "/0.err"), ": checked by ") >= 1 &&
           CountOccurrences(ReadFile(dir + "/1.err"), ": checked by ") >= 1 && CountOccurrences(l, " restored and served") >= 2;
  }, std::chrono::milliseconds(250))) << logs();
  for (int i = 0; i < 2; ++i) {
    EXPECT_NE(metric(i).find("\nlifeboat_cluster_consistent 1\n"), std::string::npos) << "daemon " << i;
  }
  for (pid_t d : daemons) kill(d, SIGTERM);
  for (pid_t d : daemons) EXPECT_EQ(Wait(d, std::chrono::seconds(60)).exit_code, 0) << logs();

  // Per tick: checked by exactly one daemon; a tick a daemon lost was checked by the other.
  const std::string both = logs();
  std::map<std::string, int> checked, drilled;
  std::vector<std::string> adopted;
  static const std::regex kCheck(R"(consistency check (\S+): (3 members consistent|checked by))");
  for (std::sregex_iterator it(both.begin(), both.end(), kCheck), end; it != end; ++it) {
    if ((*it)[2].str() == "checked by") {
      adopted.push_back((*it)[1].str());
    } else {
      ++checked[(*it)[1].str()];
    }
  }
  static const std::regex kDrill(R"(drill (\S+): \S+ restored and served)");
  for (std::sregex_iterator it(both.begin(), both.end(), kDrill), end; it != end; ++it) ++drilled[(*it)[1].str()];
  EXPECT_EQ(static_cast<int>(checked.size()), keys("/lifeboat/checks/")) << "one check per claimed tick\n" << both;
  for (const auto& [tick, n] : checked) EXPECT_EQ(n, 1) << "tick " << tick << " checked twice\n" << both;
  for (const auto& tick : adopted) EXPECT_EQ(checked.count(tick), 1u) << "tick " << tick << " adopted, never checked";
  EXPECT_GE(drilled.size(), 2u) << both;
  for (const auto& [tick, n] : drilled) EXPECT_EQ(n, 1) << "drill of " << tick << " ran twice\n" << both;
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

TEST(DaemonTest, SigtermDuringABackupLeavesOnlyWholeBackups) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(4));
  std::string dir = MakeTempDir("lb-sigterm-");
  std::string store = dir + "/store";
  // Throttled to ~1 MB/s, the snapshot takes seconds: long enough to be interrupted.
  std::ofstream(dir + "/d.yaml") << "endpoints: [" << c->endpoints() << "]\nstore: file://" << store
                                 << "\nbackup:\n  max-rate: 1MB\ntiers:\n  - name: fast\n    schedule: \"* * * * * *\"\n"
                                    "    keep: 1h\n";
  pid_t d = Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen", "127.0.0.1:0"},
                  dir + "/out", dir + "/err");
  // Wait until the snapshot is being written (a temp file exists), then stop the daemon.
  ASSERT_TRUE(PollUntil(std::chrono::seconds(20), [&] { return !FilesUnder(store).empty(); }));
  kill(d, SIGTERM);
  ProcResult r = Wait(d, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto files = FilesUnder(store);
  EXPECT_EQ(CountSuffix(files, ".manifest.json"), CountSuffix(files, ".db")) << "every object has its manifest";
  EXPECT_EQ(files.size(), static_cast<size_t>(2 * CountSuffix(files, ".db"))) << "no temp file left behind";
  EXPECT_GE(CountSuffix(files, ".db"), 1) << "the backup under way was finished, not dropped: " << r.err;
  EXPECT_EQ(Lifeboat({"--store", "file://" + store, "fetch", "latest", "-o", dir + "/x.db"}).exit_code, 0);
}

TEST(DaemonTest, MetricsAndHealthz) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-metrics-");
  std::string listen = "127.0.0.1:" + std::to_string(FreePorts(1).at(0));
  std::ofstream(dir + "/d.yaml") << "endpoints: [" << c->endpoints() << "]\nstore: file://" << dir
                                 << "/store\ntiers:\n  - name: fast\n    schedule: \"* * * * * *\"\n    keep: 1h\n";
  pid_t d = Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen", listen}, dir + "/out",
                  dir + "/err");
  std::string metrics;
  EXPECT_TRUE(PollUntil(std::chrono::seconds(20), [&] {
    metrics = harness::Run({"curl", "-sf", "http://" + listen + "/metrics"}).out;
    return metrics.find("lifeboat_backup_success_total{tier=\"fast\"") != std::string::npos;
  }));
  EXPECT_NE(metrics.find("lifeboat_backup_last_success_timestamp_seconds{tier=\"fast\""), std::string::npos);
  EXPECT_NE(metrics.find("lifeboat_ticks_total{result=\"won\"}"), std::string::npos);
  EXPECT_EQ(harness::Run({"curl", "-sf", "http://" + listen + "/healthz"}).exit_code, 0);
  kill(d, SIGTERM);
  EXPECT_EQ(Wait(d, std::chrono::seconds(30)).exit_code, 0);
}

TEST(PruneTest, TierRetentionWithAFakeClock) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-prune-");
  std::string store = dir + "/store";
  std::vector<std::string> base = {"--endpoints", c->endpoints(), "--store", "file://" + store};
  auto lb = [&](std::vector<std::string> args) {
    std::vector<std::string> all = base;
    all.insert(all.end(), args.begin(), args.end());
    return Lifeboat(all);
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(lb({"backup", "--tier", "hourly", "--tier", "twice-daily"}).exit_code, 0);
    ASSERT_TRUE(c->Etcdctl({"put", "/k", std::to_string(i)}).ok());  // distinct revisions, distinct names
  }
  // Damage: a manifest that is not JSON, and an object with no manifest.
  auto files = FilesUnder(store);
  std::string stray = store + "/db-etcd/hourly/stray.db";
  std::ofstream(stray) << "x";
  std::ofstream(store + "/db-etcd/hourly/broken.manifest.json") << "{not json";
  ASSERT_EQ(CountSuffix(FilesUnder(store), ".manifest.json"), 7);

  // Four days later: hourly (72 h) has expired except its newest; twice-daily (15 d) has not.
  ProcResult dry = lb({"prune", "--dry-run", "--now", "2099-01-01T00:00:00Z", "-w", "json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(FilesUnder(store).size(), files.size() + 2) << "--dry-run deletes nothing";

  std::string four_days = harness::Run({"date", "-u", "-d", "+4 days", "+%Y-%m-%dT%H:%M:%SZ"}).out;
  four_days.pop_back();
  ProcResult p = lb({"prune", "--now", four_days, "-w", "json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  auto plan = ParseJson(p.out);
  int deleted = 0, problems = 0;
  for (const auto& i : plan) {
    deleted += i["deleted"].get<bool>();
    problems += i["action"] == "PROBLEM";
    if (i["deleted"].get<bool>()) {
      EXPECT_EQ(i["tier"], "hourly") << i.dump();
    }
  }
  EXPECT_EQ(deleted, 2);
  EXPECT_EQ(problems, 2) << p.out;
  auto listing = ParseJson(lb({"list", "-w", "json"}).out);
  ASSERT_EQ(listing.size(), 5u) << "1 hourly (the newest) + 3 twice-daily, and the stray object";
  EXPECT_EQ(listing[4]["object_key"], "db-etcd/hourly/stray.db");
  EXPECT_EQ(listing[4]["incomplete"], true) << "listed as what it is: an object without a manifest";
  EXPECT_TRUE(std::filesystem::exists(stray)) << "an object without a manifest is never deleted";
  EXPECT_TRUE(std::filesystem::exists(store + "/db-etcd/hourly/broken.manifest.json"));

  // Far in the future every tier keeps its newest backup.
  p = lb({"prune", "--now", "2099-01-01T00:00:00Z"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(ParseJson(lb({"list", "-w", "json"}).out).size(), 3u) << "2 newest and the stray object";
}

TEST(TierConfigTest, BadTiersAreUsageErrors) {
  std::string dir = MakeTempDir("lb-tiers-");
  auto run = [&](const std::string& yaml) {
    std::ofstream(dir + "/t.yaml") << "store: file://" << dir << "/store\n" << yaml;
    return Lifeboat({"--config", dir + "/t.yaml", "prune", "--dry-run"});
  };
  ProcResult r = run("tiers:\n  - {name: a, folder: x, schedule: '0 * * * *', keep: 3d}\n"
                     "  - {name: b, folder: x/y, schedule: '0 0 * * *', keep: 15d}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("overlap"), std::string::npos) << r.err;
  r = run("tiers:\n  - {name: a, schedule: '0 * * * *', keep: 0h}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("zero time"), std::string::npos) << r.err;
  r = run("tiers:\n  - {name: a, schedule: '61 * * * *', keep: 3d}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("invalid cron expression"), std::string::npos) << r.err;
  r = run("tiers:\n  - {name: a, folder: hourly, schedule: '0 * * * *', keep: 3d}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(FilesUnder(dir + "/store").empty());
}

TEST(MultiStoreTest, OneFailingStoreDoesNotStopTheOthers) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-multi-");
  std::ofstream(dir + "/plainfile") << "x";
  std::ofstream(dir + "/m.yaml") << "endpoints: [" << c->endpoints() << "]\nstores: [file://" << dir
                                 << "/a, file://" << dir << "/b]\n";
  ProcResult r = Lifeboat({"--config", dir + "/m.yaml", "backup", "-w", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FilesUnder(dir + "/a").size(), 2u);
  EXPECT_EQ(FilesUnder(dir + "/b").size(), 2u);
  EXPECT_EQ(ParseJson(r.out)["copies"].size(), 2u);

  std::ofstream(dir + "/bad.yaml") << "endpoints: [" << c->endpoints() << "]\nstores: [file://" << dir
                                   << "/plainfile/x, file://" << dir << "/c]\n";
  r = Lifeboat({"--config", dir + "/bad.yaml", "backup", "-w", "json"});
  EXPECT_EQ(r.exit_code, 1) << "a failed copy is a failed backup run";
  EXPECT_EQ(FilesUnder(dir + "/c").size(), 2u) << "the healthy store still got its copy";
  auto j = ParseJson(r.out);
  ASSERT_EQ(j["copies"].size(), 2u);
  for (const auto& copy : j["copies"]) {
    bool bad = copy["store"].get<std::string>().find("plainfile") != std::string::npos;
    EXPECT_EQ(copy["ok"].get<bool>(), !bad) << copy.dump();
  }
}

}  // namespace
}  // namespace lifeboat::harness
