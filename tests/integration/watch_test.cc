// etcd::Client::Watch against a real cluster: the building block of the change log.
// Every put and delete arrives in revision order with its previous value; an idle watch still
// reports progress; a start below the compaction is refused with the compact revision.
#include <gtest/gtest.h>
#include <signal.h>

#include "etcd/client.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"

namespace lifeboat::harness {
namespace {

std::unique_ptr<etcd::Client> Connect(const EtcdCluster& c, const std::string& name) {
  etcd::ClientOptions o;
  o.endpoints = {c.endpoint(name)};
  auto client = etcd::Client::Connect(c.endpoint(name), o);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST(WatchTest, EveryChangeInOrderWithPreviousValuesThenProgress) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  auto w = Connect(*c, "m2");
  ASSERT_NE(w, nullptr);
  auto st = w->Status();
  ASSERT_TRUE(st.ok());
  const int64_t from = st->header.revision + 1;
  ASSERT_TRUE(c->Etcdctl({"put", "w/a", "1"}).ok());
  ASSERT_TRUE(c->Etcdctl({"put", "w/a", "2"}).ok());
  ASSERT_TRUE(c->Etcdctl({"put", "w/b", "x"}).ok());
  ASSERT_TRUE(c->Etcdctl({"del", "w/a"}).ok());
  ASSERT_TRUE(c->Etcdctl({"put", "other", "not watched"}).ok());

  std::vector<etcd::WatchEvent> events;
  int64_t reached = 0;
  int empty_batches = 0;
  etcd::WatchOptions o;
  o.prev_kv = true;
  o.progress_every = std::chrono::milliseconds(200);
  Status s = w->Watch("w/", "w0", from, o, [&](const etcd::WatchBatch& b) -> Result<bool> {
    for (const auto& e : b.events) events.push_back(e);
    reached = std::max(reached, b.header_revision);
    if (b.events.empty()) empty_batches++;
    return !(events.size() >= 4 && empty_batches >= 2);  // two progress reports after the events
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_FALSE(events[0].is_delete);
  EXPECT_EQ(events[0].kv.key, "w/a");
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[0].kv.mod_revision, from);
  EXPECT_FALSE(events[0].has_prev);
  EXPECT_EQ(events[1].kv.value, "2");
  EXPECT_EQ(events[1].kv.version, 2);
  ASSERT_TRUE(events[1].has_prev);
  EXPECT_EQ(events[1].prev.value, "1");
  EXPECT_EQ(events[2].kv.key, "w/b");
  EXPECT_TRUE(events[3].is_delete);
  EXPECT_EQ(events[3].kv.key, "w/a");
  EXPECT_EQ(events[3].kv.mod_revision, from + 3);
  EXPECT_EQ(events[3].prev.value, "2");
  EXPECT_GE(reached, from + 4) << "progress reports the revision reached, past the unwatched put";
}

TEST(WatchTest, StartBelowTheCompactionIsRefused) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->Etcdctl({"put", "k", std::to_string(i)}).ok());
  auto w = Connect(*c, "m1");
  ASSERT_NE(w, nullptr);
  auto st = w->Status();
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(c->Etcdctl({"compaction", std::to_string(st->header.revision)}).ok());
  int64_t compacted = 0;
  Status s = w->Watch("k", "", 2, {}, [](const etcd::WatchBatch&) -> Result<bool> { return true; }, &compacted);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("compacted at " + std::to_string(st->header.revision)), std::string::npos) << s.message();
  EXPECT_EQ(compacted, st->header.revision);
}

// WithRequireLeader: a member that lost its leader (here: the other two stopped) ends the watch
// with "no leader" after three election timeouts, instead of streaming nothing forever.
TEST(WatchTest, AMemberWithoutLeaderEndsTheWatch) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  auto w = Connect(*c, "m2");
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(c->Kill("m1", SIGSTOP));
  ASSERT_TRUE(c->Kill("m3", SIGSTOP));
  etcd::WatchOptions o;
  o.progress_every = std::chrono::milliseconds(200);
  auto started = std::chrono::steady_clock::now();
  Status s = w->Watch("k", "", 0, o, [](const etcd::WatchBatch&) -> Result<bool> { return true; });
  auto took = std::chrono::steady_clock::now() - started;
  kill(c->pid("m1"), SIGCONT);
  kill(c->pid("m3"), SIGCONT);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("no leader"), std::string::npos) << s.message();
  EXPECT_LT(took, std::chrono::seconds(20));
}

}  // namespace
}  // namespace lifeboat::harness
