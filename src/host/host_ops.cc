#include "host/host_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <vector>

#include "host/shell.h"
#include "base/atomic_file.h"
#include "base/errno_status.h"
#include "base/file_chunks.h"
#include "base/sha256.h"

namespace lifeboat::host {

namespace fs = std::filesystem;

DataDirFacts InspectDataDir(const std::string& dir) {
  DataDirFacts f;
  std::error_code ec;
  f.present = fs::is_directory(dir, ec);
  if (f.present) {
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code e2;
      if (it->is_regular_file(e2)) f.bytes += it->file_size(e2);
    }
  }
  // Free space where the data dir is, or would be created.
  fs::path p = dir;
  while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
  struct statvfs sv {};
  if (!p.empty() && statvfs(p.c_str(), &sv) == 0) f.free_bytes = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
  struct stat st {};
  if (!p.empty() && stat(p.c_str(), &st) == 0) f.dev = st.st_dev;
  return f;
}

bool AbsentOrEmpty(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec) && !ec;
}

std::string AsidePath(const std::string& dir, std::chrono::system_clock::time_point now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return dir + ".lifeboat-" + buf;
}

Result<std::string> MoveAside(const std::string& dir, std::chrono::system_clock::time_point now) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return Status::NotFound("data dir " + dir + " does not exist (nothing to move aside)");
  }
  std::string base = AsidePath(dir, now), target = base;
  // Two moves within one second must not collide; nothing existing is ever replaced.
  for (int n = 2; fs::exists(target, ec); ++n) target = base + "-" + std::to_string(n);
  // renameat2(RENAME_NOREPLACE) would close the race with another writer; the agent is the only one.
  if (std::rename(dir.c_str(), target.c_str()) != 0) return ErrnoStatus(errno, "rename", dir);
  std::string parent = fs::path(dir).parent_path().string();
  LB_RETURN_IF_ERROR(FsyncDir(parent.empty() ? "." : parent));
  return target;
}

Result<bool> GiveToParentOwner(const std::string& dir) {
  std::string parent = fs::path(dir).parent_path().string();
  struct stat ps {}, ds {};
  if (stat(parent.empty() ? "." : parent.c_str(), &ps) != 0) return ErrnoStatus(errno, "stat", parent);
  if (lstat(dir.c_str(), &ds) != 0) return ErrnoStatus(errno, "stat", dir);
  if (ds.st_uid == ps.st_uid && ds.st_gid == ps.st_gid) return false;
  auto give = [&](const std::string& p) -> Status {
    if (lchown(p.c_str(), ps.st_uid, ps.st_gid) != 0) {
      return ErrnoStatus(errno, "give etcd's owner (uid " + std::to_string(ps.st_uid) + ") to", p);
    }
    return Status::OK();
  };
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    LB_RETURN_IF_ERROR(give(it->path().string()));
  }
  if (ec) return Status::IOError("walk " + dir + ": " + ec.message());
  LB_RETURN_IF_ERROR(give(dir));
  return true;
}

std::string EtcdVersion(const std::string& binary) {
  auto r = RunShell("\"$B\" --version", {{"B", binary}}, std::chrono::seconds(10));
  if (!r.ok() || r->exit_code != 0) return "";
  constexpr std::string_view kKey = "etcd Version: ";
  auto pos = r->output.find(kKey);
  if (pos == std::string::npos) return "";
  auto end = r->output.find('\n', pos);
  return r->output.substr(pos + kKey.size(), end == std::string::npos ? std::string::npos : end - pos - kKey.size());
}

Result<std::string> FileSha256(const std::string& path) {
  Sha256 h;
  LB_RETURN_IF_ERROR(ReadFileChunks(path, [&](std::span<const uint8_t> c) {
    h.Update(c);
    return Status::OK();
  }));
  return HexEncode(h.Finish());
}

}  // namespace lifeboat::host
