#include "codec/zstd_stream.h"

#include <zstd.h>

#include <string>
#include <vector>

namespace lifeboat::codec {

struct ZstdCompressor::Ctx {
  ZSTD_CCtx* cctx = nullptr;
  std::vector<uint8_t> out;
  ~Ctx() { ZSTD_freeCCtx(cctx); }
};

struct ZstdDecompressor::Ctx {
  ZSTD_DCtx* dctx = nullptr;
  std::vector<uint8_t> out;
  ~Ctx() { ZSTD_freeDCtx(dctx); }
};

namespace {
Status ZstdError(size_t code, const char* what) {
  return Status::Internal(std::string("zstd ") + what + ": " + ZSTD_getErrorName(code));
}
}  // namespace

Result<std::unique_ptr<ZstdCompressor>> ZstdCompressor::Create(int level, int threads, Sink sink) {
  if (level < 1 || level > ZSTD_maxCLevel()) {
    return Status::InvalidArgument("zstd level " + std::to_string(level) + " is out of range (1.." +
                                   std::to_string(ZSTD_maxCLevel()) + ", or 0 for no compression)");
  }
  auto z = std::unique_ptr<ZstdCompressor>(new ZstdCompressor());
  z->ctx_ = std::make_unique<Ctx>();
  z->ctx_->cctx = ZSTD_createCCtx();
  if (z->ctx_->cctx == nullptr) return Status::Internal("zstd: out of memory");
  ZSTD_CCtx_setParameter(z->ctx_->cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(z->ctx_->cctx, ZSTD_c_checksumFlag, 1);
  // Worker threads need libzstd built with them (Debian's is); ignore the error otherwise.
  if (threads > 0) ZSTD_CCtx_setParameter(z->ctx_->cctx, ZSTD_c_nbWorkers, threads);
  z->ctx_->out.resize(ZSTD_CStreamOutSize());
  z->sink_ = std::move(sink);
  return z;
}

ZstdCompressor::~ZstdCompressor() = default;

Status ZstdCompressor::Drive(std::span<const uint8_t> data, int mode) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  for (;;) {
    ZSTD_outBuffer out{ctx_->out.data(), ctx_->out.size(), 0};
    size_t left = ZSTD_compressStream2(ctx_->cctx, &out, &in, static_cast<ZSTD_EndDirective>(mode));
    if (ZSTD_isError(left)) return ZstdError(left, "compress");
    if (out.pos > 0) {
      out_bytes_ += out.pos;
      LB_RETURN_IF_ERROR(sink_(std::span<const uint8_t>(ctx_->out.data(), out.pos)));
    }
    bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
    if (done) return Status::OK();
  }
}

Status ZstdCompressor::Update(std::span<const uint8_t> data) { return Drive(data, ZSTD_e_continue); }
Status ZstdCompressor::Finish() { return Drive({}, ZSTD_e_end); }

Result<std::unique_ptr<ZstdDecompressor>> ZstdDecompressor::Create(Sink sink) {
  auto z = std::unique_ptr<ZstdDecompressor>(new ZstdDecompressor());
  z->ctx_ = std::make_unique<Ctx>();
  z->ctx_->dctx = ZSTD_createDCtx();
  if (z->ctx_->dctx == nullptr) return Status::Internal("zstd: out of memory");
  z->ctx_->out.resize(ZSTD_DStreamOutSize());
  z->sink_ = std::move(sink);
  return z;
}

ZstdDecompressor::~ZstdDecompressor() = default;

Status ZstdDecompressor::Update(std::span<const uint8_t> data) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{ctx_->out.data(), ctx_->out.size(), 0};
    size_t r = ZSTD_decompressStream(ctx_->dctx, &out, &in);
    if (ZSTD_isError(r)) {
      return Status::Corruption(std::string("compressed backup is damaged: zstd: ") + ZSTD_getErrorName(r));
    }
    frame_open_ = r != 0;
    if (out.pos > 0) LB_RETURN_IF_ERROR(sink_(std::span<const uint8_t>(ctx_->out.data(), out.pos)));
  }
  // Output may still be buffered inside zstd when the input is used up.
  for (;;) {
    ZSTD_outBuffer out{ctx_->out.data(), ctx_->out.size(), 0};
    ZSTD_inBuffer none{nullptr, 0, 0};
    size_t r = ZSTD_decompressStream(ctx_->dctx, &out, &none);
    if (ZSTD_isError(r)) {
      return Status::Corruption(std::string("compressed backup is damaged: zstd: ") + ZSTD_getErrorName(r));
    }
    if (out.pos == 0) break;
    frame_open_ = r != 0;
    LB_RETURN_IF_ERROR(sink_(std::span<const uint8_t>(ctx_->out.data(), out.pos)));
  }
  return Status::OK();
}

Status ZstdDecompressor::Finish() {
  if (frame_open_) return Status::Corruption("compressed backup is truncated: the zstd frame does not end");
  return Status::OK();
}

}  // namespace lifeboat::codec
