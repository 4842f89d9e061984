#include "host/staging.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <future>

#include "base/atomic_file.h"
#include "base/sha256.h"
#include "catalog/catalog.h"
#include "catalog/local_object.h"
#include "snapshot/digest.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

namespace lifeboat::host {
namespace {

Status Describe(StagedBackup* out, Result<snapshot::SnapshotStatus> st) {
  if (!st.ok()) return st.status().Annotate("staged backup " + out->path);
  out->revision = st->current_revision;
  out->live_keys = st->live_keys;
  out->cluster_version = st->cluster_version;
  out->members = st->members;
  return Status::OK();
}

Status Describe(StagedBackup* out) { return Describe(out, snapshot::StatusOfFile(out->path)); }

// The SHA-256 a staged copy's name carries: "<64 hex>.db" or "<64 hex>.db.damaged"; "" for
// anything else.
std::string StagedSha(const std::string& name) {
  std::string_view n = name;
  if (n.ends_with(".damaged")) n.remove_suffix(8);
  if (!n.ends_with(".db") || n.size() != 67) return "";
  for (char c : n.substr(0, 64)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
  }
  return std::string(n.substr(0, 64));
}

}  // namespace

std::map<std::string, uint64_t> StagedCopies(const std::string& staging_dir) {
  std::map<std::string, uint64_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(staging_dir, ec)) {
    const std::string sha = StagedSha(e.path().filename().string());
    if (sha.empty() || !e.is_regular_file(ec)) continue;
    out[sha] += e.file_size(ec);
  }
  return out;
}

Result<Dropped> DropStaged(const std::string& staging_dir, const std::vector<std::string>& keep) {
  Dropped out;
  std::error_code ec;
  if (!std::filesystem::is_directory(staging_dir, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(staging_dir, ec)) {
    const std::string sha = StagedSha(e.path().filename().string());
    if (sha.empty() || std::find(keep.begin(), keep.end(), sha) != keep.end() || !e.is_regular_file(ec)) continue;
    const uint64_t bytes = e.file_size(ec);
    if (!std::filesystem::remove(e.path(), ec) || ec) {
      return Status::IOError("remove the staged copy " + e.path().string() + ": " + ec.message());
    }
    out.paths.push_back(e.path().string());
    out.bytes += bytes;
  }
  if (ec) return Status::IOError("list " + staging_dir + ": " + ec.message());
  if (!out.paths.empty()) LB_RETURN_IF_ERROR(FsyncDir(staging_dir));
  return out;
}

Result<std::string> CheckSnapshotFile(const std::string& path) {
  LB_ASSIGN_OR_RETURN(snapshot::SnapshotDigests d, snapshot::DigestSnapshotFile(path));
  return HexEncode(d.file_sha256);
}

namespace {

// A plain snapshot already on this host: checked in place, which spares writing and syncing
// the whole snapshot once more before the restore reads it. The restore hashes it again, so a
// file replaced in between is still caught. Its page walk (revision, members) runs beside the
// check's SHA-256 pass, so that the two reads overlap; the walk's result is used only once the
// check passed. False when the object cannot be read in place (nothing in `out` changed).
Result<bool> CheckInPlace(store::Store& store, const catalog::Manifest& manifest, StagedBackup* out) {
  const std::string local_path = store.LocalPath(manifest.object_key);
  std::future<Result<snapshot::SnapshotStatus>> walked;
  if (!local_path.empty() && manifest.compression == "none" && manifest.encryption == "none") {
    walked = std::async(std::launch::async, [local_path] { return snapshot::StatusOfFile(local_path); });
  }
  auto local = catalog::CheckedLocalObject(store, manifest);
  if (!local.ok()) {
    if (local.status().code() == Status::Code::kCorruption) {
      return Status::Corruption("the stored copy of " + manifest.object_key + " in " + store.Describe() +
                                " is damaged (restore another backup): " + local.status().message());
    }
    return local.status().Annotate("check " + manifest.object_key + " in " + store.Describe());
  }
  if (local->empty()) return false;
  out->path = *local;
  out->in_place = true;
  LB_RETURN_IF_ERROR(walked.valid() && *local == local_path ? Describe(out, walked.get()) : Describe(out));
  return true;
}

}  // namespace

Result<StagedBackup> StageBackup(const StageRequest& req, const std::string& staging_dir,
                                 const codec::KeyRing* keys, bool drop_others) {
  if (req.sha256.size() != 64) return Status::InvalidArgument("FetchBackup needs the object's hex SHA-256");
  StagedBackup out;
  out.sha256 = req.sha256;
  out.path = staging_dir + "/" + req.sha256 + ".db";
  std::error_code ec;
  if (drop_others) LB_RETURN_IF_ERROR(DropStaged(staging_dir, {req.sha256}).status());
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
  auto in_place = CheckInPlace(**store, *manifest, &out);
  if (!in_place.ok()) return in_place.status();
  if (*in_place) return out;
  if (local_store && use_staged()) return staged();
  // A decrypted database: its dir is the owner's alone (the file is 0600, AtomicFile's mode).
  LB_RETURN_IF_ERROR(MakeDirs(staging_dir, 0700));
  // The manifest's SHA-256 (checked above to be the planned one) is verified while copying.
  Status fetched = catalog::FetchToFile(**store, *manifest, out.path, keys);
  if (!fetched.ok()) return fetched.Annotate("fetch " + req.object_key + " from " + (*store)->Describe());
  LB_RETURN_IF_ERROR(Describe(&out));
  return out;
}

}  // namespace lifeboat::host
