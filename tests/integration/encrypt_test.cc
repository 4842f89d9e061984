// Client-side encryption against a real cluster, a local folder and radosgw: no key or value of
// the source appears in the stored object; the right key (current or rotated-out) gets the exact
// snapshot back; a missing key, a wrong key and a damaged object are refused; list and prune
// work without any key; the key itself is never written anywhere.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(EncryptTest, EncryptedBackupsKeepSecretsAndRestoreWithTheRightKey) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(c->Etcdctl({"put", "secret-key-" + std::to_string(i), "secret-value-" + std::to_string(i)}).ok());
  }
  S3Server* s3 = S3Server::Shared();
  ASSERT_NE(s3, nullptr);
  ASSERT_TRUE(s3->CreateBucket("encrypt"));
  std::string dir = MakeTempDir("lb-enc-");
  const std::string k1 = std::string(32, '1') + std::string(32, 'f'), k2 = std::string(64, '7');
  std::ofstream(dir + "/k1.key") << k1 << "\n";
  std::ofstream(dir + "/k2.key") << k2 << "\n";
  std::ofstream(dir + "/wrong.key") << std::string(64, 'e') << "\n";
  auto config = [&](const std::string& name, const std::string& store, const std::string& enc) {
    std::string path = dir + "/" + name + ".yaml";
    std::ofstream(path) << "endpoints: " << c->endpoints() << "\nstore: " << store << "\n" << enc;
    return path;
  };
  const std::string local = "file://" + dir + "/store";
  const std::string with_k1 = config("k1", local, "encryption: {key-file: " + dir + "/k1.key, key-id: k1}\n");
  const std::string no_key = config("none", local, "");
  const std::string wrong = config("wrong", local, "encryption: {key-file: " + dir + "/wrong.key, key-id: k1}\n");
  const std::string rotated = config("rotated", local,
                                     "encryption:\n  key-file: " + dir + "/k2.key\n  key-id: k2\n  old-keys:\n"
                                     "    - {id: k1, file: " + dir + "/k1.key}\n");
  auto lb = [&](const std::string& cfg, std::vector<std::string> args) {
    args.insert(args.end(), {"--config", cfg});
    return Lifeboat(args, s3->Env());
  };

  auto b = lb(with_k1, {"backup", "-w", "json"});
  ASSERT_TRUE(b.ok()) << b.err;
  auto m = ParseJson(b.out);
  ASSERT_FALSE(m.is_discarded()) << b.out;
  EXPECT_EQ(m["encryption"], "aes-256-gcm");
  EXPECT_EQ(m["key_id"], "k1");
  EXPECT_TRUE(m["object_key"].get<std::string>().ends_with(".db.enc"));
  const std::string old_key = m["object_key"];
  std::string object = Slurp(dir + "/store/" + old_key);
  EXPECT_EQ(object.find("secret-key-"), std::string::npos);
  EXPECT_EQ(object.find("secret-value-"), std::string::npos);

  // The right key: the exact snapshot, which does hold the values in clear.
  auto f = lb(with_k1, {"fetch", old_key, "-o", dir + "/plain.db"});
  ASSERT_TRUE(f.ok()) << f.err;
  std::string plain = Slurp(dir + "/plain.db");
  EXPECT_NE(plain.find("secret-value-7"), std::string::npos);
  EXPECT_EQ(harness::Run({"sha256sum", dir + "/plain.db"}).out.substr(0, 64), m["sha256"].get<std::string>());

  // No key / a wrong key: refused, nothing written.
  auto r = lb(no_key, {"fetch", old_key, "-o", dir + "/x.db"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("encrypted with key id 'k1'"), std::string::npos) << r.err;
  r = lb(wrong, {"fetch", old_key, "-o", dir + "/x.db"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("fails authentication"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/x.db"));

  // Rotation: new backups use k2, the k1 backup stays readable; zstd + encryption to radosgw too.
  b = lb(rotated, {"backup", "--compress", "zstd", "-w", "json"});
  ASSERT_TRUE(b.ok()) << b.err;
  EXPECT_EQ(ParseJson(b.out)["key_id"], "k2");
  EXPECT_TRUE(ParseJson(b.out)["object_key"].get<std::string>().ends_with(".db.zst.enc"));
  EXPECT_TRUE(lb(rotated, {"fetch", old_key, "-o", dir + "/old.db"}).ok());
  EXPECT_TRUE(lb(rotated, {"fetch", "latest", "-o", dir + "/new.db"}).ok());
  auto s3b = lb(rotated, {"backup", "--store", s3->Url("encrypt"), "-w", "json"});
  ASSERT_TRUE(s3b.ok()) << s3b.err;
  EXPECT_TRUE(lb(rotated, {"fetch", "latest", "--store", s3->Url("encrypt"), "-o", dir + "/s3.db"}).ok());
  EXPECT_NE(Slurp(dir + "/s3.db").find("secret-value-3"), std::string::npos);

  // list and prune need no key.
  auto l = lb(no_key, {"list"});
  EXPECT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find(old_key), std::string::npos);
  EXPECT_EQ(lb(no_key, {"prune", "--dry-run"}).exit_code, 0);

  // A damaged object: one byte flipped, or cut short.
  std::string path = dir + "/store/" + old_key;
  ASSERT_TRUE(FlipByte(path, 5000));
  r = lb(with_k1, {"fetch", old_key, "-o", dir + "/t.db"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // Small object, one chunk: the object's SHA-256 speaks before the chunk's tag (both refuse it).
  EXPECT_TRUE(r.err.find("is corrupt") != std::string::npos || r.err.find("fails authentication") != std::string::npos)
      << r.err;
  fs::resize_file(path, fs::file_size(path) / 2);
  r = lb(with_k1, {"fetch", old_key, "-o", dir + "/t.db"});
  EXPECT_EQ(r.exit_code, 1) << r.err;

  // The keys appear nowhere in the store, in any manifest, or in any output.
  for (const auto& file : FilesUnder(dir + "/store")) {
    std::string body = Slurp(dir + "/store/" + file);
    EXPECT_EQ(body.find(k1), std::string::npos) << file;
    EXPECT_EQ(body.find(k2), std::string::npos) << file;
  }
  EXPECT_EQ((b.out + b.err + f.err + r.err).find(k1.substr(0, 20)), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::harness
