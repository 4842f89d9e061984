#include "base/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch_dir.h"

namespace lifeboat {
namespace {

using testing::Bytes;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WriteFile;

TEST(AtomicFileTest, CommitMakesFileVisibleWithContent) {
  ScratchDir dir;
  const std::string path = dir.Join("backup.db");
  auto f = AtomicFile::Create(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append(Bytes("hello ")).ok());
  ASSERT_TRUE((*f)->Append(Bytes("world")).ok());
  EXPECT_EQ((*f)->bytes_written(), 11u);

  // Before Commit only the hidden temp file exists.
  EXPECT_EQ(dir.Files(), std::vector<std::string>{(*f)->temp_path().substr(dir.path().size() + 1)});
  EXPECT_EQ((*f)->temp_path().rfind(dir.path() + "/.backup.db.tmp-", 0), 0u) << (*f)->temp_path();

  ASSERT_TRUE((*f)->Commit().ok());
  EXPECT_EQ(ReadFile(path), "hello world");
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"backup.db"});

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // backups hold secrets

  f.value().reset();  // destroying a committed file must not remove it
  EXPECT_EQ(ReadFile(path), "hello world");
}

TEST(AtomicFileTest, ReplacesExistingFileOnlyAtCommit) {
  ScratchDir dir;
  const std::string path = dir.Join("x");
  WriteFile(path, "old");
  auto f = AtomicFile::Create(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(Bytes("new content")).ok());
  EXPECT_EQ(ReadFile(path), "old");
  ASSERT_TRUE((*f)->Commit().ok());
  EXPECT_EQ(ReadFile(path), "new content");
}

Status FailingFsyncDir(const std::string& path) { return Status::IOError("fsync directory " + path + ": EIO"); }

// Overwriting a journal: after the rename the new file is the only copy (the old one is gone), so
// a failed directory fsync must be reported without deleting it.
TEST(AtomicFileTest, FailedDirectoryFsyncAfterRenameKeepsTheNewFile) {
  ScratchDir dir;
  const std::string path = dir.Join("restore-journal.json");
  WriteFile(path, "old journal");
  auto f = AtomicFile::Create(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(Bytes("new journal")).ok());
  SetCommitFsyncDirForTesting(&FailingFsyncDir);
  Status s = (*f)->Commit();
  SetCommitFsyncDirForTesting(nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("EIO"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("may not survive a crash"), std::string::npos) << s.ToString();
  EXPECT_EQ(ReadFile(path), "new journal");
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"restore-journal.json"});
  EXPECT_FALSE((*f)->Commit().ok());  // the error sticks
  f.value().reset();
  EXPECT_EQ(ReadFile(path), "new journal");
}

TEST(AtomicFileTest, LargeAppendIsWrittenCompletely) {
  ScratchDir dir;
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 251);
  auto f = AtomicFile::Create(dir.Join("big"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(Bytes(big)).ok());
  ASSERT_TRUE((*f)->Commit().ok());
  EXPECT_EQ(ReadFile(dir.Join("big")), big);
}

TEST(AtomicFileTest, AbortAndDestructorLeaveNothing) {
  ScratchDir dir;
  {
    auto f = AtomicFile::Create(dir.Join("aborted"));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(Bytes("data")).ok());
    (*f)->Abort();
    (*f)->Abort();  // idempotent
    EXPECT_TRUE(dir.Files().empty());
    Status s = (*f)->Append(Bytes("more"));
    EXPECT_FALSE(s.ok());
    EXPECT_FALSE((*f)->Commit().ok());
    EXPECT_TRUE(dir.Files().empty());
  }
  {
    auto f = AtomicFile::Create(dir.Join("dropped"));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(Bytes("data")).ok());
  }
  EXPECT_TRUE(dir.Files().empty());
}

TEST(AtomicFileTest, CommitTwiceIsAnError) {
  ScratchDir dir;
  auto f = AtomicFile::Create(dir.Join("once"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Commit().ok());
  EXPECT_EQ((*f)->Commit().code(), Status::Code::kInternal);
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"once"});
}

// Root ignores permission bits, so make the directory unusable another way: a file in the way.
TEST(AtomicFileTest, UnwritablePathFailsClearlyAndLeavesNothing) {
  ScratchDir dir;
  WriteFile(dir.Join("plain-file"), "x");
  const std::string path = dir.Join("plain-file/backup.db");
  auto f = AtomicFile::Create(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Status::Code::kIOError);
  EXPECT_NE(f.status().message().find("cannot create " + path), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find("not a directory"), std::string::npos) << f.status().message();
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"plain-file"});
}

TEST(AtomicFileTest, MissingDirectoryIsNotFound) {
  ScratchDir dir;
  auto f = AtomicFile::Create(dir.Join("no/such/dir/file"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Status::Code::kNotFound);
}

// The file size limit is per process, so it is exercised in a child that reports back through
// a pipe: the status code, then the message.
TEST(AtomicFileTest, FileSizeLimitFailsClearlyAndLeavesNothing) {
  ScratchDir dir;
  const std::string path = dir.Join("limited.db");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    signal(SIGXFSZ, SIG_IGN);  // what the CLI does at start-up
    struct rlimit lim = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(3);
    std::string report;
    {
      auto f = AtomicFile::Create(path);
      if (!f.ok()) _exit(4);
      std::string data(10000, 'x');
      Status s = (*f)->Append(Bytes(data));
      if (s.ok()) s = (*f)->Commit();
      report = std::to_string(static_cast<int>(s.code())) + "\n" + s.message();
      Status again = (*f)->Append(Bytes("y"));  // a failed file stays failed
      if (again.message() != s.message()) _exit(5);
    }
    if (write(fds[1], report.data(), report.size()) != static_cast<ssize_t>(report.size())) _exit(6);
    _exit(0);
  }
  close(fds[1]);
  std::string report;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus)) << "child killed by signal " << WTERMSIG(wstatus);
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);

  const size_t nl = report.find('\n');
  ASSERT_NE(nl, std::string::npos) << report;
  EXPECT_EQ(report.substr(0, nl), std::to_string(static_cast<int>(Status::Code::kIOError)));
  const std::string message = report.substr(nl + 1);
  EXPECT_NE(message.find("file too large writing " + path), std::string::npos) << message;
  EXPECT_NE(message.find("ulimit -f"), std::string::npos) << message;
  EXPECT_TRUE(dir.Files().empty());
}

TEST(MakeDirsTest, CreatesNestedAndAcceptsExisting) {
  ScratchDir dir;
  const std::string deep = dir.Join("a/b//c/");
  ASSERT_TRUE(MakeDirs(deep).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir.Join("a/b/c")));
  EXPECT_TRUE(MakeDirs(deep).ok());
  EXPECT_TRUE(MakeDirs(dir.Join("a")).ok());
}

TEST(MakeDirsTest, FileInTheWayIsAnError) {
  ScratchDir dir;
  WriteFile(dir.Join("f"), "x");
  Status s = MakeDirs(dir.Join("f/sub"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir.Join("f")), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("in the way"), std::string::npos) << s.message();
  EXPECT_FALSE(MakeDirs("").ok());
}

TEST(FsyncDirTest, ExistingAndMissing) {
  ScratchDir dir;
  EXPECT_TRUE(FsyncDir(dir.path()).ok());
  EXPECT_EQ(FsyncDir(dir.Join("missing")).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace lifeboat
