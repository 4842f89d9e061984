// The change log under the faults of a real cluster: values as large as etcd takes, written
// while no log ran; the watched member restarted; the leader moved and killed; the watched
// member cut off from the log. After each, every revision the cluster made is in exactly one
// place of a contiguous run of segments, and replaying them gives etcd's own key space.
#include <gtest/gtest.h>
#include <signal.h>

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "catalog/change_segment.h"
#include "etcd/client.h"
#include "harness/change_log.h"
#include "harness/cluster_data.h"
#include "harness/etcd_cluster.h"
#include "harness/fault_proxy.h"
#include "harness/process.h"
#include "harness/store_probe.h"
#include "store/store.h"

namespace lifeboat::harness {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

etcd::ClientOptions Options(const std::string& endpoint) {
  etcd::ClientOptions o;
  o.endpoints = {endpoint};
  o.dial_timeout = milliseconds(500);
  o.command_timeout = seconds(2);
  return o;
}

// The cluster's revision, asked of the first member that answers.
int64_t Revision(const EtcdCluster& c) {
  for (const auto& name : c.names()) {
    auto cl = etcd::Client::Connect(c.endpoint(name), Options(c.endpoint(name)));
    if (!cl.ok()) continue;
    auto st = (*cl)->Status();
    if (st.ok()) return st->header.revision;
  }
  ADD_FAILURE() << "no member answers";
  return 0;
}

// Puts "load/<n>" to whichever member answers, until stopped; a failed put is tried again on
// the next member. Every put is one revision.
class Writer {
 public:
  explicit Writer(const EtcdCluster& c, size_t value_size = 512) {
    thread_ = std::thread([this, &c, value_size] {
      const std::string value(value_size, 'v');
      size_t member = 0;
      std::unique_ptr<etcd::Client> cl;
      for (int n = 0; !stop_.load();) {
        if (!cl) {
          const std::string ep = c.endpoint(c.names()[member++ % c.names().size()]);
          auto made = etcd::Client::Connect(ep, Options(ep));
          if (!made.ok()) continue;
          cl = std::move(*made);
        }
        if (cl->Put("load/" + std::to_string(n % 200), value + std::to_string(n)).ok()) {
          ++n;
          puts_ = n;
        } else {
          cl.reset();
        }
      }
    });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits until `more` puts succeeded after this call.
  bool WaitForMore(int more) {
    const int target = puts_.load() + more;
    return PollUntil(seconds(30), [&] { return puts_.load() >= target; }, milliseconds(20));
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> puts_{0};
  std::thread thread_;
};

// The segments of "prod" cover [from, to] contiguously and hold every revision in it (the tests
// only put, so each revision has a change); replayed over `base` they give etcd's key space at `to`.
void ExpectEveryRevision(store::Store& store, const EtcdCluster& c, int64_t from, int64_t to, const KV& base) {
  auto listing = catalog::ListSegments(store, "db-etcd", "prod");
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  EXPECT_TRUE(listing->problems.empty());
  int64_t next = from;
  std::set<int64_t> revisions;
  KV kv = base;
  for (const auto& m : listing->segments) {
    ASSERT_EQ(m.start_revision, next) << "segments are contiguous";
    next = m.end_revision + 1;
    auto data = catalog::ReadSegment(store, m);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    for (const auto& e : data->events) {
      EXPECT_TRUE(revisions.insert(e.revision).second || e.sub > 0) << "revision " << e.revision << " twice";
      if (e.revision > to) continue;
      if (e.is_delete) {
        kv.erase(e.key);
      } else {
        kv[e.key] = e.value;
      }
    }
  }
  ASSERT_GE(next - 1, to) << "the log reaches the last revision";
  std::vector<int64_t> missing;
  for (int64_t r = from; r <= to; ++r) {
    if (!revisions.count(r)) missing.push_back(r);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " revisions missing, the first " << missing.front();
  auto got = c.Etcdctl({"get", "", "--prefix", "--rev=" + std::to_string(to)});
  ASSERT_TRUE(got.ok()) << got.err;
  EXPECT_TRUE(kv == ParseGet(got.out)) << "the replay differs from etcd at revision " << to;
}

class ChangeLogFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_ = EtcdCluster::Start();
    ASSERT_TRUE(c_);
    dir_ = MakeTempDir("lb-clfault-");
    auto st = store::OpenStore("file://" + dir_ + "/store");
    ASSERT_TRUE(st.ok());
    store_ = std::move(*st);
    ASSERT_TRUE(c_->Etcdctl({"put", "base", "b"}).ok());
    from_ = Revision(*c_) + 1;
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  // Stops the writer, waits for the log to reach the cluster's revision, stops it, and checks.
  void Finish(Writer& w, BackgroundChangeLog& log) {
    w.Stop();
    const int64_t to = Revision(*c_);
    ASSERT_TRUE(log.WaitFor(to)) << "the log did not reach revision " << to;
    Status s = log.Stop();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectEveryRevision(*store_, *c_, from_, to, {{"base", "b"}});
  }
  std::string Endpoints(const std::vector<std::string>& names) const {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + c_->endpoint(n);
    return out;
  }

  std::unique_ptr<EtcdCluster> c_;
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  int64_t from_ = 0;
};

// 60 values of 1.2 MiB (etcd takes at most 1.5 MiB a request) are 72 MiB in one catch-up
// response, over any receive limit; a fragmented watch gets it in pieces, in one go.
TEST_F(ChangeLogFaultTest, LargeValuesWrittenWhileNoLogRanAreCaughtUpInOneGo) {
  auto cl = etcd::Client::Connect(c_->endpoint("m1"), Options(c_->endpoint("m1")));
  ASSERT_TRUE(cl.ok());
  const std::string big(1200 * 1024, 'x');
  for (int i = 0; i < 60; ++i) {
    auto put = (*cl)->Put("secret/" + std::to_string(i), std::to_string(i) + big);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }
  BackgroundChangeLog log(c_->endpoint("m2"), *store_, from_);
  const int64_t to = Revision(*c_);
  ASSERT_TRUE(log.WaitFor(to)) << "the log did not catch up to revision " << to;
  EXPECT_EQ(log.reopened(), 0) << "caught up by the first watch";
  Status s = log.Stop();
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectEveryRevision(*store_, *c_, from_, to, {{"base", "b"}});
}

// etcd's graceful stop ends every watch stream; the log goes on from another member and comes
// back to nothing missing.
TEST_F(ChangeLogFaultTest, RestartOfTheWatchedMemberLosesNoRevision) {
  BackgroundChangeLog log(Endpoints({"m2", "m1", "m3"}), *store_, from_);
  Writer w(*c_);
  ASSERT_TRUE(w.WaitForMore(100));
  ASSERT_TRUE(c_->Kill("m2", SIGTERM));
  ASSERT_TRUE(w.WaitForMore(100));
  ASSERT_TRUE(c_->StartMember("m2"));
  ASSERT_TRUE(w.WaitForMore(100));
  EXPECT_GE(log.reopened(), 1);
  Finish(w, log);
}

// The leader moves while the log watches it, then the new leader is killed mid-write: two
// elections under a running log.
TEST_F(ChangeLogFaultTest, LeaderChangesLoseNoRevision) {
  const std::string leader = c_->Leader();
  ASSERT_FALSE(leader.empty());
  std::vector<std::string> order = {leader};
  for (const auto& n : c_->names()) {
    if (n != leader) order.push_back(n);
  }
  BackgroundChangeLog log(Endpoints(order), *store_, from_);
  Writer w(*c_);
  ASSERT_TRUE(w.WaitForMore(100));
  auto id = harness::Run({c_->etcdctl(), "--endpoints", c_->endpoint(order[1]), "endpoint", "status", "-w", "json"});
  ASSERT_EQ(id.exit_code, 0) << id.err;
  const uint64_t member_id = ParseJson(id.out)[0]["Status"]["header"]["member_id"].get<uint64_t>();
  auto moved = c_->EtcdctlAt(c_->endpoint(leader), {"move-leader", fmt::format("{:x}", member_id)});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  ASSERT_TRUE(w.WaitForMore(100));
  ASSERT_TRUE(c_->Kill(order[1], SIGKILL));
  ASSERT_TRUE(w.WaitForMore(100));
  ASSERT_TRUE(c_->StartMember(order[1]));
  ASSERT_TRUE(w.WaitForMore(50));
  Finish(w, log);
}

// The watched member stops answering the log (its connection stalls, the member itself is fine):
// after the stall timeout the log reopens the watch on the next member.
TEST_F(ChangeLogFaultTest, PartitionOfTheWatchedMemberLosesNoRevision) {
  FaultProxy cut(c_->endpoint("m2"), "stall", 64 << 10, dir_);
  ops::ChangeLogOptions o = FastChangeLog();
  o.stall_timeout = seconds(2);
  BackgroundChangeLog log(cut.url() + "," + Endpoints({"m1", "m3"}), *store_, from_, o);
  Writer w(*c_);
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return log.reopened() >= 1; })) << "the stall was never noticed";
  ASSERT_TRUE(w.WaitForMore(100));
  Finish(w, log);
}

}  // namespace
}  // namespace lifeboat::harness
