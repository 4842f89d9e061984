#include "snapshot/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace lifeboat::snapshot {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // Castagnoli, bit-reversed

// Slicing-by-8: table[k][b] is the CRC of byte b followed by k zero bytes, so eight input bytes
// are folded with eight independent lookups instead of eight dependent ones. `snapshot status`
// hashes every key and value of the db, so this loop runs over the whole file.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
    t[0][b] = c;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

#if defined(__x86_64__)
// SSE4.2's crc32 instruction computes exactly this CRC (Castagnoli, reflected) 8 bytes at a
// time, several times faster than the tables; chosen at run time so the binary still runs on
// CPUs without it.
__attribute__((target("sse4.2"))) uint32_t HardwareCrc(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
  }
  uint32_t c32 = static_cast<uint32_t>(c64);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

bool HaveHardwareCrc() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}
#endif

}  // namespace

static_assert(std::endian::native == std::endian::little, "Crc32c assumes little-endian loads");

uint32_t Crc32cPortable(uint32_t crc, std::span<const uint8_t> data) {
  uint32_t c = ~crc;
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);  // the tables assume little-endian loads (x86-64, arm64)
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^ kTables[4][lo >> 24] ^
        kTables[3][hi & 0xff] ^ kTables[2][(hi >> 8) & 0xff] ^ kTables[1][(hi >> 16) & 0xff] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xff];
  return ~c;
}

bool Crc32cHardwareAvailable() {
#if defined(__x86_64__)
  return HaveHardwareCrc();
#else
  return false;
#endif
}

uint32_t Crc32cHardware(uint32_t crc, std::span<const uint8_t> data) {
#if defined(__x86_64__)
  if (HaveHardwareCrc()) return ~HardwareCrc(~crc, data.data(), data.size());
#endif
  return Crc32cPortable(crc, data);  // not reached by callers that checked availability
}

uint32_t Crc32c(uint32_t crc, std::span<const uint8_t> data) {
  return Crc32cHardwareAvailable() ? Crc32cHardware(crc, data) : Crc32cPortable(crc, data);
}

}  // namespace lifeboat::snapshot
