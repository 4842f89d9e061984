// The restore Kubernetes survives, against a real etcd of the pass's version. A kube-apiserver's
// watch cache resumes its watches at the revision it saw last; after a restore to an older
// backup, plain, the cluster serves lower revisions again, and what is written next reuses
// revisions the cache already holds other events for. `restore-cluster --kubernetes` (etcdutl's
// --bump-revision 1000000000 --mark-compacted) restores every member above every revision any
// watcher saw, compacted there: a watcher that saw revision R before the restore is told
// "compacted" from R on, never given an old event again, and re-lists; `lifeboat status` shows
// the jump (revision and compact revision together).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "harness/agent_cluster.h"
#include "harness/cluster_data.h"
#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

constexpr int64_t kKubernetesBump = 1000000000;

// FailedPrecondition naming compact revision `at`.
void ExpectCompactedAt(const Watched& w, int64_t at, int64_t from) {
  EXPECT_EQ(w.status.code(), Status::Code::kFailedPrecondition) << "watch from " << from << ": " << w.status.ToString();
  EXPECT_NE(w.status.message().find("compacted at " + std::to_string(at)), std::string::npos)
      << "watch from " << from << ": " << w.status.message();
  EXPECT_TRUE(w.events.empty()) << "watch from " << from << " got " << w.events.size() << " old events";
}

TEST(KubernetesRestoreTest, AWatcherThatSawRevisionRGetsCompactedFromRAfterRestoreClusterKubernetes) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  const std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  const std::string m1 = c->members()[0].client_url;
  auto client = ClientTo(m1);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client->Put("/registry/pods/default/p" + std::to_string(i), "v1").ok());
  auto b = Lifeboat({"backup", "--config", cfg});
  ASSERT_TRUE(b.ok()) << b.err;
  // After the backup the cluster moves on; the watch cache sees it all, up to R.
  int64_t r = 0;
  for (int i = 0; i < 10; ++i) {
    auto put = client->Put("/registry/pods/default/q" + std::to_string(i), "after the backup");
    ASSERT_TRUE(put.ok());
    r = *put;
  }
  Watched cache = WatchFrom(c->members()[1].client_url, "/registry/", 1, r);
  ASSERT_TRUE(cache.status.ok()) << cache.status.ToString();
  ASSERT_EQ(cache.events.size(), 30u);
  ASSERT_EQ(cache.events.back().kv.mod_revision, r);
  const KV backed_up = [&] {
    KV kv = ReadAll(m1);
    for (int i = 0; i < 10; ++i) kv.erase("/registry/pods/default/q" + std::to_string(i));
    return kv;
  }();

  auto restored = Lifeboat({"restore-cluster", "--config", cfg, "--kubernetes", "--yes", "-w", "json"}, {},
                           std::chrono::seconds(240));
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
  auto j = ParseJson(restored.out);
  const int64_t snap = j["plan"]["revision"].get<int64_t>();
  const int64_t jump = j["plan"]["restored_revision"].get<int64_t>();
  EXPECT_EQ(j["plan"]["bump_revision"], kKubernetesBump);
  EXPECT_TRUE(j["plan"]["mark_compacted"].get<bool>());
  EXPECT_LT(snap, r) << "the backup is older than what the watcher saw";
  EXPECT_EQ(jump, snap + kKubernetesBump);
  EXPECT_NE(restored.err.find(std::to_string(snap) + " -> " + std::to_string(jump)), std::string::npos) << restored.err;

  // Every member serves the backup's keys at the jump, compacted there; status shows both.
  auto st = Lifeboat({"status", "--config", cfg, "-w", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.out << st.err;
  auto sj = ParseJson(st.out);
  ASSERT_EQ(sj["members"].size(), 3u) << st.out;
  for (const auto& m : sj["members"]) {
    EXPECT_EQ(m["revision"], jump) << m;
    EXPECT_EQ(m["compact_revision"], jump) << m;
  }
  auto table = Lifeboat({"status", "--config", cfg});
  EXPECT_NE(table.out.find("COMPACTED"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(std::to_string(jump)), std::string::npos) << table.out;
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), backed_up) << m.name;

  // The watcher resumes where it was, and from anywhere in the old history: compacted, no event.
  for (int64_t from : {r + 1, r, snap + 1, snap, int64_t{2}}) {
    ExpectCompactedAt(WatchFrom(c->members()[2].client_url, "/registry/", from, from), jump, from);
  }
  // What is written now lands above every revision the watcher saw, and a re-list's watch sees it.
  auto client2 = ClientTo(m1);
  ASSERT_NE(client2, nullptr);
  auto put = client2->Put("/registry/pods/default/new", "after the restore");
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(*put, jump + 1);
  Watched relist = WatchFrom(c->members()[1].client_url, "/registry/", jump + 1, jump + 1);
  ASSERT_TRUE(relist.status.ok()) << relist.status.ToString();
  ASSERT_EQ(relist.events.size(), 1u);
  EXPECT_EQ(relist.events[0].kv.key, "/registry/pods/default/new");
  auto check = Lifeboat({"check", "--config", cfg});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST(KubernetesRestoreTest, BadBumpFlagsAreUsageErrorsThatChangeNothing) {
  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  const std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  Load(c->members()[0].client_url, 10, "k");
  ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
  const KV before = ReadAll(c->members()[0].client_url);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bump-revision", "100"}, "--bump-revision needs --mark-compacted"},
      {{"--mark-compacted"}, "--mark-compacted needs --bump-revision"},
      {{"--kubernetes", "--bump-revision", "5", "--mark-compacted"}, "--kubernetes already means"},
  };
  for (const auto& [flags, needle] : cases) {
    std::vector<std::string> args{"restore-cluster", "--config", cfg, "--yes"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = Lifeboat(args);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  }
  auto s = Lifeboat({"snapshot", "restore", c->dir() + "/none.db", "--bump-revision", "7"});
  EXPECT_EQ(s.exit_code, 2) << s.err;
  EXPECT_NE(s.err.find("--bump-revision needs --mark-compacted"), std::string::npos) << s.err;
  for (const auto& m : c->members()) EXPECT_EQ(ReadAll(m.client_url), before) << m.name;
}

}  // namespace
}  // namespace lifeboat::harness
