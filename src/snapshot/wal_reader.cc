#include "snapshot/wal_reader.h"

#include "fmt/format.h"
#include "snapshot/crc32c.h"
#include "snapshot/file_reader.h"
#include "snapshot/proto_wire.h"

namespace lifeboat::snapshot {

Result<std::vector<WalRecord>> ReadWalSegment(const std::string& path, uint32_t crc_seed) {
  LB_ASSIGN_OR_RETURN(auto file, FileReader::Open(path));
  std::vector<WalRecord> out;
  uint32_t crc = crc_seed;
  uint64_t off = 0;
  while (off + 8 <= file->size()) {
    uint8_t lenbuf[8];
    LB_RETURN_IF_ERROR(file->ReadAt(off, lenbuf));
    uint64_t field = 0;
    for (int i = 7; i >= 0; --i) field = (field << 8) | lenbuf[i];
    if (field == 0) break;
    const uint64_t len = field & ((uint64_t{1} << 56) - 1);
    const uint64_t pad = (field >> 63) ? ((field >> 56) & 0x7) : 0;
    auto bad = [&](const std::string& what) {
      return Status::Corruption(fmt::format("{}: WAL record at offset {}: {}", path, off, what));
    };
    if (len >= wal::kMaxRecordSize) return bad(fmt::format("{} bytes, over etcd's limit", len));
    if (off + 8 + len + pad > file->size()) return bad("runs past the end of the segment (torn write)");
    std::string rec(len, '\0');
    LB_RETURN_IF_ERROR(file->ReadAt(off + 8, std::span<uint8_t>(reinterpret_cast<uint8_t*>(rec.data()), len)));
    WalRecord r;
    r.offset = off;
    proto::Reader pr(rec);
    while (pr.Next()) {
      if (pr.field() == 1 && pr.type() == proto::kVarint) r.type = static_cast<int64_t>(pr.varint());
      if (pr.field() == 2 && pr.type() == proto::kVarint) r.crc = static_cast<uint32_t>(pr.varint());
      if (pr.field() == 3 && pr.type() == proto::kBytes) r.data.assign(pr.bytes());
    }
    if (!pr.ok()) return bad("not a walpb.Record");
    if (r.type == wal::kCrc) {
      if (crc != 0 && r.crc != crc) return bad(fmt::format("crc record {:08x} but the chain is at {:08x}", r.crc, crc));
      crc = r.crc;
    } else {
      crc = Crc32c(crc, r.data);
      if (r.crc != crc) return bad(fmt::format("crc {:08x} but the data gives {:08x}", r.crc, crc));
    }
    out.push_back(std::move(r));
    off += 8 + len + pad;
  }
  return out;
}

}  // namespace lifeboat::snapshot
