// AgentConfig: what `lifeboat agent --config F` reads: where to listen, the token file, the one
// member this host runs and how its etcd is controlled. Parsing checks everything up front so a
// bad config fails at start-up (InvalidArgument, exit 2) instead of in the middle of a recovery.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/aead_stream.h"

namespace lifeboat::host {

enum class ControlMode { kProcess, kSystemd, kCommands };
const char* ControlModeName(ControlMode m);

struct AgentConfig {
  std::string listen = "127.0.0.1:9438";
  std::string token_file;          // the recover token: every call
  std::string observe_token_file;  // optional: a token that reads GetStatus only (the daemon's)
  bool insecure_no_auth = false;
  // The stores FetchBackup may read (URLs as the coordinators' configs name them); any other
  // store is refused, so the recover token cannot make the agent read arbitrary places.
  std::vector<std::string> stores;

  std::string member_name, data_dir, client_url, peer_url;
  // Optional: a client URL no client uses. restore-cluster --quarantine starts the member on it
  // so nothing reads or writes the restored data until it is verified.
  std::string quarantine_client_url;
  // Where FetchBackup stages downloaded backups; default "<data-dir>.lifeboat-staging".
  std::string staging_dir;
  // A restore must leave at least this much free on the data dir's file system.
  uint64_t min_free_bytes = 0;
  // encryption: the keys that decrypt backups this agent stages (the coordinator never sends keys).
  bool has_encryption = false;
  codec::KeySource key;
  std::vector<codec::KeySource> old_keys;

  ControlMode mode = ControlMode::kProcess;
  std::string etcd_binary = "etcd";
  std::vector<std::string> etcd_extra_args;
  std::string etcd_log_file;  // process mode; empty: "<data-dir>.log"
  // TLS material for the member's client URL when it is https (optional), and the user
  // membership changes are made as when etcd has authentication on (password in a file).
  std::string etcd_cacert, etcd_cert, etcd_key;
  std::string etcd_user, etcd_password_file;

  // tls: the agent's own transport. cert+key: TLS; client-ca too: mTLS (only clients with a
  // certificate signed by it get through, before the bearer token is even looked at).
  std::string tls_cert, tls_key, tls_client_ca;

  std::string systemd_unit;
  std::string command_start, command_stop, command_status;  // run with /bin/sh -c
};

// Reads and checks the YAML file at `path`.
Result<AgentConfig> LoadAgentConfig(const std::string& path);
// The same from YAML text (`origin` names it in errors); for tests.
Result<AgentConfig> ParseAgentConfig(const std::string& yaml, const std::string& origin);

}  // namespace lifeboat::host
