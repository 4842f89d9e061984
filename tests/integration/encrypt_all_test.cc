// With `encryption:` configured, nothing lifeboat stores holds etcd data in clear: a value
// planted in etcd (like a Kubernetes Secret) is run through every writer — `backup`, the change
// log, restore-cluster's safety backup and its point-in-time state — and then no file of the
// local-folder store and no object in radosgw contains it, while every object still reads back
// and verifies (with a rotated-out key listed in old-keys for the older objects). A dry run and
// a declined restore leave the store byte for byte as it was.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "base/sha256.h"
#include "catalog/catalog.h"
#include "catalog/change_segment.h"
#include "codec/aead_stream.h"
#include "etcd/client.h"
#include "harness/agent_cluster.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"
#include "ops/recovery/restore_cluster.h"
#include "store/store.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using KV = std::map<std::string, std::string>;

std::string RandomHex(size_t n) {
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "0123456789abcdef"[rd() % 16];
  return out;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

KV ParseKV(const std::string& text) {
  KV out;
  std::istringstream in(text);
  std::string k, v;
  while (std::getline(in, k) && std::getline(in, v)) out[k] = v;
  return out;
}

// Every file of a local-folder store with the SHA-256 of its bytes: equal maps mean the store is
// byte for byte unchanged (temp files included).
std::map<std::string, std::string> Fingerprint(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& f : FilesUnder(dir)) {
    std::string body = ReadFile(dir + "/" + f);
    out[f] = HexEncode(Sha256::Of(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size())));
  }
  return out;
}

int64_t Put(const std::string& endpoint, const std::string& key, const std::string& value) {
  etcd::ClientOptions o;
  o.endpoints = {endpoint};
  auto c = etcd::Client::Connect(endpoint, o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return 0;
  auto r = (*c)->Put(key, value);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : 0;
}

// Polls until a stored segment of "prod" reaches `revision`.
bool SegmentReaches(store::Store& store, int64_t revision) {
  return PollUntil(std::chrono::seconds(30), [&] {
    auto l = catalog::ListSegments(store, "db-etcd", "prod");
    if (!l.ok()) return false;
    for (const auto& s : l->segments) {
      if (s.end_revision >= revision) return true;
    }
    return false;
  }, std::chrono::milliseconds(100));
}

TEST(EncryptAllTest, NoWriterStoresEtcdDataInClear) {
  const std::string secret = RandomHex(32);
  const std::string keydir = MakeTempDir("lb-encall-key-");
  std::ofstream(keydir + "/k1.key") << std::string(64, '1') << "\n";
  std::ofstream(keydir + "/k2.key") << std::string(64, '2') << "\n";
  const std::string enc_k1 = "encryption: {key-file: " + keydir + "/k1.key, key-id: k1}\n";
  // k2 encrypts from here on; k1 (rotated out) still decrypts the older objects.
  const std::string enc_k2 = "encryption:\n  key-file: " + keydir + "/k2.key\n  key-id: k2\n  old-keys:\n    - {id: k1, file: " +
                             keydir + "/k1.key}\n";
  AgentClusterOptions ao;
  ao.agent_yaml = enc_k2;  // agents decrypt with their own copy of the keys
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  const std::string m0 = c->members()[0].client_url;
  const std::string store_dir = c->dir() + "/store";
  const std::string local = "file://" + store_dir;
  const std::string log_cfg = "changelog: {flush-interval: 200ms, idle-flush: 1s}\n";
  auto store = store::OpenStore(local);
  ASSERT_TRUE(store.ok());

  // 1. `lifeboat backup` with k1: the secret is in the snapshot.
  Put(m0, "/registry/secrets/default/planted", secret);
  for (int i = 0; i < 20; ++i) Put(m0, "/registry/configmaps/cm-" + std::to_string(i), "v" + std::to_string(i));
  std::string cfg = c->WriteConfig(local, enc_k1 + log_cfg);
  auto b = Lifeboat({"backup", "--config", cfg, "-w", "json"});
  ASSERT_TRUE(b.ok()) << b.err;
  EXPECT_EQ(ParseJson(b.out)["key_id"], "k1");

  // 2. The change log with k1, long enough to flush segments holding the secret.
  pid_t log = Spawn({LB_BINARY, "--config", cfg, "changelog"}, c->dir() + "/log.out", c->dir() + "/log.err");
  ASSERT_GT(log, 0);
  // The log starts right after the backup's revision, so it sees the writes below whenever it connects.
  Put(m0, "/registry/secrets/kube-system/copy", secret);
  const int64_t target = Put(m0, "/registry/secrets/default/planted", secret + "-v2");
  const int64_t after = Put(m0, "/registry/secrets/default/planted", "rotated-away");
  ASSERT_TRUE(SegmentReaches(**store, after)) << ReadFile(c->dir() + "/log.err");
  kill(log, SIGTERM);
  ProcResult lr = Wait(log, std::chrono::seconds(30));
  ASSERT_EQ(lr.exit_code, 0) << lr.err;
  const KV want = ParseKV(
      harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", m0, "get", "", "--prefix", "--rev=" + std::to_string(target)}).out);
  ASSERT_EQ(want.at("/registry/secrets/default/planted"), secret + "-v2");

  // Rotation: k2 is now the current key.
  cfg = c->WriteConfig(local, enc_k2 + log_cfg);

  // 3. A dry run and a declined confirmation change nothing in the store.
  const auto before = Fingerprint(store_dir);
  auto dry = Lifeboat({"restore-cluster", "--config", cfg, "--to-revision", std::to_string(target), "--dry-run"}, {},
                      std::chrono::seconds(240));
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_EQ(Fingerprint(store_dir), before) << "restore-cluster --dry-run --to-revision wrote to the store";
  {
    auto ring = codec::LoadKeyRing({"k2", keydir + "/k2.key", ""}, {{"k1", keydir + "/k1.key", ""}});
    ASSERT_TRUE(ring.ok()) << ring.status().ToString();
    ops::RestoreClusterOptions o;
    o.agents = Split(c->agents());
    o.agent_token = c->token();
    o.agent_tls = c->tls();
    o.store_url = local;
    o.cluster_name = "prod";
    o.to_revision = target;
    o.keys = &*ring;
    o.safety_stores = {store->get()};
    o.journal_path = c->dir() + "/declined-journal.json";
    bool asked = false;
    o.confirm = [&](const ops::RestoreJournal&) {
      asked = true;
      return false;
    };
    ops::RestoreClusterResult r = ops::RestoreCluster(o);
    EXPECT_TRUE(asked);
    EXPECT_TRUE(r.declined) << r.status.ToString();
    EXPECT_FALSE(fs::exists(o.journal_path));
  }
  EXPECT_EQ(Fingerprint(store_dir), before) << "a declined restore-cluster --to-revision wrote to the store";

  // 4. restore-cluster --to-revision while the cluster runs: a safety backup, then the
  // point-in-time state (from the k1 backup and k1 segments) stored and restored everywhere.
  auto r = Lifeboat({"restore-cluster", "--config", cfg, "--to-revision", std::to_string(target), "--yes"}, {},
                    std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& m : c->members()) {
    EXPECT_EQ(ParseKV(harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", m.client_url, "--consistency=s", "get", "", "--prefix"}).out),
              want)
        << m.name;
  }

  // 5. The secret is nowhere in the store, and every manifest records the key that sealed it.
  std::set<std::string> tiers;
  auto listing = catalog::ListBackups(**store, "db-etcd", "");
  ASSERT_TRUE(listing.ok());
  EXPECT_TRUE(listing->problems.empty()) << listing->problems.front();
  for (const auto& e : listing->backups) {
    tiers.insert(e.manifest.tier);
    EXPECT_EQ(e.manifest.encryption, "aes-256-gcm") << e.manifest.object_key;
    EXPECT_EQ(e.manifest.key_id, e.manifest.tier == "hourly" ? "k1" : "k2") << e.manifest.object_key;
  }
  EXPECT_EQ(tiers, (std::set<std::string>{"hourly", "pre-restore", "pitr"}));
  auto segs = catalog::ListSegments(**store, "db-etcd", "prod");
  ASSERT_TRUE(segs.ok());
  ASSERT_FALSE(segs->segments.empty());
  auto ring = codec::LoadKeyRing({"k2", keydir + "/k2.key", ""}, {{"k1", keydir + "/k1.key", ""}});
  ASSERT_TRUE(ring.ok());
  bool segment_holds_secret = false;
  for (const auto& s : segs->segments) {
    EXPECT_EQ(s.format_version, 2) << s.object_key;
    EXPECT_EQ(s.encoding.key_id, "k1") << s.object_key;
    EXPECT_TRUE(s.object_key.ends_with(".seg.enc")) << s.object_key;
    auto data = catalog::ReadSegment(**store, s, &*ring);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    for (const auto& ev : data->events) segment_holds_secret |= ev.value.find(secret) != std::string::npos;
  }
  EXPECT_TRUE(segment_holds_secret) << "no segment logged the planted value: the test proves nothing";
  const auto files = FilesUnder(store_dir);
  EXPECT_GE(files.size(), 6u);
  for (const auto& f : files) EXPECT_EQ(ReadFile(store_dir + "/" + f).find(secret), std::string::npos) << f;

  // 6. Everything reads back and verifies; list and prune need no key.
  for (const auto& e : listing->backups) {
    auto v = Lifeboat({"verify", e.manifest.object_key, "--config", cfg});
    EXPECT_EQ(v.exit_code, 0) << e.manifest.object_key << ": " << v.out << v.err;
  }
  const std::string no_key = c->dir() + "/nokey.yaml";
  std::ofstream(no_key) << "endpoints: " << c->endpoints() << "\nstore: " << local << "\ncluster-name: prod\n";
  auto l = Lifeboat({"list", "--config", no_key});
  EXPECT_EQ(l.exit_code, 0) << l.err;
  auto p = Lifeboat({"prune", "--dry-run", "--config", no_key});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("pre-restore"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("pitr"), std::string::npos) << p.out;
  // Point in time from the sealed (k1, rotated out) backup and segments, on one member's dir:
  // one revision before the target, so the base is the hourly backup (the pitr one is later).
  auto ports = FreePorts(1);
  const std::string pu = "http://127.0.0.1:" + std::to_string(ports[0]);
  auto one = Lifeboat({"--config", cfg, "snapshot", "restore", "--to-revision", std::to_string(target - 1), "--name",
                       "p", "--initial-cluster", "p=" + pu, "--initial-advertise-peer-urls", pu, "--data-dir",
                       c->dir() + "/p.etcd"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.err.find("/hourly/"), std::string::npos) << one.err;
  EXPECT_EQ(one.err.find("+ 0 logged changes"), std::string::npos) << one.err;
  auto refused = Lifeboat({"--config", no_key, "snapshot", "restore", "--to-revision", std::to_string(target - 1),
                           "--name", "p", "--initial-cluster", "p=" + pu, "--initial-advertise-peer-urls", pu,
                           "--data-dir", c->dir() + "/q.etcd"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("key id 'k1'"), std::string::npos) << refused.err;

  // 7. radosgw: a backup and a change log there too; every object listed and read back.
  S3Server* s3 = S3Server::Shared();
  ASSERT_NE(s3, nullptr);
  ASSERT_TRUE(s3->CreateBucket("encrypt-all"));
  const std::string remote = s3->Url("encrypt-all", "team");
  std::string s3cfg = c->dir() + "/s3.yaml";
  std::ofstream(s3cfg) << "endpoints: " << c->endpoints() << "\nstore: " << remote << "\ncluster-name: prod\n"
                       << enc_k2 << log_cfg;  // not compressed: zstd's entropy coding would hide the value too
  Put(m0, "/registry/secrets/default/planted", secret);
  auto sb = Lifeboat({"backup", "--config", s3cfg}, s3->Env());
  ASSERT_TRUE(sb.ok()) << sb.err;
  auto rgw = s3->OpenUrl(remote);
  ASSERT_NE(rgw, nullptr);
  pid_t slog = Spawn({LB_BINARY, "--config", s3cfg, "changelog"}, c->dir() + "/slog.out", c->dir() + "/slog.err",
                     s3->Env());
  ASSERT_GT(slog, 0);
  const int64_t s3rev = Put(m0, "/registry/secrets/default/s3-copy", secret);
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] {
    auto sl = catalog::ListSegments(*rgw, "db-etcd", "prod");
    if (!sl.ok()) return false;
    for (const auto& s : sl->segments) {
      if (s.end_revision >= s3rev) return true;
    }
    return false;
  }, std::chrono::milliseconds(200))) << ReadFile(c->dir() + "/slog.err");
  kill(slog, SIGTERM);
  EXPECT_EQ(Wait(slog, std::chrono::seconds(30)).exit_code, 0);
  auto objects = rgw->List("");
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  int segments = 0;
  for (const auto& o : *objects) {
    std::string body;
    ASSERT_TRUE(rgw->Read(o.key, [&](std::span<const uint8_t> chunk) {
      body.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
      return Status::OK();
    }).ok()) << o.key;
    EXPECT_EQ(body.find(secret), std::string::npos) << o.key;
    segments += o.key.ends_with(".seg.enc");
  }
  EXPECT_GE(segments, 1);
  auto sv = Lifeboat({"verify", "latest", "--config", s3cfg}, s3->Env());
  EXPECT_EQ(sv.exit_code, 0) << sv.err;
  auto s3segs = catalog::ListSegments(*rgw, "db-etcd", "prod");
  ASSERT_TRUE(s3segs.ok());
  bool s3_logged = false;
  for (const auto& s : s3segs->segments) {
    auto data = catalog::ReadSegment(*rgw, s, &*ring);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    for (const auto& ev : data->events) s3_logged |= ev.value == secret;
  }
  EXPECT_TRUE(s3_logged);
  if (!HasFailure()) fs::remove_all(keydir);
}

}  // namespace
}  // namespace lifeboat::harness
