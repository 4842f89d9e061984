// Client-side encryption of backup objects: AES-256-GCM in authenticated chunks.
//
//   header = "LBAEAD01" | u8 key_id_len | key_id | 32-byte random salt | u32 BE chunk_size
//   body   = chunk*, each = AES-256-GCM(file_key, nonce(i, last), plaintext[<= chunk_size], aad=header)
//            ciphertext || 16-byte tag; the last chunk (possibly empty) has last = 1
//   file_key = HKDF-SHA256(master key, salt, "lifeboat aead v1")   nonce = 0^3 | u64 BE i | u8 last
//
// A changed byte fails its chunk's tag; chunks swapped or repeated fail because the index is in
// the nonce; a cut stream lacks its last-flagged chunk; a chunk from another object fails because
// every object has its own key (random salt). The master key never leaves memory.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/zstd_stream.h"

namespace lifeboat::codec {

// Master keys by id: the current one encrypts, every one decrypts (rotation keeps old ids).
class KeyRing {
 public:
  KeyRing() = default;
  ~KeyRing();
  KeyRing(const KeyRing&) = default;
  KeyRing& operator=(const KeyRing&) = default;
  // `material`: 64 hex digits or exactly 32 raw bytes. An empty id becomes the key's fingerprint
  // (16 hex digits of SHA-256 over a domain tag and the key: safe to show, cannot be reversed).
  Status Add(std::string id, const std::string& material, bool current);
  bool empty() const { return keys_.empty(); }
  const std::string& current_id() const { return current_; }
  const std::array<uint8_t, 32>* Find(const std::string& id) const;
  std::vector<std::string> ids() const;

 private:
  std::map<std::string, std::array<uint8_t, 32>> keys_;
  std::string current_;
};

// Where one key comes from: a file (64 hex digits or 32 raw bytes) or an environment variable
// (64 hex digits). The key itself is never logged; messages name only the file or variable.
struct KeySource {
  std::string id;  // empty: the key's fingerprint
  std::string file, env;
};
// The first source is the current key (encrypts); all of them decrypt.
Result<KeyRing> LoadKeyRing(const KeySource& current, const std::vector<KeySource>& old);

class AeadEncryptor {
 public:
  static constexpr uint32_t kDefaultChunk = 1 << 20;
  static Result<std::unique_ptr<AeadEncryptor>> Create(const KeyRing& keys, Sink sink,
                                                       uint32_t chunk_size = kDefaultChunk);
  ~AeadEncryptor();
  Status Update(std::span<const uint8_t> data);
  Status Finish();

 private:
  AeadEncryptor() = default;
  Status Seal(bool last);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

class AeadDecryptor {
 public:
  // The key id is read from the header; FailedPrecondition names it when `keys` lacks it.
  static Result<std::unique_ptr<AeadDecryptor>> Create(const KeyRing& keys, Sink sink);
  ~AeadDecryptor();
  Status Update(std::span<const uint8_t> data);
  // Corruption when the stream was cut (no last chunk) or a chunk fails authentication.
  Status Finish();
  const std::string& key_id() const;

 private:
  AeadDecryptor() = default;
  Status Header();
  Status Open(std::span<const uint8_t> sealed, bool last);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Reads the key id from an object's first bytes (for messages); empty when not an AEAD header.
std::string PeekKeyId(std::span<const uint8_t> head);

}  // namespace lifeboat::codec
