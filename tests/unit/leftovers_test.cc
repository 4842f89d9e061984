// The agent's start-up sweep: only a dead writer's staging temp files and a restore's temp dirs
// go; staged backups, a live writer's temp file, the data dir and anything else stay.
#include "host/leftovers.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "host/lease_table.h"
#include "host/staging.h"
#include "scratch_dir.h"

namespace lifeboat::host {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

// The pid of a child that has exited and been reaped: no process has it (until it is reused).
pid_t DeadPid() {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

void Touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

TEST(SweepLeftovers, RemovesOnlyWhatADeadAgentLeftHalfWritten) {
  ScratchDir dir;
  const fs::path staging = fs::path(dir.path()) / "staging";
  const fs::path data = fs::path(dir.path()) / "m1.etcd";
  const std::string sha(64, 'a');
  const std::string dead = staging / ("." + sha + ".db.tmp-" + std::to_string(DeadPid()) + "-0123456789abcdef");
  const std::string live = staging / ("." + sha + ".db.tmp-" + std::to_string(getppid()) + "-0123456789abcdef");
  const std::string staged = staging / (sha + ".db");
  const std::string odd = staging / ".notes.tmp-12-short";
  Touch(dead);
  Touch(live);
  Touch(staged);
  Touch(odd);
  Touch(data / "member" / "snap" / "db");
  const fs::path restore_tmp = fs::path(dir.path()) / ".m1.etcd.lifeboat-restore-Ab12Cd";
  Touch(restore_tmp / "member" / "snap" / "db");
  const fs::path other_tmp = fs::path(dir.path()) / ".m2.etcd.lifeboat-restore-Ab12Cd";  // another member's
  Touch(other_tmp / "member" / "snap" / "db");
  const fs::path aside = fs::path(dir.path()) / "m1.etcd.lifeboat-20261201T000000Z";
  Touch(aside / "member" / "snap" / "db");

  auto r = SweepLeftovers(staging, data);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> got = *r;
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = {restore_tmp.string(), dead};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(restore_tmp));
  for (const fs::path& kept : {fs::path(live), fs::path(staged), fs::path(odd), data / "member" / "snap" / "db",
                               other_tmp, aside}) {
    EXPECT_TRUE(fs::exists(kept)) << kept;
  }
  // Nothing left to do the second time; missing dirs are not an error.
  EXPECT_TRUE(SweepLeftovers(staging, data)->empty());
  EXPECT_TRUE(SweepLeftovers(dir.path() + "/none", dir.path() + "/none/m1.etcd").ok());
}

}  // namespace
}  // namespace lifeboat::host

namespace lifeboat::host {
namespace {

// Staged copies: dropped by SHA-256 (nothing else in the dir is touched), and swept at an
// agent's start only when no lease file in the dir (any member's) holds a recovery.
TEST(StagedCopies, DropKeepsWhatIsAskedAndTouchesNothingElse) {
  testing::ScratchDir dir;
  const fs::path staging = fs::path(dir.path()) / "staging";
  const std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
  for (const std::string& name : std::vector<std::string>{a + ".db", b + ".db", b + ".db.damaged", c + ".db", "recovery-lease-m1.json",
                           "." + a + ".db.tmp-1-0123456789abcdef", "notes.txt", "abc.db"}) {
    Touch(staging / name);
  }
  auto copies = StagedCopies(staging.string());
  EXPECT_EQ(copies.size(), 3u);
  EXPECT_EQ(copies[b], 2u) << "the damaged copy counts under its SHA-256 too";
  auto d = DropStaged(staging.string(), {a});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->paths.size(), 3u);
  EXPECT_EQ(d->bytes, 3u);
  EXPECT_TRUE(fs::exists(staging / (a + ".db")));
  EXPECT_FALSE(fs::exists(staging / (b + ".db")));
  EXPECT_FALSE(fs::exists(staging / (b + ".db.damaged")));
  EXPECT_FALSE(fs::exists(staging / (c + ".db")));
  for (const auto& kept : {"recovery-lease-m1.json", "notes.txt", "abc.db"}) EXPECT_TRUE(fs::exists(staging / kept));
  EXPECT_TRUE(fs::exists(staging / ("." + a + ".db.tmp-1-0123456789abcdef")));
  EXPECT_EQ(DropStaged(staging.string(), {})->paths.size(), 1u);
  EXPECT_TRUE(StagedCopies(staging.string()).empty());
  EXPECT_TRUE(DropStaged((fs::path(dir.path()) / "absent").string(), {})->paths.empty());
}

TEST(StagedCopies, AnAgentStartingSweepsThemOnlyWhenNoRecoveryHoldsTheDir) {
  testing::ScratchDir dir;
  const fs::path staging = fs::path(dir.path()) / "staging";
  const std::string a(64, 'a');
  Touch(staging / (a + ".db"));
  // Another member's agent shares the dir and holds a live lease: the copy may be in use.
  LeaseTable other((staging / "recovery-lease-m2.json").string());
  const int64_t now = 1'000'000'000'000;
  LeaseInfo want;
  want.owner_id = "o1";
  want.holder = "alice@ws1";
  ASSERT_TRUE(other.Acquire(want, std::chrono::minutes(10), false, now).ok());
  auto kept = SweepStaleStaged(staging.string(), now + 1000);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->empty());
  EXPECT_TRUE(fs::exists(staging / (a + ".db")));
  // Once that lease has expired (or been released) the copy is stale.
  auto swept = SweepStaleStaged(staging.string(), now + 11 * 60 * 1000);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(swept->size(), 1u);
  EXPECT_FALSE(fs::exists(staging / (a + ".db")));
  // A lease file that cannot be read keeps everything: the agent must not forget a recovery.
  Touch(staging / (a + ".db"));
  std::ofstream(staging / "recovery-lease-m3.json") << "{damaged";
  EXPECT_TRUE(SweepStaleStaged(staging.string(), now + 11 * 60 * 1000)->empty());
  EXPECT_TRUE(fs::exists(staging / (a + ".db")));
}

}  // namespace
}  // namespace lifeboat::host
