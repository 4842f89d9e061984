// The zstd stream codec: round trips in odd chunk sizes, and refuses truncated, corrupted and
// trailing input with Corruption.
#include "codec/zstd_stream.h"

#include <gtest/gtest.h>

#include <random>

namespace lifeboat::codec {
namespace {

std::vector<uint8_t> Data(size_t n) {
  std::vector<uint8_t> d(n);
  std::mt19937 rng(42);
  for (size_t i = 0; i < n; ++i) d[i] = (i % 4096 < 2048) ? static_cast<uint8_t>(i / 7) : static_cast<uint8_t>(rng());
  return d;
}

std::vector<uint8_t> Compress(const std::vector<uint8_t>& in, int level, size_t chunk) {
  std::vector<uint8_t> out;
  auto z = ZstdCompressor::Create(level, 0, [&](std::span<const uint8_t> c) {
    out.insert(out.end(), c.begin(), c.end());
    return Status::OK();
  });
  EXPECT_TRUE(z.ok());
  for (size_t i = 0; i < in.size(); i += chunk) {
    EXPECT_TRUE((*z)->Update(std::span(in).subspan(i, std::min(chunk, in.size() - i))).ok());
  }
  EXPECT_TRUE((*z)->Finish().ok());
  EXPECT_EQ((*z)->bytes_out(), out.size());
  return out;
}

Status Decompress(const std::vector<uint8_t>& in, size_t chunk, std::vector<uint8_t>* out) {
  auto z = ZstdDecompressor::Create([&](std::span<const uint8_t> c) {
    out->insert(out->end(), c.begin(), c.end());
    return Status::OK();
  });
  if (!z.ok()) return z.status();
  for (size_t i = 0; i < in.size(); i += chunk) {
    LB_RETURN_IF_ERROR((*z)->Update(std::span(in).subspan(i, std::min(chunk, in.size() - i))));
  }
  return (*z)->Finish();
}

TEST(ZstdStreamTest, RoundTripsInAnyChunking) {
  auto data = Data(3 << 20);
  for (int level : {1, 3, 9}) {
    auto packed = Compress(data, level, 65537);
    EXPECT_LT(packed.size(), data.size());
    for (size_t chunk : {size_t{1} << 20, size_t{4099}, size_t{17}}) {
      if (chunk == 17 && level != 1) continue;  // slow; once is enough
      std::vector<uint8_t> back;
      ASSERT_TRUE(Decompress(packed, chunk, &back).ok());
      EXPECT_EQ(back, data) << "level " << level << " chunk " << chunk;
    }
  }
  std::vector<uint8_t> empty_back;
  ASSERT_TRUE(Decompress(Compress({}, 3, 10), 10, &empty_back).ok());
  EXPECT_TRUE(empty_back.empty());
}

TEST(ZstdStreamTest, TruncatedCorruptAndBadLevelAreRefused) {
  auto packed = Compress(Data(1 << 20), 3, 1 << 16);
  std::vector<uint8_t> out;
  auto cut = std::vector<uint8_t>(packed.begin(), packed.begin() + packed.size() / 2);
  Status s = Decompress(cut, 4096, &out);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  auto bad = packed;
  bad[bad.size() / 2] ^= 0x55;  // the frame checksum catches what the block decoder does not
  out.clear();
  EXPECT_EQ(Decompress(bad, 4096, &out).code(), Status::Code::kCorruption);
  EXPECT_EQ(ZstdCompressor::Create(0, 0, nullptr).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ZstdCompressor::Create(99, 0, nullptr).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::codec
