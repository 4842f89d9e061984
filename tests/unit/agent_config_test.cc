// The agent's config parsing (every mistake is InvalidArgument, exit 2, naming the key) and its
// token handling (constant-time compare, bearer header, token file).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "host/agent_config.h"
#include "host/controller.h"
#include "host/host_ops.h"
#include "agent/token.h"

namespace lifeboat::host {
namespace {

const char* kGood = R"(
listen: 127.0.0.1:9438
token-file: /etc/lifeboat/agent.token
member: {name: m1, data-dir: /var/lib/etcd/m1.etcd/, client-url: http://10.0.0.1:2379, peer-url: http://10.0.0.1:2380}
mode: process
etcd: {binary: /usr/bin/etcd, extra-args: [--snapshot-count, "10000"]}
)";

TEST(AgentConfigTest, ParsesAndDefaults) {
  auto c = ParseAgentConfig(kGood, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->member_name, "m1");
  EXPECT_EQ(c->data_dir, "/var/lib/etcd/m1.etcd");  // trailing slash dropped
  EXPECT_EQ(c->etcd_log_file, "/var/lib/etcd/m1.etcd.log");
  EXPECT_EQ(c->mode, ControlMode::kProcess);
  EXPECT_EQ(c->etcd_extra_args, (std::vector<std::string>{"--snapshot-count", "10000"}));
}

void ExpectBad(const std::string& yaml, const std::string& needle) {
  auto c = ParseAgentConfig(yaml, "t.yaml");
  ASSERT_FALSE(c.ok()) << yaml;
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(c.status().ExitCode(), 2);
  EXPECT_NE(c.status().message().find(needle), std::string::npos) << c.status().message();
}

TEST(AgentConfigTest, RejectsMistakes) {
  std::string g = kGood;
  ExpectBad("listen: [", "not valid YAML");
  ExpectBad("- a\n- b\n", "must be a mapping");
  ExpectBad(g + "token_file: x\n", "unknown key 'token_file'");
  ExpectBad("member: {name: m1, data-dir: /d, client-url: http://a:1, peer-url: http://a:2}\n",
            "'token-file' is required");
  ExpectBad("token-file: /t\n", "'member' is required");
  ExpectBad("token-file: /t\nmember: {name: m1, data-dir: d, client-url: http://a:1, peer-url: http://a:2}\n",
            "absolute path");
  ExpectBad("token-file: /t\nmember: {name: m1, data-dir: /d, client-url: a:1, peer-url: http://a:2}\n",
            "member.client-url");
  ExpectBad("token-file: /t\nmember: {data-dir: /d, client-url: http://a:1, peer-url: http://a:2}\n", "member.name");
  ExpectBad(g + "listen2: x\n", "unknown key");
  ExpectBad(std::string(kGood).replace(g.find("mode: process"), 13, "mode: docker"), "'mode' must be");
  ExpectBad(std::string(kGood).replace(g.find("mode: process"), 13, "mode: systemd"), "systemd.unit");
  ExpectBad(std::string(kGood).replace(g.find("mode: process"), 13, "mode: commands\ncommands: {start: x}"),
            "commands.stop");
  ExpectBad(std::string(kGood).replace(g.find("127.0.0.1:9438"), 14, "nowhere"), "HOST:PORT");
}

TEST(AgentConfigTest, QuarantineUrlIsOptionalAndOnlyUsedWhenAsked) {
  const std::string m = "token-file: /t\nmember: {name: m1, data-dir: /d, client-url: http://a:1, peer-url: http://a:2";
  auto c = ParseAgentConfig(m + ", quarantine-client-url: http://a:3}\n", "t");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->quarantine_client_url, "http://a:3");
  auto flags = [&](bool quarantine) {
    std::string all;
    for (const auto& f : MemberFlags(*c, {"", "", "", quarantine})) all += f + " ";
    return all;
  };
  EXPECT_NE(flags(false).find("--listen-client-urls http://a:1 --advertise-client-urls http://a:1 "),
            std::string::npos);
  EXPECT_NE(flags(true).find("--listen-client-urls http://a:3 --advertise-client-urls http://a:3 "), std::string::npos);
  EXPECT_EQ(flags(true).find("http://a:1"), std::string::npos) << flags(true);
  EXPECT_EQ(MemberEnv(*c, {"", "", "", true}).at("ETCD_ADVERTISE_CLIENT_URLS"), "http://a:3");
  EXPECT_EQ(MemberEnv(*c, {}).at("ETCD_LISTEN_CLIENT_URLS"), "http://a:1");
  ExpectBad(m + ", quarantine-client-url: http://a:1}\n", "a URL of its own");
  ExpectBad(m + ", quarantine-client-url: a:3}\n", "member.quarantine-client-url");
  // systemd mode too: the agent's environment file overrides the unit's client URLs.
  EXPECT_TRUE(ParseAgentConfig(m + ", quarantine-client-url: http://a:3}\nmode: systemd\nsystemd: {unit: etcd.service}\n",
                               "t").ok());
}

TEST(AgentConfigTest, InsecureNoAuthNeedsNoTokenFile) {
  auto c = ParseAgentConfig(
      "insecure-no-auth: true\nmember: {name: m1, data-dir: /d, client-url: http://a:1, peer-url: http://a:2}\n", "t");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->insecure_no_auth);
}

TEST(AgentTokenTest, ConstantTimeEquals) {
  EXPECT_TRUE(agent::ConstantTimeEquals("s3cret-token", "s3cret-token"));
  EXPECT_FALSE(agent::ConstantTimeEquals("s3cret-token", "s3cret-tokeN"));
  EXPECT_FALSE(agent::ConstantTimeEquals("s3cret-token", "s3cret-toke"));
  EXPECT_FALSE(agent::ConstantTimeEquals("s3cret-token", ""));
  EXPECT_FALSE(agent::ConstantTimeEquals("", "x"));
  EXPECT_TRUE(agent::ConstantTimeEquals("", ""));
  std::string a(64, 'a'), b = a;
  b[0] = 'b';
  EXPECT_FALSE(agent::ConstantTimeEquals(a, b));
}

TEST(AgentTokenTest, BearerHeader) {
  EXPECT_EQ(agent::BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(agent::BearerToken("Bearer "), "");
  EXPECT_EQ(agent::BearerToken("Basic abc"), "");
  EXPECT_EQ(agent::BearerToken("abc"), "");
}

TEST(AgentTokenTest, TokenFile) {
  std::string path = "/tmp/lb-agent-token-" + std::to_string(getpid());
  std::ofstream(path) << "tok-123\n";
  auto t = agent::ReadTokenFile(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, "tok-123");
  std::ofstream(path) << "\n";
  auto e = agent::ReadTokenFile(path);
  EXPECT_EQ(e.status().code(), Status::Code::kInvalidArgument);
  unlink(path.c_str());
  EXPECT_EQ(agent::ReadTokenFile(path).status().code(), Status::Code::kInvalidArgument);
}

TEST(AgentHostOpsTest, AsidePathIsUtc) {
  auto t = std::chrono::system_clock::from_time_t(1700000000);  // 2023-11-14 22:13:20 UTC
  EXPECT_EQ(AsidePath("/d/m1.etcd", t), "/d/m1.etcd.lifeboat-20231114T221320Z");
}

}  // namespace
}  // namespace lifeboat::host
