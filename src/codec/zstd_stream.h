// Streaming zstd for backup objects: bytes in, compressed (or decompressed) chunks out to a sink,
// never the whole object in memory. The decompressor refuses a stream that ends inside a frame
// (a truncated object) and trailing bytes after the last frame.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "base/status.h"

namespace lifeboat::codec {

using Sink = std::function<Status(std::span<const uint8_t>)>;

class ZstdCompressor {
 public:
  // `level`: zstd's 1 (fastest) .. 19; `threads` > 0 compresses on worker threads.
  static Result<std::unique_ptr<ZstdCompressor>> Create(int level, int threads, Sink sink);
  ~ZstdCompressor();
  Status Update(std::span<const uint8_t> data);
  // Ends the frame; call once after the last Update.
  Status Finish();
  uint64_t bytes_out() const { return out_bytes_; }

 private:
  ZstdCompressor() = default;
  Status Drive(std::span<const uint8_t> data, int mode);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  Sink sink_;
  uint64_t out_bytes_ = 0;
};

class ZstdDecompressor {
 public:
  static Result<std::unique_ptr<ZstdDecompressor>> Create(Sink sink);
  ~ZstdDecompressor();
  Status Update(std::span<const uint8_t> data);
  // Corruption when the stream ended inside a frame.
  Status Finish();

 private:
  ZstdDecompressor() = default;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  Sink sink_;
  bool frame_open_ = false;
};

}  // namespace lifeboat::codec
