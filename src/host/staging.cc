#include "host/staging.h"

#include <filesystem>

#include "base/atomic_file.h"
#include "base/file_chunks.h"
#include "base/sha256.h"
#include "catalog/catalog.h"
#include "snapshot/digest.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

namespace lifeboat::host {
namespace {

Status Describe(StagedBackup* out) {
  auto st = snapshot::StatusOfFile(out->path);
  if (!st.ok()) return st.status().Annotate("staged backup " + out->path);
  out->revision = st->current_revision;
  out->live_keys = st->live_keys;
  out->cluster_version = st->cluster_version;
  out->members = st->members;
  return Status::OK();
}

}  // namespace

Result<std::string> CheckSnapshotFile(const std::string& path) {
  snapshot::SnapshotDigest digest;
  LB_RETURN_IF_ERROR(ReadFileChunks(path, [&](std::span<const uint8_t> c) {
    digest.Update(c);
    return Status::OK();
  }));
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
  // A copy staged earlier is re-checked and used, before the store is even opened: --resume then
  // goes on while a remote store is unreachable.
  auto use_staged = [&]() -> bool {
    if (!std::filesystem::exists(out.path, ec)) return false;
    auto sha = CheckSnapshotFile(out.path);
    if (sha.ok() && *sha == req.sha256) return true;
    // A damaged staged copy is moved aside like everything else here, not deleted.
    std::filesystem::rename(out.path, out.path + ".damaged", ec);
    return false;
  };
  auto staged = [&]() -> Result<StagedBackup> {
    out.cached = true;
    LB_RETURN_IF_ERROR(Describe(&out));
    return out;
  };
  const bool local_store = req.store_url.rfind("file://", 0) == 0;
  if (!local_store && use_staged()) return staged();
  auto store = store::OpenStore(req.store_url);
  if (!store.ok()) return store.status();
  // The manifest says how the object is encoded; it must describe the snapshot the coordinator planned.
  auto manifest = catalog::ReadManifest(**store, req.object_key);
  if (!manifest.ok()) return manifest.status().Annotate("fetch " + req.object_key + " from " + (*store)->Describe());
  if (manifest->sha256 != req.sha256 || (req.size != 0 && manifest->size != req.size)) {
    return Status::Corruption("the manifest of " + req.object_key + " now says sha256 " + manifest->sha256 +
                              ", not the planned " + req.sha256 + " (the store changed; plan the restore again)");
  }
  // A plain snapshot already on this host: checked in place (SHA-256 and trailer in one read),
  // which spares writing and syncing the whole snapshot once more before the restore reads it.
  // The restore hashes it again, so a file replaced in between is still caught.
  const std::string local = (*store)->LocalPath(req.object_key);
  if (!local.empty() && manifest->compression == "none" && manifest->encryption == "none" &&
      std::filesystem::is_regular_file(local, ec)) {
    const std::string damaged = "the stored copy of " + req.object_key + " in " + (*store)->Describe() +
                                " is damaged (restore another backup): ";
    auto sha = CheckSnapshotFile(local);
    if (!sha.ok()) {
      if (sha.status().code() == Status::Code::kCorruption) return Status::Corruption(damaged + sha.status().message());
      return sha.status().Annotate("check " + req.object_key + " in " + (*store)->Describe());
    }
    if (*sha != req.sha256) return Status::Corruption(damaged + "sha256 " + *sha + ", its manifest says " + req.sha256);
    out.path = local;
    out.in_place = true;
    LB_RETURN_IF_ERROR(Describe(&out));
    return out;
  }
  if (local_store && use_staged()) return staged();
  LB_RETURN_IF_ERROR(MakeDirs(staging_dir));
  // The manifest's SHA-256 (checked above to be the planned one) is verified while copying.
  Status fetched = catalog::FetchToFile(**store, *manifest, out.path, keys);
  if (!fetched.ok()) return fetched.Annotate("fetch " + req.object_key + " from " + (*store)->Describe());
  LB_RETURN_IF_ERROR(Describe(&out));
  return out;
}

}  // namespace lifeboat::host
