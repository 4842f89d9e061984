// lifeboat backup / list / fetch against real 3-member etcd 3.4 clusters, with etcdctl as oracle.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <fstream>

#include "harness/etcd_cluster.h"
#include "harness/fault_proxy.h"
#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

std::string Sha256sum(const std::string& path) {
  ProcResult r = Run({"sha256sum", path});
  return r.out.substr(0, 64);
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = MakeTempDir("lb-backup-");
    store_ = work_ + "/store";
  }
  ProcResult Lb(const EtcdCluster& c, std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> all = {"--endpoints", c.endpoints(), "--store", "file://" + store_};
    all.insert(all.end(), args.begin(), args.end());
    return Lifeboat(all, env);
  }
  std::string work_, store_;
};

TEST_F(BackupTest, FollowerBackupPassesEtcdctlAndRestoresKeyByKey) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(1));
  ASSERT_TRUE(c->Etcdctl({"put", "/app/config", "v1"}).ok());
  ASSERT_TRUE(c->Etcdctl({"put", "/app/config", "v2"}).ok());  // history, not just one version
  ASSERT_TRUE(c->Etcdctl({"put", "/app/gone", "x"}).ok());
  ASSERT_TRUE(c->Etcdctl({"del", "/app/gone"}).ok());
  auto source_keys = c->DumpKeys();
  std::string leader = c->Leader();

  ProcResult b = Lb(*c, {"backup", "-w", "json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto m = ParseJson(b.out);
  ASSERT_FALSE(m.is_discarded()) << b.out;
  EXPECT_EQ(m["source_is_leader"], false);
  EXPECT_NE(m["member_name"], leader) << "the leader must be spared";
  EXPECT_EQ(m["leader_name"], leader);
  EXPECT_EQ(m["tier"], "hourly");
  EXPECT_EQ(m["etcd_version"], ResolvedEtcdVersion(""));
  std::string key = m["object_key"];
  EXPECT_EQ(key.rfind("db-etcd/hourly/", 0), 0u) << key;

  // Only the object and its manifest, nothing else (no temp files).
  auto files = FilesUnder(store_);
  ASSERT_EQ(files.size(), 2u);

  ProcResult l = Lb(*c, {"list", "-w", "json"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  auto lj = ParseJson(l.out);
  ASSERT_EQ(lj.size(), 1u);
  EXPECT_EQ(lj[0]["object_key"], key);

  std::string file = work_ + "/fetched.db";
  ProcResult f = Lb(*c, {"fetch", "latest", "-o", file});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(Sha256sum(file), m["sha256"]) << "manifest sha256 is the sha256sum of the object";

  ProcResult st = RunEtcdutl({"snapshot", "status", file, "-w", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  auto sj = ParseJson(st.out);
  EXPECT_EQ(sj["revision"], m["revision"]);

  // The manifest holds the source member's own HashKV at its revision (etcd's answer, asked
  // again here), and verify finds the file's native HashKV equal to it.
  ASSERT_TRUE(m.contains("source_hashkv")) << b.out;
  EXPECT_EQ(m["source_hashkv"]["revision"], m["revision"]);
  ProcResult hk = c->EtcdctlAt(c->endpoint(m["member_name"]),
                               {"endpoint", "hashkv", "--rev=" + std::to_string(m["revision"].get<int64_t>()), "-w",
                                "json"});
  ASSERT_EQ(hk.exit_code, 0) << hk.err;
  EXPECT_EQ(m["source_hashkv"]["hash"], ParseJson(hk.out)[0]["HashKV"]["hash"]);
  ProcResult v = Lb(*c, {"verify", "latest"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("HashKV at revision " + std::to_string(m["revision"].get<int64_t>()) +
                       " equal to the source member's"),
            std::string::npos)
      << v.out;
  // A manifest whose recorded hash is not the file's: verify says the file is not the member's data.
  {
    const std::string manifest_path = store_ + "/" + key.substr(0, key.size() - 3) + ".manifest.json";  // x.db -> x.manifest.json
    auto mj = ParseJson(ReadFile(manifest_path));
    ASSERT_TRUE(mj.is_object()) << manifest_path;
    mj["source_hashkv"]["hash"] = mj["source_hashkv"]["hash"].get<uint32_t>() ^ 1u;
    std::ofstream(manifest_path, std::ios::trunc) << mj.dump(2);
    ProcResult bad = Lb(*c, {"verify", "latest"});
    EXPECT_EQ(bad.exit_code, 1) << bad.out;
    EXPECT_NE(bad.err.find("does not hold the member's data"), std::string::npos) << bad.err;
    mj["source_hashkv"]["hash"] = m["source_hashkv"]["hash"];
    std::ofstream(manifest_path, std::ios::trunc) << mj.dump(2);
  }

  // A whole-cluster restore of the backup with etcdctl gives the same keys, key by key.
  EtcdCluster::Options ro;
  ro.restore = file;
  auto restored = EtcdCluster::Start(ro);
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->DumpKeys(), source_keys);
  ProcResult chk = Lifeboat({"--endpoints", restored->endpoints(), "check"});
  EXPECT_EQ(chk.exit_code, 0) << chk.out << chk.err;
}

TEST_F(BackupTest, SourceLeaderAndNamedMember) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string leader = c->Leader();
  ProcResult b = Lb(*c, {"backup", "--source", "leader", "-w", "json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto m = ParseJson(b.out);
  EXPECT_EQ(m["member_name"], leader);
  EXPECT_EQ(m["source_is_leader"], true);

  std::string other = c->names()[0] == leader ? c->names()[1] : c->names()[0];
  b = Lb(*c, {"backup", "--source", other, "--tier", "twice-daily", "-w", "json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(ParseJson(b.out)["member_name"], other);

  ProcResult l = Lb(*c, {"list", "--tier", "twice-daily", "-w", "json"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(ParseJson(l.out).size(), 1u);

  ProcResult bad = Lb(*c, {"backup", "--source", "nosuch"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("no such member"), std::string::npos) << bad.err;
}

TEST_F(BackupTest, NoHealthyFollowerFailsUnlessAny) {
  // A one-member cluster has only a leader: the default refuses, --source any accepts.
  EtcdCluster::Options single;
  single.members = 1;
  auto one = EtcdCluster::Start(single);
  ASSERT_TRUE(one);
  ProcResult r = Lifeboat({"--endpoints", one->endpoints(), "--store", "file://" + store_, "backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--source any"), std::string::npos) << r.err;
  EXPECT_TRUE(FilesUnder(store_).empty());
  r = Lifeboat({"--endpoints", one->endpoints(), "--store", "file://" + store_, "backup", "--source", "any"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(BackupTest, TlsAndAuth) {
  EtcdCluster::Options secure;
  secure.tls = secure.client_cert_auth = secure.auth = true;
  auto c = EtcdCluster::Start(secure);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Etcdctl({"put", "/secure", "yes"}).ok());
  std::vector<std::string> tls = {"--cacert", c->cacert(), "--cert", c->cert(), "--key", c->key()};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = tls;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };

  ProcResult ok = Lb(*c, with({"--user", "root:" + c->root_password(), "backup", "-w", "json"}));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(FilesUnder(store_).size(), 2u);
  std::string fetched = work_ + "/tls.db";
  ASSERT_EQ(Lb(*c, {"fetch", "latest", "-o", fetched}).exit_code, 0);
  EXPECT_EQ(RunEtcdutl({"snapshot", "status", fetched}).exit_code, 0);

  // The password can also come from the environment, as with etcdctl.
  ProcResult env = Lb(*c, with({"status"}),
                      {{"ETCDCTL_USER", "root"}, {"ETCDCTL_PASSWORD", c->root_password()}});
  EXPECT_EQ(env.exit_code, 0) << env.out << env.err;

  ProcResult wrong_pw = Lb(*c, with({"--user", "root:nope", "backup"}));
  EXPECT_EQ(wrong_pw.exit_code, 1);
  EXPECT_NE(wrong_pw.err.find("wrong user name or password"), std::string::npos) << wrong_pw.err;

  ProcResult no_user = Lb(*c, with({"backup"}));
  EXPECT_EQ(no_user.exit_code, 1);
  EXPECT_NE(no_user.err.find("--user"), std::string::npos) << no_user.err;

  ProcResult wrong_ca = Lb(*c, {"--cacert", c->wrong_cacert(), "--cert", c->cert(), "--key", c->key(), "--user",
                                "root:" + c->root_password(), "backup"});
  EXPECT_EQ(wrong_ca.exit_code, 1);
  EXPECT_NE(wrong_ca.err.find("--cacert"), std::string::npos) << wrong_ca.err;
  EXPECT_EQ(std::count(wrong_ca.err.begin(), wrong_ca.err.end(), '\n'), 1) << "one line, no gRPC noise: " << wrong_ca.err;

  ProcResult wrong_cert = Lb(*c, {"--cacert", c->cacert(), "--cert", c->wrong_cert(), "--key", c->wrong_key(),
                                  "--user", "root:" + c->root_password(), "backup"});
  EXPECT_EQ(wrong_cert.exit_code, 1);
  EXPECT_NE(wrong_cert.err.find("client certificate"), std::string::npos) << wrong_cert.err;

  // Failed attempts left nothing: still exactly the first backup.
  EXPECT_EQ(FilesUnder(store_).size(), 2u);
}

TEST_F(BackupTest, UnreachableEndpoints) {
  ProcResult r = Lifeboat({"--endpoints", "127.0.0.1:1,127.0.0.1:2", "--dial-timeout", "1s", "--store",
                           "file://" + store_, "backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--endpoints"), std::string::npos) << r.err;
  EXPECT_TRUE(FilesUnder(store_).empty());
}

class StreamFaultTest : public BackupTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(StreamFaultTest, BrokenSnapshotStreamStoresNothing) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(3));
  std::string leader = c->Leader();
  std::string victim = c->names()[0] == leader ? c->names()[1] : c->names()[0];
  FaultProxy proxy(c->endpoint(victim), GetParam(), 1 << 20, work_);
  ASSERT_FALSE(proxy.url().empty());

  ProcResult r = Lifeboat({"--endpoints", proxy.url(), "--store", "file://" + store_, "backup", "--source", victim,
                           "--stall-timeout", "2s"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("nothing was stored"), std::string::npos) << r.err;
  const std::string mode = GetParam();
  const char* expected = mode == "stall" ? "stalled" : mode == "flip" ? "SHA-256 mismatch" : "snapshot failed after";
  EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  EXPECT_TRUE(FilesUnder(store_).empty()) << "a partial snapshot must not appear in the store";
  EXPECT_EQ(Lifeboat({"--store", "file://" + store_, "list", "-w", "json"}).out, "[]\n");
}

INSTANTIATE_TEST_SUITE_P(Faults, StreamFaultTest, ::testing::Values("flip", "cut", "stall"));

TEST_F(BackupTest, ASlowHandshakeWithinTheDialTimeoutConnects) {
  // The member answers its first bytes 700 ms late, as on a busy host: with the default 2 s dial
  // timeout the connection must wait for them (gRPC's own per-attempt limit must not be shorter),
  // and with a 300 ms one it must fail naming the timeout.
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  FaultProxy proxy(c->endpoint(c->names()[0]), "delay", 700, work_);
  ASSERT_FALSE(proxy.url().empty());
  ProcResult r = Lifeboat({"--endpoints", proxy.url(), "status", "-w", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = Lifeboat({"--endpoints", proxy.url(), "--dial-timeout", "300ms", "status"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

TEST_F(BackupTest, FullDiskAndUnwritableStore) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(3));

  // A 1 MiB filesystem cannot hold a 3 MB snapshot: the write fails with ENOSPC.
  std::string small = work_ + "/small";
  std::filesystem::create_directories(small);
  ProcResult r;
  if (mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m") == 0) {
    r = Lifeboat({"--endpoints", c->endpoints(), "--store", "file://" + small, "backup"});
    EXPECT_NE(r.err.find("no space left"), std::string::npos) << r.err;
    EXPECT_TRUE(FilesUnder(small).empty());
    umount(small.c_str());
  } else {
    // No mount privilege: the file-size limit makes write() fail the same way (EFBIG).
    r = harness::Run({"prlimit", "--fsize=1000000", LB_BINARY, "--endpoints", c->endpoints(), "--store", "file://" + small,
             "backup"});
    EXPECT_TRUE(FilesUnder(small).empty());
  }
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("nothing was stored"), std::string::npos) << r.err;

  // A store below a regular file cannot be created.
  std::ofstream(work_ + "/plainfile") << "x";
  r = Lifeboat({"--endpoints", c->endpoints(), "--store", "file://" + work_ + "/plainfile/store", "backup"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("plainfile"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lifeboat::harness
