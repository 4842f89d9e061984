#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>

#include "base/errno_status.h"
#include "fmt/format.h"

namespace lifeboat {

namespace {

// Temp names must stay under NAME_MAX (255) even for long targets; the random suffix, not the
// base name, is what makes them unique.
constexpr size_t kMaxBaseInTempName = 200;
constexpr int kCreateAttempts = 16;

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::atomic<FsyncDirFn> commit_fsync_dir{nullptr};

uint64_t RandomSuffix() {
  // Uniqueness comes from O_EXCL; randomness only makes collisions (and retries) unlikely.
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path, mode_t mode) {
  const std::string base = BaseName(path);
  if (base.empty() || base == "." || base == "..") {
    return Status::InvalidArgument(fmt::format("cannot write {}: it names a directory, not a file (give a file name)", path));
  }
  const std::string dir = DirName(path);
  const std::string short_base = base.substr(0, kMaxBaseInTempName);
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    std::string temp = fmt::format("{}/.{}.tmp-{}-{:016x}", dir, short_base, getpid(), RandomSuffix());
    int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd >= 0) return std::unique_ptr<AtomicFile>(new AtomicFile(path, std::move(temp), fd));
    if (errno == EEXIST) continue;
    return ErrnoStatus(errno, "create", path);
  }
  return Status::IOError(fmt::format(
      "cannot create a temporary file next to {}: {} names in a row were taken (remove stale .*.tmp-* files in {})",
      path, kCreateAttempts, dir));
}

AtomicFile::AtomicFile(std::string path, std::string temp_path, int fd)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}

AtomicFile::~AtomicFile() { Abort(); }

Status AtomicFile::Fail(Status s) {
  if (error_.ok()) error_ = s;
  Abort();
  return s;
}

Status AtomicFile::Append(std::span<const uint8_t> data) {
  if (!error_.ok()) return error_;
  if (committed_ || fd_ < 0) {
    return Status::Internal(fmt::format("write to {} after commit or abort (this is a lifeboat bug; please report it)", path_));
  }
  const uint8_t* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoStatus(errno, "write", path_));
    }
    if (n == 0) {
      // A regular file only accepts zero bytes when it cannot grow; retrying would spin forever.
      return Fail(ErrnoStatus(ENOSPC, "write", path_));
    }
    p += n;
    left -= static_cast<size_t>(n);
    bytes_written_ += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Status AtomicFile::Commit() {
  if (!error_.ok()) return error_;
  if (committed_ || fd_ < 0) {
    return Status::Internal(fmt::format("commit of {} after commit or abort (this is a lifeboat bug; please report it)", path_));
  }
  // fsync before rename: otherwise a crash can leave the new name pointing at an empty file.
  if (fsync(fd_) != 0) return Fail(ErrnoStatus(errno, "fsync", path_));
  int fd = fd_;
  fd_ = -1;
  // close() can report deferred write errors (e.g. on NFS), so its result matters too.
  if (close(fd) != 0) return Fail(ErrnoStatus(errno, "close", path_));
  if (rename(temp_path_.c_str(), path_.c_str()) != 0) return Fail(ErrnoStatus(errno, "rename into place", path_));
  temp_exists_ = false;
  committed_ = true;
  FsyncDirFn fsync_dir = commit_fsync_dir.load();
  Status s = fsync_dir != nullptr ? fsync_dir(DirName(path_)) : FsyncDir(DirName(path_));
  if (!s.ok()) {
    // The rename may not survive a crash, so this is no success. But the new file stays: it
    // replaced the old one, so removing it would leave no copy at all.
    error_ = s.Annotate(fmt::format("{} is in place but may not survive a crash", path_));
    return error_;
  }
  return Status::OK();
}

void AtomicFile::Abort() {
  if (fd_ >= 0) {
    close(fd_);  // the data is being thrown away, so a close error changes nothing
    fd_ = -1;
  }
  if (temp_exists_) {
    unlink(temp_path_.c_str());  // nothing else can be done if this fails; the name is hidden
    temp_exists_ = false;
  }
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::InvalidArgument("cannot create a directory with an empty name (give a path)");
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::OK();

  std::string cur = path[0] == '/' ? "/" : "";
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + pos, end - pos);
    pos = end + 1;
    if (part.empty()) continue;  // "//" or a trailing '/'
    const std::string parent = cur.empty() ? "." : cur;
    if (!cur.empty() && cur.back() != '/') cur.push_back('/');
    cur.append(part);
    if (mkdir(cur.c_str(), mode) == 0) {
      // The new entry lives in the parent directory; without this a crash can lose it.
      LB_RETURN_IF_ERROR(FsyncDir(parent));
      continue;
    }
    int err = errno;
    // An existing directory is what we want, whatever mkdir said (EEXIST, or EACCES/EROFS on
    // some file systems when the parent is not writable).
    if (stat(cur.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      return Status::IOError(fmt::format(
          "cannot create directory {}: a file with that name is in the way (move it or choose another path)", cur));
    }
    return ErrnoStatus(err, "create directory", cur);
  }
  return Status::OK();
}

void SetCommitFsyncDirForTesting(FsyncDirFn fn) { commit_fsync_dir.store(fn); }

Status FsyncDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open directory", path, Access::kRead);
  Status s;
  // Some file systems (certain FUSE and network ones) cannot fsync a directory and say EINVAL;
  // there is nothing better we could do there, so that is not an error.
  if (fsync(fd) != 0 && errno != EINVAL) s = ErrnoStatus(errno, "fsync directory", path);
  close(fd);  // read-only descriptor: nothing to lose on close
  return s;
}

}  // namespace lifeboat
