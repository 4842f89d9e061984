#include "snapshot/snapshot.h"

#include "snapshot/hashkv.h"

#include "base/sha256.h"
#include "fmt/format.h"

namespace lifeboat::snapshot {

Result<OpenedSnapshot> OpenSnapshot(const std::string& path, bool verify_trailer) {
  OpenedSnapshot s;
  LB_ASSIGN_OR_RETURN(s.file, InspectSnapshotFile(path));
  if (verify_trailer && s.file.has_trailer) LB_RETURN_IF_ERROR(VerifySnapshotTrailer(s.file));
  LB_ASSIGN_OR_RETURN(s.db, BboltReader::Open(path, s.file.image_size));
  return s;
}

Result<SnapshotStatus> StatusOfFile(const std::string& path) {
  LB_ASSIGN_OR_RETURN(OpenedSnapshot s, OpenSnapshot(path, false));
  return ComputeStatus(*s.db);
}

Status VerifySnapshotFile(const std::string& path, const VerifyOptions& options, VerifyReport* report) {
  VerifyReport local;
  VerifyReport& r = report ? *report : local;
  LB_ASSIGN_OR_RETURN(r.file, InspectSnapshotFile(path));
  if (!r.file.has_trailer && !options.allow_no_trailer) {
    return Status::FailedPrecondition(fmt::format(
        "{}: no SHA-256 trailer ({} bytes is not 32 more than a multiple of 512): truncated, or a bbolt file "
        "copied from a data dir (pass --allow-no-trailer to check such a file)",
        path, r.file.file_size));
  }
  if (r.file.has_trailer) {
    if (!options.manifest_db_sha256.empty() && HexEncode(r.file.trailer) != options.manifest_db_sha256) {
      return Status::Corruption(
          fmt::format("{}: the trailer says SHA-256 {} but the manifest says {}: a different file", path,
                      HexEncode(r.file.trailer), options.manifest_db_sha256));
    }
    LB_RETURN_IF_ERROR(VerifySnapshotTrailer(r.file));
    r.trailer_checked = true;
  }
  LB_ASSIGN_OR_RETURN(auto db, BboltReader::Open(path, r.file.image_size));
  LB_ASSIGN_OR_RETURN(r.status, ComputeStatus(*db));
  if (options.manifest_revision && r.status.current_revision < *options.manifest_revision) {
    return Status::Corruption(fmt::format(
        "{}: revision {} is older than the manifest's {} (taken before the snapshot started): not the backup the "
        "manifest describes",
        path, r.status.current_revision, *options.manifest_revision));
  }
  if (const auto& want = options.source_hashkv) {
    LB_ASSIGN_OR_RETURN(auto got, ComputeHashKV(*db, want->revision, want->compact_revision));
    if (got.hash != want->hash) {
      return Status::Corruption(fmt::format(
          "{}: HashKV at revision {} is {}, the cluster's member reported {}: the file does not hold the member's data",
          path, want->revision, got.hash, want->hash));
    }
    r.hashkv_checked = true;
  }
  return Status::OK();
}

}  // namespace lifeboat::snapshot
