#include "base/temp_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/errno_status.h"

namespace lifeboat {
namespace {

// The live TempDirs, for the signal handler: it may read only what is async-signal-safe, so
// each slot is a fixed buffer published by an atomic flag.
constexpr int kSlots = 32;
struct Slot {
  std::atomic<bool> claimed{false};  // owned by a TempDir
  std::atomic<bool> ready{false};    // its path is whole: the handler may use it
  char path[PATH_MAX] = {};
};
Slot g_slots[kSlots];

int Register(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_slots[i].claimed.compare_exchange_strong(expected, true)) {
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].ready = true;
      return i;
    }
  }
  return -1;  // more than kSlots at once: removed by destructors and the next sweep only
}

void Unregister(int slot) {
  if (slot < 0) return;
  g_slots[slot].ready = false;
  g_slots[slot].claimed = false;
}

// Removes `name` under `dirfd` and everything below it with async-signal-safe calls only
// (openat, getdents64, unlinkat): no allocation, no locks.
void RemoveTreeAt(int dirfd, const char* name, int depth) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return;
  if (depth > 16) return;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  char buf[2048];
  // Entries removed while reading may shift the listing: read again from the start until empty.
  for (int pass = 0; pass < 64; ++pass) {
    bool removed = false;
    lseek(fd, 0, SEEK_SET);
    for (;;) {
      long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        off += d->d_reclen;
        if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
        RemoveTreeAt(fd, d->d_name, depth + 1);
        removed = true;
      }
    }
    if (!removed) break;
  }
  close(fd);
  unlinkat(dirfd, name, AT_REMOVEDIR);
}

void OnFatalSignal(int sig) {
  const int saved = errno;
  for (auto& slot : g_slots) {
    if (slot.ready.load()) RemoveTreeAt(AT_FDCWD, slot.path, 0);
  }
  errno = saved;
  signal(sig, SIG_DFL);
  raise(sig);
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

// The pid in "<prefix><pid>-XXXXXX"; 0 when the name is not one.
pid_t PidOf(const std::string& name) {
  const size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || name.size() - dash - 1 != 6) return 0;
  size_t start = dash;
  while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9') --start;
  if (start == dash || dash - start > 9) return 0;
  return static_cast<pid_t>(std::strtol(name.substr(start, dash - start).c_str(), nullptr, 10));
}

// The root, made 0700 if missing; refused when it is not a directory of ours that no one else
// may read (a decrypted database goes in it).
Result<std::string> PrivateRoot(const std::string& parent) {
  const std::string root = TempRoot(parent);
  if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    Status s = ErrnoStatus(errno, "create the temp dir", root);
    return s.WithMessage(s.message() + " (set TMPDIR to a writable directory with room)");
  }
  struct stat st {};
  if (lstat(root.c_str(), &st) != 0) return ErrnoStatus(errno, "inspect the temp dir", root, Access::kRead);
  if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Status::FailedPrecondition("temp dir " + root + " is not a private directory of this user (owner uid " +
                                      std::to_string(st.st_uid) + ", mode " + mode +
                                      "): remove it, or set TMPDIR elsewhere");
  }
  return root;
}

}  // namespace

std::string DefaultTempParent() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

std::string TempRoot(const std::string& parent) {
  const std::string dir = parent.empty() ? DefaultTempParent() : parent;
  return dir + "/lifeboat-" + std::to_string(getuid());
}

Result<std::vector<std::string>> SweepStaleTempDirs(const std::string& parent) {
  std::vector<std::string> removed;
  const std::string root = TempRoot(parent);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    const pid_t pid = PidOf(e.path().filename().string());
    if (pid <= 0 || pid == getpid() || Alive(pid)) continue;
    std::filesystem::remove_all(e.path(), ec);
    if (ec) return Status::IOError("remove the stale temp dir " + e.path().string() + ": " + ec.message());
    removed.push_back(e.path().string());
  }
  return removed;
}

Result<std::unique_ptr<TempDir>> TempDir::Create(const std::string& parent, const std::string& prefix) {
  for (int attempt = 0;; ++attempt) {
    LB_ASSIGN_OR_RETURN(std::string root, PrivateRoot(parent));
    LB_RETURN_IF_ERROR(SweepStaleTempDirs(parent).status());
    std::string tmpl = root + "/" + prefix + std::to_string(getpid()) + "-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) return std::unique_ptr<TempDir>(new TempDir(tmpl, Register(tmpl)));
    // ENOENT: another process removed the root as it emptied; make it again.
    if (errno != ENOENT || attempt > 0) {
      Status s = ErrnoStatus(errno, "create a temp dir in", root);
      return s.WithMessage(s.message() + " (set TMPDIR to a writable directory with room)");
    }
  }
}

TempDir::~TempDir() {
  Unregister(slot_);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  // The root goes with its last dir (it fails, harmlessly, while others are in it).
  rmdir(std::filesystem::path(path_).parent_path().c_str());
}

void InstallTempDirCleanup() {
  struct sigaction sa {};
  sa.sa_handler = OnFatalSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

}  // namespace lifeboat
