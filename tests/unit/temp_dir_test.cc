// TempDir: private (a 0700 root of this user, 0700 dirs), removed by its destructor, by
// SIGINT/SIGTERM once InstallTempDirCleanup ran, and, after a SIGKILL, by the next Create; a
// root someone else could read is refused.
#include "base/temp_dir.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scratch_dir.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

// A child process that makes a TempDir with a file in it, reports its path through `report`,
// then waits to be killed; returns its pid.
pid_t ChildWithTempDir(const std::string& parent, const std::string& report, bool install_cleanup) {
  pid_t pid = fork();
  if (pid == 0) {
    if (install_cleanup) InstallTempDirCleanup();
    auto d = TempDir::Create(parent, "lifeboat-test-");
    if (!d.ok()) _exit(3);
    fs::create_directories((*d)->path() + "/member/snap");
    std::ofstream((*d)->path() + "/member/snap/db") << "decrypted";
    std::ofstream(report + ".tmp") << (*d)->path();
    fs::rename(report + ".tmp", report);
    for (;;) pause();
  }
  return pid;
}

std::string WaitForReport(const std::string& report) {
  for (int i = 0; i < 1000 && !fs::exists(report); ++i) usleep(10000);
  std::ifstream in(report);
  std::string path;
  std::getline(in, path);
  return path;
}

TEST(TempDirTest, PrivateAndRemovedWithTheObject) {
  testing::ScratchDir parent;
  std::string path;
  {
    auto d = TempDir::Create(parent.path(), "lifeboat-x-");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    path = (*d)->path();
    EXPECT_EQ(fs::path(path).parent_path().string(), TempRoot(parent.path()));
    EXPECT_EQ(fs::path(path).filename().string().rfind("lifeboat-x-" + std::to_string(getpid()) + "-", 0), 0u) << path;
    EXPECT_EQ(ModeOf(TempRoot(parent.path())), 0700u);
    EXPECT_EQ(ModeOf(path), 0700u);
    std::ofstream(path + "/f") << "x";
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(TempDirTest, ARootOthersCanReadIsRefused) {
  testing::ScratchDir parent;
  ASSERT_EQ(mkdir(TempRoot(parent.path()).c_str(), 0755), 0);
  chmod(TempRoot(parent.path()).c_str(), 0755);
  auto d = TempDir::Create(parent.path(), "lifeboat-x-");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("not a private directory"), std::string::npos) << d.status().message();
  EXPECT_NE(d.status().message().find("mode 755"), std::string::npos) << d.status().message();
}

TEST(TempDirTest, ASigkilledOwnersDirIsSweptByTheNextCreate) {
  testing::ScratchDir parent;
  const std::string report = parent.Join("report");
  pid_t child = ChildWithTempDir(parent.path(), report, false);
  const std::string left = WaitForReport(report);
  ASSERT_FALSE(left.empty());
  // Alive: another process's dir is never touched.
  auto mine = TempDir::Create(parent.path(), "lifeboat-y-");
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(fs::exists(left + "/member/snap/db"));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(fs::exists(left)) << "a SIGKILL runs no destructor";
  auto next = TempDir::Create(parent.path(), "lifeboat-y-");
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(fs::exists(left)) << "swept at the next start";
  EXPECT_TRUE(fs::exists((*mine)->path())) << "a live process's dir stays";
}

TEST(TempDirTest, SigtermAndSigintRemoveTheLiveDirsBeforeTheProcessDies) {
  for (int sig : {SIGTERM, SIGINT}) {
    testing::ScratchDir parent;
    const std::string report = parent.Join("report");
    pid_t child = ChildWithTempDir(parent.path(), report, true);
    const std::string dir = WaitForReport(report);
    ASSERT_TRUE(fs::exists(dir + "/member/snap/db"));
    kill(child, sig);
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "still dies of the signal: " << status;
    EXPECT_FALSE(fs::exists(dir)) << strsignal(sig);
  }
}

}  // namespace
}  // namespace lifeboat
