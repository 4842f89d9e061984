#include "snapshot/digest.h"

#include <openssl/evp.h>

#include <cstring>

#include "base/file_chunks.h"
#include "base/sha256.h"

namespace lifeboat::snapshot {

struct SnapshotDigest::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  Ctx() { EVP_DigestInit_ex(md, EVP_sha256(), nullptr); }
  ~Ctx() { EVP_MD_CTX_free(md); }
};

SnapshotDigest::SnapshotDigest() : ctx_(std::make_unique<Ctx>()) {}
SnapshotDigest::~SnapshotDigest() = default;

void SnapshotDigest::Update(std::span<const uint8_t> data) {
  bytes_ += data.size();
  // Hold back the last 32 bytes seen: they are the trailer if the stream ends here.
  if (data.size() >= tail_.size()) {
    EVP_DigestUpdate(ctx_->md, tail_.data(), tail_len_);
    size_t body = data.size() - tail_.size();
    EVP_DigestUpdate(ctx_->md, data.data(), body);
    std::memcpy(tail_.data(), data.data() + body, tail_.size());
    tail_len_ = tail_.size();
    return;
  }
  size_t total = tail_len_ + data.size();
  if (total > tail_.size()) {
    size_t excess = total - tail_.size();
    EVP_DigestUpdate(ctx_->md, tail_.data(), excess);
    std::memmove(tail_.data(), tail_.data() + excess, tail_len_ - excess);
    tail_len_ -= excess;
  }
  std::memcpy(tail_.data() + tail_len_, data.data(), data.size());
  tail_len_ += data.size();
}

Result<SnapshotDigests> SnapshotDigest::Finish() {
  if (tail_len_ < tail_.size()) {
    return Status::Corruption("snapshot is " + std::to_string(bytes_) +
                              " bytes: too short to hold etcd's 32-byte SHA-256 trailer");
  }
  SnapshotDigests d;
  d.image_size = bytes_ - tail_.size();
  d.file_size = bytes_;
  if (d.image_size % 512 != 0) {
    return Status::Corruption("snapshot image is " + std::to_string(d.image_size) +
                              " bytes, not a whole number of 512-byte blocks: truncated or not an etcd snapshot");
  }
  EVP_MD_CTX* whole = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(whole, ctx_->md);
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, d.image_sha256.data(), &n);
  EVP_DigestUpdate(whole, tail_.data(), tail_.size());
  EVP_DigestFinal_ex(whole, d.file_sha256.data(), &n);
  EVP_MD_CTX_free(whole);
  if (d.image_sha256 != tail_) {
    return Status::Corruption("snapshot SHA-256 mismatch: the image hashes to " + HexEncode(d.image_sha256) +
                              " but etcd's trailer says " + HexEncode(tail_) + " (the data was damaged in transit)");
  }
  return d;
}

Result<SnapshotDigests> DigestSnapshotFile(const std::string& path) {
  SnapshotDigest digest;
  LB_RETURN_IF_ERROR(ReadFileChunks(path, [&](std::span<const uint8_t> c) {
    digest.Update(c);
    return Status::OK();
  }));
  auto d = digest.Finish();
  if (!d.ok()) return d.status().Annotate(path);
  return d;
}

}  // namespace lifeboat::snapshot
