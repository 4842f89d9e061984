#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "cli/config.h"
#include "cli/printer.h"
#include "etcd/endpoint.h"
#include "scratch_dir.h"

namespace lifeboat::cli {
namespace {

TEST(ConfigTest, Durations) {
  EXPECT_EQ(ParseDuration("500ms", "x")->count(), 500);
  EXPECT_EQ(ParseDuration("5s", "x")->count(), 5000);
  EXPECT_EQ(ParseDuration("1.5", "x")->count(), 1500);
  EXPECT_EQ(ParseDuration("2m", "x")->count(), 120000);
  EXPECT_FALSE(ParseDuration("soon", "--command-timeout").ok());
  EXPECT_FALSE(ParseDuration("-1s", "x").ok());
  EXPECT_NE(ParseDuration("5x", "--dial-timeout").status().message().find("--dial-timeout"), std::string::npos);
}

TEST(ConfigTest, Bytes) {
  EXPECT_EQ(*ParseBytes("0", "x"), 0u);
  EXPECT_EQ(*ParseBytes("50MB", "x"), 50000000u);
  EXPECT_EQ(*ParseBytes("1GiB", "x"), 1073741824u);
  EXPECT_EQ(*ParseBytes("512k", "x"), 512000u);
  EXPECT_EQ(*ParseBytes("10MB/s", "x"), 10000000u);
  EXPECT_FALSE(ParseBytes("lots", "x").ok());
}

TEST(ConfigTest, FileEnvFlagPrecedenceAndUserPassword) {
  lifeboat::testing::ScratchDir dir;
  std::string path = dir.path() + "/c.yaml";
  std::ofstream(path) << "endpoints: [http://a:1, http://b:2]\nuser: alice\npassword: fromfile\n"
                         "store: file:///x\nbackup:\n  max-lag: 7\n  max-rate: 1MB\n";
  unsetenv("ETCDCTL_ENDPOINTS");
  unsetenv("ETCDCTL_USER");
  unsetenv("ETCDCTL_PASSWORD");
  Flags f;
  f.config = path;
  auto s = Resolve(f);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->client.endpoints, (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_EQ(s->client.user, "alice");
  EXPECT_EQ(s->client.password, "fromfile");
  EXPECT_EQ(s->max_lag, 7u);
  EXPECT_EQ(s->max_rate, 1000000u);

  setenv("ETCDCTL_ENDPOINTS", "http://env:3", 1);
  s = Resolve(f);
  EXPECT_EQ(s->client.endpoints, (std::vector<std::string>{"http://env:3"}));
  f.endpoints = "http://flag:4, http://flag:5";
  f.user = "bob:secret";
  s = Resolve(f);
  EXPECT_EQ(s->client.endpoints, (std::vector<std::string>{"http://flag:4", "http://flag:5"}));
  EXPECT_EQ(s->client.user, "bob");
  EXPECT_EQ(s->client.password, "secret");
  unsetenv("ETCDCTL_ENDPOINTS");

  std::ofstream(path) << "backup:\n  sauce: follower\n";
  s = Resolve(f);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().ExitCode(), 2);
  EXPECT_NE(s.status().message().find("backup.sauce"), std::string::npos);
}

TEST(ConfigTest, SigningKeysAndObjectLock) {
  lifeboat::testing::ScratchDir dir;
  const std::string path = dir.path() + "/c.yaml";
  std::ofstream(dir.path() + "/e.key") << std::string(64, '1');
  std::ofstream(dir.path() + "/s.key") << std::string(64, '2');
  std::ofstream(dir.path() + "/old.key") << std::string(64, '3');
  Flags f;
  f.config = path;
  // Signing alone: its key signs; its old keys verify; nothing is encrypted.
  std::ofstream(path) << "signing:\n  key-file: " << dir.path() << "/s.key\n  key-id: s1\n  old-keys:\n    - {id: s0, file: "
                      << dir.path() << "/old.key}\n";
  auto s = Resolve(f);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->keys, nullptr);
  ASSERT_NE(s->auth_keys, nullptr);
  EXPECT_EQ(s->auth_keys->current_id(), "s1");
  EXPECT_EQ(s->auth_keys->ids(), (std::vector<std::string>{"s0", "s1"}));
  // With encryption the encryption key signs; the signing keys still verify older manifests.
  std::ofstream(path) << "encryption: {key-file: " << dir.path() << "/e.key, key-id: e1}\nsigning: {key-file: "
                      << dir.path() << "/s.key, key-id: s1}\n";
  s = Resolve(f);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->keys->current_id(), "e1");
  EXPECT_EQ(s->keys->ids(), (std::vector<std::string>{"e1"}));
  EXPECT_EQ(s->auth_keys->current_id(), "e1");
  EXPECT_EQ(s->auth_keys->ids(), (std::vector<std::string>{"e1", "s1"}));
  // A tier's object lock, spelled as S3 spells it; anything else names the fix (exit 2).
  std::ofstream(path) << "tiers:\n  - {name: a, schedule: \"0 * * * *\", keep: 72h, object-lock: {mode: compliance}}\n"
                         "  - {name: b, schedule: \"0 0 * * *\", keep: 15d, object-lock: {mode: governance}}\n"
                         "  - {name: c, schedule: \"0 1 * * *\", keep: 15d}\n";
  s = Resolve(f);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->tiers[0].object_lock, "COMPLIANCE");
  EXPECT_EQ(s->tiers[1].object_lock, "GOVERNANCE");
  EXPECT_EQ(s->tiers[2].object_lock, "");
  std::ofstream(path) << "tiers:\n  - {name: a, schedule: \"0 * * * *\", keep: 72h, object-lock: {mode: legal-hold}}\n";
  s = Resolve(f);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().ExitCode(), 2);
  EXPECT_NE(s.status().message().find("must be governance or compliance"), std::string::npos) << s.status().message();
  std::ofstream(path) << "tiers:\n  - {name: a, schedule: \"0 * * * *\", keep: 72h, object-lock: {mod: compliance}}\n";
  s = Resolve(f);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("mod"), std::string::npos) << s.status().message();
}

TEST(EndpointTest, Forms) {
  auto e = etcd::ParseEndpoint("127.0.0.1:2379", false);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->url, "http://127.0.0.1:2379");
  EXPECT_EQ(e->target, "127.0.0.1:2379");
  e = etcd::ParseEndpoint("127.0.0.1:2379", true);
  EXPECT_EQ(e->url, "https://127.0.0.1:2379");
  e = etcd::ParseEndpoint("https://etcd-1.example:2379/", false);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->target, "etcd-1.example:2379");
  EXPECT_FALSE(etcd::ParseEndpoint("ftp://x:1", false).ok());
  EXPECT_FALSE(etcd::ParseEndpoint("no-port", false).ok());
  EXPECT_FALSE(etcd::ParseEndpoint("http://h:12/path", false).ok());
}

TEST(PrinterTest, HumanBytesLikeEtcdctl) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(20480), "20 kB");
  EXPECT_EQ(HumanBytes(49152), "49 kB");
  EXPECT_EQ(HumanBytes(2949152), "2.9 MB");
  EXPECT_EQ(HumanBytes(1417265152), "1.4 GB");
}

TEST(PrinterTest, TableAndSimple) {
  Table t({"A", "LONGER"});
  t.AddRow({"x", "1"});
  std::ostringstream table, simple;
  t.PrintTable(table);
  t.PrintSimple(simple);
  EXPECT_EQ(table.str(), "+---+--------+\n| A | LONGER |\n+---+--------+\n| x |      1 |\n+---+--------+\n");
  EXPECT_EQ(simple.str(), "x, 1\n");
}

}  // namespace
}  // namespace lifeboat::cli
