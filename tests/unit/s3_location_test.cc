// Parsing s3:// store URLs (addressing style, region and endpoint defaults) and finding
// credentials the way the AWS CLI does, without touching the network.
#include "store/s3_location.h"

#include <gtest/gtest.h>

#include <map>

#include "scratch_dir.h"
#include "store/credentials.h"

namespace lifeboat::store {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  vars.emplace("HOME", "/nonexistent");
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(S3LocationTest, AwsDefaultsToVirtualHostedRegionalEndpoint) {
  auto loc = ParseS3Url("s3://my-backups/db-etcd/prod/", Env({{"AWS_REGION", "eu-west-1"}}));
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ(loc->bucket, "my-backups");
  EXPECT_EQ(loc->prefix, "db-etcd/prod");
  EXPECT_EQ(loc->Endpoint(), "https://s3.eu-west-1.amazonaws.com");
  EXPECT_FALSE(loc->path_style);
  EXPECT_EQ(loc->Host(), "my-backups.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(loc->Path("a/b.db"), "/a/b.db");
  EXPECT_EQ(loc->Path(""), "/");
  EXPECT_EQ(loc->Describe(),
            "s3://my-backups/db-etcd/prod?endpoint=https://s3.eu-west-1.amazonaws.com&region=eu-west-1&style=virtual");
}

TEST(S3LocationTest, HuaweiObsNamedEndpointIsVirtualHosted) {
  auto loc = ParseS3Url(
      "s3://jws2-live-cn-backup-01?endpoint=https://obs.cn-north-4.myhuaweicloud.com&region=cn-north-4", Env({}));
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_FALSE(loc->path_style);
  EXPECT_EQ(loc->Host(), "jws2-live-cn-backup-01.obs.cn-north-4.myhuaweicloud.com");
  EXPECT_EQ(loc->region, "cn-north-4");
  EXPECT_EQ(loc->prefix, "");
}

TEST(S3LocationTest, IpAndLocalhostEndpointsUsePathStyle) {
  for (const char* ep : {"http://127.0.0.1:7480", "http://localhost:9000", "http://[::1]:7480"}) {
    auto loc = ParseS3Url(std::string("s3://bucket/p?endpoint=") + ep, Env({}));
    ASSERT_TRUE(loc.ok()) << ep << ": " << loc.status().ToString();
    EXPECT_TRUE(loc->path_style) << ep;
    EXPECT_EQ(loc->region, "us-east-1") << "any region works for Ceph; AWS's default";
    EXPECT_EQ(loc->Path("x.db"), "/bucket/x.db");
    EXPECT_EQ(loc->Path(""), "/bucket");
  }
  auto forced = ParseS3Url("s3://bucket?endpoint=http://localhost:9000&style=virtual", Env({}));
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->Host(), "bucket.localhost:9000");
  auto dotted = ParseS3Url("s3://my.bucket?region=us-east-1", Env({}));
  ASSERT_TRUE(dotted.ok());
  EXPECT_TRUE(dotted->path_style) << "dots would break the TLS wildcard of the endpoint";
}

TEST(S3LocationTest, EndpointFromEnvironment) {
  auto loc = ParseS3Url("s3://bucket", Env({{"AWS_ENDPOINT_URL_S3", "https://storage.googleapis.com"},
                                           {"AWS_DEFAULT_REGION", "auto"}}));
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ(loc->Endpoint(), "https://storage.googleapis.com");
  EXPECT_EQ(loc->region, "auto");
}

TEST(S3LocationTest, BadUrlsAreUsageErrors) {
  for (const char* url : {"s3://", "s3://UPPER", "s3://ab", "s3://bucket/a/../b?region=x",
                          "s3://bucket?endpoint=ftp://x", "s3://bucket?endpoint=host.example",
                          "s3://bucket?endpoint=https://h/path", "s3://bucket?region=x&style=sideways",
                          "s3://bucket?region=x&secret=abc", "s3://bucket"}) {
    auto loc = ParseS3Url(url, Env({}));
    EXPECT_FALSE(loc.ok()) << url;
    EXPECT_EQ(loc.status().code(), Status::Code::kInvalidArgument) << url;
  }
}

TEST(CredentialsTest, EnvironmentFirstThenProfile) {
  testing::ScratchDir dir;
  const std::string file = dir.path() + "/credentials";
  testing::WriteFile(file,
                     "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n"
                     "[backup]\naws_access_key_id=AKIABACKUP\naws_secret_access_key=s2\naws_session_token=tok\n");
  auto env = LoadCredentials(Env({{"AWS_ACCESS_KEY_ID", "AKIAENV"}, {"AWS_SECRET_ACCESS_KEY", "s0"},
                                  {"AWS_SHARED_CREDENTIALS_FILE", file}}));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->access_key_id, "AKIAENV");
  EXPECT_EQ(env->source, "environment");

  auto def = LoadCredentials(Env({{"AWS_SHARED_CREDENTIALS_FILE", file}}));
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->access_key_id, "AKIADEFAULT");
  EXPECT_EQ(def->secret_access_key, "s1");

  auto prof = LoadCredentials(Env({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "backup"}}));
  ASSERT_TRUE(prof.ok());
  EXPECT_EQ(prof->access_key_id, "AKIABACKUP");
  EXPECT_EQ(prof->session_token, "tok");

  auto missing = LoadCredentials(Env({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "nope"}}));
  EXPECT_EQ(missing.status().code(), Status::Code::kUnauthenticated);
  auto half = LoadCredentials(Env({{"AWS_ACCESS_KEY_ID", "AKIAENV"}}));
  EXPECT_EQ(half.status().code(), Status::Code::kUnauthenticated);
  EXPECT_NE(half.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST(CredentialsTest, RegionFromEnvironmentThenConfigProfile) {
  testing::ScratchDir dir;
  const std::string config = dir.path() + "/config";
  testing::WriteFile(config, "[default]\nregion = us-west-2\n[profile backup]\nregion = cn-north-4\n");
  EXPECT_EQ(LoadRegion(Env({{"AWS_REGION", "eu-west-1"}, {"AWS_CONFIG_FILE", config}})), "eu-west-1");
  EXPECT_EQ(LoadRegion(Env({{"AWS_CONFIG_FILE", config}})), "us-west-2");
  EXPECT_EQ(LoadRegion(Env({{"AWS_CONFIG_FILE", config}, {"AWS_PROFILE", "backup"}})), "cn-north-4");
  EXPECT_EQ(LoadRegion(Env({})), "");
}

}  // namespace
}  // namespace lifeboat::store
