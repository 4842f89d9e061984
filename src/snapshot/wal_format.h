// etcd's write-ahead log (wal/, etcd 3.4). A WAL dir holds segments named
// "%016x-%016x.wal" (sequence, index of the first entry), each preallocated to 64,000,000
// bytes; the unused tail is zero. A segment is a run of frames from offset 0:
//
//   [u64 little-endian length field][walpb.Record bytes][0..7 zero bytes of padding]
//
// pad = (8 - len % 8) % 8; the length field is len | ((0x80 | pad) << 56) when pad != 0, so
// every frame starts 8-byte aligned. A zero length field (or EOF) ends the segment; records
// of 10 MiB or more are rejected.
//
// walpb.Record{type=1 varint, crc=2 varint, data=3 bytes}. `crc` chains CRC-32C (Go's
// crc32.Update) over every record's data, starting at 0 for a new WAL; a crc record (type 4,
// no data) carries the running value at the start of each segment. Example, hex dump of a
// single-member restore's first frame: 04 00 00 00 00 00 00 84 | 08 04 10 00 | 00 00 00 00.
#pragma once

#include <cstdint>

namespace lifeboat::snapshot::wal {

enum RecordType : int64_t {
  kMetadata = 1,  // etcdserverpb.Metadata{NodeID=1, ClusterID=2}
  kEntry = 2,     // raftpb.Entry
  kState = 3,     // raftpb.HardState
  kCrc = 4,       // no data; crc = the running CRC
  kSnapshot = 5,  // walpb.Snapshot{index=1, term=2}
};

inline constexpr uint64_t kSegmentSize = 64 * 1000 * 1000;
inline constexpr uint64_t kMaxRecordSize = 10 * 1024 * 1024;

// "%016x-%016x.wal"
inline constexpr char kFirstSegmentName[] = "0000000000000000-0000000000000000.wal";

}  // namespace lifeboat::snapshot::wal
