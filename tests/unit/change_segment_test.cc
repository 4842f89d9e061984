// The change-segment encoding: round trip, and damage refused record by record.
#include "catalog/change_segment.h"

#include <gtest/gtest.h>

namespace lifeboat::catalog {
namespace {

SegmentData Sample() {
  SegmentData data;
  data.leases = {{0x694d7c1b2f5a0001, 60}, {7, 3600}};
  std::vector<ChangeEvent>& ev = data.events;
  ChangeEvent put;
  put.revision = 42;
  put.key = "a/key";
  put.value = std::string("v\0al", 4);
  put.create_revision = 40;
  put.version = 3;
  put.lease = 0x694d7c1b2f5a0001;
  ev.push_back(put);
  ChangeEvent put2 = put;
  put2.sub = 1;
  put2.key = "b";
  ev.push_back(put2);
  ChangeEvent del;
  del.is_delete = true;
  del.revision = 43;
  del.key = "a/key";
  ev.push_back(del);
  return data;
}

TEST(ChangeSegmentTest, RoundTripAndDamage) {
  std::string enc = EncodeSegment(Sample());
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(enc.data()), enc.size());
  auto dec = DecodeSegment(bytes);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(dec->events, Sample().events);
  EXPECT_EQ(dec->leases, Sample().leases);
  auto empty = DecodeSegment(std::span<const uint8_t>(bytes.data(), 8));
  ASSERT_TRUE(empty.ok()) << "no records is valid";
  EXPECT_TRUE(empty->events.empty() && empty->leases.empty());
  for (size_t cut = 9; cut < enc.size(); cut += 7) {
    EXPECT_EQ(DecodeSegment(bytes.first(cut)).status().code(), Status::Code::kCorruption) << cut;
  }
  std::string bad = enc;
  bad[0] = 'X';
  EXPECT_FALSE(DecodeSegment(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bad.data()), bad.size())).ok());
  bad = enc;
  bad[8] = 7;  // an unknown record type
  EXPECT_FALSE(DecodeSegment(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bad.data()), bad.size())).ok());
}

TEST(ChangeSegmentTest, KeysSortByRevisionAndManifestsRoundTrip) {
  EXPECT_LT(SegmentKey("db-etcd", "prod", 9, 99), SegmentKey("db-etcd", "prod", 100, 100));
  EXPECT_EQ(SegmentKey("db-etcd/", "prod", 1, 2).rfind("db-etcd/changes/prod/", 0), 0u);
  SegmentManifest m;
  m.object_key = SegmentKey("p", "c", 5, 9);
  m.cluster_name = "c";
  m.start_revision = 5;
  m.end_revision = 9;
  m.count = 3;
  m.size = 100;
  m.sha256 = std::string(64, 'a');
  m.finished_at = "2026-11-24T23:00:00.000Z";
  auto back = ParseSegmentManifest(ToJson(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ToJson(*back), ToJson(m));
  EXPECT_FALSE(back->hashkv);
  m.hashkv = SegmentHash{9, 0xfedcba98u, 4, 0x8e9e05c52164694dull};
  back = ParseSegmentManifest(ToJson(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->hashkv, m.hashkv);
  m.hashkv->revision = 10;  // beyond the segment: not its checkpoint
  EXPECT_EQ(ParseSegmentManifest(ToJson(m)).status().code(), Status::Code::kCorruption);
  m.hashkv.reset();
  m.end_revision = 2;  // not a range
  EXPECT_EQ(ParseSegmentManifest(ToJson(m)).status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace lifeboat::catalog
