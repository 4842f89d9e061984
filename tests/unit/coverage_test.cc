// The coverage rule: a recovery covers every member of the cluster, or refuses before any change.
// Agents and memberships are built by hand; "answering" URLs are real listening sockets.
#include "ops/recovery/coverage.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lifeboat::ops {
namespace {

FleetMember AgentFor(const std::string& name, const std::string& peer) {
  FleetMember m;
  m.address = "10.0.0." + name.substr(1) + ":9438";
  m.status.member_name = name;
  m.status.peer_url = peer;
  return m;
}

std::vector<FleetMember> Agents(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<FleetMember> v;
  for (const auto& [n, p] : list) v.push_back(AgentFor(n, p));
  return v;
}

// A closed loopback port: connecting is refused at once.
std::string DeadUrl(int i) { return "http://127.0.0.1:" + std::to_string(1 + i); }

Membership Three(const std::string& m3_peer) {
  Membership m;
  m.source = "the member list of http://10.0.0.1:2379";
  m.members = {{"m1", {DeadUrl(1)}, {}, false}, {"m2", {DeadUrl(2)}, {}, false}, {"m3", {m3_peer}, {}, false}};
  return m;
}

// A socket listening on a free loopback port, for a URL that answers.
struct Listener {
  int fd = -1, port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 4);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

TEST(CoverageTest, EveryMemberHasItsAgent) {
  auto agents = Agents({{"m1", DeadUrl(1).c_str()}, {"m2", DeadUrl(2).c_str()}, {"m3", DeadUrl(3).c_str()}});
  Membership ms = Three(DeadUrl(3));
  auto ok = CheckCoverage(agents, ms, {});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->without.empty());
}

TEST(CoverageTest, AMemberWithoutAnAgentIsNamedWithItsPeerUrl) {
  auto agents = Agents({{"m1", DeadUrl(1).c_str()}, {"m2", DeadUrl(2).c_str()}});
  auto r = CheckCoverage(agents, Three(DeadUrl(3)), {});
  ASSERT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("member m3 (peer " + DeadUrl(3) + ") has no agent"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("--without m3"), std::string::npos) << r.status().message();
}

TEST(CoverageTest, WithoutOnlyForADeadMember) {
  auto agents = Agents({{"m1", DeadUrl(1).c_str()}, {"m2", DeadUrl(2).c_str()}});
  CoverageOptions o;
  o.without = {"m3"};
  auto gone = CheckCoverage(agents, Three(DeadUrl(3)), o);
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  ASSERT_EQ(gone->without.size(), 1u);
  EXPECT_EQ(gone->without[0].name, "m3");
  EXPECT_EQ(gone->without[0].peer_url, DeadUrl(3));

  Listener alive;  // m3's peer URL answers: it is not gone
  auto refused = CheckCoverage(agents, Three(alive.url()), o);
  ASSERT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("m3 is not gone: " + alive.url() + " answers"), std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(StillSilent("m3", {alive.url()}).ok());
  EXPECT_TRUE(StillSilent("m3", {DeadUrl(3)}).ok());

  o.without = {"m9"};
  EXPECT_EQ(CheckCoverage(agents, Three(DeadUrl(3)), o).status().code(), Status::Code::kInvalidArgument);
  o.without = {"m2"};  // has an agent
  auto has = CheckCoverage(agents, Three(DeadUrl(3)), o);
  EXPECT_EQ(has.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(has.status().message().find("m2 has an agent"), std::string::npos) << has.status().message();
}

TEST(CoverageTest, AnAgentThatDisagreesIsRefusedByName) {
  // m2's agent has m3's peer URL; m3's agent calls itself m4.
  auto agents = Agents({{"m1", DeadUrl(1).c_str()}, {"m2", DeadUrl(9).c_str()}, {"m4", DeadUrl(3).c_str()}});
  auto r = CheckCoverage(agents, Three(DeadUrl(3)), {});
  ASSERT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  const std::string msg = r.status().message();
  EXPECT_NE(msg.find("agent 10.0.0.2:9438 serves m2 with peer URL " + DeadUrl(9)), std::string::npos) << msg;
  EXPECT_NE(msg.find("agent 10.0.0.4:9438 serves m4 at peer URL " + DeadUrl(3)), std::string::npos) << msg;
}

TEST(CoverageTest, AnAgentOfNoListedMember) {
  auto agents = Agents({{"m1", DeadUrl(1).c_str()}, {"m2", DeadUrl(2).c_str()}, {"m3", DeadUrl(3).c_str()}});
  Membership two = Three(DeadUrl(3));
  two.members.pop_back();  // an interrupted recover-member removed m3
  EXPECT_EQ(CheckCoverage(agents, two, {}).status().code(), Status::Code::kFailedPrecondition);
  CoverageOptions target;
  target.unlisted_ok = "m3";  // recover-member m3
  EXPECT_TRUE(CheckCoverage(agents, two, target).ok());
  CoverageOptions any_stopped;
  any_stopped.unlisted_ok_if_stopped = true;  // recover-member --auto
  agents[2].status.etcd_running = true;       // a stray agent whose etcd runs: refused
  EXPECT_EQ(CheckCoverage(agents, two, any_stopped).status().code(), Status::Code::kFailedPrecondition);
  agents[2].status.etcd_running = false;      // the member an interrupted run removed
  EXPECT_TRUE(CheckCoverage(agents, two, any_stopped).ok());
  CoverageOptions restore;
  restore.allow_unlisted = true;  // restore-cluster brings it back
  auto r = CheckCoverage(agents, two, restore);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_NE(r->notes[0].find("m3"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::ops
