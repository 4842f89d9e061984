// The change log against a real cluster and a local store: every change after the start
// revision lands in contiguous, checksummed segments, and replaying them reproduces the key
// space that etcd itself reports, at the final revision and at a revision in the middle (read
// with etcd's own history, --rev). A start below the compaction is refused.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "catalog/change_segment.h"
#include "etcd/client.h"
#include "harness/change_log.h"
#include "harness/cluster_data.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "ops/backup/changelog.h"
#include "store/store.h"

namespace lifeboat::harness {
namespace {

KV EtcdAt(const EtcdCluster& c, int64_t rev) {
  auto r = c.Etcdctl({"get", "", "--prefix", "--rev=" + std::to_string(rev)});
  EXPECT_TRUE(r.ok()) << r.err;
  return ParseGet(r.out);
}

int64_t Revision(const EtcdCluster& c) {
  etcd::ClientOptions o;
  o.endpoints = {c.endpoint("m1")};
  auto cl = etcd::Client::Connect(c.endpoint("m1"), o);
  EXPECT_TRUE(cl.ok());
  auto st = (*cl)->Status();
  EXPECT_TRUE(st.ok());
  return st->header.revision;
}

TEST(ChangeLogTest, SegmentsReplayToEtcdsOwnHistory) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c->Etcdctl({"put", "base/" + std::to_string(i), "b"}).ok());
  const int64_t base = Revision(*c);
  const KV at_base = EtcdAt(*c, base);
  std::string dir = MakeTempDir("lb-changes-");
  auto store = store::OpenStore("file://" + dir + "/store");
  ASSERT_TRUE(store.ok());

  BackgroundChangeLog log(c->endpoint("m2"), **store, base + 1);
  int64_t middle = 0;
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(c->Etcdctl({"put", "live/" + std::to_string(i % 17), "v" + std::to_string(i)}).ok());
    if (i % 9 == 0) {
      ASSERT_TRUE(c->Etcdctl({"del", "base/" + std::to_string(i / 9)}).ok());
    }
    if (i == 30) middle = Revision(*c);
  }
  const int64_t final_rev = Revision(*c);
  ASSERT_TRUE(log.WaitFor(final_rev));
  Status logged = log.Stop();
  ASSERT_TRUE(logged.ok()) << logged.ToString();
  EXPECT_GE(log.segments(), 2) << "flushed about every 200 ms";

  auto listing = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(listing.ok());
  EXPECT_TRUE(listing->problems.empty());
  int64_t next = base + 1;
  std::vector<catalog::ChangeEvent> all;
  for (const auto& m : listing->segments) {
    EXPECT_EQ(m.start_revision, next) << "segments are contiguous";
    next = m.end_revision + 1;
    auto events = catalog::ReadSegment(**store, m);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    all.insert(all.end(), events->events.begin(), events->events.end());
  }
  EXPECT_GE(next - 1, final_rev);
  auto replay = [&](int64_t upto) {
    KV kv = at_base;
    for (const auto& e : all) {
      if (e.revision > upto) break;
      if (e.is_delete) kv.erase(e.key);
      else kv[e.key] = e.value;
    }
    return kv;
  };
  EXPECT_EQ(replay(final_rev), EtcdAt(*c, final_rev));
  EXPECT_EQ(replay(middle), EtcdAt(*c, middle)) << "at revision " << middle;

  // A damaged segment is refused by its checksum.
  auto& m0 = listing->segments.front();
  auto w = (*store)->Create(m0.object_key);
  ASSERT_TRUE(w.ok());
  std::string junk = catalog::EncodeSegment({});
  ASSERT_TRUE((*w)->Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(junk.data()), junk.size())).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(catalog::ReadSegment(**store, m0).status().code(), Status::Code::kCorruption);
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

TEST(ChangeLogTest, CompactedStartIsRefused) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->Etcdctl({"put", "k", std::to_string(i)}).ok());
  int64_t rev = Revision(*c);
  ASSERT_TRUE(c->Etcdctl({"compaction", std::to_string(rev)}).ok());
  std::string dir = MakeTempDir("lb-changes-c-");
  auto store = store::OpenStore("file://" + dir + "/store");
  ASSERT_TRUE(store.ok());
  etcd::ClientOptions co;
  co.endpoints = {c->endpoint("m1")};
  ops::ChangeLogOptions o;
  o.cluster_name = "prod";
  std::atomic<bool> stop{false};
  Status s = ops::RunChangeLog(co, **store, o, 2, 0, stop);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("compacted at"), std::string::npos);
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::harness
