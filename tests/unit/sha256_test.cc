#include "base/sha256.h"

#include <gtest/gtest.h>

#include "scratch_dir.h"

namespace lifeboat {
namespace {

using testing::Bytes;
using testing::ReadFile;

TEST(Sha256Test, NistVectors) {
  EXPECT_EQ(HexEncode(Sha256::Of(Bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256::Of(Bytes(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256::Of(Bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data.push_back(static_cast<char>(i * 31 + 7));
  const auto expected = Sha256::Of(Bytes(data));
  for (size_t split : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{9999}, data.size()}) {
    Sha256 h;
    h.Update(Bytes(std::string_view(data).substr(0, split)));
    h.Update(Bytes(std::string_view(data).substr(split)));
    EXPECT_EQ(h.Finish(), expected) << "split at " << split;
  }
}

// etcd ends a snapshot with the SHA-256 of the bbolt image before it.
TEST(Sha256Test, SnapshotTrailerMatchesImage) {
  const std::string db = ReadFile(std::string(LB_TEST_DATA) + "/small-snapshot.db");
  ASSERT_EQ(db.size(), 49184u);
  const std::string_view image = std::string_view(db).substr(0, 49152);
  const std::string_view trailer = std::string_view(db).substr(49152);

  Sha256 h;
  for (size_t off = 0; off < image.size(); off += 4096) h.Update(Bytes(image.substr(off, 4096)));
  const auto digest = h.Finish();
  EXPECT_EQ(HexEncode(digest), HexEncode(Bytes(trailer)));
  EXPECT_EQ(digest, Sha256::Of(Bytes(image)));
}

TEST(HexTest, RoundTripAndCase) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(HexEncode(bytes), "00017f80abff");
  auto decoded = HexDecode("00017F80abFF");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded.value(), bytes);
  auto empty = HexDecode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(HexTest, RejectsOddLengthAndBadDigits) {
  auto odd = HexDecode("abc");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(odd.status().message().find("odd length 3"), std::string::npos) << odd.status().message();

  auto bad = HexDecode("00zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("0x7a at offset 2"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace lifeboat
