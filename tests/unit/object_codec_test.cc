// The shared encode/decode path of stored objects: every combination round-trips; an encrypted
// object shows none of its plaintext; the stored size and SHA-256 describe the stored bytes; a
// rotated-out key still decrypts, a missing one is named; a changed byte is refused. And change
// segments written through it: encrypted on disk, read back with the key, refused without it.
#include "codec/object_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/sha256.h"
#include "catalog/change_segment.h"
#include "scratch_dir.h"
#include "store/local_store.h"

namespace lifeboat::codec {
namespace {

const std::string kSecret = "s3cr3t-9f2c4e1a7b6d8e0f1a2b3c4d5e6f7a8b";

KeyRing Ring(const std::string& current_id, const std::string& current_key,
             std::vector<std::pair<std::string, std::string>> old = {}) {
  KeyRing r;
  EXPECT_TRUE(r.Add(current_id, current_key, true).ok());
  for (const auto& [id, key] : old) EXPECT_TRUE(r.Add(id, key, false).ok());
  return r;
}

std::string Plaintext() {
  std::string p;
  for (int i = 0; i < 5000; ++i) p += "key/" + std::to_string(i) + "=" + kSecret + ";";
  return p;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Encoded {
  std::string stored;
  Encoding encoding;
  uint64_t object_size = 0;
  std::string object_sha256;
};

Encoded Encode(const EncodeOptions& o, const std::string& plain) {
  Encoded out;
  auto e = ObjectEncoder::Create(o, [&](std::span<const uint8_t> c) {
    out.stored.append(reinterpret_cast<const char*>(c.data()), c.size());
    return Status::OK();
  });
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) return out;
  for (size_t i = 0; i < plain.size(); i += 3000) {
    EXPECT_TRUE((*e)->Update(Bytes(plain).subspan(i, std::min<size_t>(3000, plain.size() - i))).ok());
  }
  EXPECT_TRUE((*e)->Finish().ok());
  out.encoding = (*e)->encoding();
  out.object_size = (*e)->object_size();
  out.object_sha256 = (*e)->object_sha256();
  return out;
}

Result<std::string> Decode(const Encoding& enc, const KeyRing* keys, const std::string& stored) {
  std::string out;
  LB_ASSIGN_OR_RETURN(auto d, ObjectDecoder::Create(enc, keys, [&](std::span<const uint8_t> c) {
    out.append(reinterpret_cast<const char*>(c.data()), c.size());
    return Status::OK();
  }, "object x"));
  for (size_t i = 0; i < stored.size(); i += 777) {
    LB_RETURN_IF_ERROR(d->Update(Bytes(stored).subspan(i, std::min<size_t>(777, stored.size() - i))));
  }
  LB_RETURN_IF_ERROR(d->Finish());
  return out;
}

TEST(ObjectCodecTest, EveryCombinationRoundTripsAndEncryptedShowsNoPlaintext) {
  const KeyRing keys = Ring("k1", std::string(64, '1'));
  const std::string plain = Plaintext();
  for (int level : {0, 3}) {
    for (bool encrypt : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "zstd " << level << ", encrypt " << encrypt);
      EncodeOptions o{level, 0, encrypt ? &keys : nullptr};
      Encoded e = Encode(o, plain);
      EXPECT_EQ(e.encoding.compression, level > 0 ? "zstd" : "none");
      EXPECT_EQ(e.encoding.encryption, encrypt ? "aes-256-gcm" : "none");
      EXPECT_EQ(e.encoding.key_id, encrypt ? "k1" : "");
      EXPECT_EQ(EncodedSuffix(e.encoding), std::string(level > 0 ? ".zst" : "") + (encrypt ? ".enc" : ""));
      EXPECT_EQ(e.object_size, e.stored.size());
      // A plain object's bytes are the snapshot's, which the caller hashes: none taken twice.
      EXPECT_EQ(e.object_sha256, e.encoding.plain() ? "" : HexEncode(Sha256::Of(Bytes(e.stored))));
      EXPECT_EQ(e.stored.find(kSecret) != std::string::npos, level == 0 && !encrypt);
      auto back = Decode(e.encoding, &keys, e.stored);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, plain);
    }
  }
}

TEST(ObjectCodecTest, KeyRingWithoutCurrentKeyDoesNotEncrypt) {
  KeyRing empty;
  EXPECT_FALSE((EncodeOptions{0, 0, &empty}).encrypts());
  EXPECT_TRUE((EncodeOptions{0, 0, nullptr}).plain());
}

TEST(ObjectCodecTest, RotatedKeyStillDecryptsAndMissingKeyIsNamed) {
  const KeyRing old_ring = Ring("2026-05", std::string(64, 'a'));
  Encoded e = Encode(EncodeOptions{1, 0, &old_ring}, Plaintext());
  const KeyRing rotated = Ring("2026-11", std::string(64, 'b'), {{"2026-05", std::string(64, 'a')}});
  auto back = Decode(e.encoding, &rotated, e.stored);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, Plaintext());

  const KeyRing new_only = Ring("2026-11", std::string(64, 'b'));
  auto refused = Decode(e.encoding, &new_only, e.stored);
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("2026-05"), std::string::npos) << refused.status().message();
  EXPECT_EQ(Decode(e.encoding, nullptr, e.stored).status().code(), Status::Code::kFailedPrecondition);
}

TEST(ObjectCodecTest, ChangedByteAndUnknownEncodingAreRefused) {
  const KeyRing keys = Ring("k1", std::string(64, '1'));
  Encoded e = Encode(EncodeOptions{0, 0, &keys}, Plaintext());
  std::string bad = e.stored;
  bad[bad.size() / 2] ^= 0x01;
  EXPECT_EQ(Decode(e.encoding, &keys, bad).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(Decode(e.encoding, &keys, e.stored.substr(0, e.stored.size() - 10)).status().code(),
            Status::Code::kCorruption);
  Encoding unknown = e.encoding;
  unknown.encryption = "rot13";
  EXPECT_EQ(Decode(unknown, &keys, e.stored).status().code(), Status::Code::kInvalidArgument);
  unknown = e.encoding;
  unknown.compression = "lz4";
  EXPECT_EQ(Decode(unknown, &keys, e.stored).status().code(), Status::Code::kInvalidArgument);
}

TEST(ObjectCodecTest, EncryptedSegmentIsStoredSealedAndReadBackWithRotatedKeys) {
  lifeboat::testing::ScratchDir dir;
  auto store = store::LocalStore::Open(dir.path(), true);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  catalog::SegmentData data;
  catalog::ChangeEvent put;
  put.revision = 10;
  put.key = "/registry/secrets/default/token";
  put.value = kSecret;
  put.create_revision = 10;
  put.version = 1;
  data.events.push_back(put);
  catalog::SegmentManifest seg;
  seg.cluster_name = "prod";
  seg.cluster_id = 0xabc;
  seg.start_revision = 10;
  seg.end_revision = 10;
  seg.finished_at = "2026-11-24T10:00:00Z";

  const KeyRing keys = Ring("2026-05", std::string(64, 'a'));
  auto m = catalog::WriteSegment(**store, "db-etcd", seg, data, EncodeOptions{3, 0, &keys});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->format_version, 2);
  EXPECT_TRUE(m->object_key.ends_with(".seg.zst.enc")) << m->object_key;
  EXPECT_EQ(m->encoding.key_id, "2026-05");
  EXPECT_EQ(catalog::SegmentManifestKey(m->object_key), catalog::SegmentKey("db-etcd", "prod", 10, 10, 0xabc) + ".json");
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(body.find(kSecret), std::string::npos) << f.path();
    EXPECT_EQ(body.find("registry/secrets"), std::string::npos) << f.path();
  }

  // Listed through its manifest, which round-trips the encoding.
  auto listed = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->segments.size(), 1u) << (listed->problems.empty() ? "" : listed->problems[0]);
  EXPECT_EQ(listed->segments[0].encoding.encryption, "aes-256-gcm");
  EXPECT_EQ(listed->segments[0].object_sha256, m->object_sha256);

  const KeyRing rotated = Ring("2026-11", std::string(64, 'b'), {{"2026-05", std::string(64, 'a')}});
  auto back = catalog::ReadSegment(**store, listed->segments[0], &rotated);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->events, data.events);
  auto no_key = catalog::ReadSegment(**store, listed->segments[0], nullptr);
  EXPECT_EQ(no_key.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(no_key.status().message().find("2026-05"), std::string::npos) << no_key.status().message();

  // A plain segment still reads as format 1, and damage to a sealed one is a Corruption.
  auto plain = catalog::WriteSegment(**store, "db-etcd", seg, data);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->format_version, 1);
  EXPECT_TRUE(plain->object_key.ends_with(".seg"));
  {
    std::fstream f(dir.path() + "/" + m->object_key, std::ios::in | std::ios::out | std::ios::binary);
    char byte = 0;
    f.seekg(40);
    f.get(byte);
    f.seekp(40);
    f.put(static_cast<char>(~byte));
  }
  EXPECT_EQ(catalog::ReadSegment(**store, *m, &keys).status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace lifeboat::codec
