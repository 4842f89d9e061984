// The agent's config parsing (every mistake is InvalidArgument, exit 2, naming the key) and its
// token handling (constant-time compare, bearer header, token file).
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "host/access.h"
#include "host/agent_config.h"
#include "host/controller.h"
#include "host/host_ops.h"
#include "agent/agent_client.h"
#include "agent/token.h"
#include "scratch_dir.h"

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

// The token file is kept as ssh keeps a private key: one user's, nobody else's, and strong.
TEST(AgentTokenTest, TokenFile) {
  testing::ScratchDir dir;
  const std::string path = dir.path() + "/agent.token";
  const std::string hex32 = "00112233445566778899aabbccddeeff";  // 128 bits
  std::ofstream(path) << hex32 << "\n";
  chmod(path.c_str(), 0600);
  auto t = agent::ReadTokenFile(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, hex32);
  chmod(path.c_str(), 0400);
  EXPECT_TRUE(agent::ReadTokenFile(path).ok());

  // Open to others: refused, naming the chmod.
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    chmod(path.c_str(), mode);
    auto open = agent::ReadTokenFile(path);
    ASSERT_EQ(open.status().code(), Status::Code::kInvalidArgument) << std::oct << mode;
    EXPECT_NE(open.status().message().find("chmod 600 " + path), std::string::npos) << open.status().message();
  }
  // Another user's file: refused, naming the chown.
  chmod(path.c_str(), 0600);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  auto foreign = agent::ReadTokenFile(path);
  ASSERT_EQ(foreign.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(foreign.status().message().find("belongs to uid 65534"), std::string::npos) << foreign.status().message();
  ASSERT_EQ(chown(path.c_str(), geteuid(), getegid()), 0);

  // Too weak: 31 hex digits (124 bits), or a short word.
  for (const char* weak : {"00112233445566778899aabbccddeef", "tok-123", "correct-horse"}) {
    std::ofstream(path) << weak << "\n";
    auto w = agent::ReadTokenFile(path);
    ASSERT_EQ(w.status().code(), Status::Code::kInvalidArgument) << weak;
    EXPECT_NE(w.status().message().find("under the 128 needed"), std::string::npos) << w.status().message();
  }
  EXPECT_GE(agent::TokenBits("A8rT/0+Zq9bX3mN5pL7kW2"), 128) << "22 base64 characters";

  std::ofstream(path) << "\n";
  auto e = agent::ReadTokenFile(path);
  EXPECT_EQ(e.status().code(), Status::Code::kInvalidArgument);
  unlink(path.c_str());
  EXPECT_EQ(agent::ReadTokenFile(path).status().code(), Status::Code::kInvalidArgument);
}

// The client never sends a token in clear off loopback unless told that is accepted: nothing is
// dialled, the error names both ways out.
TEST(AgentClientTest, RefusesATokenInPlainTextOffLoopback) {
  const std::string token(32, 'a');
  auto off = agent::AgentClient::Connect("198.18.0.11:9438", token);
  ASSERT_EQ(off.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(off.status().message().find("in clear text to 198.18.0.11:9438"), std::string::npos) << off.status().message();
  EXPECT_NE(off.status().message().find("agent-cacert"), std::string::npos);
  EXPECT_NE(off.status().message().find("--insecure-transport"), std::string::npos);
  EXPECT_FALSE(agent::AgentClient::Connect("h1:9438", token).ok()) << "a name may resolve anywhere";
  for (const char* loop : {"127.0.0.1:9438", "127.1.2.3:9438", "[::1]:9438", "localhost:9438"}) {
    EXPECT_TRUE(agent::AgentClient::Connect(loop, token).ok()) << loop;
  }
  agent::AgentTls accepted;
  accepted.insecure_transport = true;
  EXPECT_TRUE(agent::AgentClient::Connect("198.18.0.11:9438", token, std::chrono::seconds(1), accepted).ok());
  EXPECT_TRUE(agent::AgentClient::Connect("198.18.0.11:9438", "").ok()) << "no token, nothing to leak";
}

TEST(AgentConfigTest, StoresAndTheObserveToken) {
  const std::string m = "member: {name: m1, data-dir: /d, client-url: http://a:1, peer-url: http://a:2}\n";
  auto c = ParseAgentConfig("token-file: /t\nobserve-token-file: /o\nstores: [file:///srv/b, 's3://bk/p?region=x']\n" + m,
                            "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->observe_token_file, "/o");
  EXPECT_EQ(c->stores, (std::vector<std::string>{"file:///srv/b", "s3://bk/p?region=x"}));
  ExpectBad("token-file: /t\nobserve-token-file: /t\n" + m, "'observe-token-file' must be another file");
  ExpectBad("token-file: /t\nstores: [http://evil]\n" + m, "'stores' must list store URLs");
}

// A recover token reaches only the stores and files the agent's own config names.
TEST(AgentAccessTest, OnlyTheConfiguredStoresAndStagedFiles) {
  testing::ScratchDir dir;
  AgentConfig c;
  c.member_name = "m1";
  c.staging_dir = dir.path() + "/staging";
  c.stores = {"file://" + dir.path() + "/store/", "s3://bk/etcd?endpoint=http://127.0.0.1:7480"};
  EXPECT_TRUE(AllowStore(c, "file://" + dir.path() + "/store").ok());
  EXPECT_TRUE(AllowStore(c, dir.path() + "/store").ok()) << "a bare path is a file:// URL";
  EXPECT_TRUE(AllowStore(c, "s3://bk/etcd?endpoint=http://127.0.0.1:7480").ok());
  Status other = AllowStore(c, "s3://bk/etcd?endpoint=http://198.18.0.99:7480");
  EXPECT_EQ(other.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(other.message().find("add it to 'stores'"), std::string::npos) << other.message();
  EXPECT_EQ(AllowStore(c, "file:///etc").code(), Status::Code::kPermissionDenied);

  std::filesystem::create_directories(c.staging_dir);
  std::filesystem::create_directories(dir.path() + "/store/db-etcd/a");
  std::filesystem::create_directories(dir.path() + "/elsewhere");
  for (const char* f : {"/staging/x.db", "/store/db-etcd/a/y.db", "/elsewhere/z.db", "/staging-evil.db"}) {
    std::ofstream(dir.path() + f) << "x";
  }
  EXPECT_TRUE(AllowSnapshotPath(c, c.staging_dir + "/x.db").ok());
  EXPECT_TRUE(AllowSnapshotPath(c, dir.path() + "/store/db-etcd/a/y.db").ok());
  EXPECT_EQ(AllowSnapshotPath(c, dir.path() + "/elsewhere/z.db").code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(AllowSnapshotPath(c, dir.path() + "/staging-evil.db").code(), Status::Code::kPermissionDenied)
      << "a sibling that shares the staging dir's name as a prefix";
  EXPECT_EQ(AllowSnapshotPath(c, c.staging_dir + "/../elsewhere/z.db").code(), Status::Code::kPermissionDenied);
  std::filesystem::create_symlink(dir.path() + "/elsewhere/z.db", c.staging_dir + "/link.db");
  EXPECT_EQ(AllowSnapshotPath(c, c.staging_dir + "/link.db").code(), Status::Code::kPermissionDenied)
      << "a link out of the staging dir is followed, then refused";
  EXPECT_EQ(AllowSnapshotPath(c, "/etc/shadow").code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(AllowSnapshotPath(c, c.staging_dir + "/absent.db").code(), Status::Code::kNotFound);
}

TEST(AgentHostOpsTest, AsidePathIsUtc) {
  auto t = std::chrono::system_clock::from_time_t(1700000000);  // 2023-11-14 22:13:20 UTC
  EXPECT_EQ(AsidePath("/d/m1.etcd", t), "/d/m1.etcd.lifeboat-20231114T221320Z");
}

}  // namespace
}  // namespace lifeboat::host
