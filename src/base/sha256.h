// Sha256: incremental SHA-256 over OpenSSL's EVP interface. Call Update() any number of times,
// then Finish() exactly once. HexEncode/HexDecode convert digests to and from hex text
// (lowercase out, either case in).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace lifeboat {

class Sha256 {
 public:
  static constexpr size_t kDigestSize = 32;
  using Digest = std::array<uint8_t, kDigestSize>;

  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> data);
  // Returns the digest of everything passed to Update(). The object is spent afterwards.
  Digest Finish();

  // One-shot convenience for small buffers.
  static Digest Of(std::span<const uint8_t> data);

 private:
  evp_md_ctx_st* ctx_;
  bool finished_ = false;
};

std::string HexEncode(std::span<const uint8_t> bytes);
// InvalidArgument for odd length or a character outside [0-9a-fA-F].
Result<std::vector<uint8_t>> HexDecode(std::string_view hex);

}  // namespace lifeboat
