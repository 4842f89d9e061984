// snapshot status and verify on the shipped vector: the same numbers as `etcdctl snapshot
// status` 3.4.23, the extra facts etcd keeps in its buckets, and the trailer checks.
#include <gtest/gtest.h>

#include "base/sha256.h"
#include "scratch_dir.h"
#include "snapshot/crc32c.h"
#include "snapshot/snapshot.h"

namespace lifeboat::snapshot {
namespace {

using lifeboat::testing::ReadFile;
using lifeboat::testing::ScratchDir;
using lifeboat::testing::WriteFile;

const char kVector[] = LB_TEST_DATA "/small-snapshot.db";

TEST(Crc32cTest, KnownValuesAndChaining) {
  EXPECT_EQ(Crc32c(0, std::string_view("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32c(0, std::string_view("")), 0u);
  const std::string a = "hello, ", b = "etcd snapshot with more than eight bytes";
  EXPECT_EQ(Crc32c(Crc32c(0, a), b), Crc32c(0, a + b));
  // Every length and alignment of the slicing loop against a bytewise reference.
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; start + len <= data.size(); len += 13) {
      uint32_t c = 0;
      for (size_t i = 0; i < len; ++i) c = Crc32c(c, std::string_view(data).substr(start + i, 1));
      EXPECT_EQ(Crc32c(0, std::string_view(data).substr(start, len)), c);
    }
  }
}

// Published CRC-32C values (RFC 3720 B.4, and the common check value of "123456789"), each
// implementation on its own: comparing Crc32c with itself would take the same path on both sides.
struct Crc32cVector {
  std::string data;
  uint32_t crc;
};
std::vector<Crc32cVector> PublishedVectors() {
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  for (int i = 31; i >= 0; --i) descending.push_back(static_cast<char>(i));
  return {{std::string(32, '\0'), 0x8A9136AAu},
          {std::string(32, '\xff'), 0x62A8AB43u},
          {ascending, 0x46DD794Eu},
          {descending, 0x113FDB5Cu},
          {"123456789", 0xE3069283u},
          {"", 0u}};
}

void ExpectVectors(uint32_t (*crc)(uint32_t, std::span<const uint8_t>)) {
  for (const auto& v : PublishedVectors()) {
    std::span<const uint8_t> d(reinterpret_cast<const uint8_t*>(v.data.data()), v.data.size());
    EXPECT_EQ(crc(0, d), v.crc) << "over " << v.data.size() << " bytes";
    // Split at every point: the 8-byte loop and the byte tail, chained through the state.
    for (size_t cut = 0; cut <= d.size(); ++cut) {
      EXPECT_EQ(crc(crc(0, d.first(cut)), d.subspan(cut)), v.crc) << "split at " << cut;
    }
  }
}

TEST(Crc32cTest, PortableTablesMatchPublishedVectors) { ExpectVectors(&Crc32cPortable); }

TEST(Crc32cTest, HardwareInstructionMatchesPublishedVectors) {
  if (!Crc32cHardwareAvailable()) GTEST_SKIP() << "this CPU has no crc32 instruction";
  ExpectVectors(&Crc32cHardware);
}

TEST(SnapshotStatusTest, VectorMatchesEtcdctl) {
  auto st = StatusOfFile(kVector);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  // etcdctl snapshot status: 683a9197, 307, 312, 49 kB
  EXPECT_EQ(st->hash, 0x683a9197u);
  EXPECT_EQ(st->revision, 307);
  EXPECT_EQ(st->total_keys, 312u);
  EXPECT_EQ(st->total_size, 49152u);
  // What etcdctl does not print (the vector's README and the format document).
  EXPECT_EQ(st->live_keys, 303u);
  EXPECT_EQ(st->tombstones, 1u);
  EXPECT_EQ(st->current_revision, 307);
  EXPECT_FALSE(st->compacted_revision.has_value());
  ASSERT_TRUE(st->consistent_index.has_value());
  EXPECT_EQ(*st->consistent_index, 1234u);
  ASSERT_EQ(st->members.size(), 1u);
  EXPECT_EQ(st->members[0].id, 0x8e9e05c52164694dull);
  EXPECT_EQ(st->members[0].name, "default");
  EXPECT_EQ(st->members[0].peer_urls, std::vector<std::string>{"http://localhost:2380"});
  EXPECT_EQ(st->removed_member_ids, std::vector<uint64_t>{0xabcdef});
  EXPECT_EQ(st->cluster_version, "3.4.0");
  EXPECT_EQ(st->leases, 1u);
  EXPECT_EQ(st->status_minor, 4);  // etcdctl 3.4's numbers: total keys = every bucket entry
  EXPECT_EQ(st->bucket_entries, 312u);
  EXPECT_TRUE(st->storage_version.empty());
}

TEST(SnapshotStatusTest, PlainDbFromADataDirGivesTheSameStatus) {
  ScratchDir dir;
  std::string v = ReadFile(kVector);
  WriteFile(dir.Join("db"), v.substr(0, v.size() - 32));
  auto st = StatusOfFile(dir.Join("db"));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->hash, 0x683a9197u);
  auto info = InspectSnapshotFile(dir.Join("db"));
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->has_trailer);
}

TEST(SnapshotVerifyTest, VectorVerifies) {
  VerifyReport report;
  Status s = VerifySnapshotFile(kVector, {}, &report);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(report.trailer_checked);
  EXPECT_EQ(report.status.revision, 307);
}

TEST(SnapshotVerifyTest, FlippedByteInTheImage) {
  ScratchDir dir;
  std::string v = ReadFile(kVector);
  v[5 * 4096 + 2990] ^= 0x01;  // inside a value: the tree still walks, only the hash knows
  WriteFile(dir.Join("s.db"), v);
  Status s = VerifySnapshotFile(dir.Join("s.db"), {});
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("SHA-256 mismatch"), std::string::npos) << s.message();
  EXPECT_TRUE(StatusOfFile(dir.Join("s.db")).ok()) << "status does not check the hash, as etcdctl";
  EXPECT_EQ(OpenSnapshot(dir.Join("s.db"), true).status().code(), Status::Code::kCorruption);
}

TEST(SnapshotVerifyTest, TruncatedFile) {
  ScratchDir dir;
  std::string v = ReadFile(kVector);
  WriteFile(dir.Join("t.db"), v.substr(0, 30000));
  Status s = VerifySnapshotFile(dir.Join("t.db"), {});
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition) << s.ToString();
  VerifyOptions lax;
  lax.allow_no_trailer = true;
  s = VerifySnapshotFile(dir.Join("t.db"), lax);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
  // Cut so that the size still looks like image + trailer: the hash catches it.
  WriteFile(dir.Join("t2.db"), v.substr(0, 8 * 4096 + 32));
  EXPECT_EQ(VerifySnapshotFile(dir.Join("t2.db"), {}).code(), Status::Code::kCorruption);
}

TEST(SnapshotVerifyTest, NoTrailer) {
  ScratchDir dir;
  std::string v = ReadFile(kVector);
  WriteFile(dir.Join("db"), v.substr(0, v.size() - 32));
  Status s = VerifySnapshotFile(dir.Join("db"), {});
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("no SHA-256 trailer"), std::string::npos) << s.message();
  VerifyOptions lax;
  lax.allow_no_trailer = true;
  VerifyReport report;
  EXPECT_TRUE(VerifySnapshotFile(dir.Join("db"), lax, &report).ok());
  EXPECT_FALSE(report.trailer_checked);
}

TEST(SnapshotVerifyTest, CorruptPageWithAValidTrailer) {
  // Damage made before the hash was computed (a bad disk on the server): the trailer matches
  // but the walk does not.
  ScratchDir dir;
  std::string v = ReadFile(kVector);
  std::string img = v.substr(0, v.size() - 32);
  img[10 * 4096 + 16 + 8] = 99;  // a child of the `key` branch points past the end
  std::string file = img;
  auto sha = Sha256::Of(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(img.data()), img.size()));
  file.append(reinterpret_cast<const char*>(sha.data()), sha.size());
  WriteFile(dir.Join("c.db"), file);
  Status s = VerifySnapshotFile(dir.Join("c.db"), {});
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("points to page 99"), std::string::npos) << s.message();
}

TEST(SnapshotVerifyTest, ManifestFacts) {
  VerifyOptions o;
  o.manifest_revision = 307;
  EXPECT_TRUE(VerifySnapshotFile(kVector, o).ok());
  o.manifest_revision = 308;
  Status s = VerifySnapshotFile(kVector, o);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("older than the manifest"), std::string::npos) << s.message();
  VerifyOptions sha;
  sha.manifest_db_sha256 = std::string(64, '0');
  EXPECT_EQ(VerifySnapshotFile(kVector, sha).code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace lifeboat::snapshot
