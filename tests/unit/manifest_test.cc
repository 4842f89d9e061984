#include "catalog/manifest.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace lifeboat::catalog {
namespace {

Manifest Sample() {
  Manifest m;
  m.object_key = "db-etcd/prod/daily/2026-11-24/20/prod_etcd-0_r42_20261124T201223Z.db";
  m.sha256 = std::string(64, 'a');
  m.db_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  m.size = 49184;
  m.revision = 42;
  m.cluster_id = 0xabc;
  m.cluster_name = "prod";
  m.member_name = "etcd-0";
  m.member_id = 0x8e9e05c52164694dULL;
  m.member_endpoint = "https://10.0.0.1:2379";
  m.leader_name = "etcd-1";
  m.leader_id = 0xffffffffffffffffULL;
  m.source_is_leader = false;
  m.etcd_version = "3.5.17";
  m.raft_term = 7;
  m.raft_index = 1234;
  m.raft_applied_index = 1233;
  m.started_at = "2026-11-24T20:12:22.900Z";
  m.finished_at = "2026-11-24T20:12:23.123Z";
  m.tool_version = "0.1.0";
  m.tier = "daily";
  m.store = "file:///backups/etcd";
  return m;
}

TEST(ManifestTest, RoundTrip) {
  const Manifest m = Sample();
  const std::string json = ToJson(m);
  auto parsed = ParseManifest(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed.value(), m);
}

TEST(ManifestTest, SourceHashKvIsOptionalAndRoundTrips) {
  Manifest m = Sample();
  EXPECT_EQ(ToJson(m).find("source_hashkv"), std::string::npos) << "absent when not taken";
  m.source_hashkv = KvHashRecord{m.revision, 0xfedcba98u, 7, 0x8e9e05c52164694dull};
  auto parsed = ParseManifest(ToJson(m));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed.value(), m);
  nlohmann::json j = nlohmann::json::parse(ToJson(m));
  j["source_hashkv"]["hash"] = 4294967296ULL;  // 33 bits
  EXPECT_EQ(ParseManifest(j.dump()).status().code(), Status::Code::kCorruption);
  j["source_hashkv"] = "abc";
  EXPECT_EQ(ParseManifest(j.dump()).status().code(), Status::Code::kCorruption);
  j.erase("source_hashkv");
  ASSERT_TRUE(ParseManifest(j.dump()).ok());
  EXPECT_FALSE(ParseManifest(j.dump())->source_hashkv);
}

TEST(ManifestTest, JsonShapeAndFieldOrder) {
  const std::string json = ToJson(Sample());
  EXPECT_NE(json.find("\n  \"format_version\": 1,\n"), std::string::npos) << json;
  EXPECT_NE(json.find("\"cluster_id\": \"0000000000000abc\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"member_id\": \"8e9e05c52164694d\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"leader_id\": \"ffffffffffffffff\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"source_is_leader\": false"), std::string::npos) << json;

  const char* order[] = {"format_version", "object_key", "sha256", "db_sha256", "size", "revision",
                         "cluster_id", "cluster_name", "member_name", "member_id", "member_endpoint",
                         "leader_name", "leader_id", "source_is_leader", "etcd_version", "raft_term",
                         "raft_index", "raft_applied_index", "started_at", "finished_at", "tool_version",
                         "tier", "store"};
  size_t last = 0;
  for (const char* key : order) {
    size_t at = json.find(std::string("\"") + key + "\":");
    ASSERT_NE(at, std::string::npos) << key;
    EXPECT_GT(at, last) << key << " is out of order";
    last = at;
  }
  EXPECT_EQ(nlohmann::json::parse(json).size(), std::size(order));
}

TEST(ManifestTest, JsonValueForEmbedding) {
  const nlohmann::json v = ToJsonValue(Sample());
  EXPECT_EQ(v.at("revision").get<int64_t>(), 42);
  EXPECT_EQ(v.at("cluster_id").get<std::string>(), "0000000000000abc");
  EXPECT_EQ(v.at("tier").get<std::string>(), "daily");
  EXPECT_EQ(v, nlohmann::json::parse(ToJson(Sample())));
}

TEST(ManifestTest, UnknownFieldsAreIgnoredAndHexIsCaseInsensitive) {
  nlohmann::json j = nlohmann::json::parse(ToJson(Sample()));
  j["added_by_a_later_lifeboat"] = {{"x", 1}};
  j["sha256"] = std::string(64, 'A');
  j["member_id"] = "8E9E05C52164694D";
  auto parsed = ParseManifest(j.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->sha256, std::string(64, 'a'));
  EXPECT_EQ(parsed->member_id, 0x8e9e05c52164694dULL);
}

TEST(ManifestTest, MissingFieldIsNamed) {
  nlohmann::json j = nlohmann::json::parse(ToJson(Sample()));
  j.erase("revision");
  auto parsed = ParseManifest(j.dump());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Status::Code::kCorruption);
  EXPECT_NE(parsed.status().message().find("\"revision\" is missing"), std::string::npos)
      << parsed.status().message();
}

TEST(ManifestTest, BadFieldsAreNamed) {
  struct Case {
    const char* field;
    nlohmann::json value;
  } cases[] = {
      {"size", "49184"},
      {"size", -1},
      {"revision", 1.5},
      {"revision", 18446744073709551615ULL},
      {"cluster_id", 2748},
      {"member_id", "not-hex"},
      {"leader_id", "00000000000000000"},  // 17 digits
      {"sha256", "abc"},
      {"db_sha256", std::string(64, 'g')},
      {"source_is_leader", "yes"},
      {"finished_at", "yesterday"},
      {"object_key", "../escape.db"},
      {"tier", nullptr},
  };
  for (const Case& c : cases) {
    nlohmann::json j = nlohmann::json::parse(ToJson(Sample()));
    j[c.field] = c.value;
    auto parsed = ParseManifest(j.dump());
    ASSERT_FALSE(parsed.ok()) << c.field << " = " << c.value.dump();
    EXPECT_EQ(parsed.status().code(), Status::Code::kCorruption);
    EXPECT_NE(parsed.status().message().find(std::string("\"") + c.field + "\""), std::string::npos)
        << parsed.status().message();
  }
}

TEST(ManifestTest, NewerFormatIsRefused) {
  nlohmann::json j = nlohmann::json::parse(ToJson(Sample()));
  j["format_version"] = 3;
  j.erase("size");  // a newer format may change anything; the version must be reported first
  auto parsed = ParseManifest(j.dump());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(parsed.status().message(), "manifest format 3 is newer than this lifeboat (upgrade lifeboat)");

  j["format_version"] = 0;
  EXPECT_FALSE(ParseManifest(j.dump()).ok());
}

TEST(ManifestTest, NotJson) {
  for (const char* text : {"", "{", "[1,2]", "\"string\"", "{\"format_version\": 1,}"}) {
    auto parsed = ParseManifest(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), Status::Code::kCorruption) << text;
  }
}

}  // namespace
}  // namespace lifeboat::catalog

namespace lifeboat::catalog {
namespace {

TEST(ManifestTest, Format2CarriesTheEncodingAndRoundTrips) {
  Manifest m = Sample();
  m.format_version = 2;
  m.compression = "zstd";
  m.object_size = 1234;
  m.object_sha256 = std::string(64, 'c');
  auto parsed = ParseManifest(ToJson(m));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, m);
  EXPECT_EQ(parsed->stored_size(), 1234u);
  EXPECT_EQ(parsed->stored_sha256(), m.object_sha256);
  // Format 1: the object is the snapshot file.
  EXPECT_EQ(Sample().stored_size(), Sample().size);
  EXPECT_EQ(ToJson(Sample()).find("compression"), std::string::npos);
  // An encoding this lifeboat does not know is refused, not misread.
  nlohmann::json j = nlohmann::json::parse(ToJson(m));
  j["compression"] = "lz4";
  EXPECT_EQ(ParseManifest(j.dump()).status().code(), Status::Code::kCorruption);
  j.erase("compression");
  EXPECT_FALSE(ParseManifest(j.dump()).ok()) << "format 2 requires the encoding fields";
}

}  // namespace
}  // namespace lifeboat::catalog
