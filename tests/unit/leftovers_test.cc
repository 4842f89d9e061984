// The agent's start-up sweep: only a dead writer's staging temp files and a restore's temp dirs
// go; staged backups, a live writer's temp file, the data dir and anything else stay.
#include "host/leftovers.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

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
