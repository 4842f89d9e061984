// bbolt (v1.3.x, format version 2) on-disk layout, as etcd 3.4 writes it. All integers are
// little-endian (bbolt writes native order; etcd runs on x86-64/arm64). A file is an array of
// pages of P bytes (P from the meta, usually 4096); page i starts at byte i*P.
//
// Page header, 16 bytes at the start of every page:
//   +0  u64 id        this page's number (0 inside an inline bucket)
//   +8  u16 flags     0x01 branch, 0x02 leaf, 0x04 meta, 0x10 freelist
//   +10 u16 count     number of elements
//   +12 u32 overflow  extra pages that belong to this one: it spans (overflow+1)*P bytes
//
// Meta (pages 0 and 1, at page offset 16, 64 bytes):
//   +0 u32 magic 0xED0CDAED  +4 u32 version 2  +8 u32 page size  +12 u32 flags
//   +16 u64 root bucket's root pgid  +24 u64 root bucket's sequence
//   +32 u64 freelist pgid (0xFFFFFFFFFFFFFFFF: not synced, rebuilt from the tree at open)
//   +40 u64 pgid: high-water mark, every page id in use is below it
//   +48 u64 txid  +56 u64 checksum: FNV-1a-64 over meta bytes [0,56)
//   The valid meta (magic, version, checksum) with the higher txid wins.
//
// Branch page: `count` elements of 16 bytes at page offset 16:
//   +0 u32 pos (key = element address + pos)  +4 u32 ksize  +8 u64 child pgid
// Leaf page: `count` elements of 16 bytes at page offset 16:
//   +0 u32 flags (0x01: value is a bucket)  +4 u32 pos  +8 u32 ksize  +12 u32 vsize
//   key at element address + pos, value right after the key.
// Keys ascend in memcmp order within a page and across a tree's leaves.
//
// Bucket value: u64 root pgid, u64 sequence; root 0 means inline: a leaf page image (header
// with id 0, then elements and data, positions relative to the image) follows at value offset
// 16. The root bucket (meta root) holds only bucket elements.
//
// Freelist page: count u64 page ids after the header; count 0xFFFF means the first u64 is the
// real count and the ids follow it.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace lifeboat::snapshot::bbolt {

static_assert(std::endian::native == std::endian::little, "bbolt files are read as little-endian");

inline constexpr uint32_t kMagic = 0xED0CDAED;
inline constexpr uint32_t kVersion = 2;
inline constexpr size_t kPageHeaderSize = 16;
inline constexpr size_t kElementSize = 16;  // leaf and branch elements alike
inline constexpr size_t kMetaOffset = kPageHeaderSize;
inline constexpr size_t kMetaSize = 64;
inline constexpr size_t kMetaChecksumOffset = 56;
inline constexpr size_t kBucketHeaderSize = 16;

inline constexpr uint16_t kBranchPage = 0x01;
inline constexpr uint16_t kLeafPage = 0x02;
inline constexpr uint16_t kMetaPage = 0x04;
inline constexpr uint16_t kFreelistPage = 0x10;
inline constexpr uint32_t kBucketLeafFlag = 0x01;

inline constexpr uint64_t kNoFreelist = 0xFFFFFFFFFFFFFFFFull;
inline constexpr uint16_t kFreelistCountOverflow = 0xFFFF;
// bbolt's own limits (bucket.go): larger keys or values cannot have been written by it.
inline constexpr uint32_t kMaxKeySize = 32768;
inline constexpr uint32_t kMaxValueSize = (1u << 31) - 2;

// Unaligned little-endian loads and stores.
template <typename T>
inline T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

struct PageHeader {
  uint64_t id;
  uint16_t flags;
  uint16_t count;
  uint32_t overflow;
};

inline PageHeader ParsePageHeader(const uint8_t* p) {
  return PageHeader{Load<uint64_t>(p), Load<uint16_t>(p + 8), Load<uint16_t>(p + 10), Load<uint32_t>(p + 12)};
}

inline void WritePageHeader(uint8_t* p, const PageHeader& h) {
  Store(p, h.id);
  Store(p + 8, h.flags);
  Store(p + 10, h.count);
  Store(p + 12, h.overflow);
}

struct Meta {
  uint32_t magic = kMagic;
  uint32_t version = kVersion;
  uint32_t page_size = 0;
  uint32_t flags = 0;
  uint64_t root = 0;
  uint64_t sequence = 0;
  uint64_t freelist = kNoFreelist;
  uint64_t pgid = 0;
  uint64_t txid = 0;
  uint64_t checksum = 0;
};

// FNV-1a 64 over the first 56 bytes of an encoded meta.
inline uint64_t MetaChecksum(const uint8_t* meta) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < kMetaChecksumOffset; ++i) {
    h ^= meta[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

inline Meta ParseMeta(const uint8_t* m) {
  Meta r;
  r.magic = Load<uint32_t>(m);
  r.version = Load<uint32_t>(m + 4);
  r.page_size = Load<uint32_t>(m + 8);
  r.flags = Load<uint32_t>(m + 12);
  r.root = Load<uint64_t>(m + 16);
  r.sequence = Load<uint64_t>(m + 24);
  r.freelist = Load<uint64_t>(m + 32);
  r.pgid = Load<uint64_t>(m + 40);
  r.txid = Load<uint64_t>(m + 48);
  r.checksum = Load<uint64_t>(m + 56);
  return r;
}

// Encodes `m` into 64 bytes at `out`, computing the checksum (m.checksum is ignored).
inline void EncodeMeta(const Meta& m, uint8_t* out) {
  Store(out, m.magic);
  Store(out + 4, m.version);
  Store(out + 8, m.page_size);
  Store(out + 12, m.flags);
  Store(out + 16, m.root);
  Store(out + 24, m.sequence);
  Store(out + 32, m.freelist);
  Store(out + 40, m.pgid);
  Store(out + 48, m.txid);
  Store(out + 56, MetaChecksum(out));
}

}  // namespace lifeboat::snapshot::bbolt
