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
  EXPECT_TRUE(a->previous.empty());

  auto b = t.Acquire(Want("b", "bob@ws2"), kTtl, false, T0 + 1000);
  ASSERT_EQ(b.status().code(), Status::Code::kFailedPrecondition);
  // The refusal names the holder, the operation, since when, and the way out.
  EXPECT_NE(b.status().message().find("restore-cluster by alice@ws1 since 2025-12-01T10:02:11.000Z"),
            std::string::npos)
      << b.status().message();
  EXPECT_NE(b.status().message().find("--break-lease"), std::string::npos);

  // A renewal keeps the acquisition time and moves the expiry.
  auto r = t.Acquire(Want("a"), kTtl, false, T0 + 30000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lease.acquired_ms, T0);
  EXPECT_EQ(r->lease.expires_ms, T0 + 90000);
  EXPECT_FALSE(t.Acquire(Want("b", "bob@ws2"), kTtl, false, T0 + 89999).ok());

  // Expired: anyone may take it.
  auto late = t.Acquire(Want("b", "bob@ws2"), kTtl, false, T0 + 90000);
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->lease.acquired_ms, T0 + 90000);
  EXPECT_TRUE(late->previous.empty()) << "an expired lease is not broken";

  // Release by someone else changes nothing; by the owner, frees it.
  EXPECT_FALSE(*t.Release("a", T0 + 91000));
  EXPECT_FALSE(t.Live(T0 + 91000).empty());
  EXPECT_TRUE(*t.Release("b", T0 + 91000));
  EXPECT_TRUE(t.Live(T0 + 91000).empty());
}

TEST(LeaseTableTest, TheSameOwnerFromAnotherHolderWaits) {
  // A journal copied to another host resumes only once the lease expired or is broken.
  LeaseTable t("");
  ASSERT_TRUE(t.Acquire(Want("a", "alice@ws1"), kTtl, false, T0).ok());
  EXPECT_FALSE(t.Acquire(Want("a", "alice@ws2"), kTtl, false, T0 + 1).ok());
  EXPECT_TRUE(t.Acquire(Want("a", "alice@ws1"), kTtl, false, T0 + 2).ok());
}

TEST(LeaseTableTest, BreakingTakesOverAndReportsTheHolder) {
  LeaseTable t("");
  ASSERT_TRUE(t.Acquire(Want("a"), kTtl, false, T0).ok());
  auto b = t.Acquire(Want("b", "bob@ws2"), kTtl, true, T0 + 5);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->previous.owner_id, "a");
  EXPECT_EQ(b->previous.holder, "alice@ws1");
  EXPECT_EQ(t.Live(T0 + 6).owner_id, "b");
  // The old owner's calls are refused from now on.
  Status s = t.Admit("a", T0 + 6);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("bob@ws2"), std::string::npos) << s.message();
}

TEST(LeaseTableTest, AdmitsOnlyTheHolderWhileLive) {
  LeaseTable t("");
  EXPECT_TRUE(t.Admit("", T0).ok()) << "no lease: calls without one pass";
  EXPECT_EQ(t.Admit("a", T0).code(), Status::Code::kFailedPrecondition) << "a call under a lease not held here";
  ASSERT_TRUE(t.Acquire(Want("a"), kTtl, false, T0).ok());
  EXPECT_TRUE(t.Admit("a", T0 + 1).ok());
  EXPECT_EQ(t.Admit("", T0 + 1).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(t.Admit("b", T0 + 1).code(), Status::Code::kFailedPrecondition);
  // Lapsed: its owner is refused (it must re-acquire), lease-less calls pass again.
  Status lapsed = t.Admit("a", T0 + 60000);
  EXPECT_EQ(lapsed.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(lapsed.message().find("expired or was broken"), std::string::npos) << lapsed.message();
  EXPECT_TRUE(t.Admit("", T0 + 60000).ok());
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
  EXPECT_EQ(again.Live(T0 + 1).holder, "alice@ws1");
  EXPECT_FALSE(again.Admit("", T0 + 1).ok());
  ASSERT_TRUE(*again.Release("a", T0 + 2));
  LeaseTable third(path);
  ASSERT_TRUE(third.Load().ok());
  EXPECT_TRUE(third.Live(T0 + 3).empty());

  std::ofstream(path) << "{not json";
  LeaseTable damaged(path);
  EXPECT_EQ(damaged.Load().code(), Status::Code::kCorruption) << "a damaged lease is never forgotten silently";
}

TEST(LeaseTableTest, AnUnwritableFileStillGrantsInMemoryAndSaysWhy) {
  ScratchDir dir;
  std::ofstream(dir.path() + "/plain") << "x";
  LeaseTable t(dir.path() + "/plain/recovery-lease-m1.json");  // below a regular file: never writable
  auto g = t.Acquire(Want("a"), kTtl, false, T0);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_FALSE(g->not_kept.ok());
  EXPECT_EQ(t.Live(T0 + 1).owner_id, "a");
  EXPECT_FALSE(t.Admit("", T0 + 1).ok()) << "enforced all the same";
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
