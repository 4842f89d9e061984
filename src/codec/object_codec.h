// The one encode/decode path of every stored object that holds etcd data (backups, point-in-time
// and safety backups, change-log segments): bytes -> [zstd] -> [AES-256-GCM] -> sink, hashing
// what is stored; and back, refusing an object whose key id is not configured. Writers never
// build the pipeline themselves, so an encrypted store never gets a plain object by omission.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/sha256.h"
#include "base/status.h"
#include "codec/aead_stream.h"
#include "codec/zstd_stream.h"

namespace lifeboat::codec {

inline constexpr std::string_view kZstd = "zstd";
inline constexpr std::string_view kAes256Gcm = "aes-256-gcm";

// What a writer is configured with (`backup.compression`, `encryption:`).
struct EncodeOptions {
  int zstd_level = 0;    // 0: not compressed; 1..19
  int zstd_threads = 0;  // > 0: compress on worker threads (large streams only)
  const KeyRing* keys = nullptr;  // with a current key: encrypt with it
  // With a current key: the manifests of what is written are authenticated with it
  // (catalog/trust.h): the encryption keys, or the `signing:` keys without encryption.
  const KeyRing* signer = nullptr;
  bool encrypts() const { return keys != nullptr && !keys->current_id().empty(); }
  bool plain() const { return zstd_level <= 0 && !encrypts(); }
};

// How one object is stored, as its manifest records it.
struct Encoding {
  std::string compression = "none";  // or "zstd"
  std::string encryption = "none";   // or "aes-256-gcm", applied after compression
  std::string key_id;                // the encrypting key's id; the key itself is never stored
  bool plain() const { return compression == "none" && encryption == "none"; }
};

// The encoding EncodeOptions produce, and the name suffix it adds (".zst", ".enc", both, or none).
Encoding EncodingOf(const EncodeOptions& o);
std::string EncodedSuffix(const Encoding& e);

class ObjectEncoder {
 public:
  // `out` receives the stored bytes; they are counted, and hashed on the way when encoded.
  static Result<std::unique_ptr<ObjectEncoder>> Create(const EncodeOptions& options, Sink out);
  ~ObjectEncoder();
  Status Update(std::span<const uint8_t> data);
  // Flushes the last frame/chunk; call once after the last Update.
  Status Finish();
  const Encoding& encoding() const { return encoding_; }
  uint64_t object_size() const { return object_size_; }
  // Hex SHA-256 of the stored bytes; valid after Finish. Empty for a plain object: its bytes are
  // the input's, which the caller hashes.
  const std::string& object_sha256() const { return object_sha256_; }

 private:
  ObjectEncoder() = default;
  Encoding encoding_;
  Sink out_, to_aead_;
  std::unique_ptr<AeadEncryptor> aead_;
  std::unique_ptr<ZstdCompressor> zstd_;
  Sha256 hash_;
  uint64_t object_size_ = 0;
  std::string object_sha256_;
};

class ObjectDecoder {
 public:
  // `what` names the object in errors. FailedPrecondition naming the key id when `keys` lacks it;
  // InvalidArgument for an encoding this lifeboat does not know.
  static Result<std::unique_ptr<ObjectDecoder>> Create(const Encoding& encoding, const KeyRing* keys, Sink out,
                                                       const std::string& what);
  ~ObjectDecoder();
  Status Update(std::span<const uint8_t> stored);
  // Corruption when the stream was cut or failed authentication.
  Status Finish();

 private:
  ObjectDecoder() = default;
  std::string what_;
  Sink first_, after_decrypt_;
  std::unique_ptr<AeadDecryptor> aead_;
  std::unique_ptr<ZstdDecompressor> zstd_;
};

}  // namespace lifeboat::codec
