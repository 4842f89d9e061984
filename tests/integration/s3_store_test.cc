// The S3 store against a real Ceph radosgw (scripts/s3-server): the Store contract, multipart
// streaming, lifeboat backup/list/fetch through s3:// URLs with etcdctl and the aws CLI as
// oracles, and the failures operators meet (wrong secret, unknown bucket, endpoint down, a store
// failing mid-upload, the gateway dying mid-upload).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <random>
#include <sstream>

#include "base/sha256.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

using store::S3Store;

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status Put(S3Store& s, const std::string& key, const std::vector<uint8_t>& data, size_t chunk = 1 << 20) {
  auto w = s.Create(key);
  if (!w.ok()) return w.status();
  for (size_t off = 0; off < data.size(); off += chunk) {
    LB_RETURN_IF_ERROR((*w)->Append(std::span<const uint8_t>(data).subspan(off, std::min(chunk, data.size() - off))));
  }
  return (*w)->Commit();
}

Result<std::vector<uint8_t>> Get(S3Store& s, const std::string& key, uint64_t offset = 0, uint64_t length = 0) {
  std::vector<uint8_t> out;
  Status st = s.ReadRange(key, offset, length, [&](std::span<const uint8_t> d) {
    out.insert(out.end(), d.begin(), d.end());
    return Status::OK();
  });
  if (!st.ok()) return st;
  return out;
}

std::vector<std::string> Keys(S3Store& s, const std::string& prefix = "") {
  auto l = s.List(prefix);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  std::vector<std::string> keys;
  if (l.ok()) {
    for (const auto& o : *l) keys.push_back(o.key);
  }
  return keys;
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = S3Server::Shared();
    ASSERT_TRUE(server_);
    // One bucket per test: tests sharing a server never see each other's objects.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    bucket_ = "t-";
    for (char c : name) bucket_.push_back(static_cast<char>(std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '-'));
    bucket_ = bucket_.substr(0, 50);
    ASSERT_TRUE(server_->CreateBucket(bucket_));
    work_ = MakeTempDir("lb-s3test-");
  }
  ProcResult Lb(const std::string& store, std::vector<std::string> args, const std::string& endpoints = "",
                const std::string& secret = "") {
    std::vector<std::string> all = {"--store", store};
    if (!endpoints.empty()) all.insert(all.end(), {"--endpoints", endpoints});
    all.insert(all.end(), args.begin(), args.end());
    return Lifeboat(all, server_->Env(secret));
  }
  ProcResult Aws(std::vector<std::string> args) {
    std::vector<std::string> argv = {"aws", "--endpoint-url", server_->endpoint()};
    argv.insert(argv.end(), args.begin(), args.end());
    return harness::Run(argv, server_->Env());
  }

  S3Server* server_ = nullptr;
  std::string bucket_, work_;
};

TEST_F(S3StoreTest, StoreContractSinglePutMultipartRangesListDelete) {
  auto s = server_->Open(bucket_, "pre/fix");
  ASSERT_TRUE(s);
  // Small: one PUT at Commit. Large: 20 MiB in 8 MiB parts, appended in odd-sized chunks.
  const auto small = RandomBytes(1000, 1), large = RandomBytes((20 << 20) + 123, 2);
  ASSERT_TRUE(Put(*s, "a/small.db", small).ok());
  Status st = Put(*s, "a/large.db", large, 3 << 20 | 7);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(Put(*s, "a/empty.db", {}).ok());
  // Keys are URI-encoded per segment: spaces, '+', '=', '&' and UTF-8 must survive.
  const std::string odd = "b/x y+z=1&\xc3\xbc.db";
  ASSERT_TRUE(Put(*s, odd, small).ok());

  auto got = Get(*s, "a/large.db");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == large);
  EXPECT_TRUE(*Get(*s, odd) == small);
  EXPECT_TRUE(Get(*s, "a/empty.db")->empty());

  // Ranged reads: a middle slice across a part boundary, and from an offset to the end.
  auto mid = Get(*s, "a/large.db", (8 << 20) - 10, 20);
  ASSERT_TRUE(mid.ok()) << mid.status().ToString();
  EXPECT_TRUE(std::equal(mid->begin(), mid->end(), large.begin() + (8 << 20) - 10));
  EXPECT_EQ(mid->size(), 20u);
  auto tail = Get(*s, "a/large.db", large.size() - 5);
  ASSERT_TRUE(tail.ok());
  EXPECT_TRUE(std::equal(tail->begin(), tail->end(), large.end() - 5));

  auto info = s->Stat("a/large.db");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, large.size());
  EXPECT_NEAR(static_cast<double>(info->mtime_unix), static_cast<double>(time(nullptr)), 300);

  EXPECT_EQ(Keys(*s), (std::vector<std::string>{"a/empty.db", "a/large.db", "a/small.db", odd}));
  EXPECT_EQ(Keys(*s, "a/s"), (std::vector<std::string>{"a/small.db"}));
  // The store prefix is a folder: a sibling "pre/fix2/..." object is not ours.
  auto sibling = server_->Open(bucket_, "pre/fix2");
  ASSERT_TRUE(Put(*sibling, "a/other.db", small).ok());
  EXPECT_EQ(Keys(*s).size(), 4u);

  // Pagination through continuation tokens.
  store::S3Options tiny;
  tiny.list_page_size = 2;
  auto paged = server_->Open(bucket_, "pre/fix", tiny);
  EXPECT_EQ(Keys(*paged), Keys(*s));

  EXPECT_EQ(Get(*s, "a/missing.db").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(s->Stat("a/missing.db").status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(s->Delete("a/small.db").ok());
  EXPECT_EQ(s->Delete("a/small.db").code(), Status::Code::kNotFound);
  auto failed = s->DeleteObjects({"a/large.db", "a/empty.db"});
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_TRUE(failed->empty());
  EXPECT_EQ(Keys(*s), (std::vector<std::string>{odd}));
}

TEST_F(S3StoreTest, VirtualHostedStyle) {
  // radosgw runs with rgw_dns_name=localhost and libcurl resolves BUCKET.localhost to loopback,
  // so the virtual-hosted requests AWS and OBS need are exercised for real.
  const std::string url = "s3://" + bucket_ + "/v?endpoint=http://localhost:" + server_->Var("RGW_PORT") + "&style=virtual";
  auto s = server_->OpenUrl(url);
  ASSERT_TRUE(s);
  EXPECT_NE(s->Describe().find("style=virtual"), std::string::npos) << s->Describe();
  const auto data = RandomBytes((9 << 20) + 5, 4);  // two parts
  Status st = Put(*s, "k/a b.db", data);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(*Get(*s, "k/a b.db") == data);
  EXPECT_EQ(Keys(*s), (std::vector<std::string>{"k/a b.db"}));
  // The same object through path style.
  auto p = server_->Open(bucket_, "v");
  EXPECT_EQ(p->Stat("k/a b.db")->size, data.size());
}

TEST_F(S3StoreTest, AbortAndUncommittedWritersLeaveNothing) {
  auto s = server_->Open(bucket_);
  ASSERT_TRUE(s);
  const auto data = RandomBytes(18 << 20, 3);
  {
    auto w = s->Create("x/aborted.db");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(data).ok());  // two full parts under way
    auto uploads = s->ListMultipartUploads();
    ASSERT_TRUE(uploads.ok());
    EXPECT_EQ(uploads->size(), 1u) << "the multipart upload must have started";
    (*w)->Abort();
    (*w)->Abort();  // twice is fine
  }
  {
    auto w = s->Create("x/dropped.db");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(data).ok());
  }  // destroyed without Commit
  EXPECT_TRUE(Keys(*s).empty());
  auto uploads = s->ListMultipartUploads();
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty()) << uploads->front().key;
}

TEST_F(S3StoreTest, LifecycleConfigurationRoundTrip) {
  auto s = server_->Open(bucket_);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->GetBucketLifecycleConfiguration().status().code(), Status::Code::kNotFound);
  const std::string xml =
      "<LifecycleConfiguration><Rule><ID>hourly-3d</ID><Filter><Prefix>db-etcd/hourly/</Prefix></Filter>"
      "<Status>Enabled</Status><Expiration><Days>3</Days></Expiration>"
      "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
      "</Rule></LifecycleConfiguration>";
  Status st = s->PutBucketLifecycleConfiguration(xml);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto back = s->GetBucketLifecycleConfiguration();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_NE(back->find("hourly-3d"), std::string::npos) << *back;
  EXPECT_NE(back->find("<Days>3</Days>"), std::string::npos) << *back;
}

TEST_F(S3StoreTest, LifecycleApplyShowAndRadosgwExpiresTheTier) {
  auto s = server_->Open(bucket_);
  ASSERT_TRUE(s);
  // A rule somebody else owns must survive `lifecycle apply`.
  ASSERT_TRUE(s->PutBucketLifecycleConfiguration(
                    "<LifecycleConfiguration><Rule><ID>keep-me</ID><Filter><Prefix>other/</Prefix></Filter>"
                    "<Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>"
                    "</LifecycleConfiguration>")
                  .ok());
  std::ofstream(work_ + "/l.yaml") << "store: " << server_->Url(bucket_, "lb") << "\n"
                                   << "tiers:\n  - {name: short, schedule: '0 * * * *', keep: 1d}\n"
                                   << "  - {name: long, folder: b, schedule: '0 0 * * *', keep: 15d}\n";
  ProcResult r = Lifeboat({"--config", work_ + "/l.yaml", "lifecycle", "apply", "-w", "json"}, server_->Env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rules = ParseJson(r.out);
  std::map<std::string, std::pair<std::string, int>> by_id;
  for (const auto& rule : rules) by_id[rule["id"]] = {rule["prefix"], rule["expiration_days"]};
  EXPECT_EQ(by_id["lifeboat-short"], std::make_pair(std::string("lb/db-etcd/short/"), 1));
  EXPECT_EQ(by_id["lifeboat-long"], std::make_pair(std::string("lb/db-etcd/b/"), 15));
  EXPECT_EQ(by_id["keep-me"], std::make_pair(std::string("other/"), 30));
  r = Lifeboat({"--config", work_ + "/l.yaml", "lifecycle", "show", "-w", "json"}, server_->Env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseJson(r.out).size(), 3u);

  // radosgw's own expiry runs (rgw_lc_debug_interval = 10: one "day" lasts 10 s): the 1-day tier's
  // object goes, the 15-day tier's stays.
  auto lb = server_->Open(bucket_, "lb");
  for (const char* key : {"db-etcd/short/x.db", "db-etcd/b/y.db"}) {
    auto w = lb->Create(key);
    ASSERT_TRUE(w.ok());
    std::string data = "backup";
    ASSERT_TRUE((*w)->Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size())).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_TRUE(PollUntil(std::chrono::seconds(120),
                        [&] { return lb->Stat("db-etcd/short/x.db").status().code() == Status::Code::kNotFound; },
                        std::chrono::seconds(1)))
      << "radosgw did not expire the 1-day tier";
  EXPECT_TRUE(lb->Stat("db-etcd/b/y.db").ok());

  // A local store has no lifecycle: a usage error that points at prune.
  r = Lifeboat({"--store", "file://" + work_ + "/local", "lifecycle", "show"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("prune"), std::string::npos) << r.err;
}

TEST_F(S3StoreTest, PruneWithAFakeClockDeletesExpiredObjectsOnly) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string url = server_->Url(bucket_, "pr");
  for (int i = 0; i < 3; ++i) {
    ProcResult b = Lb(url, {"backup", "--tier", "hourly", "--tier", "twice-daily"}, c->endpoints());
    ASSERT_EQ(b.exit_code, 0) << b.err;
    ASSERT_TRUE(c->Etcdctl({"put", "/k", std::to_string(i)}).ok());
  }
  std::string four_days = harness::Run({"date", "-u", "-d", "+4 days", "+%Y-%m-%dT%H:%M:%SZ"}).out;
  four_days.pop_back();
  ProcResult p = Lb(url, {"prune", "--now", four_days, "-w", "json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  int deleted = 0;
  for (const auto& i : ParseJson(p.out)) deleted += i["deleted"].get<bool>();
  EXPECT_EQ(deleted, 2) << p.out;
  auto listing = ParseJson(Lb(url, {"list", "-w", "json"}).out);
  EXPECT_EQ(listing.size(), 4u) << "the newest hourly and all three twice-daily";
  EXPECT_EQ(Keys(*server_->Open(bucket_, "pr")).size(), 8u) << "objects and manifests: no orphans";
}

TEST_F(S3StoreTest, LifeboatBackupListFetchAndAwsCliRestore) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(20));  // ~28 MB db: four 8 MiB parts
  ASSERT_TRUE(c->Etcdctl({"put", "/app/config", "v2"}).ok());
  auto source_keys = c->DumpKeys();
  const std::string store = server_->Url(bucket_, "etcd");

  ProcResult b = Lb(store, {"backup", "-w", "json"}, c->endpoints());
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto m = ParseJson(b.out);
  ASSERT_FALSE(m.is_discarded()) << b.out;
  const std::string key = m["object_key"];
  EXPECT_GT(m["size"].get<uint64_t>(), uint64_t{16} << 20);

  ProcResult l = Lb(store, {"list", "-w", "json"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  auto lj = ParseJson(l.out);
  ASSERT_EQ(lj.size(), 1u) << l.out;
  EXPECT_EQ(lj[0]["object_key"], key);

  const std::string fetched = work_ + "/fetched.db";
  ProcResult f = Lb(store, {"fetch", "latest", "-o", fetched});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  ProcResult st = RunEtcdutl({"snapshot", "status", fetched, "-w", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(ParseJson(st.out)["revision"], m["revision"]);

  // Ranged reads of the stored backup equal the same bytes of the fetched file.
  auto s = server_->Open(bucket_, "etcd");
  const std::string whole = ReadWhole(fetched);
  auto slice = Get(*s, key, 4096, 100000);
  ASSERT_TRUE(slice.ok()) << slice.status().ToString();
  EXPECT_EQ(std::string(slice->begin(), slice->end()), whole.substr(4096, 100000));
  auto uploads = s->ListMultipartUploads();
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());

  // Another tool reads what lifeboat wrote: aws s3 cp, then a whole-cluster etcdctl restore.
  const std::string by_aws = work_ + "/aws.db";
  ProcResult cp = Aws({"s3", "cp", "--only-show-errors", "s3://" + bucket_ + "/etcd/" + key, by_aws});
  ASSERT_EQ(cp.exit_code, 0) << cp.err << cp.out;
  EXPECT_TRUE(ReadWhole(by_aws) == whole);
  EtcdCluster::Options ro;
  ro.restore = by_aws;
  auto restored = EtcdCluster::Start(ro);
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->DumpKeys(), source_keys);
}

TEST_F(S3StoreTest, WrongSecretNamesTheAccessKeyNeverTheSecret) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  const std::string store = server_->Url(bucket_);
  const std::string wrong = "wrong-secret-0123456789abcdefghij";
  for (auto args : {std::vector<std::string>{"list"}, std::vector<std::string>{"backup"}}) {
    ProcResult r = Lb(store, args, c->endpoints(), wrong);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_NE(r.err.find("S3 rejected the signature for access key " + server_->access_key()), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find(wrong), std::string::npos) << "the secret leaked: " << r.err;
    EXPECT_EQ(r.out.find(wrong), std::string::npos);
  }
  ProcResult l = Lb(store, {"list", "-w", "json"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(ParseJson(l.out).size(), 0u);
  auto s = server_->Open(bucket_);
  EXPECT_TRUE(Keys(*s).empty());
  EXPECT_TRUE(s->ListMultipartUploads()->empty());
}

TEST_F(S3StoreTest, UnknownBucketAndEndpointDown) {
  ProcResult r = Lb(server_->Url("no-such-bucket-here"), {"list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bucket no-such-bucket-here does not exist"), std::string::npos) << r.err;

  // A port nobody listens on: retried with backoff, then a clear message, in bounded time.
  auto t0 = std::chrono::steady_clock::now();
  r = Lb("s3://" + bucket_ + "?endpoint=http://127.0.0.1:9", {"list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach S3 endpoint http://127.0.0.1:9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("gave up after 5 attempts"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));

  // No credentials at all, and secrets in the URL, are configuration errors.
  r = Lifeboat({"--store", server_->Url(bucket_), "list"},
               {{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no S3 credentials"), std::string::npos) << r.err;
  r = Lb(server_->Url(bucket_) + "&secret=x", {"list"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(S3StoreTest, StoreFailingMidUploadAbortsTheUpload) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(20));
  // The store refuses data once the upload is under way: a 4 MiB user quota lets the multipart
  // upload start and refuses its 8 MiB parts while etcd is still streaming. (Usage is checked
  // against cached stats, so a quota above one part would fail at a racy point.)
  ASSERT_TRUE(server_->Admin({"quota", "set", "--quota-scope=user", "--uid=lifeboat", "--max-size=4M"}).ok());
  ASSERT_TRUE(server_->Admin({"quota", "enable", "--quota-scope=user", "--uid=lifeboat"}).ok());
  ProcResult r = Lb(server_->Url(bucket_), {"backup"}, c->endpoints());
  server_->Admin({"quota", "disable", "--quota-scope=user", "--uid=lifeboat"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nothing was stored"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("quota"), std::string::npos) << r.err;
  auto s = server_->Open(bucket_);
  EXPECT_TRUE(Keys(*s).empty());
  auto uploads = s->ListMultipartUploads();
  ASSERT_TRUE(uploads.ok()) << uploads.status().ToString();
  EXPECT_TRUE(uploads->empty()) << "the failed multipart upload was not aborted";
  // The aws CLI agrees that no upload is left.
  ProcResult aws = Aws({"s3api", "list-multipart-uploads", "--bucket", bucket_, "--output", "json"});
  EXPECT_EQ(aws.exit_code, 0) << aws.err;
  EXPECT_EQ(aws.out.find("UploadId"), std::string::npos) << aws.out;
}

TEST_F(S3StoreTest, GatewayKilledMidUploadListsNothing) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Load(20));
  const std::string store = server_->Url(bucket_);
  // Slowed down so that the gateway dies while parts are travelling.
  pid_t pid = Spawn({LB_BINARY, "--store", store, "--endpoints", c->endpoints(), "backup", "--max-rate", "4MB"},
                    work_ + "/backup.out", work_ + "/backup.err", server_->Env());
  ASSERT_GT(pid, 0);
  auto s = server_->Open(bucket_);
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] {
    auto u = s->ListMultipartUploads();
    return u.ok() && !u->empty();
  })) << "the backup never started its upload";
  ASSERT_TRUE(server_->KillGateway());
  ProcResult r = Wait(pid, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("nothing was stored"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot reach S3 endpoint"), std::string::npos) << r.err;
  ASSERT_TRUE(server_->Restart());
  // The upload that could not be aborted is invisible to List; a lifecycle rule
  // (AbortIncompleteMultipartUpload) removes it (docs/object-stores.md).
  EXPECT_TRUE(Keys(*s).empty());
  ProcResult l = Lb(store, {"list", "-w", "json"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(ParseJson(l.out).size(), 0u);
}

}  // namespace
}  // namespace lifeboat::harness
