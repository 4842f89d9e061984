// HKDF-SHA-256 against RFC 5869's test cases 1-3 and HMAC-SHA-256 against RFC 4231's test cases
// 1-7 (the published vectors, byte for byte), and AuthTag: keyed by key id, rotated keys still
// check, any change to the message or the tag is refused, a missing key is named.
#include "codec/mac.h"

#include <gtest/gtest.h>

#include <numeric>

#include "base/sha256.h"

namespace lifeboat::codec {
namespace {

std::vector<uint8_t> Range(int from, int to) {  // [from, to)
  std::vector<uint8_t> v(static_cast<size_t>(to - from));
  std::iota(v.begin(), v.end(), static_cast<uint8_t>(from));
  return v;
}
std::vector<uint8_t> Repeat(uint8_t b, size_t n) { return std::vector<uint8_t>(n, b); }
std::span<const uint8_t> Text(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::string Hkdf(std::span<const uint8_t> ikm, std::span<const uint8_t> salt, std::span<const uint8_t> info,
                 size_t n) {
  auto okm = HkdfSha256(ikm, salt, info, n);
  EXPECT_TRUE(okm.ok()) << okm.status().ToString();
  return okm.ok() ? HexEncode(*okm) : "";
}

std::string Hmac(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  auto h = HmacSha256(key, data);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? HexEncode(*h) : "";
}

TEST(MacTest, HkdfMatchesRfc5869) {
  // A.1: basic test case with SHA-256.
  EXPECT_EQ(Hkdf(Repeat(0x0b, 22), Range(0x00, 0x0d), Range(0xf0, 0xfa), 42),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  // A.2: longer inputs and outputs.
  EXPECT_EQ(Hkdf(Range(0x00, 0x50), Range(0x60, 0xb0), Range(0xb0, 0x100), 82),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da"
            "3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
  // A.3: zero-length salt and info (the form manifest keys use: no salt).
  EXPECT_EQ(Hkdf(Repeat(0x0b, 22), {}, {}, 42),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  EXPECT_FALSE(HkdfSha256(Repeat(1, 32), {}, {}, 0).ok());
  EXPECT_FALSE(HkdfSha256(Repeat(1, 32), {}, {}, 255 * 32 + 1).ok());
}

TEST(MacTest, HmacMatchesRfc4231) {
  EXPECT_EQ(Hmac(Repeat(0x0b, 20), Text("Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hmac(Text("Jefe"), Text("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hmac(Repeat(0xaa, 20), Repeat(0xdd, 50)),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(Hmac(Range(0x01, 0x1a), Repeat(0xcd, 50)),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // 4.6: the RFC gives the first 128 bits only.
  EXPECT_EQ(Hmac(Repeat(0x0c, 20), Text("Test With Truncation")).substr(0, 32), "a3b6167473100ee06e0c796c2955552b");
  EXPECT_EQ(Hmac(Repeat(0xaa, 131), Text("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(Hmac(Repeat(0xaa, 131), Text("This is a test using a larger than block-size key and a larger than "
                                         "block-size data. The key needs to be hashed before being used by the HMAC "
                                         "algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(MacTest, AuthTagIsKeyedByIdAndRefusesAnyChange) {
  KeyRing ring;
  ASSERT_TRUE(ring.Add("old", std::string(64, 'a'), false).ok());
  ASSERT_TRUE(ring.Add("new", std::string(64, 'b'), true).ok());
  auto t_old = AuthTag(ring, "old", Text("manifest body"));
  auto t_new = AuthTag(ring, "new", Text("manifest body"));
  ASSERT_TRUE(t_old.ok() && t_new.ok());
  EXPECT_EQ(t_old->size(), 64u);
  EXPECT_NE(*t_old, *t_new);
  // The tag is not an HMAC under the master key itself: the key is derived for this purpose.
  EXPECT_NE(*t_old, Hmac(Repeat(0xaa, 32), Text("manifest body")));
  EXPECT_TRUE(CheckAuthTag(ring, "old", Text("manifest body"), *t_old).ok());
  EXPECT_TRUE(CheckAuthTag(ring, "new", Text("manifest body"), *t_new).ok());
  EXPECT_EQ(CheckAuthTag(ring, "new", Text("manifest body"), *t_old).code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(CheckAuthTag(ring, "old", Text("manifest bodY"), *t_old).code(), Status::Code::kUnauthenticated);
  std::string flipped = *t_old;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  EXPECT_EQ(CheckAuthTag(ring, "old", Text("manifest body"), flipped).code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(CheckAuthTag(ring, "old", Text("manifest body"), "zz").code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(CheckAuthTag(ring, "old", Text("manifest body"), t_old->substr(0, 32)).code(),
            Status::Code::kUnauthenticated);
  Status missing = CheckAuthTag(ring, "gone", Text("manifest body"), *t_old);
  EXPECT_EQ(missing.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(missing.message().find("'gone'"), std::string::npos) << missing.message();
}

}  // namespace
}  // namespace lifeboat::codec
