// Global settings, resolved the way etcdctl users expect: a flag beats the environment
// (ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ..., LIFEBOAT_STORE), which beats the YAML config file
// (--config or LIFEBOAT_CONFIG), which beats the built-in defaults. docs/configuration.md lists
// every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agent/agent_client.h"
#include "base/status.h"
#include "catalog/tiers.h"
#include "etcd/options.h"
#include "ops/backup/changelog.h"

namespace lifeboat::codec {
class KeyRing;
}

namespace CLI {
class App;
}

namespace lifeboat::cli {

// Raw values as given on the command line; empty = not given.
struct Flags {
  std::string config;
  std::string endpoints;
  std::string cacert, cert, key;
  std::string user, password;
  std::string dial_timeout, command_timeout;
  std::string write_out = "table";
  std::string store, prefix, cluster_name;
  // restore-cluster / recover-member (their own flags, resolved here with the rest)
  std::string agents, agent_token_file, journal;
  bool insecure_transport = false;  // the agents' token may cross the network in plain text
};

struct Settings {
  etcd::ClientOptions client;
  std::string write_out = "table";
  std::string store = "file:///var/lib/lifeboat/backups";
  std::vector<std::string> extra_stores;  // config `stores:` beyond the first: every backup goes to all
  std::vector<catalog::Tier> tiers = catalog::DefaultTiers();
  std::string timezone = "UTC";           // for tier schedules
  // daemon: section
  std::chrono::milliseconds jitter{0};
  std::string metrics_listen = "127.0.0.1:9437";
  bool prune_after_backup = true;
  std::string prefix = "db-etcd";
  std::string cluster_name;
  // backup: section
  std::string source = "follower";
  uint64_t max_lag = 1000;
  std::chrono::milliseconds stall_timeout{30000};
  uint64_t max_rate = 0;
  std::string tier = "hourly";
  std::string compression = "none";  // none | zstd
  int zstd_level = 1;  // bench/compress.sh: level 1 is as fast as no compression here, level 3 1.7x slower
  // encryption: section. Set: backups are encrypted with the current key; every key decrypts.
  std::shared_ptr<codec::KeyRing> keys;
  // The keys manifests are authenticated with (catalog/trust.h): the encryption keys and the
  // `signing:` keys; the current one signs (encryption's when set). Null: neither is configured.
  std::shared_ptr<codec::KeyRing> auth_keys;
  // Recovery through host agents (restore-cluster, recover-member).
  std::vector<std::string> agents;  // HOST:PORT of each member's agent
  std::string agent_token_file;          // the recover token: recoveries
  std::string agent_observe_token_file;  // the observe token: status and the daemon (falls back to the above)
  agent::AgentTls agent_tls;  // agent-cacert, agent-cert, agent-key, agent-insecure-transport
  std::string restore_journal = "/var/lib/lifeboat/restore-journal.json";
  // changelog: section (the continuous change log, for point-in-time restore)
  bool changelog = false;
  std::chrono::milliseconds changelog_flush{1000}, changelog_idle{30000};
  uint64_t changelog_max_bytes = 8 << 20;
  std::chrono::milliseconds changelog_hash{std::chrono::minutes(5)};  // 0: no HashKV checkpoints
  // drill: section (restore drills; the daemon runs them on drill.schedule when set)
  std::string drill_schedule;
  std::string etcd_binary = "etcd";
  // check: section (the daemon's consistency check; empty schedule: off)
  std::string check_schedule = "*/5 * * * *";
  std::chrono::milliseconds check_settle_timeout{3000};
};

// Registers the global flags on `app` (etcdctl's names).
void AddGlobalFlags(CLI::App& app, Flags& flags);

// Flags + environment + config file -> Settings. InvalidArgument on a malformed config or value.
Result<Settings> Resolve(const Flags& flags);

// The change log's options from the settings (`changelog:` keys, prefix, cluster name), for the
// daemon and `lifeboat changelog` alike.
ops::ChangeLogOptions ChangeLogOptionsOf(const Settings& s);

// "500ms", "5s", "2m", "1h", or a bare number of seconds.
Result<std::chrono::milliseconds> ParseDuration(const std::string& text, const std::string& what);
// "a, b,c" -> {"a", "b", "c"}: blanks around items and empty items dropped.
std::vector<std::string> SplitComma(const std::string& s);
// "0", "50MB", "1.5GiB", "100k": bytes (or bytes per second).
Result<uint64_t> ParseBytes(const std::string& text, const std::string& what);
// An etcd cluster or member id as etcdctl prints it (hex, 1 to 16 digits); "" is 0.
Result<uint64_t> ParseHexId(const std::string& text, const std::string& what);

}  // namespace lifeboat::cli
