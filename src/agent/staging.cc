#include "agent/staging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "base/atomic_file.h"
#include "base/errno_status.h"
#include "base/sha256.h"
#include "catalog/catalog.h"
#include "snapshot/digest.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

namespace lifeboat::agent {
namespace {

Status ExpectSha(const std::string& got, const std::string& want, const std::string& what) {
  if (got != want) {
    return Status::Corruption(what + ": SHA-256 " + got.substr(0, 16) + "… does not match the manifest's " +
                              want.substr(0, 16) + "… (the backup is damaged; pick another with --backup)");
  }
  return Status::OK();
}

Status Describe(StagedBackup* out) {
  auto st = snapshot::StatusOfFile(out->path);
  if (!st.ok()) return st.status().Annotate("staged backup " + out->path);
  out->revision = st->current_revision;
  out->live_keys = st->live_keys;
  return Status::OK();
}

}  // namespace

Result<std::string> CheckSnapshotFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", path, Access::kRead);
  snapshot::SnapshotDigest digest;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return ErrnoStatus(e, "read", path, Access::kRead);
    }
    if (n == 0) break;
    digest.Update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
  }
  close(fd);
  auto d = digest.Finish();
  if (!d.ok()) return d.status().Annotate(path);
  return HexEncode(d->file_sha256);
}

Result<StagedBackup> StageBackup(const StageRequest& req, const std::string& staging_dir,
                                 const codec::KeyRing* keys) {
  if (req.sha256.size() != 64) return Status::InvalidArgument("FetchBackup needs the object's hex SHA-256");
  StagedBackup out;
  out.sha256 = req.sha256;
  out.path = staging_dir + "/" + req.sha256 + ".db";
  std::error_code ec;
  if (std::filesystem::exists(out.path, ec)) {
    auto sha = CheckSnapshotFile(out.path);
    if (sha.ok() && *sha == req.sha256) {
      out.cached = true;
      LB_RETURN_IF_ERROR(Describe(&out));
      return out;
    }
    // A damaged staged copy is moved aside like everything else here, not deleted.
    std::filesystem::rename(out.path, out.path + ".damaged", ec);
  }
  auto store = store::OpenStore(req.store_url);
  if (!store.ok()) return store.status();
  // The manifest says how the object is encoded; it must describe the snapshot the coordinator planned.
  auto manifest = catalog::ReadManifest(**store, req.object_key);
  if (!manifest.ok()) return manifest.status().Annotate("fetch " + req.object_key + " from " + (*store)->Describe());
  if (manifest->sha256 != req.sha256 || (req.size != 0 && manifest->size != req.size)) {
    return Status::Corruption("the manifest of " + req.object_key + " now says sha256 " + manifest->sha256 +
                              ", not the planned " + req.sha256 + " (the store changed; plan the restore again)");
  }
  LB_RETURN_IF_ERROR(MakeDirs(staging_dir));
  LB_ASSIGN_OR_RETURN(auto file, AtomicFile::Create(out.path, 0600));
  snapshot::SnapshotDigest digest;
  Status read = catalog::CopyVerified(**store, *manifest, [&](std::span<const uint8_t> chunk) {
    digest.Update(chunk);
    return file->Append(chunk);
  }, keys);
  if (!read.ok()) return read.Annotate("fetch " + req.object_key + " from " + (*store)->Describe());
  auto d = digest.Finish();
  if (!d.ok()) return d.status().Annotate(req.object_key);
  LB_RETURN_IF_ERROR(ExpectSha(HexEncode(d->file_sha256), req.sha256, req.object_key));
  LB_RETURN_IF_ERROR(file->Commit());
  LB_RETURN_IF_ERROR(Describe(&out));
  return out;
}

}  // namespace lifeboat::agent
