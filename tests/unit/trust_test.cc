// Authenticated manifests (catalog/trust.h) read by the catalog: a signed manifest is trusted, any
// hand edit (revision, cluster id, checksum, the auth itself) or a missing tag is not; rotated
// keys still verify; a newer lifeboat's unknown fields stay covered; with encryption required a
// plain object is untrusted; `latest` skips what is untrusted and says so, an explicit ref is
// refused naming why unless allowed; change segments too; prune never lets a forged date take a
// real backup's protection or get it deleted.
#include "catalog/trust.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/sha256.h"
#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/change_segment.h"
#include "catalog/layout.h"
#include "ops/backup/retention.h"
#include "scratch_dir.h"
#include "store/local_store.h"

namespace lifeboat::catalog {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using testing::Bytes;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WriteFile;

const system_clock::time_point kT0 = sys_days(2026y / 11 / 24) + 20h;
constexpr std::string_view kPrefix = "db-etcd";

codec::KeyRing Ring(std::vector<std::pair<std::string, char>> keys) {  // the first is current
  codec::KeyRing r;
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(r.Add(keys[i].first, std::string(64, keys[i].second), i == 0).ok());
  return r;
}

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::LocalStore::Open(dir_.Join("store"), /*create=*/true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  // A backup as RunBackup writes one: object, then its manifest signed with `signer` (if any).
  Manifest Add(int64_t revision, system_clock::time_point finished, const codec::KeyRing* signer,
               bool encrypted = false, const std::string& tier = "hourly") {
    Manifest m;
    m.object_key = ObjectKey(kPrefix, tier, "prod", "etcd-0", revision, finished) + (encrypted ? ".enc" : "");
    const std::string content = "snapshot " + std::to_string(revision);
    m.sha256 = HexEncode(Sha256::Of(Bytes(content)));
    m.db_sha256 = std::string(64, '0');
    m.size = content.size();
    m.revision = revision;
    m.cluster_id = 0xabc;
    m.cluster_name = "prod";
    m.member_name = "etcd-0";
    m.started_at = FormatRFC3339(finished - 1s);
    m.finished_at = FormatRFC3339(finished);
    m.tier = tier;
    if (encrypted) {
      m.format_version = 2;
      m.encryption = "aes-256-gcm";
      m.key_id = "k1";
      m.object_size = m.size;
      m.object_sha256 = m.sha256;
    }
    auto w = store_->Create(m.object_key);
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Append(Bytes(content)).ok());
    EXPECT_TRUE(CommitBackup(*store_, **w, &m, signer).ok());
    return m;
  }

  std::string ManifestPath(const Manifest& m) { return dir_.Join("store/" + ManifestKey(m.object_key)); }

  // Replaces the first `from` in the stored manifest by `to`, as someone with the bucket's
  // credentials could.
  void Edit(const Manifest& m, const std::string& from, const std::string& to) {
    std::string text = ReadFile(ManifestPath(m));
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " in " << text;
    text.replace(at, from.size(), to);
    WriteFile(ManifestPath(m), text);
  }

  std::string WhyUntrusted(const Manifest& m, const TrustPolicy& p) {
    auto l = ListBackups(*store_, kPrefix, "", p);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    for (const auto& b : l->backups) {
      if (b.manifest.object_key == m.object_key) return b.untrusted;
    }
    ADD_FAILURE() << m.object_key << " not listed";
    return "?";
  }

  ScratchDir dir_;
  std::unique_ptr<store::LocalStore> store_;
};

TEST_F(TrustTest, ASignedManifestIsTrustedAndEveryEditIsNot) {
  const codec::KeyRing k1 = Ring({{"k1", 'a'}});
  const TrustPolicy policy{&k1, false, false};
  Manifest m = Add(100, kT0, &k1);
  ASSERT_TRUE(m.auth.has_value());
  EXPECT_EQ(m.auth->alg, "hmac-sha256");
  EXPECT_EQ(m.auth->key_id, "k1");
  EXPECT_EQ(WhyUntrusted(m, policy), "");
  // Without keys nothing is checked: everything is trusted, as before signing existed.
  EXPECT_EQ(WhyUntrusted(m, TrustPolicy{}), "");

  const std::string original = ReadFile(ManifestPath(m));
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"revision\": 100", "\"revision\": 900"},
           {"\"cluster_id\": \"0000000000000abc\"", "\"cluster_id\": \"0000000000000abd\""},
           {"\"sha256\": \"" + m.sha256, "\"sha256\": \"" + std::string(64, 'e')},
           {"\"tier\": \"hourly\"", "\"tier\": \"daily\""},
           {"\"key_id\": \"k1\"", "\"key_id\": \"k2\""}}) {
    Edit(m, from, to);
    const std::string why = WhyUntrusted(m, policy);
    EXPECT_FALSE(why.empty()) << from << " -> " << to;
    WriteFile(ManifestPath(m), original);
  }
  // The tag itself changed, or taken away.
  Edit(m, "\"mac\": \"", "\"mac\": \"f");
  EXPECT_NE(WhyUntrusted(m, policy).find("fails authentication"), std::string::npos);
  auto doc = nlohmann::json::parse(original);
  doc.erase("auth");
  WriteFile(ManifestPath(m), doc.dump(2));
  EXPECT_EQ(WhyUntrusted(m, policy), "its manifest is not authenticated");
  // Whitespace and member order are not what is signed: a reformatted manifest still verifies.
  WriteFile(ManifestPath(m), nlohmann::json::parse(original).dump());
  EXPECT_EQ(WhyUntrusted(m, policy), "");
}

TEST_F(TrustTest, UnknownFieldsOfANewerLifeboatAreCoveredToo) {
  const codec::KeyRing k1 = Ring({{"k1", 'a'}});
  const TrustPolicy policy{&k1, false, false};
  Manifest m = Add(100, kT0, nullptr);
  nlohmann::json doc = ToJsonValue(m);
  doc["field_of_a_newer_lifeboat"] = {{"epoch", 7}};
  auto auth = SignJson(kBackupManifestKind, doc, k1);
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  doc["auth"] = {{"alg", auth->alg}, {"key_id", auth->key_id}, {"mac", auth->mac}};
  WriteFile(ManifestPath(m), doc.dump(2));
  EXPECT_EQ(WhyUntrusted(m, policy), "");
  doc["field_of_a_newer_lifeboat"]["epoch"] = 8;
  WriteFile(ManifestPath(m), doc.dump(2));
  EXPECT_NE(WhyUntrusted(m, policy).find("fails authentication"), std::string::npos);
}

TEST_F(TrustTest, RotatedKeysStillVerifyAndAMissingOneIsNamed) {
  const codec::KeyRing k1 = Ring({{"k1", 'a'}});
  const codec::KeyRing rotated = Ring({{"k2", 'b'}, {"k1", 'a'}});
  const codec::KeyRing only_k2 = Ring({{"k2", 'b'}});
  Manifest old_one = Add(100, kT0, &k1);
  Manifest new_one = Add(200, kT0 + 1h, &rotated);
  EXPECT_EQ(new_one.auth->key_id, "k2");
  EXPECT_EQ(WhyUntrusted(old_one, TrustPolicy{&rotated, false, false}), "");
  EXPECT_EQ(WhyUntrusted(new_one, TrustPolicy{&rotated, false, false}), "");
  const std::string why = WhyUntrusted(old_one, TrustPolicy{&only_k2, false, false});
  EXPECT_NE(why.find("key id 'k1'"), std::string::npos) << why;
  EXPECT_NE(why.find("old-keys"), std::string::npos) << why;
  // The same id with another key's material does not verify.
  const codec::KeyRing impostor = Ring({{"k1", 'c'}});
  EXPECT_NE(WhyUntrusted(old_one, TrustPolicy{&impostor, false, false}).find("fails authentication"),
            std::string::npos);
}

TEST_F(TrustTest, LatestSkipsTheUntrustedAndARefToOneIsRefusedUnlessAllowed) {
  const codec::KeyRing k1 = Ring({{"k1", 'a'}});
  const TrustPolicy policy{&k1, /*require_encrypted=*/true, false};
  const Manifest good = Add(100, kT0, &k1, /*encrypted=*/true);
  // What an attacker with the bucket's credentials but no key writes: a newer plain backup.
  const Manifest forged = Add(999, kT0 + 1h, nullptr);
  // A newer one signed with the key, but not encrypted (made with signing only): still refused.
  const Manifest plain_signed = Add(500, kT0 + 2h, &k1);

  auto latest = ResolveBackup(*store_, kPrefix, "", "latest", policy);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->entry->manifest.object_key, good.object_key);
  ASSERT_EQ(latest->skipped.size(), 2u);
  EXPECT_EQ(latest->skipped[0], plain_signed.object_key + ": not encrypted (encryption is configured)");
  EXPECT_EQ(latest->skipped[1], forged.object_key + ": not encrypted, and its manifest is not authenticated");
  // Without keys configured the forged one is the newest, as before (nothing can tell it apart).
  EXPECT_EQ(ResolveBackup(*store_, kPrefix, "", "latest")->entry->manifest.object_key, plain_signed.object_key);

  auto ref = ResolveBackup(*store_, kPrefix, "", forged.object_key, policy);
  ASSERT_EQ(ref.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(ref.status().message().find("is not trusted: not encrypted, and its manifest is not authenticated"),
            std::string::npos)
      << ref.status().message();
  EXPECT_NE(ref.status().message().find("--allow-unencrypted"), std::string::npos);
  TrustPolicy allow = policy;
  allow.allow_untrusted = true;
  auto allowed = ResolveBackup(*store_, kPrefix, "", forged.object_key, allow);
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed->entry->manifest.object_key, forged.object_key);
  // allow_untrusted never changes what `latest` picks.
  EXPECT_EQ(ResolveBackup(*store_, kPrefix, "", "latest", allow)->entry->manifest.object_key, good.object_key);

  // Nothing trusted at all: not found, naming what was skipped.
  const codec::KeyRing other = Ring({{"k9", 'f'}});
  auto none = ResolveBackup(*store_, kPrefix, "", "latest", TrustPolicy{&other, true, false});
  ASSERT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_NE(none.status().message().find("skipped 3 untrusted"), std::string::npos) << none.status().message();
}

TEST_F(TrustTest, AManifestMovedToAnotherKeyIsAProblem) {
  const codec::KeyRing k1 = Ring({{"k1", 'a'}});
  const Manifest m = Add(100, kT0, &k1);
  const std::string copy = std::string(kPrefix) + "/hourly/2026-11-25/00/prod_etcd-0_r100_20261125T000000Z.manifest.json";
  std::filesystem::create_directories(std::filesystem::path(dir_.Join("store/" + copy)).parent_path());
  WriteFile(dir_.Join("store/" + copy), ReadFile(ManifestPath(m)));
  auto l = ListBackups(*store_, kPrefix, "", TrustPolicy{&k1, false, false});
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->backups.size(), 1u);
  ASSERT_EQ(l->problems.size(), 1u);
  EXPECT_NE(l->problems[0].find("it describes " + m.object_key), std::string::npos) << l->problems[0];
}

TEST_F(TrustTest, AFailedManifestWriteKeepsTheObjectAndListsItIncomplete) {
  Manifest m;
  m.object_key = ObjectKey(kPrefix, "hourly", "prod", "etcd-0", 7, kT0);
  m.sha256 = m.db_sha256 = std::string(64, '1');
  m.size = 4;
  m.started_at = m.finished_at = FormatRFC3339(kT0);
  // The manifest's name is taken by a directory: its rename fails after the object is committed.
  std::filesystem::create_directories(ManifestPath(m) + "/blocker");
  auto w = store_->Create(m.object_key);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(Bytes("data")).ok());
  Status s = CommitBackup(*store_, **w, &m, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is stored, but its manifest"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("INCOMPLETE"), std::string::npos) << s.message();
  EXPECT_EQ(ReadFile(dir_.Join("store/" + m.object_key)), "data");
  std::filesystem::remove_all(ManifestPath(m));
  auto l = ListBackups(*store_, kPrefix, "");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->backups.empty());
  ASSERT_EQ(l->incomplete.size(), 1u);
  EXPECT_EQ(l->incomplete[0].key, m.object_key);
  EXPECT_EQ(l->incomplete[0].size, 4u);
  EXPECT_EQ(ResolveBackup(*store_, kPrefix, "", "latest").status().code(), Status::Code::kNotFound);

  // A failed fsync of the manifest's dir: the manifest is in place but may not survive a crash;
  // the object stays and the error is reported.
  Manifest m2 = m;
  m2.object_key = ObjectKey(kPrefix, "hourly", "prod", "etcd-0", 8, kT0 + 1h);
  auto w2 = store_->Create(m2.object_key);
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE((*w2)->Append(Bytes("data")).ok());
  ASSERT_TRUE((*w2)->Commit().ok());
  SetCommitFsyncDirForTesting([](const std::string& dir) -> Status {
    return Status::IOError("fsync " + dir + ": injected");
  });
  Status s2 = WriteManifest(*store_, m2);
  SetCommitFsyncDirForTesting(nullptr);
  EXPECT_NE(s2.message().find("injected"), std::string::npos) << s2.message();
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("store/" + m2.object_key)));
}

TEST_F(TrustTest, SegmentManifestsAreAuthenticatedAndAnEditedOneIsNeverReplayed) {
  const codec::KeyRing k1 = Ring({{"k1", 'a'}});
  SegmentData data;
  data.events.push_back({});
  data.events[0].revision = 11;
  data.events[0].key = "k";
  data.events[0].value = "v";
  SegmentManifest seg;
  seg.cluster_name = "prod";
  seg.cluster_id = 0xabc;
  seg.start_revision = 11;
  seg.end_revision = 11;
  seg.finished_at = FormatRFC3339(kT0);
  codec::EncodeOptions encode;
  encode.signer = &k1;
  auto written = WriteSegment(*store_, kPrefix, seg, data, encode);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_TRUE(written->auth.has_value());
  const TrustPolicy policy{&k1, false, false};
  auto l = ListSegments(*store_, kPrefix, "prod", policy);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->segments.size(), 1u);
  EXPECT_TRUE(l->problems.empty());

  const std::string path = dir_.Join("store/" + SegmentManifestKey(written->object_key));
  std::string text = ReadFile(path);
  text.replace(text.find("\"end_revision\": 11"), 18, "\"end_revision\": 12");
  WriteFile(path, text);
  l = ListSegments(*store_, kPrefix, "prod", policy);
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->segments.empty());
  ASSERT_EQ(l->problems.size(), 1u);
  EXPECT_NE(l->problems[0].find("not trusted: its manifest fails authentication"), std::string::npos)
      << l->problems[0];
  EXPECT_EQ(ListSegments(*store_, kPrefix, "prod")->segments.size(), 1u) << "without keys, unchecked";
}

TEST_F(TrustTest, PruneKeepsTheNewestTrustedAndNeverTrustsAForgedDate) {
  const codec::KeyRing k1 = Ring({{"k1", 'a'}});
  const TrustPolicy policy{&k1, false, false};
  std::vector<Tier> tiers = DefaultTiers();
  // Object times are the store's (the file's mtime): real time.
  const auto now = system_clock::now();
  const Manifest real_newest = Add(300, now - 24h * 5, &k1);
  // Forged: dated in the future to become "the newest", and a real backup's manifest re-dated
  // into the past (its object was stored just now) to get it deleted.
  const Manifest forged = Add(999, now + 24h * 365, nullptr);
  const Manifest redated = Add(200, now - 1h, &k1);
  Edit(redated, "\"finished_at\": \"" + redated.finished_at, "\"finished_at\": \"2020-01-01T00:00:00Z");
  auto plan = ops::PlanPrune(*store_, std::string(kPrefix), tiers, now, ops::kRestoreTierKeep, policy);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::map<std::string, ops::PruneItem> by_key;
  for (const auto& i : *plan) by_key[i.object_key] = i;
  EXPECT_EQ(by_key[real_newest.object_key].action, ops::PruneItem::Action::kKeep);
  EXPECT_NE(by_key[real_newest.object_key].why.find("newest"), std::string::npos) << by_key[real_newest.object_key].why;
  EXPECT_EQ(by_key[redated.object_key].action, ops::PruneItem::Action::kKeep) << by_key[redated.object_key].why;
  EXPECT_NE(by_key[redated.object_key].why.find("untrusted"), std::string::npos) << by_key[redated.object_key].why;
  EXPECT_EQ(by_key[forged.object_key].action, ops::PruneItem::Action::kKeep);
}

}  // namespace
}  // namespace lifeboat::catalog
