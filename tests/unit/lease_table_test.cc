// The agent's recovery lease: who may acquire it, when it ends, which calls it admits, and that
// it survives an agent restart (the file), against a clock the test moves.
#include "host/lease_table.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "base/file_lock.h"
#include "scratch_dir.h"

namespace lifeboat::host {
namespace {

using std::chrono::milliseconds;
using testing::ScratchDir;

LeaseInfo Want(const std::string& owner, const std::string& holder = "alice@ws1") {
  LeaseInfo l;
  l.owner_id = owner;
  l.holder = holder;
  l.operation = "restore-cluster";
  l.journal = "ws1:/var/lib/lifeboat/restore-journal.json";
  return l;
}

constexpr int64_t T0 = 1764583331000;  // 2025-12-01T10:02:11Z
const milliseconds kTtl(60000);

TEST(LeaseTableTest, OneOwnerAtATimeUntilReleasedOrExpired) {
  LeaseTable t("");
  auto a = t.Acquire(Want("a"), kTtl, false, T0);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->lease.expires_ms, T0 + 60000);
  EXPECT_EQ(a->lease.epoch, 1u);
  EXPECT_TRUE(a->previous.empty());

  auto b = t.Acquire(Want("b", "bob@ws2"), kTtl, false, T0 + 1000);
  ASSERT_EQ(b.status().code(), Status::Code::kFailedPrecondition);
  // The refusal names the holder, the operation, since when, and the way out.
  EXPECT_NE(b.status().message().find("restore-cluster by alice@ws1 since 2025-12-01T10:02:11.000Z"),
            std::string::npos)
      << b.status().message();
  EXPECT_NE(b.status().message().find("--break-lease"), std::string::npos);

  // A renewal keeps the acquisition time and epoch and moves the expiry.
  auto r = t.Renew("a", 1, kTtl, T0 + 30000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->acquired_ms, T0);
  EXPECT_EQ(r->epoch, 1u);
  EXPECT_EQ(r->expires_ms, T0 + 90000);
  EXPECT_FALSE(t.Acquire(Want("b", "bob@ws2"), kTtl, false, T0 + 89999).ok());

  // Expired: anyone may take it, under a new epoch.
  auto late = t.Acquire(Want("b", "bob@ws2"), kTtl, false, T0 + 90000);
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->lease.acquired_ms, T0 + 90000);
  EXPECT_EQ(late->lease.epoch, 2u);
  EXPECT_TRUE(late->previous.empty()) << "an expired lease is not broken";

  // Release by someone else, or by the owner under another epoch, changes nothing.
  EXPECT_FALSE(*t.Release("a", 1, nullptr, T0 + 91000));
  EXPECT_FALSE(*t.Release("b", 1, nullptr, T0 + 91000));
  EXPECT_FALSE(t.LiveLease(T0 + 91000).empty());
  EXPECT_TRUE(*t.Release("b", 2, nullptr, T0 + 91000));
  EXPECT_TRUE(t.LiveLease(T0 + 91000).empty());
}

TEST(LeaseTableTest, ARenewalNeverAcquires) {
  // The stale coordinator: its lease lapsed (or was broken) and another recovery ran and
  // released. Its renewal must fail, although nobody holds the member now.
  LeaseTable t("");
  ASSERT_TRUE(t.Acquire(Want("a"), kTtl, false, T0).ok());
  auto b = t.Acquire(Want("b", "bob@ws2"), kTtl, true, T0 + 10);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(*t.Release("b", b->lease.epoch, nullptr, T0 + 20));
  auto r = t.Renew("a", 1, kTtl, T0 + 30);
  ASSERT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("was broken by restore-cluster by bob@ws2"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(t.LiveLease(T0 + 30).empty()) << "the refused renewal took nothing";
  // Its mutating calls are refused too, naming who broke it.
  Status s = t.CheckFencedCall("a", 1, T0 + 30);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("bob@ws2"), std::string::npos) << s.message();

  // Expired and nobody else came: still refused, saying so.
  LeaseTable u("");
  ASSERT_TRUE(u.Acquire(Want("a"), kTtl, false, T0).ok());
  auto e = u.Renew("a", 1, kTtl, T0 + 60000);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("expired at"), std::string::npos) << e.status().message();
  EXPECT_FALSE(u.CheckFencedCall("a", 1, T0 + 60000).ok());
}

TEST(LeaseTableTest, TheSameOwnerFromAnotherHolderWaits) {
  // A journal copied to another host resumes only once the lease expired or is broken.
  LeaseTable t("");
  ASSERT_TRUE(t.Acquire(Want("a", "alice@ws1"), kTtl, false, T0).ok());
  EXPECT_FALSE(t.Acquire(Want("a", "alice@ws2"), kTtl, false, T0 + 1).ok());
  // The same holder (a --resume on that host) re-acquires under a new epoch: the process it
  // resumes, were it alive, is fenced off.
  auto again = t.Acquire(Want("a", "alice@ws1"), kTtl, false, T0 + 2);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->lease.epoch, 2u);
  EXPECT_FALSE(t.CheckFencedCall("a", 1, T0 + 3).ok());
  EXPECT_TRUE(t.CheckFencedCall("a", 2, T0 + 3).ok());
  EXPECT_FALSE(t.Renew("a", 1, kTtl, T0 + 3).ok());
}

TEST(LeaseTableTest, BreakingTakesOverAndReportsTheHolder) {
  LeaseTable t("");
  ASSERT_TRUE(t.Acquire(Want("a"), kTtl, false, T0).ok());
  auto b = t.Acquire(Want("b", "bob@ws2"), kTtl, true, T0 + 5);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->previous.owner_id, "a");
  EXPECT_EQ(b->previous.holder, "alice@ws1");
  EXPECT_EQ(t.LiveLease(T0 + 6).owner_id, "b");
  // The old owner's calls are refused from now on.
  Status s = t.CheckFencedCall("a", 1, T0 + 6);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("bob@ws2"), std::string::npos) << s.message();
}

TEST(LeaseTableTest, AdmitsOnlyTheLiveOwnerAndEpoch) {
  LeaseTable t("");
  EXPECT_EQ(t.CheckFencedCall("", 0, T0).code(), Status::Code::kFailedPrecondition) << "no lease: no change";
  EXPECT_EQ(t.CheckFencedCall("a", 1, T0).code(), Status::Code::kFailedPrecondition) << "a call under a lease not held here";
  ASSERT_TRUE(t.Acquire(Want("a"), kTtl, false, T0).ok());
  EXPECT_TRUE(t.CheckFencedCall("a", 1, T0 + 1).ok());
  EXPECT_EQ(t.CheckFencedCall("a", 0, T0 + 1).code(), Status::Code::kFailedPrecondition) << "the owner without its epoch";
  EXPECT_EQ(t.CheckFencedCall("a", 2, T0 + 1).code(), Status::Code::kFailedPrecondition) << "an epoch not granted";
  EXPECT_EQ(t.CheckFencedCall("", 0, T0 + 1).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(t.CheckFencedCall("b", 1, T0 + 1).code(), Status::Code::kFailedPrecondition);
  // Lapsed: its owner is refused (it must re-acquire), and so is everyone else.
  Status lapsed = t.CheckFencedCall("a", 1, T0 + 60000);
  EXPECT_EQ(lapsed.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(lapsed.message().find("expired"), std::string::npos) << lapsed.message();
  EXPECT_FALSE(t.CheckFencedCall("", 0, T0 + 60000).ok());
}

TEST(LeaseTableTest, EpochsNeverRepeatAcrossReleasesAndRestarts) {
  ScratchDir dir;
  std::string path = dir.path() + "/staging/recovery-lease.json";
  uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    LeaseTable t(path);  // a restarted agent
    ASSERT_TRUE(t.Load().ok());
    auto g = t.Acquire(Want("a" + std::to_string(round)), kTtl, false, T0 + round);
    ASSERT_TRUE(g.ok());
    EXPECT_GT(g->lease.epoch, last);
    last = g->lease.epoch;
    ASSERT_TRUE(*t.Release(g->lease.owner_id, g->lease.epoch, nullptr, T0 + round));
  }
  EXPECT_EQ(last, 3u);
}

TEST(LeaseTableTest, RecordsTheLastFinishedRecovery) {
  ScratchDir dir;
  std::string path = dir.path() + "/recovery-lease-m1.json";
  {
    LeaseTable t(path);
    ASSERT_TRUE(t.Load().ok());
    auto g = t.Acquire(Want("b", "bob@ws2"), kTtl, false, T0);
    ASSERT_TRUE(g.ok());
    RecoveryRecord done;
    done.operation = "restore-cluster";
    done.backup = "db-etcd/a/2025-12-01/10/prod_m2_r7_x.db";
    ASSERT_TRUE(*t.Release("b", g->lease.epoch, &done, T0 + 5000));
  }
  LeaseTable again(path);
  ASSERT_TRUE(again.Load().ok());
  RecoveryRecord r = again.LastRecovery();
  EXPECT_EQ(r.owner_id, "b");
  EXPECT_EQ(r.holder, "bob@ws2");
  EXPECT_EQ(r.epoch, 1u);
  EXPECT_EQ(r.backup, "db-etcd/a/2025-12-01/10/prod_m2_r7_x.db");
  EXPECT_EQ(r.finished_ms, T0 + 5000);
  EXPECT_NE(DescribeRecord(r).find("restore-cluster by bob@ws2 (epoch 1) from db-etcd/a/"), std::string::npos)
      << DescribeRecord(r);
  // A release of an expired lease records nothing: that recovery did not finish under it.
  auto g = again.Acquire(Want("c"), kTtl, false, T0 + 6000);
  ASSERT_TRUE(g.ok());
  RecoveryRecord late;
  late.operation = "recover-member m2";
  EXPECT_FALSE(*again.Release("c", g->lease.epoch, &late, T0 + 6000 + 60000));
  EXPECT_EQ(again.LastRecovery().owner_id, "b");
}

TEST(LeaseTableTest, SurvivesARestartThroughItsFile) {
  ScratchDir dir;
  std::string path = dir.path() + "/staging/recovery-lease.json";  // the dir is created
  {
    LeaseTable t(path);
    ASSERT_TRUE(t.Load().ok());
    ASSERT_TRUE(t.Acquire(Want("a"), kTtl, false, T0).ok());
  }
  LeaseTable again(path);
  ASSERT_TRUE(again.Load().ok());
  EXPECT_EQ(again.LiveLease(T0 + 1).holder, "alice@ws1");
  EXPECT_EQ(again.LiveLease(T0 + 1).epoch, 1u);
  EXPECT_FALSE(again.CheckFencedCall("", 0, T0 + 1).ok());
  EXPECT_TRUE(again.CheckFencedCall("a", 1, T0 + 1).ok());
  ASSERT_TRUE(*again.Release("a", 1, nullptr, T0 + 2));
  LeaseTable third(path);
  ASSERT_TRUE(third.Load().ok());
  EXPECT_TRUE(third.LiveLease(T0 + 3).empty());

  std::ofstream(path) << "{not json";
  LeaseTable damaged(path);
  EXPECT_EQ(damaged.Load().code(), Status::Code::kCorruption) << "a damaged lease is never forgotten silently";
}

TEST(LeaseTableTest, ReadsTheFormatWithoutEpochs) {
  // An agent of the version before epochs kept the bare lease.
  ScratchDir dir;
  std::string path = dir.path() + "/recovery-lease-m1.json";
  std::ofstream(path) << R"({"owner_id": "a", "holder": "alice@ws1", "operation": "restore-cluster",
                            "journal": "", "acquired_ms": )"
                      << T0 << R"(, "renewed_ms": )" << T0 << R"(, "expires_ms": )" << T0 + 60000 << "}";
  LeaseTable t(path);
  ASSERT_TRUE(t.Load().ok());
  EXPECT_EQ(t.LiveLease(T0 + 1).owner_id, "a");
  EXPECT_EQ(t.LiveLease(T0 + 1).epoch, 0u);
  auto g = t.Acquire(Want("b", "bob@ws2"), kTtl, true, T0 + 2);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->lease.epoch, 1u);
}

TEST(LeaseTableTest, AnUnwritableFileStillGrantsInMemoryAndSaysWhy) {
  ScratchDir dir;
  std::ofstream(dir.path() + "/plain") << "x";
  LeaseTable t(dir.path() + "/plain/recovery-lease-m1.json");  // below a regular file: never writable
  auto g = t.Acquire(Want("a"), kTtl, false, T0);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_FALSE(g->not_kept.ok());
  EXPECT_EQ(t.LiveLease(T0 + 1).owner_id, "a");
  EXPECT_FALSE(t.CheckFencedCall("", 0, T0 + 1).ok()) << "enforced all the same";
}

TEST(FileLockTest, HeldUntilReleasedAndNamesTheHolder) {
  ScratchDir dir;
  std::string path = dir.path() + "/journal.lock";
  auto a = FileLock::TryAcquire(path);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  // Another process is refused while this one holds it (flock is per open file description,
  // so a child that opens the file anew contends like a second coordinator).
  pid_t child = fork();
  if (child == 0) {
    auto b = FileLock::TryAcquire(path);
    bool named = !b.ok() && b.status().message().find("pid " + std::to_string(getppid())) != std::string::npos;
    _exit(b.ok() ? 1 : named ? 0 : 2);
  }
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "1: acquired twice; 2: the refusal does not name the holder's pid";
  a->reset();
  EXPECT_TRUE(FileLock::TryAcquire(path).ok());
}

}  // namespace
}  // namespace lifeboat::host
