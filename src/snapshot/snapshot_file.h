// A snapshot file as etcd streams it: bbolt image || SHA-256(image) in 32 raw bytes. etcd's
// own rule tells the two apart: size % 512 == 32 means a trailer is present; a bbolt file
// copied from a data dir (member/snap/db) is a whole number of pages and has none.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace lifeboat::snapshot {

struct SnapshotFileInfo {
  std::string path;
  uint64_t file_size = 0;
  uint64_t image_size = 0;  // bytes of the bbolt image (file_size - 32 with a trailer)
  bool has_trailer = false;
  std::array<uint8_t, 32> trailer{};  // valid when has_trailer
};

// Stats and classifies `path` (reads only the trailer). NotFound/IOError for unreadable paths.
Result<SnapshotFileInfo> InspectSnapshotFile(const std::string& path);

// Streams SHA-256 over the image and compares it with the trailer. Corruption on mismatch
// (the message names both digests), FailedPrecondition when the file has no trailer.
// `image_sha256` (optional) receives the computed digest.
Status VerifySnapshotTrailer(const SnapshotFileInfo& info, std::array<uint8_t, 32>* image_sha256 = nullptr);

}  // namespace lifeboat::snapshot
