// Settings resolution and usage errors of the lifeboat CLI: flags, ETCDCTL_* environment,
// YAML config; bad input exits 2 with one line and changes nothing.
#include <gtest/gtest.h>

#include <fstream>

#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

TEST(CliTest, UsageErrorsExit2AndTouchNothing) {
  std::string dir = MakeTempDir("lb-cli-");
  std::string store = "file://" + dir + "/store";
  ProcResult r = Lifeboat({"--store", store, "backup", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;

  // Without a subcommand the unknown flag or command is what is named, not the missing subcommand.
  r = Lifeboat({"--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown flag --bogus"), std::string::npos) << r.err;
  r = Lifeboat({"--store", store, "bakcup"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command bakcup"), std::string::npos) << r.err;

  r = Lifeboat({"status", "-w", "xml"});
  EXPECT_EQ(r.exit_code, 2) << r.err;

  std::ofstream(dir + "/bad.yaml") << "endpoints: [a, b\nstore: x\n";
  r = Lifeboat({"--config", dir + "/bad.yaml", "--store", store, "backup"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not valid YAML"), std::string::npos) << r.err;

  std::ofstream(dir + "/typo.yaml") << "endpionts: 127.0.0.1:2379\n";
  r = Lifeboat({"--config", dir + "/typo.yaml", "status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown key 'endpionts'"), std::string::npos) << r.err;

  r = Lifeboat({"--config", dir + "/missing.yaml", "status"});
  EXPECT_EQ(r.exit_code, 2);

  r = Lifeboat({"--endpoints", "ftp://x:1", "status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown scheme"), std::string::npos) << r.err;

  r = Lifeboat({"--command-timeout", "soon", "status"});
  EXPECT_EQ(r.exit_code, 2);

  r = Lifeboat({"--cacert", dir + "/nope.crt", "--endpoints", "https://127.0.0.1:1", "status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read --cacert"), std::string::npos) << r.err;

  r = Lifeboat({"--store", "s3://bucket/x", "list"});
  EXPECT_EQ(r.exit_code, 2);

  EXPECT_TRUE(FilesUnder(dir + "/store").empty());
}

TEST(CliTest, EndpointsFromEnvironmentAndConfig) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  std::string dir = MakeTempDir("lb-cfg-");

  ProcResult r = Lifeboat({"status", "-w", "json", "--no-hash"}, {{"ETCDCTL_ENDPOINTS", c->endpoints()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseJson(r.out)["members"].size(), 3u);

  std::ofstream(dir + "/lifeboat.yaml") << "endpoints: [" << c->endpoints() << "]\n"
                                        << "store: file://" << dir << "/store\n"
                                        << "prefix: prod/etcd\n"
                                        << "cluster-name: prod\n"
                                        << "backup:\n  tier: manual\n  source: any\n";
  r = Lifeboat({"--config", dir + "/lifeboat.yaml", "backup", "-w", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto m = ParseJson(r.out);
  std::string key = m["object_key"];
  EXPECT_EQ(key.rfind("prod/etcd/manual/", 0), 0u) << key;
  EXPECT_NE(key.find("/prod_"), std::string::npos) << key;

  // A flag beats the environment, which beats the config file.
  r = Lifeboat({"--config", dir + "/lifeboat.yaml", "status", "--no-hash"}, {{"ETCDCTL_ENDPOINTS", "127.0.0.1:1"}});
  EXPECT_EQ(r.exit_code, 1) << "env must override the config file";
  r = Lifeboat({"--config", dir + "/lifeboat.yaml", "--endpoints", c->endpoints(), "status", "--no-hash"},
               {{"ETCDCTL_ENDPOINTS", "127.0.0.1:1"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // Flags may also follow the subcommand, as with etcdctl.
  r = Lifeboat({"status", "--endpoints", c->endpoints(), "-w", "simple", "--no-hash"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
}

}  // namespace
}  // namespace lifeboat::harness
