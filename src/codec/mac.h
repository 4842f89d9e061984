// Keyed hashes over OpenSSL: HKDF-SHA-256 (RFC 5869) to derive one key per purpose from a
// master key, HMAC-SHA-256 (RFC 2104, vectors in RFC 4231) to authenticate bytes with it, and
// AuthTag, which does both with a KeyRing's keys. Stored objects are encrypted under keys
// derived with one info string and manifests are authenticated under keys derived with
// another, so one master key never serves two purposes directly.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/aead_stream.h"

namespace lifeboat::codec {

// HKDF-SHA-256: `length` bytes (at most 255 * 32) from input key material, salt and info.
Result<std::vector<uint8_t>> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                                         std::span<const uint8_t> info, size_t length);

using MacDigest = std::array<uint8_t, 32>;
Result<MacDigest> HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> message);

// Constant-time comparison of two byte strings (false when their lengths differ).
bool EqualInConstantTime(std::span<const uint8_t> a, std::span<const uint8_t> b);

// The algorithm name recorded with a tag.
inline constexpr std::string_view kHmacSha256 = "hmac-sha256";

// An HMAC-SHA-256 of `message` under the key HKDF-SHA-256(master key `key_id`, no salt,
// "lifeboat manifest mac v1") derives, as lowercase hex. FailedPrecondition naming the id when
// `keys` lacks it.
Result<std::string> AuthTag(const KeyRing& keys, const std::string& key_id, std::span<const uint8_t> message);
// OK when `tag_hex` is that tag; Unauthenticated when it is not (or is not hex);
// FailedPrecondition naming the id when `keys` lacks it.
Status CheckAuthTag(const KeyRing& keys, const std::string& key_id, std::span<const uint8_t> message,
                    std::string_view tag_hex);

}  // namespace lifeboat::codec
