#include "host/controller.h"

namespace lifeboat::host {

std::unique_ptr<EtcdController> NewController(const AgentConfig& config) {
  switch (config.mode) {
    case ControlMode::kSystemd:
      return NewSystemdController(config);
    case ControlMode::kCommands:
      return NewCommandsController(config);
    case ControlMode::kProcess:
      break;
  }
  return NewProcessController(config);
}

const std::string& ServedClientUrl(const AgentConfig& c, const StartArgs& a) {
  return a.quarantine ? c.quarantine_client_url : c.client_url;
}

std::vector<std::string> MemberFlags(const AgentConfig& c, const StartArgs& a) {
  const std::string& client_url = ServedClientUrl(c, a);
  std::vector<std::string> f{"--name",
                             c.member_name,
                             "--data-dir",
                             c.data_dir,
                             "--listen-client-urls",
                             client_url,
                             "--advertise-client-urls",
                             client_url,
                             "--listen-peer-urls",
                             c.peer_url,
                             "--initial-advertise-peer-urls",
                             c.peer_url};
  // Empty values are left out: a restarted member with a data dir ignores them anyway.
  if (!a.initial_cluster.empty()) f.insert(f.end(), {"--initial-cluster", a.initial_cluster});
  if (!a.initial_cluster_state.empty()) f.insert(f.end(), {"--initial-cluster-state", a.initial_cluster_state});
  if (!a.initial_cluster_token.empty()) f.insert(f.end(), {"--initial-cluster-token", a.initial_cluster_token});
  f.insert(f.end(), c.etcd_extra_args.begin(), c.etcd_extra_args.end());
  return f;
}

std::map<std::string, std::string> MemberEnv(const AgentConfig& c, const StartArgs& a) {
  std::map<std::string, std::string> env{{"ETCD_NAME", c.member_name},
                                         {"ETCD_DATA_DIR", c.data_dir},
                                         {"ETCD_LISTEN_CLIENT_URLS", ServedClientUrl(c, a)},
                                         {"ETCD_ADVERTISE_CLIENT_URLS", ServedClientUrl(c, a)},
                                         {"ETCD_LISTEN_PEER_URLS", c.peer_url},
                                         {"ETCD_INITIAL_ADVERTISE_PEER_URLS", c.peer_url}};
  if (!a.initial_cluster.empty()) env["ETCD_INITIAL_CLUSTER"] = a.initial_cluster;
  if (!a.initial_cluster_state.empty()) env["ETCD_INITIAL_CLUSTER_STATE"] = a.initial_cluster_state;
  if (!a.initial_cluster_token.empty()) env["ETCD_INITIAL_CLUSTER_TOKEN"] = a.initial_cluster_token;
  return env;
}

}  // namespace lifeboat::host
