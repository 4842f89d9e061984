// The shared strict config reader: every YAML boolean spelling yaml-cpp accepts reads as that
// boolean, anything else is a usage error naming the key, in the coordinator's config
// (changelog.enabled, daemon.prune) and the agent's (insecure-no-auth) alike.
#include "config/yaml_section.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "host/agent_config.h"
#include "cli/config.h"
#include "scratch_dir.h"

namespace lifeboat::config {
namespace {

Result<bool> ReadBool(const std::string& text) {
  std::optional<bool> v;
  YamlSection s("config t.yaml", "changelog");
  s.Bool("enabled", &v);
  LB_RETURN_IF_ERROR(s.Read(YAML::Load("enabled: " + text)));
  if (!v) return Status::Internal("not set");
  return *v;
}

TEST(YamlSectionTest, EveryYamlBooleanSpelling) {
  for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y", "\"true\""}) {
    auto v = ReadBool(t);
    ASSERT_TRUE(v.ok()) << t << ": " << v.status().ToString();
    EXPECT_TRUE(*v) << t;
  }
  for (const char* f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"}) {
    auto v = ReadBool(f);
    ASSERT_TRUE(v.ok()) << f << ": " << v.status().ToString();
    EXPECT_FALSE(*v) << f;
  }
}

TEST(YamlSectionTest, AnythingElseIsAUsageErrorNamingTheKey) {
  // Neither YAML 1.1 nor 1.2 reads 1 or 0 as a boolean, so neither does yaml-cpp.
  for (const char* bad : {"1", "0", "enable", "tRUE", "truee", "\"\"", "[true]", "{a: b}", "~"}) {
    auto v = ReadBool(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().ExitCode(), 2) << bad;
    EXPECT_NE(v.status().message().find("'changelog.enabled'"), std::string::npos) << v.status().ToString();
    EXPECT_NE(v.status().message().find("config t.yaml"), std::string::npos) << v.status().ToString();
  }
}

TEST(YamlSectionTest, UnknownKeysAndShapes) {
  std::string s1;
  uint64_t n = 0;
  YamlSection s("config t.yaml", "backup");
  s.String("source", &s1).Uint64("max", &n);
  EXPECT_TRUE(s.Read(YAML::Load("source: follower\nmax: 12")).ok());
  EXPECT_EQ(s1, "follower");
  EXPECT_EQ(n, 12u);
  auto bad = s.Read(YAML::Load("sauce: follower"));
  EXPECT_NE(bad.message().find("unknown key 'backup.sauce' (known: source, max)"), std::string::npos) << bad.ToString();
  EXPECT_FALSE(s.Read(YAML::Load("source: [a, b]")).ok());
  EXPECT_FALSE(s.Read(YAML::Load("max: -1")).ok());
  EXPECT_FALSE(s.Read(YAML::Load("max: 1.5")).ok());
  EXPECT_FALSE(s.Read(YAML::Load("- a")).ok());
}

TEST(YamlSectionTest, CoordinatorConfigBooleans) {
  testing::ScratchDir dir;
  const std::string path = dir.Join("c.yaml");
  cli::Flags f;
  f.config = path;
  unsetenv("LIFEBOAT_CONFIG");
  std::ofstream(path) << "changelog: {enabled: True}\ndaemon: {prune: off}\n";
  auto s = cli::Resolve(f);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->changelog);
  EXPECT_FALSE(s->prune_after_backup);
  std::ofstream(path) << "changelog: {enabled: on}\ndaemon: {prune: YES}\n";
  s = cli::Resolve(f);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->changelog);
  EXPECT_TRUE(s->prune_after_backup);
  // Before, both read as a silent false.
  std::ofstream(path) << "changelog: {enabled: 1}\n";
  s = cli::Resolve(f);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().ExitCode(), 2);
  EXPECT_NE(s.status().message().find("'changelog.enabled'"), std::string::npos) << s.status().ToString();
  std::ofstream(path) << "daemon: {prune: enable}\n";
  s = cli::Resolve(f);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().ExitCode(), 2);
  EXPECT_NE(s.status().message().find("'daemon.prune'"), std::string::npos) << s.status().ToString();
}

TEST(YamlSectionTest, AgentConfigBooleans) {
  const std::string member = "member: {name: m1, data-dir: /d, client-url: http://a:1, peer-url: http://a:2}\n";
  auto c = host::ParseAgentConfig("insecure-no-auth: Yes\n" + member, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->insecure_no_auth);
  c = host::ParseAgentConfig("token-file: /t\ninsecure-no-auth: off\n" + member, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->insecure_no_auth);
  c = host::ParseAgentConfig("token-file: /t\ninsecure-no-auth: 1\n" + member, "t.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().ExitCode(), 2);
  EXPECT_NE(c.status().message().find("'insecure-no-auth'"), std::string::npos) << c.status().ToString();
}

}  // namespace
}  // namespace lifeboat::config
