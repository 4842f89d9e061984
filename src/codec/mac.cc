#include "codec/mac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "base/sha256.h"

namespace lifeboat::codec {
namespace {

constexpr std::string_view kManifestMacInfo = "lifeboat manifest mac v1";

std::span<const uint8_t> Bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// The manifest key of one master key: derived, never the master key itself.
Result<std::vector<uint8_t>> ManifestKey(const KeyRing& keys, const std::string& key_id) {
  const auto* master = keys.Find(key_id);
  if (master == nullptr) {
    return Status::FailedPrecondition("signed with key id '" + key_id +
                                      "', which is not configured (add it to encryption.old-keys or signing.old-keys)");
  }
  return HkdfSha256(*master, {}, Bytes(kManifestMacInfo), 32);
}

}  // namespace

Result<std::vector<uint8_t>> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                                         std::span<const uint8_t> info, size_t length) {
  if (length == 0 || length > 255 * 32) return Status::InvalidArgument("HKDF-SHA-256 length must be 1..8160 bytes");
  std::vector<uint8_t> out(length);
  EVP_PKEY_CTX* p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  size_t len = out.size();
  // OpenSSL treats an absent salt as HashLen zero bytes, as RFC 5869 says.
  bool ok = p != nullptr && EVP_PKEY_derive_init(p) > 0 && EVP_PKEY_CTX_set_hkdf_md(p, EVP_sha256()) > 0 &&
            (salt.empty() || EVP_PKEY_CTX_set1_hkdf_salt(p, salt.data(), static_cast<int>(salt.size())) > 0) &&
            EVP_PKEY_CTX_set1_hkdf_key(p, ikm.data(), static_cast<int>(ikm.size())) > 0 &&
            (info.empty() || EVP_PKEY_CTX_add1_hkdf_info(p, info.data(), static_cast<int>(info.size())) > 0) &&
            EVP_PKEY_derive(p, out.data(), &len) > 0 && len == out.size();
  EVP_PKEY_CTX_free(p);
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return Status::Internal("HKDF-SHA-256 failed (OpenSSL)");
  }
  return out;
}

Result<MacDigest> HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> message) {
  MacDigest out{};
  unsigned int len = 0;
  static const uint8_t kEmpty = 0;
  // HMAC() takes a null message pointer as "no data"; an empty span may have one.
  const uint8_t* data = message.empty() ? &kEmpty : message.data();
  if (HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()), data, message.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    return Status::Internal("HMAC-SHA-256 failed (OpenSSL)");
  }
  return out;
}

bool EqualInConstantTime(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> AuthTag(const KeyRing& keys, const std::string& key_id, std::span<const uint8_t> message) {
  LB_ASSIGN_OR_RETURN(std::vector<uint8_t> key, ManifestKey(keys, key_id));
  auto tag = HmacSha256(key, message);
  OPENSSL_cleanse(key.data(), key.size());
  if (!tag.ok()) return tag.status();
  return HexEncode(*tag);
}

Status CheckAuthTag(const KeyRing& keys, const std::string& key_id, std::span<const uint8_t> message,
                    std::string_view tag_hex) {
  LB_ASSIGN_OR_RETURN(std::string want, AuthTag(keys, key_id, message));
  auto got = HexDecode(tag_hex);
  auto expected = HexDecode(want);
  if (!got.ok() || !expected.ok() || !EqualInConstantTime(*got, *expected)) {
    return Status::Unauthenticated("its authentication tag does not match (it was changed after it was signed)");
  }
  return Status::OK();
}

}  // namespace lifeboat::codec
