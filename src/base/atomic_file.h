// AtomicFile: writes a file so that readers see either nothing or the complete, durable file.
// Bytes go to a hidden temp file next to the target (".<base>.tmp-<pid>-<random>"); Commit()
// fsyncs it, renames it over the target and fsyncs the directory. Anything else removes it.
//
// Size limits: the process is expected to ignore SIGXFSZ (the CLI calls signal(SIGXFSZ, SIG_IGN)
// at start-up), so exceeding RLIMIT_FSIZE makes write() fail with EFBIG, which Append() reports
// as a Status instead of the kernel killing the process mid-backup.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat {

class AtomicFile {
 public:
  // Opens the temp file for `path`; the target's directory must already exist.
  static Result<std::unique_ptr<AtomicFile>> Create(const std::string& path, mode_t mode = 0600);

  ~AtomicFile();  // Abort()s unless committed.
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Writes all of `data`. After a failure the file is unusable: later calls return the same error.
  Status Append(std::span<const uint8_t> data);
  // Makes the file durable and visible at path(). A failure before the rename leaves path() as
  // it was. A failure to fsync the directory after the rename leaves the new file at path()
  // (when it replaced a file, it is now the only copy) and returns the error: the rename may
  // not survive a crash, so the caller must not count on it.
  Status Commit();
  // Removes the temp file. Safe to call repeatedly; a no-op after a successful Commit.
  void Abort();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  AtomicFile(std::string path, std::string temp_path, int fd);
  Status Fail(Status s);  // remembers the first error and drops the temp file

  const std::string path_;
  const std::string temp_path_;
  int fd_;
  uint64_t bytes_written_ = 0;
  bool temp_exists_ = true;
  bool committed_ = false;
  Status error_;
};

// mkdir -p. Each directory it creates is made durable by fsyncing its parent. Directories are
// created with `mode` (subject to umask); an existing non-directory in the way is an error.
Status MakeDirs(const std::string& path, mode_t mode = 0750);

// fsyncs a directory so that entries created, renamed or removed in it survive a crash.
Status FsyncDir(const std::string& path);

// Tests only: replaces the directory fsync of AtomicFile::Commit (null restores FsyncDir). A
// directory fsync cannot be made to fail on demand on a healthy local file system.
using FsyncDirFn = Status (*)(const std::string& path);
void SetCommitFsyncDirForTesting(FsyncDirFn fn);

}  // namespace lifeboat
