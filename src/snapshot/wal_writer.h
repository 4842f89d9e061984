// WalWriter: writes one WAL segment (wal_format.h) the way etcd's wal.Create + Save do: a crc
// record with the chain's seed first, then records with a running CRC-32C, then the segment
// preallocated to 64,000,000 bytes and fsynced. Records are buffered: a restore's WAL is a few
// hundred bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "snapshot/wal_format.h"

namespace lifeboat::snapshot {

class WalWriter {
 public:
  // Starts a new WAL (CRC seed 0) whose first segment will be `path`; writes nothing yet.
  explicit WalWriter(std::string path) : path_(std::move(path)) {}

  // Appends a record of `type` with `data`; for wal::kCrc the data must be empty.
  void Append(wal::RecordType type, std::string_view data);
  // Creates `path` (mode 0600, must not exist), writes the records, preallocates the
  // segment, fsyncs and closes it.
  Status Finish();

  const std::string& contents() const { return buf_; }

 private:
  std::string path_;
  std::string buf_;
  uint32_t crc_ = 0;
};

}  // namespace lifeboat::snapshot
