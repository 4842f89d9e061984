// etcd::Client's membership calls against a real cluster: the building blocks of recover-member.
#include <gtest/gtest.h>

#include "etcd/client.h"
#include "harness/etcd_cluster.h"
#include "harness/process.h"

namespace lifeboat::harness {
namespace {

TEST(MembershipTest, AddLearnerPromoteRefusedRemove) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  etcd::ClientOptions o;
  o.endpoints = {c->endpoint("m1")};
  auto client = etcd::Client::Connect(c->endpoint("m1"), o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  // A learner that never starts: it does not vote, so the cluster keeps its quorum.
  std::string peer = "http://127.0.0.1:" + std::to_string(FreePorts(1).at(0));
  // etcd accepts membership changes only once every member has been connected for 5 s.
  Result<etcd::Member> added = Status::Unavailable("not tried");
  ASSERT_TRUE(PollUntil(std::chrono::seconds(30), [&] {
    added = (*client)->MemberAdd({peer}, true);
    return added.ok() || added.status().message().find("not healthy enough") == std::string::npos;
  }, std::chrono::milliseconds(250)));
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_NE(added->id, 0u);
  EXPECT_TRUE(added->is_learner);

  auto members = (*client)->MemberList();
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 4u);
  bool found = false;
  for (const auto& m : *members) {
    if (m.id != added->id) continue;
    found = true;
    EXPECT_TRUE(m.is_learner);
    EXPECT_TRUE(m.name.empty()) << "not started yet";
    EXPECT_EQ(m.peer_urls, std::vector<std::string>{peer});
  }
  EXPECT_TRUE(found);

  Status promote = (*client)->MemberPromote(added->id);
  EXPECT_EQ(promote.code(), Status::Code::kFailedPrecondition) << promote.ToString();
  EXPECT_NE(promote.message().find("caught up"), std::string::npos) << promote.message();

  // Writes still commit: the learner did not change the quorum.
  EXPECT_TRUE((*client)->Put("/after-add", "ok").ok());

  ASSERT_TRUE((*client)->MemberRemove(added->id).ok());
  members = (*client)->MemberList();
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->size(), 3u);
  Status again = (*client)->MemberRemove(added->id);
  EXPECT_FALSE(again.ok()) << "removing twice must fail";
}

}  // namespace
}  // namespace lifeboat::harness
