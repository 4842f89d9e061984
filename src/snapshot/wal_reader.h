// WalReader: reads the records of one WAL segment (wal_format.h), checking framing, sizes and
// the CRC chain as etcd's decoder does. Used by tests and by checks on restored data dirs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "snapshot/wal_format.h"

namespace lifeboat::snapshot {

struct WalRecord {
  int64_t type = 0;
  uint32_t crc = 0;
  std::string data;
  uint64_t offset = 0;  // of the frame in the segment
};

// All records up to the first zero length field or EOF. Corruption (with the offset) for a
// frame past the end, an oversized record, a malformed record or a broken CRC chain.
Result<std::vector<WalRecord>> ReadWalSegment(const std::string& path, uint32_t crc_seed = 0);

}  // namespace lifeboat::snapshot
