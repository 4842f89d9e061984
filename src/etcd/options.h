// How to reach an etcd cluster: endpoints, TLS material, credentials and deadlines.
// Mirrors etcdctl's global flags; filled by the CLI from flags, ETCDCTL_* environment and config.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace lifeboat::etcd {

struct ClientOptions {
  std::vector<std::string> endpoints;  // "host:port", "http://host:port" or "https://host:port"
  std::string cacert;                  // PEM files; empty = not set
  std::string cert;
  std::string key;
  bool insecure_transport = true;      // plain text unless https:// or TLS files are given
  std::string user;                    // empty = no authentication
  std::string password;
  std::chrono::milliseconds dial_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
};

}  // namespace lifeboat::etcd
