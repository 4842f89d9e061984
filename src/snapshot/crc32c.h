// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) with Go's crc32.Update semantics: the
// state is inverted before and after each update, so Crc32c(Crc32c(c, a), b) == Crc32c(c, a||b)
// and Crc32c(0, data) is the plain CRC-32C of data. etcd uses it for `snapshot status` hashes,
// WAL record chains and .snap files.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace lifeboat::snapshot {

uint32_t Crc32c(uint32_t crc, std::span<const uint8_t> data);

inline uint32_t Crc32c(uint32_t crc, std::string_view data) {
  return Crc32c(crc, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

// The two implementations Crc32c picks from at run time, so tests can check each against
// published vectors: the portable slicing-by-8 tables, and the CPU's crc32 instruction (x86-64
// SSE4.2), which may only be called when Crc32cHardwareAvailable().
uint32_t Crc32cPortable(uint32_t crc, std::span<const uint8_t> data);
bool Crc32cHardwareAvailable();
uint32_t Crc32cHardware(uint32_t crc, std::span<const uint8_t> data);

}  // namespace lifeboat::snapshot
