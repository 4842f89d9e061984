// SnapshotDigest checks a snapshot as it streams past: a snapshot file is the bbolt image
// followed by SHA-256(image) in 32 raw bytes. Feed every byte in order with Update(); Finish()
// says whether the trailer matches and also returns SHA-256 of the whole file, computed in the
// same single pass (the hash state after the image is forked), so that `sha256sum FILE` can be
// compared with a manifest without hashing the data twice.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"

namespace lifeboat::snapshot {

struct SnapshotDigests {
  std::array<uint8_t, 32> image_sha256;  // as computed; equals the trailer when Finish() is OK
  std::array<uint8_t, 32> file_sha256;   // SHA-256 of image || trailer
  uint64_t image_size = 0;
  uint64_t file_size = 0;                // image_size + the 32-byte trailer
};

class SnapshotDigest {
 public:
  SnapshotDigest();
  ~SnapshotDigest();
  SnapshotDigest(const SnapshotDigest&) = delete;
  SnapshotDigest& operator=(const SnapshotDigest&) = delete;

  void Update(std::span<const uint8_t> data);
  uint64_t bytes() const { return bytes_; }
  // Corruption when the stream is shorter than a trailer, its image is not a whole number of
  // 512-byte blocks (etcd's own test), or the trailer does not match the image.
  Result<SnapshotDigests> Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::array<uint8_t, 32> tail_{};  // the last bytes seen: the trailer once the stream ends
  size_t tail_len_ = 0;
  uint64_t bytes_ = 0;
};

// Reads the snapshot file at `path` once through a SnapshotDigest: its digests, or the read's
// error or Finish()'s Corruption, annotated with the path.
Result<SnapshotDigests> DigestSnapshotFile(const std::string& path);

}  // namespace lifeboat::snapshot
