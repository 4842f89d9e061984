#include "snapshot/snapshot_file.h"

#include <fcntl.h>

#include <algorithm>
#include <vector>

#include "base/sha256.h"
#include "fmt/format.h"
#include "snapshot/file_reader.h"

namespace lifeboat::snapshot {

Result<SnapshotFileInfo> InspectSnapshotFile(const std::string& path) {
  LB_ASSIGN_OR_RETURN(auto file, FileReader::Open(path, 0));
  SnapshotFileInfo info;
  info.path = path;
  info.file_size = file->size();
  info.image_size = info.file_size;
  // etcd's rule (v3_snapshot.go): a trailer makes the size 32 more than a multiple of 512.
  if (info.file_size % 512 == 32) {
    info.has_trailer = true;
    info.image_size = info.file_size - 32;
    LB_RETURN_IF_ERROR(file->ReadDirect(info.image_size, info.trailer));
  }
  return info;
}

Status VerifySnapshotTrailer(const SnapshotFileInfo& info, std::array<uint8_t, 32>* image_sha256) {
  if (!info.has_trailer) {
    return Status::FailedPrecondition(fmt::format(
        "{} has no SHA-256 trailer ({} bytes is not 32 more than a multiple of 512): not a snapshot as etcd "
        "streams it, or truncated",
        info.path, info.file_size));
  }
  LB_ASSIGN_OR_RETURN(auto file, FileReader::Open(info.path, 0));
  if (file->size() != info.file_size) {
    return Status::Corruption(
        fmt::format("{} changed size while being read ({} -> {} bytes)", info.path, info.file_size, file->size()));
  }
  // The page cache keeps what we hash here for the tree walk that usually follows.
  posix_fadvise(file->fd(), 0, 0, POSIX_FADV_SEQUENTIAL);
  Sha256 sha;
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t off = 0; off < info.image_size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), info.image_size - off));
    LB_RETURN_IF_ERROR(file->ReadDirect(off, std::span<uint8_t>(buf.data(), n)));
    sha.Update(std::span<const uint8_t>(buf.data(), n));
    off += n;
  }
  const Sha256::Digest got = sha.Finish();
  if (image_sha256) *image_sha256 = got;
  if (got != info.trailer) {
    return Status::Corruption(
        fmt::format("{}: snapshot SHA-256 mismatch: expected {} (the trailer), got {}: the image is damaged", info.path,
                    HexEncode(info.trailer), HexEncode(got)));
  }
  return Status::OK();
}

}  // namespace lifeboat::snapshot
