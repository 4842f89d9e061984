#include "cli/config.h"

#include "codec/aead_stream.h"
#include "config/key_section.h"
#include "config/yaml_section.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

namespace lifeboat::cli {

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The first non-empty of: flag, environment variable, config value.
std::string Pick(const std::string& flag, const char* env, const std::string& config) {
  if (!flag.empty()) return flag;
  if (std::string e = Env(env); !e.empty()) return e;
  return config;
}

struct FileConfig {
  std::vector<std::string> stores;
  std::vector<catalog::Tier> tiers;
  std::string timezone, jitter, metrics_listen;
  std::optional<bool> prune;
  std::string endpoints, cacert, cert, key, user, password, password_file, dial_timeout, command_timeout;
  std::string store, prefix, cluster_name, source, max_lag, stall_timeout, max_rate, tier;
  std::string agents, agent_token_file, agent_observe_token_file, restore_journal, agent_cacert, agent_cert, agent_key;
  std::optional<bool> agent_insecure_transport;
  std::string drill_schedule, etcd_binary;
  std::optional<bool> check_enabled;
  std::string check_schedule, check_settle;
  std::string compression, zstd_level;
  std::optional<bool> changelog_enabled;
  std::string changelog_flush, changelog_idle, changelog_max, changelog_hash;
  bool has_encryption = false;
  codec::KeySource enc_key;
  std::vector<codec::KeySource> old_keys;
  bool has_signing = false;
  codec::KeySource sign_key;
  std::vector<codec::KeySource> sign_old_keys;
};

// Every key that authenticates manifests: the encryption keys (the current one signs) and the
// signing keys (their current one signs only without encryption).
Result<std::shared_ptr<codec::KeyRing>> AuthKeys(const FileConfig& fc) {
  if (!fc.has_encryption && !fc.has_signing) return std::shared_ptr<codec::KeyRing>();
  std::vector<codec::KeySource> others;
  if (fc.has_encryption) {
    others = fc.old_keys;
    if (fc.has_signing) others.push_back(fc.sign_key);
  }
  others.insert(others.end(), fc.sign_old_keys.begin(), fc.sign_old_keys.end());
  auto ring = codec::LoadKeyRing(fc.has_encryption ? fc.enc_key : fc.sign_key, others);
  if (!ring.ok()) return ring.status().Annotate(fc.has_encryption && !fc.has_signing ? "config encryption" : "config signing");
  return std::make_shared<codec::KeyRing>(std::move(*ring));
}

// A tier's `object-lock: {mode: governance|compliance}` as S3 spells the mode; "" when absent.
Result<std::string> ParseObjectLock(const YAML::Node& n, const std::string& path) {
  if (!config::Given(n)) return std::string();
  std::string mode;
  config::YamlSection s("config " + path, "tiers.object-lock");
  s.String("mode", &mode);
  LB_RETURN_IF_ERROR(s.Read(n));
  if (mode == "governance" || mode == "GOVERNANCE") return std::string("GOVERNANCE");
  if (mode == "compliance" || mode == "COMPLIANCE") return std::string("COMPLIANCE");
  return Status::InvalidArgument("config " + path + ": tiers.object-lock.mode '" + mode +
                                 "' must be governance or compliance");
}

Result<std::vector<catalog::Tier>> ParseTiers(const YAML::Node& n, const std::string& path) {
  if (!n.IsSequence()) {
    return Status::InvalidArgument("config " + path + ": 'tiers' must be a list of {name, folder, schedule, keep}");
  }
  std::vector<catalog::Tier> out;
  for (const auto& t : n) {
    if (!t.IsMap()) return Status::InvalidArgument("config " + path + ": each tier must be a mapping");
    catalog::Tier tier;
    std::string schedule, keep;
    YAML::Node lock = config::Absent();
    config::YamlSection ts("config " + path, "tiers");
    ts.String("name", &tier.name).String("folder", &tier.folder).String("prefix", &tier.folder);
    ts.String("schedule", &schedule).String("keep", &keep).Node("object-lock", &lock);
    LB_RETURN_IF_ERROR(ts.Read(t));
    LB_ASSIGN_OR_RETURN(tier.object_lock, ParseObjectLock(lock, path));
    if (tier.name.empty()) return Status::InvalidArgument("config " + path + ": a tier has no name");
    if (tier.folder.empty()) tier.folder = tier.name;
    if (schedule.empty()) return Status::InvalidArgument("config " + path + ": tier " + tier.name + " has no schedule");
    auto cron = catalog::CronSchedule::Parse(schedule);
    if (!cron.ok()) return cron.status().Annotate("config " + path + ": tier " + tier.name);
    tier.schedule = *cron;
    auto k = catalog::ParseRetention(keep.empty() ? "0s" : keep);
    if (!k.ok()) return k.status().Annotate("config " + path + ": tier " + tier.name);
    tier.keep = *k;
    out.push_back(std::move(tier));
  }
  LB_RETURN_IF_ERROR(catalog::ValidateTiers(out).Annotate("config " + path));
  return out;
}

Result<YAML::Node> ReadYamlFile(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::InvalidArgument("cannot read config file " + path + " (check the --config path)");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("config " + path + " is not valid YAML: line " + std::to_string(e.mark.line + 1) +
                                   ": " + e.msg + " (fix the file)");
  }
}

// The nested sections, captured by the top level and read by ReadSections.
struct Sections {
  YAML::Node backup = config::Absent(), daemon = config::Absent(), drill = config::Absent(),
             encryption = config::Absent(), changelog = config::Absent(), check = config::Absent(),
             signing = config::Absent();
};

// The top level: etcd's connection (etcdctl's names), the store, the agents, the tiers.
Status ReadTop(const YAML::Node& root, const std::string& path, FileConfig& fc, Sections& n) {
  config::YamlSection top("config " + path, "");
  top.StringOrList("endpoints", &fc.endpoints)
      .String("cacert", &fc.cacert)
      .String("cert", &fc.cert)
      .String("key", &fc.key)
      .String("user", &fc.user)
      .String("password", &fc.password)
      .String("password-file", &fc.password_file)
      .String("dial-timeout", &fc.dial_timeout)
      .String("command-timeout", &fc.command_timeout)
      .String("store", &fc.store)
      .StringList("stores", &fc.stores)
      .String("prefix", &fc.prefix)
      .String("cluster-name", &fc.cluster_name)
      .StringOrList("agents", &fc.agents)
      .String("agent-token-file", &fc.agent_token_file)
      .String("agent-observe-token-file", &fc.agent_observe_token_file)
      .Bool("agent-insecure-transport", &fc.agent_insecure_transport)
      .String("restore-journal", &fc.restore_journal)
      .String("agent-cacert", &fc.agent_cacert)
      .String("agent-cert", &fc.agent_cert)
      .String("agent-key", &fc.agent_key)
      .String("timezone", &fc.timezone)
      .Custom("tiers",
              [&](const YAML::Node& t, const std::string&) -> Status {
                LB_ASSIGN_OR_RETURN(fc.tiers, ParseTiers(t, path));
                return Status::OK();
              })
      .Node("backup", &n.backup)
      .Node("daemon", &n.daemon)
      .Node("drill", &n.drill)
      .Node("encryption", &n.encryption)
      .Node("signing", &n.signing)
      .Node("changelog", &n.changelog)
      .Node("check", &n.check);
  return top.Read(root);
}

Status ReadSections(const Sections& n, const std::string& path, FileConfig& fc) {
  const std::string origin = "config " + path;
  config::YamlSection b(origin, "backup");
  b.String("source", &fc.source)
      .String("max-lag", &fc.max_lag)
      .String("stall-timeout", &fc.stall_timeout)
      .String("max-rate", &fc.max_rate)
      .String("tier", &fc.tier)
      .String("compression", &fc.compression)
      .String("zstd-level", &fc.zstd_level);
  LB_RETURN_IF_ERROR(b.Read(n.backup));
  config::YamlSection d(origin, "daemon");
  d.String("jitter", &fc.jitter).String("metrics-listen", &fc.metrics_listen).Bool("prune", &fc.prune);
  LB_RETURN_IF_ERROR(d.Read(n.daemon));
  config::YamlSection dr(origin, "drill");
  dr.String("schedule", &fc.drill_schedule).String("etcd-binary", &fc.etcd_binary);
  LB_RETURN_IF_ERROR(dr.Read(n.drill));
  config::YamlSection cl(origin, "changelog");
  cl.Bool("enabled", &fc.changelog_enabled)
      .String("flush-interval", &fc.changelog_flush)
      .String("idle-flush", &fc.changelog_idle)
      .String("max-segment", &fc.changelog_max)
      .String("hash-interval", &fc.changelog_hash);
  LB_RETURN_IF_ERROR(cl.Read(n.changelog));
  config::YamlSection ck(origin, "check");
  ck.Bool("enabled", &fc.check_enabled).String("schedule", &fc.check_schedule).String("settle-timeout", &fc.check_settle);
  LB_RETURN_IF_ERROR(ck.Read(n.check));
  if (config::Given(n.encryption)) {
    LB_RETURN_IF_ERROR(config::ReadKeySection(n.encryption, origin, "encryption", config::KeySpelling::kCoordinator,
                                              &fc.enc_key, &fc.old_keys));
    fc.has_encryption = true;
  }
  if (config::Given(n.signing)) {
    LB_RETURN_IF_ERROR(config::ReadKeySection(n.signing, origin, "signing", config::KeySpelling::kCoordinator,
                                              &fc.sign_key, &fc.sign_old_keys));
    fc.has_signing = true;
  }
  return Status::OK();
}

Result<FileConfig> LoadConfig(const std::string& path) {
  FileConfig fc;
  if (path.empty()) return fc;
  LB_ASSIGN_OR_RETURN(YAML::Node root, ReadYamlFile(path));
  Sections n;
  LB_RETURN_IF_ERROR(ReadTop(root, path, fc, n));
  LB_RETURN_IF_ERROR(ReadSections(n, path, fc));
  return fc;
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(const std::string& text, const std::string& what) {
  auto bad = [&] {
    return Status::InvalidArgument(what + " '" + text + "' is not a duration (write it like 500ms, 5s, 2m)");
  };
  if (text.empty()) return bad();
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    return bad();
  }
  std::string unit = text.substr(pos);
  double ms;
  if (unit == "ms") ms = v;
  else if (unit == "s" || unit.empty()) ms = v * 1000;
  else if (unit == "m") ms = v * 60000;
  else if (unit == "h") ms = v * 3600000;
  else return bad();
  if (ms < 0 || !std::isfinite(ms)) return bad();
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

ops::ChangeLogOptions ChangeLogOptionsOf(const Settings& s) {
  ops::ChangeLogOptions o;
  o.prefix = s.prefix;
  o.cluster_name = s.cluster_name;
  o.flush_interval = s.changelog_flush;
  o.idle_flush = s.changelog_idle;
  o.max_segment_bytes = s.changelog_max_bytes;
  o.hash_interval = s.changelog_hash;
  // Segments hold the same data as backups: stored through the same compression and encryption.
  o.encode.zstd_level = s.compression == "zstd" ? s.zstd_level : 0;
  o.encode.keys = s.keys.get();
  o.encode.signer = s.auth_keys.get();
  return o;
}

Result<uint64_t> ParseHexId(const std::string& text, const std::string& what) {
  if (text.empty()) return uint64_t{0};
  if (text.size() > 16 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return Status::InvalidArgument(what + " '" + text + "' is not an id (hex, as etcdctl and `lifeboat list -w json` print it)");
  }
  return std::stoull(text, nullptr, 16);
}

Result<uint64_t> ParseBytes(const std::string& text, const std::string& what) {
  auto bad = [&] {
    return Status::InvalidArgument(what + " '" + text + "' is not a size (write it like 0, 512k, 50MB, 1GiB)");
  };
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    return bad();
  }
  std::string unit = text.substr(pos);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 's' && unit.size() > 1 && unit[unit.size() - 2] == '/') unit.resize(unit.size() - 2);
  const std::map<std::string, double> units = {
      {"", 1}, {"b", 1}, {"k", 1e3}, {"kb", 1e3}, {"kib", 1024}, {"m", 1e6}, {"mb", 1e6}, {"mib", 1048576},
      {"g", 1e9}, {"gb", 1e9}, {"gib", 1073741824.0}};
  auto it = units.find(unit);
  if (it == units.end() || v < 0 || !std::isfinite(v)) return bad();
  return static_cast<uint64_t>(v * it->second);
}

void AddGlobalFlags(CLI::App& app, Flags& f) {
  app.add_option("--config", f.config, "YAML config file (env LIFEBOAT_CONFIG)");
  app.add_option("--endpoints", f.endpoints, "comma-separated etcd client URLs (env ETCDCTL_ENDPOINTS)");
  app.add_option("--cacert", f.cacert, "CA bundle that signed the etcd server certificates (env ETCDCTL_CACERT)");
  app.add_option("--cert", f.cert, "client certificate (env ETCDCTL_CERT)");
  app.add_option("--key", f.key, "client certificate key (env ETCDCTL_KEY)");
  app.add_option("--user", f.user, "NAME[:PASSWORD] for etcd authentication (env ETCDCTL_USER)");
  app.add_option("--password", f.password, "password, when not given in --user (env ETCDCTL_PASSWORD)");
  app.add_option("--dial-timeout", f.dial_timeout, "time to connect to a member (default 2s)");
  app.add_option("--command-timeout", f.command_timeout, "time for one request (default 5s)");
  app.add_option("-w,--write-out", f.write_out, "output format: table, json or simple")
      ->check(CLI::IsMember({"table", "json", "simple"}));
  app.add_option("--store", f.store, "backup store URL, e.g. file:///var/backups/etcd (env LIFEBOAT_STORE)");
  app.add_option("--prefix", f.prefix, "key prefix of lifeboat's objects in the store (default db-etcd)");
  app.add_option("--cluster-name", f.cluster_name, "name used in backup object names (default: the cluster id)");
  app.add_flag("--insecure-transport", f.insecure_transport,
               "send the agents' token in plain text to agents off loopback (default: refused without agent-cacert)");
}

namespace {

// etcd's client settings, etcdctl's way: flag, then environment, then config.
Status ResolveClient(const Flags& flags, const FileConfig& fc, Settings& s) {
  std::string endpoints = Pick(flags.endpoints, "ETCDCTL_ENDPOINTS", fc.endpoints);
  s.client.endpoints = SplitComma(endpoints.empty() ? "127.0.0.1:2379" : endpoints);
  s.client.cacert = Pick(flags.cacert, "ETCDCTL_CACERT", fc.cacert);
  s.client.cert = Pick(flags.cert, "ETCDCTL_CERT", fc.cert);
  s.client.key = Pick(flags.key, "ETCDCTL_KEY", fc.key);

  std::string user = Pick(flags.user, "ETCDCTL_USER", fc.user);
  std::string password = Pick(flags.password, "ETCDCTL_PASSWORD", fc.password);
  if (auto colon = user.find(':'); colon != std::string::npos) {
    password = user.substr(colon + 1);
    user.resize(colon);
  }
  if (!user.empty() && password.empty() && !fc.password_file.empty()) {
    std::ifstream in(fc.password_file);
    if (!in || !std::getline(in, password)) {
      return Status::InvalidArgument("cannot read password-file " + fc.password_file + " (check the config)");
    }
  }
  if (!user.empty() && password.empty()) {
    return Status::InvalidArgument("user '" + user + "' has no password (use --user NAME:PASSWORD, --password, "
                                   "ETCDCTL_PASSWORD or password-file in the config)");
  }
  s.client.user = user;
  s.client.password = password;

  if (std::string d = Pick(flags.dial_timeout, "ETCDCTL_DIAL_TIMEOUT", fc.dial_timeout); !d.empty()) {
    LB_ASSIGN_OR_RETURN(s.client.dial_timeout, ParseDuration(d, "--dial-timeout"));
  }
  if (std::string d = Pick(flags.command_timeout, "ETCDCTL_COMMAND_TIMEOUT", fc.command_timeout); !d.empty()) {
    LB_ASSIGN_OR_RETURN(s.client.command_timeout, ParseDuration(d, "--command-timeout"));
  }
  return Status::OK();
}

// The store (the first of `stores:` when several are listed; an explicit one wins alone), and
// the names lifeboat's objects carry in it.
Status ResolveStores(const Flags& flags, FileConfig& fc, Settings& s) {
  if (!fc.store.empty() && !fc.stores.empty()) {
    return Status::InvalidArgument("config has both 'store' and 'stores' (keep one)");
  }
  if (!fc.stores.empty()) {
    fc.store = fc.stores.front();
    s.extra_stores.assign(fc.stores.begin() + 1, fc.stores.end());
  }
  if (std::string v = Pick(flags.store, "LIFEBOAT_STORE", fc.store); !v.empty()) s.store = v;
  if (!flags.store.empty() || !Env("LIFEBOAT_STORE").empty()) s.extra_stores.clear();  // an explicit store wins
  if (std::string v = Pick(flags.prefix, "LIFEBOAT_PREFIX", fc.prefix); !v.empty()) s.prefix = v;
  s.cluster_name = Pick(flags.cluster_name, "LIFEBOAT_CLUSTER_NAME", fc.cluster_name);
  return Status::OK();
}

// The daemon's schedule settings and the backup's source and pace.
Status ResolveBackup(const FileConfig& fc, Settings& s) {
  if (!fc.tiers.empty()) s.tiers = fc.tiers;
  if (!fc.timezone.empty()) s.timezone = fc.timezone;
  if (!fc.jitter.empty()) {
    LB_ASSIGN_OR_RETURN(s.jitter, ParseDuration(fc.jitter, "daemon.jitter"));
  }
  if (!fc.metrics_listen.empty()) s.metrics_listen = fc.metrics_listen;
  if (fc.prune) s.prune_after_backup = *fc.prune;
  if (!fc.source.empty()) s.source = fc.source;
  if (!fc.tier.empty()) s.tier = fc.tier;
  if (!fc.max_lag.empty()) {
    try {
      s.max_lag = std::stoull(fc.max_lag);
    } catch (...) {
      return Status::InvalidArgument("config backup.max-lag '" + fc.max_lag + "' is not a number of raft entries");
    }
  }
  if (!fc.stall_timeout.empty()) {
    LB_ASSIGN_OR_RETURN(s.stall_timeout, ParseDuration(fc.stall_timeout, "backup.stall-timeout"));
  }
  if (!fc.max_rate.empty()) {
    LB_ASSIGN_OR_RETURN(s.max_rate, ParseBytes(fc.max_rate, "backup.max-rate"));
  }
  return Status::OK();
}

Status ResolveChangeLog(const FileConfig& fc, Settings& s) {
  if (fc.changelog_enabled) s.changelog = *fc.changelog_enabled;
  if (!fc.changelog_flush.empty()) {
    LB_ASSIGN_OR_RETURN(s.changelog_flush, ParseDuration(fc.changelog_flush, "changelog.flush-interval"));
  }
  if (!fc.changelog_idle.empty()) {
    LB_ASSIGN_OR_RETURN(s.changelog_idle, ParseDuration(fc.changelog_idle, "changelog.idle-flush"));
  }
  if (!fc.changelog_max.empty()) {
    LB_ASSIGN_OR_RETURN(s.changelog_max_bytes, ParseBytes(fc.changelog_max, "changelog.max-segment"));
  }
  if (!fc.changelog_hash.empty()) {
    LB_ASSIGN_OR_RETURN(s.changelog_hash, ParseDuration(fc.changelog_hash, "changelog.hash-interval"));
  }
  return Status::OK();
}

// How backups are encoded: the keys that encrypt and authenticate them, and the compression.
Status ResolveEncoding(const FileConfig& fc, Settings& s) {
  if (fc.has_encryption) {
    auto ring = codec::LoadKeyRing(fc.enc_key, fc.old_keys);
    if (!ring.ok()) return ring.status().Annotate("config encryption");
    s.keys = std::make_shared<codec::KeyRing>(std::move(*ring));
  }
  LB_ASSIGN_OR_RETURN(s.auth_keys, AuthKeys(fc));
  if (!fc.compression.empty()) {
    if (fc.compression != "none" && fc.compression != "zstd") {
      return Status::InvalidArgument("config backup.compression '" + fc.compression + "' must be zstd or none");
    }
    s.compression = fc.compression;
  }
  if (!fc.zstd_level.empty()) {
    try {
      s.zstd_level = std::stoi(fc.zstd_level);
    } catch (...) {
      s.zstd_level = -1;
    }
    if (s.zstd_level < 1 || s.zstd_level > 19) {
      return Status::InvalidArgument("config backup.zstd-level '" + fc.zstd_level + "' must be 1..19");
    }
  }
  return Status::OK();
}

// The drill's and the consistency check's schedules.
Status ResolveVerification(const FileConfig& fc, Settings& s) {
  if (!fc.drill_schedule.empty()) {
    auto cron = catalog::CronSchedule::Parse(fc.drill_schedule);
    if (!cron.ok()) return cron.status().Annotate("config drill.schedule");
    s.drill_schedule = fc.drill_schedule;
  }
  if (!fc.etcd_binary.empty()) s.etcd_binary = fc.etcd_binary;
  if (fc.check_enabled && !*fc.check_enabled) s.check_schedule.clear();
  if (!fc.check_schedule.empty()) {
    if (fc.check_enabled && !*fc.check_enabled) {
      return Status::InvalidArgument("config check: 'schedule' is set but 'enabled' is false (keep one)");
    }
    auto cron = catalog::CronSchedule::Parse(fc.check_schedule);
    if (!cron.ok()) return cron.status().Annotate("config check.schedule");
    s.check_schedule = fc.check_schedule;
  }
  if (!fc.check_settle.empty()) {
    LB_ASSIGN_OR_RETURN(s.check_settle_timeout, ParseDuration(fc.check_settle, "check.settle-timeout"));
  }
  return Status::OK();
}

// The agents, how the coordinator reaches them, its tokens and its restore journal.
Status ResolveAgents(const Flags& flags, const FileConfig& fc, Settings& s) {
  s.agents = SplitComma(Pick(flags.agents, "LIFEBOAT_AGENTS", fc.agents));
  s.agent_tls.cacert = fc.agent_cacert;
  s.agent_tls.cert = fc.agent_cert;
  s.agent_tls.key = fc.agent_key;
  if (s.agent_tls.cert.empty() != s.agent_tls.key.empty()) {
    return Status::InvalidArgument("config: agent-cert and agent-key go together");
  }
  if (!s.agent_tls.cert.empty() && s.agent_tls.cacert.empty()) {
    return Status::InvalidArgument("config: agent-cert needs agent-cacert (the CA of the agents' certificates)");
  }
  s.agent_tls.insecure_transport = flags.insecure_transport || fc.agent_insecure_transport.value_or(false);
  s.agent_token_file = Pick(flags.agent_token_file, "LIFEBOAT_AGENT_TOKEN_FILE", fc.agent_token_file);
  s.agent_observe_token_file = Pick("", "LIFEBOAT_AGENT_OBSERVE_TOKEN_FILE", fc.agent_observe_token_file);
  if (std::string v = Pick(flags.journal, "LIFEBOAT_RESTORE_JOURNAL", fc.restore_journal); !v.empty()) {
    s.restore_journal = v;
  }
  return Status::OK();
}

}  // namespace

Result<Settings> Resolve(const Flags& flags) {
  Settings s;
  LB_ASSIGN_OR_RETURN(FileConfig fc, LoadConfig(Pick(flags.config, "LIFEBOAT_CONFIG", "")));
  LB_RETURN_IF_ERROR(ResolveClient(flags, fc, s));
  s.write_out = flags.write_out;
  LB_RETURN_IF_ERROR(ResolveStores(flags, fc, s));
  LB_RETURN_IF_ERROR(ResolveBackup(fc, s));
  LB_RETURN_IF_ERROR(ResolveChangeLog(fc, s));
  LB_RETURN_IF_ERROR(ResolveEncoding(fc, s));
  LB_RETURN_IF_ERROR(ResolveVerification(fc, s));
  LB_RETURN_IF_ERROR(ResolveAgents(flags, fc, s));
  return s;
}

}  // namespace lifeboat::cli
