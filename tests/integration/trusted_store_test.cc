// The trusted store against real etcd and radosgw. Someone who can write the bucket but holds no
// key (a second lifeboat without `encryption:`) stores a newer, plain backup of a poisoned
// cluster, and edits the manifests of real backups (revision, cluster id): with the encrypted
// configuration `fetch latest` and restore-cluster skip all of them, naming each; an explicit
// REF to one is refused by name unless --allow-unencrypted; a backup sealed and signed with a
// rotated-out key still restores. Without encryption, `signing:` gives the same tamper evidence.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "harness/agent_cluster.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

std::string Get(const std::string& endpoint, const std::string& key) {
  return harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", endpoint, "get", key, "--print-value-only"}).out;
}

void Put(const std::string& endpoint, const std::string& key, const std::string& value) {
  auto r = harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", endpoint, "put", key, value});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// One object of a store, read or replaced whole, as anyone holding the bucket's credentials can.
std::string ReadObject(store::Store& s, const std::string& key) {
  std::string body;
  EXPECT_TRUE(s.Read(key, [&](std::span<const uint8_t> c) {
                 body.append(reinterpret_cast<const char*>(c.data()), c.size());
                 return Status::OK();
               }).ok())
      << key;
  return body;
}

void WriteObject(store::Store& s, const std::string& key, const std::string& body) {
  auto w = s.Create(key);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size())).ok());
  ASSERT_TRUE((*w)->Commit().ok());
}

void EditObject(store::Store& s, const std::string& key, const std::string& from, const std::string& to) {
  std::string body = ReadObject(s, key);
  auto at = body.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << body;
  body.replace(at, from.size(), to);
  WriteObject(s, key, body);
}

// catalog::ManifestKey: "x.db" -> "x.manifest.json", "x.db.enc" -> "x.db.enc.manifest.json".
std::string ManifestOf(const std::string& object_key) {
  if (object_key.ends_with(".db")) return object_key.substr(0, object_key.size() - 3) + ".manifest.json";
  return object_key + ".manifest.json";
}

class TrustedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s3_ = S3Server::Shared();
    ASSERT_NE(s3_, nullptr);
    keys_ = MakeTempDir("lb-trust-keys-");
    std::ofstream(keys_ + "/k1.key") << std::string(64, '1') << "\n";
    std::ofstream(keys_ + "/k2.key") << std::string(64, '2') << "\n";
    std::ofstream(keys_ + "/sign.key") << std::string(64, '5') << "\n";
    enc_k1_ = "encryption: {key-file: " + keys_ + "/k1.key, key-id: k1}\n";
    enc_k2_ = "encryption:\n  key-file: " + keys_ + "/k2.key\n  key-id: k2\n  old-keys:\n    - {id: k1, file: " +
              keys_ + "/k1.key}\n";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(keys_);
  }

  // A coordinator config of its own name (AgentCluster::WriteConfig always writes one path).
  std::string Config(AgentCluster& c, const std::string& name, const std::string& store, const std::string& extra) {
    std::string path = c.dir() + "/" + name + ".yaml";
    fs::rename(c.WriteConfig(store, extra), path);
    return path;
  }

  ProcResult Lb(const std::string& config, std::vector<std::string> args, seconds timeout = seconds(120)) {
    args.insert(args.end(), {"--config", config});
    return Lifeboat(args, s3_->Env(), timeout);
  }

  // The object key a `backup -w json` stored.
  std::string Backup(const std::string& config) {
    auto b = Lb(config, {"backup", "-w", "json"});
    EXPECT_EQ(b.exit_code, 0) << b.err;
    auto j = ParseJson(b.out);
    return j.is_discarded() ? "" : j["object_key"].get<std::string>();
  }

  S3Server* s3_ = nullptr;
  std::string keys_, enc_k1_, enc_k2_;
};

TEST_F(TrustedStoreTest, ForgedAndEditedBackupsAreSkippedOrRefusedAndRotatedKeysStillRestore) {
  ASSERT_TRUE(s3_->CreateBucket("trusted-store"));
  const std::string url = s3_->Url("trusted-store");
  AgentClusterOptions ao;
  ao.env = s3_->Env();
  ao.agent_yaml = enc_k2_;  // the agents decrypt with their own copy of the keys
  ao.stores = {url};
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  const std::string m0 = c->members()[0].client_url;
  auto bucket = s3_->Open("trusted-store");
  ASSERT_NE(bucket, nullptr);

  const std::string with_k1 = Config(*c, "k1", url, enc_k1_);
  const std::string rotated = Config(*c, "k2", url, enc_k2_);
  const std::string no_key = Config(*c, "attacker", url, "");

  // Two real backups, sealed and signed with k1.
  ASSERT_NO_FATAL_FAILURE(Put(m0, "/app/good", "v1"));
  const std::string good = Backup(with_k1);
  ASSERT_NO_FATAL_FAILURE(Put(m0, "/app/good", "v2"));
  const std::string edited = Backup(with_k1);
  ASSERT_FALSE(good.empty() || edited.empty());
  EXPECT_TRUE(good.ends_with(".db.enc")) << good;
  auto signed_manifest = ParseJson(ReadObject(*bucket, ManifestOf(good)));
  EXPECT_EQ(signed_manifest["auth"]["alg"], "hmac-sha256");
  EXPECT_EQ(signed_manifest["auth"]["key_id"], "k1");

  // The attacker: a poisoned key, then a plain backup with a config without `encryption:`; and
  // the second real backup's manifest edited by hand (a later revision, another cluster id).
  ASSERT_NO_FATAL_FAILURE(Put(m0, "/app/poisoned", "evil"));
  const std::string forged = Backup(no_key);
  ASSERT_TRUE(forged.ends_with(".db")) << forged;
  auto m = ParseJson(ReadObject(*bucket, ManifestOf(edited)));
  const std::string revision = "\"revision\": " + std::to_string(m["revision"].get<int64_t>());
  ASSERT_NO_FATAL_FAILURE(EditObject(*bucket, ManifestOf(edited), revision, "\"revision\": 999999"));

  // list marks both UNTRUSTED and says why.
  auto l = Lb(rotated, {"list"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.err.find(forged + " is UNTRUSTED: not encrypted, and its manifest is not authenticated"),
            std::string::npos)
      << l.err;
  EXPECT_NE(l.err.find(edited + " is UNTRUSTED: its manifest fails authentication"), std::string::npos) << l.err;
  auto lj = ParseJson(Lb(rotated, {"list", "-w", "json"}).out);
  ASSERT_EQ(lj.size(), 3u);
  std::map<std::string, std::string> trust;
  for (const auto& e : lj) trust[e["object_key"]] = e["trust"];
  EXPECT_EQ(trust[good], "trusted");
  EXPECT_EQ(trust[edited], "untrusted");
  EXPECT_EQ(trust[forged], "untrusted");

  // fetch latest: the newest trusted backup, with the two skipped named; never the poison.
  auto f = Lb(rotated, {"fetch", "latest", "-o", c->dir() + "/latest.db"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_NE(f.out.find(good), std::string::npos) << f.out;
  EXPECT_NE(f.err.find("skipped untrusted backup " + forged), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("skipped untrusted backup " + edited), std::string::npos) << f.err;
  EXPECT_EQ(ReadFile(c->dir() + "/latest.db").find("evil"), std::string::npos);

  // An explicit REF to either is refused naming why; --allow-unencrypted takes the plain one.
  auto ref = Lb(rotated, {"fetch", forged, "-o", c->dir() + "/forged.db"});
  EXPECT_EQ(ref.exit_code, 1) << ref.err;
  EXPECT_NE(ref.err.find("backup " + forged + " is not trusted: not encrypted"), std::string::npos) << ref.err;
  EXPECT_NE(ref.err.find("--allow-unencrypted"), std::string::npos) << ref.err;
  EXPECT_FALSE(fs::exists(c->dir() + "/forged.db"));
  auto allowed = Lb(rotated, {"fetch", forged, "--allow-unencrypted", "-o", c->dir() + "/forged.db"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_NE(ReadFile(c->dir() + "/forged.db").find("evil"), std::string::npos) << "the forged backup holds the poison";
  auto v = Lb(rotated, {"verify", edited});
  EXPECT_EQ(v.exit_code, 1) << v.err;
  EXPECT_NE(v.err.find("fails authentication"), std::string::npos) << v.err;

  // The cluster id edited too: still refused, on its own.
  ASSERT_NO_FATAL_FAILURE(EditObject(*bucket, ManifestOf(edited), "\"revision\": 999999", revision));
  auto cid = ParseJson(ReadObject(*bucket, ManifestOf(edited)))["cluster_id"].get<std::string>();
  ASSERT_NO_FATAL_FAILURE(EditObject(*bucket, ManifestOf(edited), "\"cluster_id\": \"" + cid + "\"",
                                     "\"cluster_id\": \"00000000000000aa\""));
  EXPECT_NE(Lb(rotated, {"verify", edited}).err.find("is not trusted: its manifest fails authentication"),
            std::string::npos);
  auto dry = Lb(rotated, {"restore-cluster", "--backup", forged, "--dry-run"}, seconds(240));
  EXPECT_EQ(dry.exit_code, 1) << dry.err;
  EXPECT_NE(dry.err.find("is not trusted"), std::string::npos) << dry.err;

  // restore-cluster of latest with the rotated key: the k1 backup, every member, no poison.
  auto r = Lb(rotated, {"restore-cluster", "--yes"}, seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("skipped untrusted backup " + forged), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(good), std::string::npos) << r.out;
  for (const auto& member : c->members()) {
    EXPECT_EQ(Get(member.client_url, "/app/good"), "v1\n") << member.name;
    EXPECT_EQ(Get(member.client_url, "/app/poisoned"), "") << member.name;
  }
  // The safety backup it took (of the poisoned cluster) is sealed and signed with k2.
  for (const auto& e : ParseJson(Lb(rotated, {"list", "-w", "json"}).out)) {
    if (e["tier"] == "pre-restore") {
      EXPECT_EQ(e["trust"], "trusted");
      EXPECT_EQ(e["auth"]["key_id"], "k2");
    }
  }
}

TEST_F(TrustedStoreTest, SigningWithoutEncryptionGivesTheSameTamperEvidence) {
  ASSERT_TRUE(s3_->CreateBucket("signed-store"));
  const std::string url = s3_->Url("signed-store");
  auto c = EtcdCluster::Start();
  ASSERT_NE(c, nullptr);
  auto bucket = s3_->Open("signed-store");
  ASSERT_NE(bucket, nullptr);
  auto config = [&](const std::string& name, const std::string& extra) {
    const std::string path = keys_ + "/" + name + ".yaml";
    std::ofstream(path) << "endpoints: " << c->endpoints() << "\nstore: " << url << "\n" << extra;
    return path;
  };
  const std::string signing = config("signing", "signing: {key-file: " + keys_ + "/sign.key, key-id: s1}\n");
  const std::string no_key = config("plain", "");
  const std::string out = keys_;
  const std::string good = Backup(signing);
  ASSERT_TRUE(good.ends_with(".db")) << "signing does not encrypt: " << good;
  EXPECT_EQ(ParseJson(ReadObject(*bucket, ManifestOf(good)))["auth"]["key_id"], "s1");
  ASSERT_NO_FATAL_FAILURE(Put(c->endpoints(), "/app/next", "x"));  // another revision: another key
  const std::string unsigned_one = Backup(no_key);
  ASSERT_FALSE(unsigned_one.empty());

  auto f = Lb(signing, {"fetch", "latest", "-o", out + "/latest.db"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_NE(f.out.find(good), std::string::npos) << f.out;
  EXPECT_NE(f.err.find("skipped untrusted backup " + unsigned_one + ": its manifest is not authenticated"),
            std::string::npos)
      << f.err;
  // A plain object is fine under signing alone; its SHA-256 is what the signed manifest binds.
  auto obj = ReadObject(*bucket, good);
  obj[obj.size() / 2] ^= 1;
  ASSERT_NO_FATAL_FAILURE(WriteObject(*bucket, good, obj));
  auto damaged = Lb(signing, {"fetch", good, "-o", out + "/damaged.db"});
  EXPECT_EQ(damaged.exit_code, 1) << damaged.err;
  EXPECT_NE(damaged.err.find("is corrupt"), std::string::npos) << damaged.err;
  // ...and so is a re-hashed object with its manifest edited to match: the manifest then fails.
  auto m = ParseJson(ReadObject(*bucket, ManifestOf(good)));
  const std::string old_sha = m["sha256"];
  ASSERT_NO_FATAL_FAILURE(EditObject(*bucket, ManifestOf(good), old_sha, std::string(64, 'a')));
  auto edited = Lb(signing, {"fetch", good, "-o", out + "/edited.db"});
  EXPECT_EQ(edited.exit_code, 1) << edited.err;
  EXPECT_NE(edited.err.find("is not trusted: its manifest fails authentication"), std::string::npos) << edited.err;
  // Without any key configured nothing is checked (as before): the configuration decides.
  EXPECT_NE(Lb(no_key, {"list"}).out.find(good), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::harness
