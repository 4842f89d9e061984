// The agent's liveness probes: a lock this process takes the way etcd 3.4 does (an OFD write lock
// on a WAL file) or the way bbolt does (flock on the db) is seen, with our pid for flock; an
// unlocked file is not; a loopback port answers only while something listens on it.
#include "host/liveness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "scratch_dir.h"

namespace lifeboat::host {
namespace {

using testing::ScratchDir;
using testing::WriteFile;

TEST(LivenessTest, FlockedFileIsHeldByThisProcess) {
  ScratchDir dir;
  std::string path = dir.Join("db");
  WriteFile(path, "x");
  EXPECT_FALSE(ProbeFileLock(path).held);
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  LockHolder h = ProbeFileLock(path);
  EXPECT_TRUE(h.held);
  EXPECT_EQ(h.pid, getpid());
  EXPECT_EQ(h.file, path);
  // The probe took nothing: the lock is still ours alone, and free once we let go.
  int other = open(path.c_str(), O_RDWR | O_CLOEXEC);
  EXPECT_EQ(flock(other, LOCK_EX | LOCK_NB), -1);
  close(other);
  ASSERT_EQ(flock(fd, LOCK_UN), 0);
  EXPECT_FALSE(ProbeFileLock(path).held);
  close(fd);
}

TEST(LivenessTest, OfdLockedWalMakesTheDataDirHeld) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.Join("m1.etcd/member/wal"));
  std::string wal = dir.Join("m1.etcd/member/wal/0000000000000000-0000000000000000.wal");
  WriteFile(wal, std::string(4096, '\0'));
  EXPECT_FALSE(ProbeDataDirLock(dir.Join("m1.etcd")).held);
  int fd = open(wal.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);  // what etcd's fileutil.TryLockFile does on Linux
  LockHolder h = ProbeDataDirLock(dir.Join("m1.etcd"));
  EXPECT_TRUE(h.held);
  EXPECT_EQ(h.file, wal);
  // An OFD lock has no owner in /proc/locks: the holder is the process with the file open.
  EXPECT_EQ(h.pid, getpid());
  close(fd);
  EXPECT_FALSE(ProbeDataDirLock(dir.Join("m1.etcd")).held);
  EXPECT_FALSE(ProbeDataDirLock(dir.Join("absent.etcd")).held);
}

TEST(LivenessTest, UrlAnswersOnlyWhileListening) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  EXPECT_FALSE(UrlAnswers(url, std::chrono::milliseconds(300)));  // bound, not listening
  ASSERT_EQ(listen(fd, 4), 0);
  EXPECT_TRUE(UrlAnswers(url, std::chrono::milliseconds(300)));
  EXPECT_TRUE(UrlAnswers(url + "/some/path", std::chrono::milliseconds(300)));
  close(fd);
  EXPECT_FALSE(UrlAnswers(url, std::chrono::milliseconds(300)));

  AgentConfig c;
  c.member_name = "m1";
  c.data_dir = "/nonexistent/m1.etcd";
  c.peer_url = url;
  EXPECT_FALSE(ProbeMember(c).live);
}

}  // namespace
}  // namespace lifeboat::host
