#include "snapshot/digest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "base/sha256.h"

namespace lifeboat::snapshot {
namespace {

std::vector<uint8_t> Vector() {
  std::ifstream in(LB_TEST_DATA "/small-snapshot.db", std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

Result<SnapshotDigests> Feed(const std::vector<uint8_t>& data, size_t chunk) {
  SnapshotDigest d;
  for (size_t off = 0; off < data.size(); off += chunk) {
    d.Update(std::span<const uint8_t>(data).subspan(off, std::min(chunk, data.size() - off)));
  }
  return d.Finish();
}

TEST(SnapshotDigestTest, AcceptsEtcdsVectorWhateverTheChunking) {
  auto data = Vector();
  ASSERT_EQ(data.size(), 49184u);
  for (size_t chunk : {1u, 7u, 31u, 32u, 33u, 4096u, 32768u, 100000u}) {
    auto r = Feed(data, chunk);
    ASSERT_TRUE(r.ok()) << "chunk " << chunk << ": " << r.status().ToString();
    EXPECT_EQ(r->image_size, 49152u);
    EXPECT_EQ(HexEncode(r->file_sha256), HexEncode(Sha256::Of(data))) << "chunk " << chunk;
    EXPECT_EQ(HexEncode(r->image_sha256), HexEncode(std::span<const uint8_t>(data).subspan(49152)));
  }
}

TEST(SnapshotDigestTest, FlippedByteInImageOrTrailerIsCorruption) {
  for (size_t pos : {0ul, 4096ul, 49151ul, 49152ul, 49183ul}) {
    auto data = Vector();
    data[pos] ^= 0x01;
    auto r = Feed(data, 32768);
    ASSERT_FALSE(r.ok()) << "flip at " << pos;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
    EXPECT_NE(r.status().message().find("mismatch"), std::string::npos);
  }
}

TEST(SnapshotDigestTest, TruncatedStreamsAreCorruption) {
  auto data = Vector();
  for (size_t keep : {0ul, 31ul, 32ul + 100, 49183ul}) {
    std::vector<uint8_t> cut(data.begin(), data.begin() + static_cast<long>(keep));
    auto r = Feed(cut, 4096);
    EXPECT_FALSE(r.ok()) << "kept " << keep;
  }
  // The image without its trailer: its last 32 bytes would be taken as the trailer, leaving an
  // image that is not whole 512-byte blocks.
  std::vector<uint8_t> no_trailer(data.begin(), data.begin() + 49152);
  EXPECT_FALSE(Feed(no_trailer, 4096).ok());
}

}  // namespace
}  // namespace lifeboat::snapshot
