// Golden files (tests/data/golden/README.md): one object of each format this lifeboat stores,
// written once by today's code (GoldenFiles.DISABLED_Generate) and committed; the test reads
// every one with today's code and checks what it holds. A change that can no longer read an
// older backup, segment, drill record, journal or lease file fails here. A new format version
// adds a generation (tests/data/golden/v2, a reader test of its own) and never replaces one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/file_chunks.h"
#include "base/sha256.h"
#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/change_segment.h"
#include "catalog/drill_record.h"
#include "catalog/layout.h"
#include "codec/aead_stream.h"
#include "host/lease_table.h"
#include "ops/recovery/pitr.h"
#include "ops/recovery/restore_journal.h"
#include "scratch_dir.h"
#include "snapshot/snapshot.h"
#include "store/local_store.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kV1 = std::string(LB_TEST_DATA) + "/golden/v1";
const std::string kV2 = std::string(LB_TEST_DATA) + "/golden/v2";
const std::string kSnapshot = std::string(LB_TEST_DATA) + "/small-snapshot.db";
constexpr int64_t kRevision = 307;
constexpr uint64_t kClusterId = 0xcdf818194e3a8c32, kMemberId = 0x8e9e05c52164694d;
const auto kWhen = std::chrono::sys_days(std::chrono::year(2026) / 12 / 1) + 10h;
constexpr int64_t kLeaseMs = 1'796'119'200'000;  // 2026-12-01T10:00:00Z

// What every backup of the generation holds: tests/data/small-snapshot.db.
std::string SnapshotSha256() {
  Sha256 h;
  EXPECT_TRUE(ReadFileChunks(kSnapshot, [&](std::span<const uint8_t> c) {
    h.Update(c);
    return Status::OK();
  }).ok());
  return HexEncode(h.Finish());
}

codec::KeyRing Keys(const std::string& dir, const std::string& id) {
  auto ring = codec::LoadKeyRing({id, dir + "/keys/" + id + ".key", ""}, {});
  EXPECT_TRUE(ring.ok()) << ring.status().ToString();
  return ring.ok() ? *ring : codec::KeyRing{};
}

// Every key of the generation: they verify every signed manifest and decrypt every object.
codec::KeyRing AllKeys(const std::string& dir) {
  auto ring = codec::LoadKeyRing({"k1", dir + "/keys/k1.key", ""}, {{"s1", dir + "/keys/s1.key", ""}});
  EXPECT_TRUE(ring.ok()) << ring.status().ToString();
  return ring.ok() ? *ring : codec::KeyRing{};
}

// ---- The generator: today's code writing one of each format. ----

struct Flavour {
  std::string tier;
  codec::EncodeOptions encode;
};

void WriteBackup(store::Store& store, const Flavour& f) {
  catalog::Manifest m;
  m.object_key = catalog::ObjectKey("db-etcd", f.tier, "golden", "m1", kRevision, kWhen) +
                 codec::EncodedSuffix(codec::EncodingOf(f.encode));
  auto w = store.Create(m.object_key);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto enc = codec::ObjectEncoder::Create(f.encode, [&](std::span<const uint8_t> c) { return (*w)->Append(c); });
  ASSERT_TRUE(enc.ok());
  ASSERT_TRUE(ReadFileChunks(kSnapshot, [&](std::span<const uint8_t> c) {
    m.size += c.size();
    return (*enc)->Update(c);
  }).ok());
  ASSERT_TRUE((*enc)->Finish().ok());
  m.sha256 = SnapshotSha256();
  auto info = snapshot::InspectSnapshotFile(kSnapshot);
  ASSERT_TRUE(info.ok());
  m.db_sha256 = HexEncode(info->trailer);
  m.revision = kRevision;
  m.cluster_id = kClusterId;
  m.cluster_name = "golden";
  m.member_name = "m1";
  m.member_id = kMemberId;
  m.member_endpoint = "http://127.0.0.1:2379";
  m.leader_name = "m2";
  m.leader_id = 0x1234;
  m.etcd_version = "3.4.23";
  m.raft_term = 2;
  m.raft_index = 1300;
  m.raft_applied_index = 1300;
  m.started_at = FormatRFC3339(kWhen - 2s);
  m.finished_at = FormatRFC3339(kWhen);
  m.tool_version = "0.1.0";
  m.tier = f.tier;
  m.store = "file:///golden";
  m.source_hashkv = catalog::KvHashRecord{kRevision, 1748668823, 0, kMemberId};
  catalog::RecordEncoding(**enc, &m);
  ASSERT_TRUE(catalog::CommitBackup(store, **w, &m, f.encode.signer).ok());
}

void WriteSegments(store::Store& store, const codec::KeyRing& k1) {
  auto put = [](int64_t rev, const std::string& key) {
    catalog::ChangeEvent e;
    e.revision = rev;
    e.key = key;
    e.value = "value-" + std::to_string(rev);
    e.create_revision = rev;
    e.version = 1;
    return e;
  };
  catalog::SegmentManifest seg;
  seg.cluster_name = "golden";
  seg.cluster_id = kClusterId;
  seg.finished_at = FormatRFC3339(kWhen + 1s);
  // Plain, unsigned: 308 and 309; encrypted and signed: 310.
  seg.start_revision = 308;
  seg.end_revision = 309;
  catalog::SegmentData a;
  a.events = {put(308, "golden/pitr-1"), put(309, "golden/pitr-2")};
  ASSERT_TRUE(catalog::WriteSegment(store, "db-etcd", seg, a).ok());
  seg.start_revision = seg.end_revision = 310;
  seg.finished_at = FormatRFC3339(kWhen + 2s);
  seg.hashkv = catalog::SegmentHash{310, 42, 0, kMemberId};
  catalog::SegmentData b;
  b.events = {put(310, "golden/pitr-3")};
  codec::EncodeOptions encode;
  encode.keys = &k1;
  encode.signer = &k1;
  ASSERT_TRUE(catalog::WriteSegment(store, "db-etcd", seg, b, encode).ok());
}

// The point-in-time object: the plain backup with the three logged puts replayed (the checkpoint
// of the last segment is not etcd's real hash, so the build's check would refuse it: it is built
// to 309, then stored encrypted and signed as restore-cluster --to-revision stores one).
void WritePointInTime(store::Store& store, const codec::KeyRing& keys) {
  ops::PitrOptions po;
  po.prefix = "db-etcd";
  po.cluster_name = "golden";
  po.to_revision = 309;
  po.keys = &keys;
  auto built = ops::BuildPointInTime(store, po);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  codec::EncodeOptions encode;
  encode.keys = &keys;
  encode.signer = &keys;
  ASSERT_TRUE(ops::StorePointInTime(store, *built, encode).ok());
}

void WriteRecords(store::Store& store, const std::string& out, const std::string& plain_key) {
  catalog::DrillRecord d;
  d.object_key = plain_key;
  d.drilled_at = FormatRFC3339(kWhen + 1h);
  d.ok = true;
  d.seconds = 1.5;
  d.expected_revision = d.revision = kRevision;
  d.expected_keys = 303;
  d.keys = 303;
  d.etcd_version = "3.4.23";
  d.hashkv_revision = kRevision;
  ASSERT_TRUE(catalog::WriteDrillRecord(store, d).ok());

  ops::RestoreJournal j;
  j.created_at = FormatRFC3339(kWhen + 2h);
  j.phase = ops::RestorePhase::kRestored;
  j.store = "file:///golden";
  j.backup_key = plain_key;
  j.sha256 = SnapshotSha256();
  j.size = 49184;
  j.revision = kRevision;
  j.live_keys = 303;
  j.source_cluster_name = "golden";
  j.source_member = "m1";
  j.cluster_token = "lifeboat-golden-20261201T120000Z";
  j.initial_cluster = "m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380";
  j.target_version = "3.5";
  j.cluster_id = kClusterId;
  j.quarantine = true;
  j.safety_backup = "db-etcd/pre-restore/2026-12-01/12/golden_m2_r400_20261201T120000Z.db";
  j.lease_owner = "owner-1";
  for (std::string n : {"m1", "m2"}) {
    ops::MemberJournal m;
    m.name = n;
    m.agent = "10.0.0." + n.substr(1) + ":9438";
    m.client_url = "http://10.0.0." + n.substr(1) + ":2379";
    m.peer_url = "http://10.0.0." + n.substr(1) + ":2380";
    m.quarantine_client_url = "http://10.0.0." + n.substr(1) + ":23790";
    m.data_dir = "/var/lib/etcd/" + n + ".etcd";
    m.staged_path = "/var/lib/etcd/" + n + ".etcd.lifeboat-staging/" + j.sha256 + ".db";
    m.stopped = m.restored = true;
    m.moved_to = {m.data_dir + ".lifeboat-20261201T120100Z"};
    m.restored_sha256 = j.sha256;
    m.member_id = n == "m1" ? 0x1111 : 0x2222;
    m.lease_epoch = n == "m1" ? 3 : 4;
    j.members.push_back(m);
  }
  ops::LeftOutMember gone;
  gone.name = "m3";
  gone.peer_url = "http://10.0.0.3:2380";
  gone.why = "--without m3: its client and peer URLs do not answer";
  gone.urls = {"http://10.0.0.3:2379", "http://10.0.0.3:2380"};
  j.without.push_back(gone);
  j.membership_source = "member list from m1 (http://10.0.0.1:2379)";
  ASSERT_TRUE(ops::SaveJournal(out + "/restore-journal.json", j).ok());

  host::LeaseTable lease(out + "/recovery-lease-m1.json");
  host::LeaseInfo want;
  want.owner_id = "owner-1";
  want.holder = "alice@ws1";
  want.operation = "restore-cluster";
  want.journal = "ws1:/var/lib/lifeboat/restore-journal.json";
  // A recovery by bob finished under the first epoch; alice holds the second, live.
  host::LeaseInfo bob = want;
  bob.owner_id = "owner-0";
  bob.holder = "bob@ws2";
  auto first = lease.Acquire(bob, 10min, false, kLeaseMs - 3'600'000);
  ASSERT_TRUE(first.ok());
  const host::RecoveryRecord done{"owner-0", "bob@ws2", "restore-cluster", plain_key, first->lease.epoch,
                                  kLeaseMs - 3'300'000};
  auto released = lease.Release(bob.owner_id, first->lease.epoch, &done, kLeaseMs - 3'300'000);
  ASSERT_TRUE(released.ok() && *released);
  ASSERT_TRUE(lease.Acquire(want, 10min, false, kLeaseMs).ok());
}

// LB_GOLDEN_OUT=tests/data/golden/vN build/tests/unit_tests --gtest_also_run_disabled_tests
//   --gtest_filter=GoldenFiles.DISABLED_Generate       (vN must not exist: generations are never replaced)
TEST(GoldenFiles, DISABLED_Generate) {
  const char* env = std::getenv("LB_GOLDEN_OUT");
  ASSERT_NE(env, nullptr) << "set LB_GOLDEN_OUT to the new generation's directory";
  const std::string out = env;
  ASSERT_FALSE(fs::exists(out)) << out << " exists: a generation is never replaced; add a new one";
  fs::create_directories(out + "/keys");
  // Deterministic test keys; they protect nothing.
  std::ofstream(out + "/keys/k1.key") << std::string(64, 'a') << "\n";
  std::ofstream(out + "/keys/s1.key") << std::string(64, 'b') << "\n";
  const codec::KeyRing k1 = Keys(out, "k1"), s1 = Keys(out, "s1");
  auto store = store::LocalStore::Open(out + "/store", true);
  ASSERT_TRUE(store.ok());
  const std::vector<Flavour> flavours = {{"plain", {}},
                                         {"signed", {0, 0, nullptr, &s1}},
                                         {"zstd", {3, 0, nullptr, nullptr}},
                                         {"enc", {0, 0, &k1, &k1}},
                                         {"enc-zstd", {3, 0, &k1, &k1}}};
  for (const auto& f : flavours) ASSERT_NO_FATAL_FAILURE(WriteBackup(**store, f));
  ASSERT_NO_FATAL_FAILURE(WriteSegments(**store, k1));
  ASSERT_NO_FATAL_FAILURE(WritePointInTime(**store, k1));
  ASSERT_NO_FATAL_FAILURE(
      WriteRecords(**store, out, catalog::ObjectKey("db-etcd", "plain", "golden", "m1", kRevision, kWhen)));
}

// ---- The readers: every generation, as committed. v2 holds the same stored formats as v1 and
// the restore journal and lease file of format 2 (lease epochs, finished recoveries, members
// left out). ----

struct Expected {
  std::string tier, suffix, compression, encryption, key_id, auth_key;  // auth_key "": not signed
  int format = 1;
};

void ExpectEveryStoredFormat(const std::string& dir) {
  ASSERT_TRUE(fs::exists(dir)) << dir;
  const codec::KeyRing keys = AllKeys(dir);
  auto store = store::LocalStore::Open(dir + "/store", false);
  ASSERT_TRUE(store.ok());
  const catalog::TrustPolicy trust{&keys, false, false};
  auto listing = catalog::ListBackups(**store, "db-etcd", "", trust);
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  EXPECT_TRUE(listing->problems.empty()) << listing->problems.front();
  EXPECT_TRUE(listing->incomplete.empty());
  const std::vector<Expected> want = {{"plain", ".db", "none", "none", "", "", 1},
                                      {"signed", ".db", "none", "none", "", "s1", 1},
                                      {"zstd", ".db.zst", "zstd", "none", "", "", 2},
                                      {"enc", ".db.enc", "none", "aes-256-gcm", "k1", "k1", 2},
                                      {"enc-zstd", ".db.zst.enc", "zstd", "aes-256-gcm", "k1", "k1", 2}};
  std::map<std::string, catalog::BackupEntry> by_tier;
  for (const auto& b : listing->backups) by_tier[b.manifest.tier] = b;
  ASSERT_EQ(by_tier.size(), want.size() + 1) << "five backups and the point-in-time one";
  testing::ScratchDir tmp;
  for (const auto& w : want) {
    SCOPED_TRACE(w.tier);
    ASSERT_EQ(by_tier.count(w.tier), 1u);
    const catalog::BackupEntry& e = by_tier[w.tier];
    const catalog::Manifest& m = e.manifest;
    EXPECT_EQ(m.object_key, catalog::ObjectKey("db-etcd", w.tier, "golden", "m1", kRevision, kWhen) + w.suffix.substr(3));
    EXPECT_EQ(m.format_version, w.format);
    EXPECT_EQ(m.compression, w.compression);
    EXPECT_EQ(m.encryption, w.encryption);
    EXPECT_EQ(m.key_id, w.key_id);
    EXPECT_EQ(m.auth.has_value(), !w.auth_key.empty());
    if (m.auth) {
      EXPECT_EQ(m.auth->key_id, w.auth_key);
    }
    EXPECT_EQ(e.trusted(), !w.auth_key.empty()) << e.untrusted;
    EXPECT_EQ(m.revision, kRevision);
    EXPECT_EQ(m.cluster_id, kClusterId);
    EXPECT_EQ(m.member_id, kMemberId);
    EXPECT_EQ(m.finished_at, "2026-12-01T10:00:00.000Z");
    EXPECT_EQ(m.sha256, SnapshotSha256());
    ASSERT_TRUE(m.source_hashkv.has_value());
    EXPECT_EQ(m.source_hashkv->hash, 1748668823u);
    // The bytes: decoded and checked against the manifest and etcd's trailer, equal to the snapshot.
    const std::string out = tmp.Join(w.tier + ".db");
    ASSERT_TRUE(catalog::FetchToFile(**store, m, out, &keys).ok());
    EXPECT_EQ(testing::ReadFile(out), testing::ReadFile(kSnapshot));
  }
  // The point-in-time object: the plain backup and the logged puts at 308 and 309.
  const catalog::BackupEntry& pitr = by_tier["pitr"];
  EXPECT_EQ(pitr.manifest.revision, 309);
  EXPECT_EQ(pitr.manifest.member_name, "pitr");
  EXPECT_EQ(pitr.manifest.encryption, "aes-256-gcm");
  EXPECT_TRUE(pitr.trusted()) << pitr.untrusted;
  ASSERT_TRUE(catalog::FetchToFile(**store, pitr.manifest, tmp.Join("pitr.db"), &keys).ok());
  auto status = snapshot::StatusOfFile(tmp.Join("pitr.db"));
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->current_revision, 309);
  EXPECT_EQ(status->live_keys, 305u);
  // The drill record beside the plain backup.
  auto drill = catalog::ReadDrillRecord(**store, by_tier["plain"].manifest.object_key);
  ASSERT_TRUE(drill.ok() && drill->has_value());
  EXPECT_TRUE((*drill)->ok);
  EXPECT_EQ((*drill)->drilled_at, "2026-12-01T11:00:00.000Z");
  EXPECT_EQ((*drill)->revision, kRevision);
  EXPECT_EQ((*drill)->keys, 303);
  EXPECT_EQ((*drill)->etcd_version, "3.4.23");
  EXPECT_EQ((*drill)->hashkv_revision, kRevision);
}

void ExpectChangeSegments(const std::string& dir) {
  const codec::KeyRing keys = AllKeys(dir);
  auto store = store::LocalStore::Open(dir + "/store", false);
  ASSERT_TRUE(store.ok());
  auto log = catalog::ListSegments(**store, "db-etcd", "golden");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(log->segments.size(), 2u);
  EXPECT_TRUE(log->problems.empty());
  const catalog::SegmentManifest& plain = log->segments[0];
  const catalog::SegmentManifest& sealed = log->segments[1];
  EXPECT_EQ(plain.format_version, 1);
  EXPECT_FALSE(plain.auth.has_value());
  EXPECT_EQ(plain.cluster_id, kClusterId);
  EXPECT_EQ(sealed.format_version, 2);
  EXPECT_EQ(sealed.encoding.encryption, "aes-256-gcm");
  ASSERT_TRUE(sealed.auth.has_value());
  EXPECT_EQ(sealed.auth->key_id, "k1");
  ASSERT_TRUE(sealed.hashkv.has_value());
  EXPECT_EQ(sealed.hashkv->hash, 42u);
  // Under a policy that checks, the signed one is trusted and the plain one is not.
  auto trusted = catalog::ListSegments(**store, "db-etcd", "golden", catalog::TrustPolicy{&keys, false, false});
  ASSERT_TRUE(trusted.ok());
  ASSERT_EQ(trusted->segments.size(), 1u);
  EXPECT_EQ(trusted->segments[0].start_revision, 310);
  int64_t next = 308;
  for (const auto& s : log->segments) {
    auto data = catalog::ReadSegment(**store, s, &keys);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    for (const auto& e : data->events) {
      EXPECT_EQ(e.revision, next);
      EXPECT_EQ(e.key, "golden/pitr-" + std::to_string(next - 307));
      EXPECT_EQ(e.value, "value-" + std::to_string(next));
      EXPECT_FALSE(e.is_delete);
      ++next;
    }
  }
  EXPECT_EQ(next, 311);
}

TEST(GoldenFiles, V1EveryStoredFormatReadsBack) { ExpectEveryStoredFormat(kV1); }
TEST(GoldenFiles, V2EveryStoredFormatReadsBack) { ExpectEveryStoredFormat(kV2); }
TEST(GoldenFiles, V1ChangeSegmentsReadBack) { ExpectChangeSegments(kV1); }
TEST(GoldenFiles, V2ChangeSegmentsReadBack) { ExpectChangeSegments(kV2); }

TEST(GoldenFiles, V1RestoreJournalAndLeaseFileReadBack) {
  // The fields these formats had in v1; later versions add fields, which v1 files lack.
  auto j = ops::LoadJournal(kV1 + "/restore-journal.json");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->phase, ops::RestorePhase::kRestored);
  EXPECT_EQ(j->created_at, "2026-12-01T12:00:00.000Z");
  EXPECT_EQ(j->sha256, SnapshotSha256());
  EXPECT_EQ(j->revision, kRevision);
  EXPECT_EQ(j->live_keys, 303u);
  EXPECT_EQ(j->cluster_id, kClusterId);
  EXPECT_EQ(j->target_version, "3.5");
  EXPECT_TRUE(j->quarantine);
  EXPECT_EQ(j->lease_owner, "owner-1");
  ASSERT_EQ(j->members.size(), 2u);
  EXPECT_EQ(j->members[1].name, "m2");
  EXPECT_EQ(j->members[1].agent, "10.0.0.2:9438");
  EXPECT_EQ(j->members[1].member_id, 0x2222u);
  EXPECT_EQ(j->members[1].moved_to, std::vector<std::string>{"/var/lib/etcd/m2.etcd.lifeboat-20261201T120100Z"});
  EXPECT_TRUE(j->members[1].restored);
  EXPECT_FALSE(j->members[1].started);
  EXPECT_FALSE(ops::Finished(*j));

  host::LeaseTable lease(kV1 + "/recovery-lease-m1.json");
  ASSERT_TRUE(lease.Load().ok());
  const host::LeaseInfo l = lease.LiveLease(kLeaseMs + 1000);
  EXPECT_EQ(l.owner_id, "owner-1");
  EXPECT_EQ(l.holder, "alice@ws1");
  EXPECT_EQ(l.operation, "restore-cluster");
  EXPECT_EQ(l.journal, "ws1:/var/lib/lifeboat/restore-journal.json");
  EXPECT_EQ(l.acquired_ms, kLeaseMs);
  EXPECT_EQ(l.expires_ms, kLeaseMs + 600000);
  EXPECT_TRUE(lease.LiveLease(kLeaseMs + 600000).empty()) << "expired ten minutes after it was taken";
}

TEST(GoldenFiles, V2RestoreJournalAndLeaseFileReadBack) {
  auto j = ops::LoadJournal(kV2 + "/restore-journal.json");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->format_version, 2);
  EXPECT_EQ(j->phase, ops::RestorePhase::kRestored);
  EXPECT_EQ(j->sha256, SnapshotSha256());
  EXPECT_EQ(j->lease_owner, "owner-1");
  ASSERT_EQ(j->members.size(), 2u);
  EXPECT_EQ(j->members[0].lease_epoch, 3u);
  EXPECT_EQ(j->members[1].lease_epoch, 4u);
  EXPECT_EQ(j->members[1].member_id, 0x2222u);
  ASSERT_EQ(j->without.size(), 1u);
  EXPECT_EQ(j->without[0].name, "m3");
  EXPECT_EQ(j->without[0].peer_url, "http://10.0.0.3:2380");
  EXPECT_EQ(j->without[0].urls, (std::vector<std::string>{"http://10.0.0.3:2379", "http://10.0.0.3:2380"}));
  EXPECT_EQ(j->membership_source, "member list from m1 (http://10.0.0.1:2379)");

  host::LeaseTable lease(kV2 + "/recovery-lease-m1.json");
  ASSERT_TRUE(lease.Load().ok());
  const host::LeaseInfo l = lease.LiveLease(kLeaseMs + 1000);
  EXPECT_EQ(l.owner_id, "owner-1");
  EXPECT_EQ(l.holder, "alice@ws1");
  EXPECT_EQ(l.epoch, 2u) << "the second lease this member granted";
  EXPECT_EQ(l.expires_ms, kLeaseMs + 600000);
  const host::RecoveryRecord r = lease.LastRecovery();
  EXPECT_EQ(r.owner_id, "owner-0");
  EXPECT_EQ(r.holder, "bob@ws2");
  EXPECT_EQ(r.epoch, 1u);
  EXPECT_EQ(r.backup, catalog::ObjectKey("db-etcd", "plain", "golden", "m1", kRevision, kWhen));
  EXPECT_EQ(r.finished_ms, kLeaseMs - 3'300'000);
  // The epochs it granted stay spent: the next acquisition mints the third (on a copy; the
  // generation is never written).
  testing::ScratchDir tmp;
  fs::copy_file(kV2 + "/recovery-lease-m1.json", tmp.Join("lease.json"));
  host::LeaseTable copy(tmp.Join("lease.json"));
  ASSERT_TRUE(copy.Load().ok());
  auto next = copy.Acquire(host::LeaseInfo{"owner-2", "carol@ws3", "recover-member", ""}, std::chrono::minutes(10),
                            false, kLeaseMs + 601000);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->lease.epoch, 3u);
}

}  // namespace
}  // namespace lifeboat
