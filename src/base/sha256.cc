#include "base/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "fmt/format.h"

namespace lifeboat {

namespace {

// SHA-256 through EVP only fails when OpenSSL cannot allocate or is misconfigured, never on
// input; like a failed `new`, it ends the process (uncaught: std::terminate shows the message),
// as no backup may go on without its checksums.
[[noreturn]] void CryptoFailure(const char* what) {
  throw std::runtime_error(
      fmt::format("OpenSSL {} failed for SHA-256 (out of memory or broken OpenSSL install)", what));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) CryptoFailure("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) CryptoFailure("EVP_DigestInit_ex");
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(std::span<const uint8_t> data) {
  assert(!finished_);
  if (data.empty()) return;
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) CryptoFailure("EVP_DigestUpdate");
}

Sha256::Digest Sha256::Finish() {
  assert(!finished_);
  finished_ = true;
  Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != out.size()) {
    CryptoFailure("EVP_DigestFinal_ex");
  }
  return out;
}

Sha256::Digest Sha256::Of(std::span<const uint8_t> data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

Result<std::vector<uint8_t>> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Status::InvalidArgument(
        fmt::format("invalid hex string of odd length {} (hex needs two digits per byte)", hex.size()));
  }
  std::vector<uint8_t> out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      size_t bad = hi < 0 ? i : i + 1;
      return Status::InvalidArgument(fmt::format(
          "invalid hex string: byte 0x{:02x} at offset {} is not a hex digit (use only 0-9 and a-f)",
          static_cast<unsigned char>(hex[bad]), bad));
    }
    out.push_back(static_cast<uint8_t>((hi << 4) | lo));
  }
  return out;
}

}  // namespace lifeboat
