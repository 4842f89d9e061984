// Immutable retention on radosgw: tiers with `object-lock:` write their backups and manifests
// under S3 Object Lock (a small backup in one PUT, a large one as a multipart upload), retained
// the tier's keep. With the bucket's own credentials a DELETE of a locked version is refused by
// the server (a DELETE without a version only hides the object behind a delete marker; the
// version stays readable); `prune` keeps locked backups and says until when; `lifecycle apply`
// still works and removes old versions once unlocked; a folder store refuses to pretend it locks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/timefmt.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;

class ObjectLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s3_ = S3Server::Shared();
    ASSERT_NE(s3_, nullptr);
    ASSERT_TRUE(s3_->CreateBucket("locked-backups", /*object_lock=*/true));
    dir_ = MakeTempDir("lb-lock-");
    cluster_ = EtcdCluster::Start();
    ASSERT_NE(cluster_, nullptr);
    config_ = Config(s3_->Url("locked-backups"));
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string Config(const std::string& store) {
    const std::string path = dir_ + "/lifeboat-" + std::to_string(configs_++) + ".yaml";
    std::ofstream(path) << "endpoints: " << cluster_->endpoints() << "\nstore: " << store << "\n"
                        << "tiers:\n"
                        << "  - {name: hourly, folder: a, schedule: \"0 * * * *\", keep: 72h, object-lock: {mode: "
                           "compliance}}\n"
                        << "  - {name: twice-daily, folder: b, schedule: \"0 0,12 * * *\", keep: 15d, object-lock: "
                           "{mode: governance}}\n";
    return path;
  }

  ProcResult Lb(std::vector<std::string> args, const std::string& config = "") {
    args.insert(args.end(), {"--config", config.empty() ? config_ : config});
    return Lifeboat(args, s3_->Env(), seconds(240));
  }

  // The aws CLI with the bucket's own credentials.
  ProcResult Aws(std::vector<std::string> args) {
    std::vector<std::string> argv = {"aws", "--endpoint-url", s3_->endpoint(), "--output", "json", "s3api"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto env = s3_->Env();
    env["AWS_DEFAULT_REGION"] = s3_->region();
    return harness::Run(argv, env, seconds(60));
  }

  nlohmann::json Head(const std::string& key) {
    auto h = Aws({"head-object", "--bucket", "locked-backups", "--key", key});
    EXPECT_EQ(h.exit_code, 0) << h.err;
    return ParseJson(h.out);
  }

  S3Server* s3_ = nullptr;
  std::string dir_, config_;
  int configs_ = 0;
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(ObjectLockTest, LockedBackupsSurviveTheBucketsOwnDeleteAndPruneSaysUntilWhen) {
  ASSERT_TRUE(cluster_->Load(0.2));
  auto b = Lb({"backup", "--tier", "hourly", "--tier", "twice-daily", "-w", "json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto copies = ParseJson(b.out)["copies"];
  ASSERT_EQ(copies.size(), 2u);
  const std::string small_a = copies[0]["object_key"], small_b = copies[1]["object_key"];
  // A second, larger hourly backup: a multipart upload (more than one 8 MiB part).
  ASSERT_TRUE(cluster_->Load(12));
  auto big = Lb({"backup", "--tier", "hourly", "-w", "json"});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  const std::string large_a = ParseJson(big.out)["object_key"];
  ASSERT_GT(ParseJson(big.out)["size"].get<uint64_t>(), 9u << 20);

  // Every object and manifest is locked for its tier's keep from when it was written.
  const auto now = std::chrono::system_clock::now();
  for (const auto& [key, mode, keep] : std::vector<std::tuple<std::string, std::string, hours>>{
           {small_a, "COMPLIANCE", hours(72)},
           {small_a.substr(0, small_a.size() - 3) + ".manifest.json", "COMPLIANCE", hours(72)},
           {large_a, "COMPLIANCE", hours(72)},
           {small_b, "GOVERNANCE", hours(360)}}) {
    auto h = Head(key);
    EXPECT_EQ(h["ObjectLockMode"], mode) << key;
    auto until = ParseRFC3339(h.value("ObjectLockRetainUntilDate", ""));
    ASSERT_TRUE(until.ok()) << key << ": " << h.dump();
    EXPECT_GT(*until, now + keep - std::chrono::minutes(5)) << key;
    EXPECT_LT(*until, now + keep + std::chrono::minutes(1)) << key;
  }

  // The bucket's own credentials cannot delete a locked version, in either mode. A version id
  // is passed as --version-id=ID: radosgw's ids may begin with '-', which the CLI would take for
  // an option of its own.
  for (const auto& key : {small_a, large_a, small_b}) {
    const std::string version = Head(key)["VersionId"];
    auto d = Aws({"delete-object", "--bucket", "locked-backups", "--key", key, "--version-id=" + version});
    EXPECT_NE(d.exit_code, 0) << key << ": " << d.out;
    EXPECT_NE(d.err.find("AccessDenied"), std::string::npos) << key << ": " << d.err;
  }
  // Without a version, S3 only hides the object behind a delete marker: the version stays.
  const std::string version_b = Head(small_b)["VersionId"];
  ASSERT_EQ(Aws({"delete-object", "--bucket", "locked-backups", "--key", small_b}).exit_code, 0);
  auto got = Aws({"get-object", "--bucket", "locked-backups", "--key", small_b, "--version-id=" + version_b,
                  dir_ + "/hidden.db"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_GT(fs::file_size(dir_ + "/hidden.db"), 0u);
  auto v = Lb({"verify", large_a});
  EXPECT_EQ(v.exit_code, 0) << v.err;

  // prune, judging four days ahead: the older hourly backup has expired by its manifest, but
  // the server would refuse to delete it: kept, saying until when.
  const std::string later = FormatRFC3339(now + hours(96));
  auto p = Lb({"prune", "--now", later, "-w", "json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  bool explained = false;
  for (const auto& item : ParseJson(p.out)) {
    if (item["object_key"] != small_a) continue;
    EXPECT_EQ(item["action"], "keep") << item.dump();
    explained = item["why"].get<std::string>().find("locked (compliance) until 20") != std::string::npos;
    EXPECT_TRUE(explained) << item.dump();
  }
  EXPECT_TRUE(explained) << p.out;
  auto table = Lb({"prune", "--now", later});
  EXPECT_NE(table.out.find("locked (compliance) until"), std::string::npos) << table.out;
  EXPECT_EQ(Head(small_a)["ObjectLockMode"], "COMPLIANCE") << "still there";

  // lifecycle apply still works on a versioned, locked bucket, and expires old versions too.
  auto la = Lb({"lifecycle", "apply", "-w", "json"});
  ASSERT_EQ(la.exit_code, 0) << la.err;
  auto rules = ParseJson(la.out);
  ASSERT_EQ(rules.size(), 2u) << la.out;
  for (const auto& r : rules) {
    EXPECT_EQ(r["noncurrent_expiration_days"], 1) << r.dump();
    EXPECT_EQ(r["expiration_days"], r["id"] == "lifeboat-hourly" ? 3 : 15) << r.dump();
  }
}

TEST_F(ObjectLockTest, AStoreThatCannotLockIsAConfigurationError) {
  auto r = Lb({"backup", "--tier", "hourly"}, Config("file://" + dir_ + "/store"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot lock objects"), std::string::npos) << r.err;
  EXPECT_TRUE(FilesUnder(dir_ + "/store").empty());
  const std::string bad = dir_ + "/bad.yaml";
  std::ofstream(bad) << "tiers:\n  - {name: hourly, schedule: \"0 * * * *\", keep: 72h, object-lock: {mode: forever}}\n";
  auto c = Lifeboat({"list", "--config", bad});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_NE(c.err.find("must be governance or compliance"), std::string::npos) << c.err;
}

}  // namespace
}  // namespace lifeboat::harness
