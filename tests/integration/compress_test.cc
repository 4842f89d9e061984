// zstd-compressed backups from a real cluster into a local folder and radosgw: smaller objects,
// format-2 manifests, and every reader (fetch, verify, drill, the agents' staging through the
// same catalog::CopyVerified) gets the exact snapshot back; a damaged compressed object is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;

std::string Sha256Of(const std::string& path) {
  auto r = harness::Run({"sha256sum", path});
  return r.out.substr(0, 64);
}

TEST(CompressTest, ZstdBackupsRestoreTheExactSnapshot) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(3));
  S3Server* s3 = S3Server::Shared();
  ASSERT_NE(s3, nullptr);
  ASSERT_TRUE(s3->CreateBucket("compress"));
  std::string dir = MakeTempDir("lb-zstd-");
  const std::string local = "file://" + dir + "/store", remote = s3->Url("compress");
  auto lb = [&](std::vector<std::string> args, const std::string& store) {
    args.insert(args.end(), {"--endpoints", c->endpoints(), "--store", store});
    return Lifeboat(args, s3->Env());
  };
  auto plain = lb({"backup", "--source", c->names()[1], "-w", "json"}, local);
  ASSERT_TRUE(plain.ok()) << plain.err;
  for (const std::string& store : {local, remote}) {
    auto z = lb({"backup", "--source", c->names()[1], "--compress", "zstd", "--zstd-level", "3", "-w", "json"}, store);
    ASSERT_TRUE(z.ok()) << z.err;
    auto m = ParseJson(z.out);
    ASSERT_FALSE(m.is_discarded()) << z.out;
    EXPECT_EQ(m["format_version"], 2);
    EXPECT_EQ(m["compression"], "zstd");
    EXPECT_TRUE(m["object_key"].get<std::string>().ends_with(".db.zst")) << m["object_key"];
    EXPECT_LT(m["object_size"].get<uint64_t>(), m["size"].get<uint64_t>() * 3 / 4) << "hex values compress ~2x";
    // fetch decodes and checks both hashes; the file is the snapshot the manifest names.
    std::string out = dir + "/fetched-" + std::to_string(store.size()) + ".db";
    auto f = lb({"fetch", m["object_key"], "-o", out}, store);
    ASSERT_TRUE(f.ok()) << f.err;
    EXPECT_EQ(Sha256Of(out), m["sha256"].get<std::string>());
    EXPECT_EQ(fs::file_size(out), m["size"].get<uint64_t>());
    auto st = RunEtcdutl({"snapshot", "status", out, "-w", "json"});
    EXPECT_TRUE(st.ok()) << st.err;
    EXPECT_GE(ParseJson(st.out).value("revision", int64_t{0}), m["revision"].get<int64_t>()) << st.out;
    auto v = lb({"verify", m["object_key"]}, store);
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }
  // The drill restores the compressed backup (the newest) into a real etcd.
  auto d = lb({"drill", "--etcd-binary", harness::EtcdTool("", "etcd")}, local);
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_NE(d.out.find(".db.zst"), std::string::npos) << d.out;

  // One byte of the compressed object flipped: refused, whatever the reader.
  std::string zst;
  for (const auto& f : FilesUnder(dir + "/store")) {
    if (f.ends_with(".db.zst")) zst = dir + "/store/" + f;
  }
  ASSERT_FALSE(zst.empty());
  ASSERT_TRUE(FlipByte(zst, fs::file_size(zst) / 2));
  auto bad = lb({"fetch", zst.substr(dir.size() + 7), "-o", dir + "/bad.db"}, local);
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_NE(bad.err.find("compressed backup is damaged"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir + "/bad.db"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::harness
