#include "codec/object_codec.h"

namespace lifeboat::codec {

Encoding EncodingOf(const EncodeOptions& o) {
  Encoding e;
  if (o.zstd_level > 0) e.compression = std::string(kZstd);
  if (o.encrypts()) {
    e.encryption = std::string(kAes256Gcm);
    e.key_id = o.keys->current_id();
  }
  return e;
}

std::string EncodedSuffix(const Encoding& e) {
  std::string s;
  if (e.compression != "none") s += ".zst";
  if (e.encryption != "none") s += ".enc";
  return s;
}

ObjectEncoder::~ObjectEncoder() = default;

Result<std::unique_ptr<ObjectEncoder>> ObjectEncoder::Create(const EncodeOptions& options, Sink out) {
  if (options.zstd_level > 19) return Status::InvalidArgument("zstd level must be 1..19");
  std::unique_ptr<ObjectEncoder> e(new ObjectEncoder());
  e->encoding_ = EncodingOf(options);
  e->out_ = std::move(out);
  ObjectEncoder* self = e.get();  // heap-allocated and never moved: the sinks may point at it
  // A plain object is the snapshot itself, whose SHA-256 the caller already takes: hashing it
  // again would double the client's CPU for a digest nobody records.
  const bool hashes = !e->encoding_.plain();
  Sink store = [self, hashes](std::span<const uint8_t> c) -> Status {
    if (hashes) self->hash_.Update(c);
    self->object_size_ += c.size();
    return self->out_(c);
  };
  if (options.encrypts()) {
    LB_ASSIGN_OR_RETURN(e->aead_, AeadEncryptor::Create(*options.keys, store));
    e->to_aead_ = [self](std::span<const uint8_t> c) { return self->aead_->Update(c); };
  } else {
    e->to_aead_ = store;
  }
  if (options.zstd_level > 0) {
    LB_ASSIGN_OR_RETURN(e->zstd_, ZstdCompressor::Create(options.zstd_level, options.zstd_threads, e->to_aead_));
  }
  return e;
}

Status ObjectEncoder::Update(std::span<const uint8_t> data) { return zstd_ ? zstd_->Update(data) : to_aead_(data); }

Status ObjectEncoder::Finish() {
  if (zstd_) LB_RETURN_IF_ERROR(zstd_->Finish());
  if (aead_) LB_RETURN_IF_ERROR(aead_->Finish());
  if (!encoding_.plain()) object_sha256_ = HexEncode(hash_.Finish());
  return Status::OK();
}

ObjectDecoder::~ObjectDecoder() = default;

Result<std::unique_ptr<ObjectDecoder>> ObjectDecoder::Create(const Encoding& encoding, const KeyRing* keys, Sink out,
                                                             const std::string& what) {
  std::unique_ptr<ObjectDecoder> d(new ObjectDecoder());
  ObjectDecoder* self = d.get();
  d->what_ = what;
  if (encoding.compression == kZstd) {
    LB_ASSIGN_OR_RETURN(d->zstd_, ZstdDecompressor::Create(std::move(out)));
    d->after_decrypt_ = [self](std::span<const uint8_t> c) { return self->zstd_->Update(c); };
  } else if (encoding.compression == "none") {
    d->after_decrypt_ = std::move(out);
  } else {
    return Status::InvalidArgument(what + " is compressed with '" + encoding.compression +
                                   "', which this lifeboat does not know (upgrade lifeboat)");
  }
  if (encoding.encryption == kAes256Gcm) {
    if (keys == nullptr || keys->Find(encoding.key_id) == nullptr) {
      return Status::FailedPrecondition(what + " is encrypted with key id '" + encoding.key_id +
                                        "', which is not configured (set encryption.key-file, or add it to "
                                        "encryption.old-keys)");
    }
    LB_ASSIGN_OR_RETURN(d->aead_, AeadDecryptor::Create(*keys, d->after_decrypt_));
    d->first_ = [self](std::span<const uint8_t> c) { return self->aead_->Update(c); };
  } else if (encoding.encryption == "none") {
    d->first_ = d->after_decrypt_;
  } else {
    return Status::InvalidArgument(what + " is encrypted with '" + encoding.encryption +
                                   "', which this lifeboat does not know (upgrade lifeboat)");
  }
  return d;
}

Status ObjectDecoder::Update(std::span<const uint8_t> stored) { return first_(stored); }

Status ObjectDecoder::Finish() {
  if (aead_) LB_RETURN_IF_ERROR(aead_->Finish().Annotate(what_));
  if (zstd_) LB_RETURN_IF_ERROR(zstd_->Finish().Annotate(what_));
  return Status::OK();
}

}  // namespace lifeboat::codec
