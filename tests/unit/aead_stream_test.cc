// Chunked AES-256-GCM: round trips, and every attack the format claims to stop (a changed byte,
// a cut stream, swapped, repeated or foreign chunks, a wrong or missing key) ends in an error.
#include "codec/aead_stream.h"

#include <gtest/gtest.h>

#include <numeric>

namespace lifeboat::codec {
namespace {

constexpr uint32_t kChunk = 1024;
const std::string kKeyA(64, 'a'), kKeyB = std::string(63, 'b') + "c";

KeyRing Ring(const std::string& id, const std::string& key) {
  KeyRing r;
  EXPECT_TRUE(r.Add(id, key, true).ok());
  return r;
}

std::vector<uint8_t> Plain(size_t n) {
  std::vector<uint8_t> p(n);
  std::iota(p.begin(), p.end(), 7);
  return p;
}

std::vector<uint8_t> Seal(const KeyRing& keys, const std::vector<uint8_t>& plain) {
  std::vector<uint8_t> out;
  auto e = AeadEncryptor::Create(keys, [&](std::span<const uint8_t> c) {
    out.insert(out.end(), c.begin(), c.end());
    return Status::OK();
  }, kChunk);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  for (size_t i = 0; i < plain.size(); i += 700) {
    EXPECT_TRUE((*e)->Update(std::span(plain).subspan(i, std::min<size_t>(700, plain.size() - i))).ok());
  }
  EXPECT_TRUE((*e)->Finish().ok());
  return out;
}

Status OpenAll(const KeyRing& keys, const std::vector<uint8_t>& sealed, std::vector<uint8_t>* out, size_t step = 333) {
  auto d = AeadDecryptor::Create(keys, [&](std::span<const uint8_t> c) {
    out->insert(out->end(), c.begin(), c.end());
    return Status::OK();
  });
  if (!d.ok()) return d.status();
  for (size_t i = 0; i < sealed.size(); i += step) {
    LB_RETURN_IF_ERROR((*d)->Update(std::span(sealed).subspan(i, std::min(step, sealed.size() - i))));
  }
  return (*d)->Finish();
}

size_t HeaderSize(const std::string& id) { return 8 + 1 + id.size() + 32 + 4; }

TEST(AeadStreamTest, RoundTripsAnySizeAndHidesThePlaintext) {
  KeyRing k = Ring("k1", kKeyA);
  for (size_t n : {size_t{0}, size_t{1}, size_t{kChunk}, size_t{kChunk + 1}, size_t{5 * kChunk}, size_t{12345}}) {
    auto p = Plain(n);
    auto s = Seal(k, p);
    size_t chunks = std::max<size_t>(1, (n + kChunk - 1) / kChunk);  // the last may be full, never empty unless n = 0
    EXPECT_EQ(s.size(), HeaderSize("k1") + n + 16 * chunks) << n;
    std::vector<uint8_t> back;
    ASSERT_TRUE(OpenAll(k, s, &back).ok()) << n;
    EXPECT_EQ(back, p);
  }
  // The same plaintext twice: different ciphertext (fresh salt per object).
  auto p = Plain(3000);
  EXPECT_NE(Seal(k, p), Seal(k, p));
  auto s = Seal(k, p);
  EXPECT_EQ(std::search(s.begin(), s.end(), p.begin() + 100, p.begin() + 132), s.end()) << "plaintext visible";
}

TEST(AeadStreamTest, TamperTruncationReorderReplayAndSplicingAreDetected) {
  KeyRing k = Ring("k1", kKeyA);
  auto p = Plain(4 * kChunk + 100);  // chunks 0..3 full, chunk 4 last
  auto s = Seal(k, p);
  const size_t h = HeaderSize("k1"), sealed = kChunk + 16;
  auto refused = [&](const std::vector<uint8_t>& bad, const char* what) {
    std::vector<uint8_t> out;
    Status st = OpenAll(k, bad, &out);
    EXPECT_FALSE(st.ok()) << what;
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << what << ": " << st.ToString();
  };
  for (size_t pos : {h - 5, h + 3, h + sealed + 500, s.size() - 1}) {  // salt, body, tag
    auto bad = s;
    bad[pos] ^= 1;
    refused(bad, "flipped byte");
  }
  refused(std::vector<uint8_t>(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(h + 2 * sealed)), "cut at a chunk boundary");
  refused(std::vector<uint8_t>(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(h + sealed + 10)), "cut inside a chunk");
  refused(std::vector<uint8_t>(s.begin(), s.begin() + 20), "cut inside the header");
  auto swapped = s;
  std::swap_ranges(swapped.begin() + static_cast<std::ptrdiff_t>(h), swapped.begin() + static_cast<std::ptrdiff_t>(h + sealed),
                   swapped.begin() + static_cast<std::ptrdiff_t>(h + sealed));
  refused(swapped, "two chunks swapped");
  auto replayed = s;
  std::copy(s.begin() + static_cast<std::ptrdiff_t>(h), s.begin() + static_cast<std::ptrdiff_t>(h + sealed),
            replayed.begin() + static_cast<std::ptrdiff_t>(h + 2 * sealed));
  refused(replayed, "chunk 0 replayed as chunk 2");
  auto other = Seal(k, p);  // same key and plaintext, another object
  auto spliced = s;
  std::copy(other.begin() + static_cast<std::ptrdiff_t>(h + sealed), other.begin() + static_cast<std::ptrdiff_t>(h + 2 * sealed),
            spliced.begin() + static_cast<std::ptrdiff_t>(h + sealed));
  refused(spliced, "chunk 1 from another object");
  auto extra = s;
  extra.insert(extra.end(), s.begin() + static_cast<std::ptrdiff_t>(h), s.begin() + static_cast<std::ptrdiff_t>(h + sealed));
  refused(extra, "a chunk appended after the last");
}

TEST(AeadStreamTest, KeysRotateAndAWrongKeyIsRefused) {
  auto p = Plain(2500);
  auto old_sealed = Seal(Ring("k1", kKeyA), p);
  KeyRing rotated;
  ASSERT_TRUE(rotated.Add("k1", kKeyA, false).ok());
  ASSERT_TRUE(rotated.Add("k2", kKeyB, true).ok());
  EXPECT_EQ(rotated.current_id(), "k2");
  std::vector<uint8_t> back;
  ASSERT_TRUE(OpenAll(rotated, old_sealed, &back).ok()) << "old backups stay readable";
  EXPECT_EQ(back, p);
  auto new_sealed = Seal(rotated, p);
  EXPECT_EQ(PeekKeyId(new_sealed), "k2");
  // The id is known but the key behind it is not the one used: authentication fails.
  back.clear();
  EXPECT_EQ(OpenAll(Ring("k2", kKeyA), new_sealed, &back).code(), Status::Code::kCorruption);
  EXPECT_TRUE(back.empty()) << "no unauthenticated plaintext is released";
  // No key with that id: a precondition naming the id.
  Status st = OpenAll(Ring("k9", kKeyA), new_sealed, &back);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("'k2'"), std::string::npos) << st.message();
}

TEST(AeadStreamTest, KeyMaterialAndIds) {
  KeyRing r;
  EXPECT_EQ(r.Add("", "short", true).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.Add("", std::string(64, 'z'), true).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(r.Add("", kKeyA + "\n", true).ok());
  EXPECT_EQ(r.current_id().size(), 16u) << "a fingerprint id";
  EXPECT_EQ(r.current_id().find("aaaa"), std::string::npos);
  KeyRing raw;
  ASSERT_TRUE(raw.Add("", std::string(32, '\xaa'), true).ok());
  EXPECT_EQ(raw.current_id(), r.current_id()) << "hex and raw forms of one key are one key";
  EXPECT_EQ(r.Add(r.current_id(), kKeyB, false).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::codec
