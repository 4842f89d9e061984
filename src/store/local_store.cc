#include "store/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/errno_status.h"
#include "fmt/format.h"

namespace lifeboat::store {

namespace {

constexpr size_t kReadChunk = 1 << 20;

class LocalObjectWriter : public ObjectWriter {
 public:
  explicit LocalObjectWriter(std::unique_ptr<AtomicFile> file) : file_(std::move(file)) {}
  Status Append(std::span<const uint8_t> data) override { return file_->Append(data); }
  Status Commit() override { return file_->Commit(); }
  void Abort() override { file_->Abort(); }

 private:
  std::unique_ptr<AtomicFile> file_;
};

std::string ParentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Appends to `out` every object below the folder `dir` (whose key prefix is `key_prefix`, "" or
// ending in '/') that starts with `prefix`, descending only into folders that can match.
Status Walk(const std::string& dir, const std::string& key_prefix, std::string_view prefix,
            std::vector<ObjectInfo>* out) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    // Vanished since we saw it (a concurrent Delete tidying up): it holds nothing now.
    if (errno == ENOENT) return Status::OK();
    return ErrnoStatus(errno, "list", dir, Access::kRead);
  }
  Status result;
  while (true) {
    errno = 0;
    const dirent* e = readdir(d);
    if (e == nullptr) {
      if (errno != 0) result = ErrnoStatus(errno, "list", dir, Access::kRead);
      break;
    }
    std::string_view name = e->d_name;
    // Leading '.' covers ".", "..", AtomicFile temp files and anything operators hide.
    if (name.empty() || name[0] == '.') continue;
    std::string key = key_prefix + std::string(name);
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted while we were listing
      result = ErrnoStatus(errno, "inspect", dir + "/" + std::string(name), Access::kRead);
      break;
    }
    if (S_ISLNK(st.st_mode)) {
      // Symlinked files count as objects; symlinked folders are not followed, so a link loop
      // cannot make List run forever.
      if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
    }
    if (S_ISDIR(st.st_mode)) {
      std::string sub_prefix = key + "/";
      if (!StartsWith(sub_prefix, prefix) && !StartsWith(prefix, sub_prefix)) continue;
      result = Walk(dir + "/" + std::string(name), sub_prefix, prefix, out);
      if (!result.ok()) break;
    } else if (S_ISREG(st.st_mode) && StartsWith(key, prefix) && ValidateKey(key).ok()) {
      out->push_back(ObjectInfo{key, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec), "", 0});
    }
  }
  closedir(d);
  return result;
}

}  // namespace

Result<std::unique_ptr<LocalStore>> LocalStore::Open(std::string_view root, bool create) {
  if (root.empty() || root[0] != '/' || root.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format(
        "store folder \"{}\" is not an absolute path (use file:///absolute/path, e.g. file:///backups/etcd)", root));
  }
  std::string normal = std::filesystem::path(root).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  if (create) {
    Status s = MakeDirs(normal);
    // Only a root that is still missing is fatal here; one that exists but is unusable for
    // writing is reported by Create(), so read-only stores keep working for list/fetch.
    struct stat st;
    if (!s.ok() && stat(normal.c_str(), &st) != 0) return s;
  }
  return std::unique_ptr<LocalStore>(new LocalStore(std::move(normal)));
}

std::string LocalStore::LocalPath(std::string_view key) const {
  return ValidateKey(key).ok() ? PathOf(key) : std::string();
}

std::string LocalStore::PathOf(std::string_view key) const {
  return root_ == "/" ? "/" + std::string(key) : root_ + "/" + std::string(key);
}

Status LocalStore::CheckRootIsDir() const {
  struct stat st;
  if (stat(root_.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Status::NotFound(fmt::format("store folder {} does not exist (create it or check --store)", root_));
    }
    return ErrnoStatus(errno, "open store folder", root_, Access::kRead);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition(
        fmt::format("store path {} is not a directory (point --store at a folder)", root_));
  }
  return Status::OK();
}

Result<std::unique_ptr<ObjectWriter>> LocalStore::Create(std::string_view key, const WriteOptions& options) {
  LB_RETURN_IF_ERROR(ValidateKey(key));
  if (options.locks()) {
    return Status::InvalidArgument(fmt::format(
        "{} cannot lock objects: object-lock needs an S3 bucket created with Object Lock (back this tier up to one, "
        "or remove object-lock from the tier)",
        Describe()));
  }
  // Checked first so that writing never creates the root as a side effect of MakeDirs below.
  LB_RETURN_IF_ERROR(CheckRootIsDir());
  const std::string path = PathOf(key);
  const std::string dir = ParentOf(path);
  auto file = AtomicFile::Create(path);
  // Missing folders are the normal case for a new date/hour; a folder can also vanish between
  // MakeDirs and the open when a concurrent Delete removes it as empty, hence a second try.
  for (int attempt = 0; attempt < 2 && !file.ok() && file.status().code() == Status::Code::kNotFound; ++attempt) {
    LB_RETURN_IF_ERROR(MakeDirs(dir));
    file = AtomicFile::Create(path);
  }
  if (!file.ok()) return file.status();
  return std::unique_ptr<ObjectWriter>(new LocalObjectWriter(std::move(file).value()));
}

Status LocalStore::Read(std::string_view key, const ChunkSink& sink) {
  LB_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  const Status not_found = Status::NotFound(
      fmt::format("no object {} in {} (run `lifeboat list` to see what exists)", key, Describe()));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return not_found;
    return ErrnoStatus(errno, "open", path, Access::kRead);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status s = ErrnoStatus(errno, "inspect", path, Access::kRead);
    close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return not_found;  // a folder is not an object
  }
  std::vector<uint8_t> buf(kReadChunk);
  Status result;
  while (true) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      result = ErrnoStatus(errno, "read", path, Access::kRead);
      break;
    }
    if (n == 0) break;
    result = sink(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    if (!result.ok()) break;
  }
  close(fd);  // read-only descriptor: close cannot lose data
  return result;
}

Result<ObjectInfo> LocalStore::Stat(std::string_view key) {
  LB_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) return ErrnoStatus(errno, "inspect", path, Access::kRead);
    st.st_mode = 0;
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::NotFound(
        fmt::format("no object {} in {} (run `lifeboat list` to see what exists)", key, Describe()));
  }
  return ObjectInfo{std::string(key), static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec), "", 0};
}

Result<std::vector<ObjectInfo>> LocalStore::List(std::string_view prefix) {
  // Only the folder part of the prefix is used as a path, so it must obey the key rules
  // (no "..", nothing hidden); the last, partial segment is only compared as text.
  const size_t slash = prefix.find_last_of('/');
  const std::string folder_key = slash == std::string_view::npos ? "" : std::string(prefix.substr(0, slash));
  if ((slash != std::string_view::npos && !ValidateKey(folder_key).ok()) ||
      prefix.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format(
        "invalid list prefix \"{}\" (use folders like db-etcd/prod/ without empty, '.', '..' or hidden parts)", prefix));
  }
  LB_RETURN_IF_ERROR(CheckRootIsDir());
  std::vector<ObjectInfo> out;
  const std::string start = folder_key.empty() ? root_ : PathOf(folder_key);
  struct stat st;
  if (!folder_key.empty() && (stat(start.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    return out;  // no such folder: no objects under it
  }
  LB_RETURN_IF_ERROR(Walk(start, folder_key.empty() ? "" : folder_key + "/", prefix, &out));
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status LocalStore::Delete(std::string_view key) {
  LB_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  if (unlink(path.c_str()) != 0) {
    // EISDIR: Linux's answer for a folder, which is not an object either.
    if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) {
      return Status::NotFound(
          fmt::format("no object {} in {} (run `lifeboat list` to see what exists)", key, Describe()));
    }
    return ErrnoStatus(errno, "delete", path);
  }
  std::string dir = ParentOf(path);
  LB_RETURN_IF_ERROR(FsyncDir(dir));
  // Tidy up date/hour folders that retention emptied. rmdir refuses non-empty folders, so this
  // can never remove another object; a failure just means the folder stays.
  while (dir.size() > root_.size() && StartsWith(dir, root_)) {
    if (rmdir(dir.c_str()) != 0) break;
    dir = ParentOf(dir);
    if (!FsyncDir(dir).ok()) break;  // an empty folder reappearing after a crash is harmless
  }
  return Status::OK();
}

std::string LocalStore::Describe() const { return "file://" + root_; }

}  // namespace lifeboat::store
