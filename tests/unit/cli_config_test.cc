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
