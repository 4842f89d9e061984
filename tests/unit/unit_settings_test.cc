// What a systemd unit gives etcd, and what the agent's environment file adds for a start: every
// URL the unit gives stays, the cluster settings are the start's, contradictions are refused.
#include <gtest/gtest.h>

#include "host/unit_settings.h"

namespace lifeboat::host {
namespace {

// `systemctl show -p Environment,EnvironmentFiles,ExecStart etcd` of Debian's unit, as systemd 252 prints it.
const char* kShow =
    "ExecStart={ path=/usr/bin/etcd ; argv[]=/usr/bin/etcd $DAEMON_ARGS ; ignore_errors=no ; start_time=[n/a] ; "
    "stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n"
    "Environment=DAEMON_ARGS= ETCD_NAME=h1 ETCD_DATA_DIR=/var/lib/etcd/default\n"
    "EnvironmentFiles=/etc/default/etcd (ignore_errors=yes)\n"
    "EnvironmentFiles=/run/lifeboat/etcd.service.env (ignore_errors=yes)\n";

const char* kDefault =
    "# etcd's settings\n"
    "ETCD_LISTEN_CLIENT_URLS=\"http://198.18.0.11:2379,http://127.0.0.1:2379\"\n"
    "ETCD_ADVERTISE_CLIENT_URLS=http://198.18.0.11:2379\n"
    "ETCD_LISTEN_PEER_URLS='http://198.18.0.11:2380'\n"
    "  ; a comment too\n"
    "ETCD_INITIAL_CLUSTER=h1=http://198.18.0.11:2380,\\\n"
    "h2=http://198.18.0.12:2380\n"
    "ETCD_INITIAL_CLUSTER_STATE=new\n";

// The agent config of host h1 in systemd mode.
AgentConfig Config() {
  auto c = ParseAgentConfig(R"(
token-file: /etc/lifeboat/agent.token
member: {name: h1, data-dir: /var/lib/etcd/default, client-url: http://198.18.0.11:2379,
         peer-url: http://198.18.0.11:2380, quarantine-client-url: http://127.0.0.1:23790}
mode: systemd
systemd: {unit: etcd.service}
)",
                            "agent.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : AgentConfig{};
}

UnitSettings Unit(const std::string& show, const std::string& default_file) {
  return ParseUnitSettings(show, "/run/lifeboat/etcd.service.env", [&](const std::string& path) {
    EXPECT_NE(path, "/run/lifeboat/etcd.service.env") << "the agent's own file is not the unit's";
    return path == "/etc/default/etcd" ? default_file : std::string();
  });
}

TEST(EnvironmentFileTest, QuotesCommentsAndContinuations) {
  auto env = ParseEnvironmentFile(kDefault);
  EXPECT_EQ(env.at("ETCD_LISTEN_CLIENT_URLS"), "http://198.18.0.11:2379,http://127.0.0.1:2379");
  EXPECT_EQ(env.at("ETCD_LISTEN_PEER_URLS"), "http://198.18.0.11:2380");
  EXPECT_EQ(env.at("ETCD_INITIAL_CLUSTER"), "h1=http://198.18.0.11:2380,h2=http://198.18.0.12:2380");
  EXPECT_EQ(env.size(), 5u);
}

TEST(UnitSettingsTest, EnvironmentThenFilesThenFlags) {
  UnitSettings u = Unit(kShow, kDefault);
  EXPECT_EQ(u.Get("name"), "h1");
  EXPECT_EQ(u.Get("listen-client-urls"), "http://198.18.0.11:2379,http://127.0.0.1:2379");
  EXPECT_EQ(u.Get("quota-backend-bytes"), "");
  EXPECT_EQ(u.argv, std::vector<std::string>{"/usr/bin/etcd"}) << "an empty $DAEMON_ARGS is no word";

  // $VAR splits into words; ${VAR} stays one; a flag beats its variable.
  std::string show = kShow;
  show.replace(show.find("$DAEMON_ARGS"), 12, "$DAEMON_ARGS --data-dir=${DIR}");
  u = Unit(show, std::string(kDefault) + "DAEMON_ARGS=\"--listen-client-urls http://0.0.0.0:2379 --name x\"\n"
                                         "DIR=/srv/etcd\n");
  EXPECT_EQ(u.Get("listen-client-urls"), "http://0.0.0.0:2379");
  EXPECT_EQ(u.Get("name"), "x");
  EXPECT_EQ(u.Get("data-dir"), "/srv/etcd");
  EXPECT_TRUE(u.InFlags("name"));
  EXPECT_FALSE(u.InFlags("listen-peer-urls"));
}

TEST(SystemdStartEnvTest, KeepsEveryUrlTheUnitGivesAndSetsTheClusterSettings) {
  auto env = SystemdStartEnv(Config(), {"h1=http://198.18.0.11:2380", "existing", "tok", false}, Unit(kShow, kDefault),
                             "etcd.service");
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  const std::map<std::string, std::string> want = {{"ETCD_INITIAL_ADVERTISE_PEER_URLS", "http://198.18.0.11:2380"},
                                                   {"ETCD_INITIAL_CLUSTER", "h1=http://198.18.0.11:2380"},
                                                   {"ETCD_INITIAL_CLUSTER_STATE", "existing"},
                                                   {"ETCD_INITIAL_CLUSTER_TOKEN", "tok"}};
  EXPECT_EQ(*env, want) << "no listen URL, name or data dir: the unit gives them";

  // A unit that gives nothing gets the member's settings.
  env = SystemdStartEnv(Config(), {}, Unit("", ""), "etcd.service");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->at("ETCD_LISTEN_CLIENT_URLS"), "http://198.18.0.11:2379");
  EXPECT_EQ(env->at("ETCD_ADVERTISE_CLIENT_URLS"), "http://198.18.0.11:2379");
  EXPECT_EQ(env->at("ETCD_NAME"), "h1");
  EXPECT_EQ(env->at("ETCD_DATA_DIR"), "/var/lib/etcd/default");
  EXPECT_EQ(env->at("ETCD_LISTEN_PEER_URLS"), "http://198.18.0.11:2380");

  // Quarantined: the client URLs, and only they, are replaced.
  env = SystemdStartEnv(Config(), {"", "", "", true}, Unit(kShow, kDefault), "etcd.service");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->at("ETCD_LISTEN_CLIENT_URLS"), "http://127.0.0.1:23790");
  EXPECT_EQ(env->at("ETCD_ADVERTISE_CLIENT_URLS"), "http://127.0.0.1:23790");
  EXPECT_EQ(env->count("ETCD_LISTEN_PEER_URLS"), 0u);

  // A wildcard listener serves the member's client URL.
  env = SystemdStartEnv(Config(), {}, Unit(kShow, "ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379\n"), "etcd.service");
  EXPECT_TRUE(env.ok()) << env.status().ToString();
}

TEST(SystemdStartEnvTest, RefusesWhatContradictsTheAgentsConfig) {
  auto refused = [](const std::string& show, const std::string& file, const StartArgs& a, const char* needle) {
    auto env = SystemdStartEnv(Config(), a, Unit(show, file), "etcd.service");
    ASSERT_FALSE(env.ok());
    EXPECT_EQ(env.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_NE(env.status().message().find(needle), std::string::npos) << env.status().message();
  };
  refused(kShow, "ETCD_DATA_DIR=/srv/etcd\n", {}, "gives etcd the data dir /srv/etcd (--data-dir or ETCD_DATA_DIR), "
                                                 "the agent's member.data-dir is /var/lib/etcd/default");
  refused(kShow, "ETCD_NAME=other\n", {}, "the agent's member.name is h1");
  refused(kShow, "ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:2379\n", {}, "not among them");
  std::string flags = kShow;
  flags.replace(flags.find("$DAEMON_ARGS"), 12, "--initial-cluster-state new");
  refused(flags, "", {}, "passes --initial-cluster-state in ExecStart=");
  flags = kShow;
  flags.replace(flags.find("$DAEMON_ARGS"), 12, "--listen-client-urls http://198.18.0.11:2379");
  refused(flags, "", {"", "", "", true}, "a quarantined start cannot replace them");
}

}  // namespace
}  // namespace lifeboat::host
