// The restore journal's round trip and refusals, and the rules that decide whether a restored
// cluster is what the journal promised (RestoredClusterProblems), on hand-built surveys.
#include <gtest/gtest.h>

#include "ops/recovery/restore_cluster.h"
#include "ops/recovery/restore_journal.h"
#include "scratch_dir.h"

namespace lifeboat::ops {
namespace {

using testing::ScratchDir;

RestoreJournal Sample() {
  RestoreJournal j;
  j.created_at = "2026-11-24T23:00:00.000Z";
  j.phase = RestorePhase::kMovedAside;
  j.store = "s3://bucket/x?endpoint=http://127.0.0.1:7480";
  j.backup_key = "db-etcd/hourly/2026-11-24/22/prod_m2_r59_20261124T224701Z.db";
  j.sha256 = std::string(64, 'a');
  j.size = 24608;
  j.revision = 59;
  j.live_keys = 42;
  j.source_cluster_name = "prod";
  j.source_member = "m2";
  j.cluster_token = "lifeboat-prod-20261124T230000Z";
  j.initial_cluster = "m1=http://127.0.0.1:1,m2=http://127.0.0.1:2";
  j.cluster_id = 0xa827b15a19c9624aull;  // above 2^63: must survive JSON
  j.safety_backup = "none: no member answered";
  j.lease_owner = "0123456789abcdef";
  for (int i = 1; i <= 2; ++i) {
    MemberJournal m;
    m.name = "m" + std::to_string(i);
    m.agent = "127.0.0.1:90" + std::to_string(i);
    m.client_url = "http://127.0.0.1:3" + std::to_string(i);
    m.peer_url = "http://127.0.0.1:" + std::to_string(i);
    m.data_dir = "/var/lib/etcd/m" + std::to_string(i) + ".etcd";
    m.staged_path = "/var/lib/etcd/staging/" + j.sha256 + ".db";
    m.stopped = true;
    m.moved_to = {m.data_dir + ".lifeboat-20261124T230001Z"};
    m.member_id = 0xffffffffffffff00ull + static_cast<uint64_t>(i);
    m.lease_epoch = 6 + static_cast<uint64_t>(i);
    j.members.push_back(m);
  }
  j.without = {{"m3", "http://127.0.0.1:3", "its client and peer URLs do not answer",
                {"http://127.0.0.1:33", "http://127.0.0.1:3"}}};
  j.membership_source = "the member list of http://127.0.0.1:31";
  return j;
}

TEST(RestoreJournalTest, RoundTripsThroughAFile) {
  ScratchDir dir;
  RestoreJournal j = Sample();
  std::string path = dir.path() + "/sub/journal.json";
  ASSERT_TRUE(SaveJournal(path, j).ok());
  auto back = LoadJournal(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), ToJson(j));
  EXPECT_EQ(back->phase, RestorePhase::kMovedAside);
  EXPECT_EQ(back->cluster_id, 0xa827b15a19c9624aull);
  EXPECT_EQ(back->members[1].member_id, 0xffffffffffffff02ull);
  EXPECT_EQ(back->members[0].moved_to, j.members[0].moved_to);
  EXPECT_EQ(back->lease_owner, "0123456789abcdef");
  EXPECT_EQ(back->members[1].lease_epoch, 8u);
  ASSERT_EQ(back->without.size(), 1u);
  EXPECT_EQ(back->without[0].urls, j.without[0].urls);
  EXPECT_EQ(back->membership_source, j.membership_source);
  // A Kubernetes restore's bump survives a --resume.
  j.bump_revision = 1000000000;
  j.mark_compacted = true;
  j.restored_revision = 1000000059;
  ASSERT_TRUE(SaveJournal(path, j).ok());
  back = LoadJournal(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->bump_revision, 1000000000u);
  EXPECT_TRUE(back->mark_compacted);
  EXPECT_EQ(back->restored_revision, 1000000059);
}

TEST(RestoreJournalTest, MissingDamagedAndNewerJournalsAreRefused) {
  ScratchDir dir;
  EXPECT_EQ(LoadJournal(dir.path() + "/none.json").status().code(), Status::Code::kNotFound);
  std::string text = ToJson(Sample());
  auto bad_phase = text;
  bad_phase.replace(bad_phase.find("moved-aside"), 11, "teleported!");
  EXPECT_EQ(ParseRestoreJournal(bad_phase).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseRestoreJournal(text.substr(0, text.size() / 2)).status().code(), Status::Code::kCorruption);
  auto newer = text;
  newer.replace(newer.find("\"format_version\": 2"), 19, "\"format_version\": 3");
  auto r = ParseRestoreJournal(newer);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
}

TEST(RestoreJournalTest, PhasesAreOrdered) {
  EXPECT_LT(RestorePhase::kPlanned, RestorePhase::kSafetyBackup);
  EXPECT_LT(RestorePhase::kMovedAside, RestorePhase::kRestored);
  EXPECT_LT(RestorePhase::kStarted, RestorePhase::kVerified);
  EXPECT_LT(RestorePhase::kVerified, RestorePhase::kOpened);
  EXPECT_STREQ(PhaseName(RestorePhase::kMovedAside), "moved-aside");
}

TEST(RestoreJournalTest, AQuarantinedRestoreIsFinishedOnceOpened) {
  RestoreJournal j = Sample();
  j.phase = RestorePhase::kVerified;
  EXPECT_TRUE(Finished(j));
  j.quarantine = true;
  j.members[0].quarantine_client_url = "http://127.0.0.1:41";
  j.members[0].opened = true;
  EXPECT_FALSE(Finished(j)) << "verified on the quarantine URLs, not yet serving clients";
  j.phase = RestorePhase::kOpened;
  EXPECT_TRUE(Finished(j));
  auto back = ParseRestoreJournal(ToJson(j));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), ToJson(j));
  EXPECT_TRUE(back->quarantine);
  EXPECT_EQ(back->members[0].quarantine_client_url, "http://127.0.0.1:41");
  EXPECT_TRUE(back->members[0].opened);
  EXPECT_FALSE(back->members[1].opened);
  // A journal written before quarantine existed still reads (as not quarantined).
  std::string old = ToJson(Sample());
  old.erase(old.find("  \"quarantine\": false,\n"), std::string("  \"quarantine\": false,\n").size());
  auto parsed = ParseRestoreJournal(old);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->quarantine);
}

// A survey of the restored cluster as RestoreCluster would see it when all is well.
ClusterReport Restored(const RestoreJournal& j) {
  ClusterReport c;
  c.cluster_id = j.cluster_id;
  c.common_revision = j.revision;
  for (size_t i = 0; i < j.members.size(); ++i) {
    etcd::Member m;
    m.id = i + 1;
    m.name = j.members[i].name;
    c.members.push_back(m);
    MemberReport r;
    r.name = m.name;
    r.endpoint = j.members[i].client_url;
    r.id = m.id;
    r.reachable = true;
    r.status.header.cluster_id = j.cluster_id;
    r.status.header.revision = j.revision;
    r.status.leader = 1;
    r.keys_at_common = static_cast<int64_t>(j.live_keys);
    c.reports.push_back(r);
  }
  return c;
}

CheckResult Consistent() {
  CheckResult c;
  c.verdict = CheckResult::Verdict::kConsistent;
  return c;
}

TEST(RestoredClusterProblemsTest, AHealthyRestoreHasNone) {
  RestoreJournal j = Sample();
  EXPECT_TRUE(RestoredClusterProblems(j, Restored(j), Consistent()).empty());
  // Clients writing after the start move the revision on; the key count is then not compared.
  ClusterReport c = Restored(j);
  for (auto& r : c.reports) {
    r.status.header.revision = j.revision + 5;
    r.keys_at_common = 1000;
  }
  c.common_revision = j.revision + 5;
  EXPECT_TRUE(RestoredClusterProblems(j, c, Consistent()).empty());
}

// After a bump the members resume at the bumped revision: that is what is compared.
TEST(RestoredClusterProblemsTest, ABumpedRestoreIsComparedAtTheBumpedRevision) {
  RestoreJournal j = Sample();
  j.bump_revision = 1000;
  j.mark_compacted = true;
  j.restored_revision = j.revision + 1000;
  ClusterReport c = Restored(j);
  for (auto& r : c.reports) r.status.header.revision = j.restored_revision;
  c.common_revision = j.restored_revision;
  EXPECT_TRUE(RestoredClusterProblems(j, c, Consistent()).empty());
  c.reports[0].status.header.revision = j.revision;  // not bumped
  auto p = RestoredClusterProblems(j, c, Consistent());
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "m1 is at revision 59, below the bumped 1059");
  c = Restored(j);
  for (auto& r : c.reports) r.status.header.revision = j.restored_revision;
  c.common_revision = j.restored_revision;
  c.reports[1].keys_at_common = 41;
  p = RestoredClusterProblems(j, c, Consistent());
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "m2 holds 41 keys at revision 1059, the snapshot 42");
}

TEST(RestoredClusterProblemsTest, EachDefectNamesTheMember) {
  RestoreJournal j = Sample();
  auto one = [&](const std::function<void(ClusterReport&)>& damage, const std::string& want) {
    ClusterReport c = Restored(j);
    damage(c);
    auto p = RestoredClusterProblems(j, c, Consistent());
    std::string all;
    for (const auto& s : p) all += s + "\n";
    EXPECT_NE(all.find(want), std::string::npos) << "want '" << want << "' in:\n" << all;
  };
  one([](ClusterReport& c) { c.reports[1].reachable = false; c.reports[1].error = "refused"; }, "m2 does not answer");
  one([](ClusterReport& c) { c.reports[0].status.header.cluster_id = 7; }, "m1 is in cluster 7");
  one([](ClusterReport& c) { c.reports[1].status.leader = 0; }, "m2 has no leader");
  one([](ClusterReport& c) { c.reports[1].status.leader = 2; }, "m2 follows leader 2");
  one([](ClusterReport& c) { c.reports[0].status.header.revision = 3; }, "m1 is at revision 3, below the snapshot's 59");
  one([](ClusterReport& c) { c.reports[1].keys_at_common = 41; }, "m2 holds 41 keys at revision 59, the snapshot 42");
  one([](ClusterReport& c) { c.members[1].name = ""; }, "m2 is not a started member");
  one([](ClusterReport& c) { c.members.push_back(c.members[0]); c.members.back().name = "m9"; },
      "the member list has 3 members, the plan 2");
  ClusterReport c = Restored(j);
  CheckResult divergent;
  divergent.verdict = CheckResult::Verdict::kDivergent;
  divergent.findings = {"m2: HashKV 1 vs 2 at revision 59"};
  auto p = RestoredClusterProblems(j, c, divergent);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "m2: HashKV 1 vs 2 at revision 59");
}

}  // namespace
}  // namespace lifeboat::ops
