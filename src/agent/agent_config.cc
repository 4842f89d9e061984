#include "agent/agent_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace lifeboat::agent {
namespace {

Status Bad(const std::string& origin, const std::string& what) {
  return Status::InvalidArgument("agent config " + origin + ": " + what);
}

// Unknown keys are errors: a misspelt "token_file" must not silently disable authentication.
Status CheckKeys(const YAML::Node& n, const std::string& section, const std::set<std::string>& allowed,
                 const std::string& origin) {
  if (!n.IsMap()) return Bad(origin, (section.empty() ? "the file" : "'" + section + "'") + " must be a mapping");
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    if (!allowed.count(k)) {
      return Bad(origin, "unknown key '" + (section.empty() ? k : section + "." + k) + "' (see docs/agent.md)");
    }
  }
  return Status::OK();
}

Status Str(const YAML::Node& parent, const char* key, const std::string& section, std::string* out,
           const std::string& origin) {
  YAML::Node n = parent[key];
  if (!n) return Status::OK();
  if (!n.IsScalar()) return Bad(origin, "'" + section + key + "' must be a string");
  *out = n.as<std::string>();
  return Status::OK();
}

Status CheckUrl(const std::string& url, const std::string& key, const std::string& origin) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Bad(origin, "'" + key + "' must be one http:// or https:// URL (got '" + url + "')");
  }
  if (url.find(',') != std::string::npos) return Bad(origin, "'" + key + "' must be a single URL");
  return Status::OK();
}

Result<AgentConfig> Parse(const YAML::Node& root, const std::string& origin) {
  AgentConfig c;
  LB_RETURN_IF_ERROR(CheckKeys(root, "", {"listen", "token-file", "insecure-no-auth", "member", "mode", "etcd",
                                          "systemd", "commands", "staging-dir", "min-free-bytes", "encryption", "tls"},
                               origin));
  LB_RETURN_IF_ERROR(Str(root, "listen", "", &c.listen, origin));
  LB_RETURN_IF_ERROR(Str(root, "token-file", "", &c.token_file, origin));
  if (root["insecure-no-auth"]) {
    try {
      c.insecure_no_auth = root["insecure-no-auth"].as<bool>();
    } catch (const YAML::Exception&) {
      return Bad(origin, "'insecure-no-auth' must be true or false");
    }
  }
  auto colon = c.listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == c.listen.size()) {
    return Bad(origin, "'listen' must be HOST:PORT (e.g. 127.0.0.1:9438), got '" + c.listen + "'");
  }
  if (c.token_file.empty() && !c.insecure_no_auth) {
    return Bad(origin, "'token-file' is required (a file holding the bearer token; or set insecure-no-auth: true "
                       "for a test setup)");
  }

  YAML::Node m = root["member"];
  if (!m) return Bad(origin, "'member' is required (name, data-dir, client-url, peer-url)");
  LB_RETURN_IF_ERROR(
      CheckKeys(m, "member", {"name", "data-dir", "client-url", "peer-url", "quarantine-client-url"}, origin));
  LB_RETURN_IF_ERROR(Str(m, "name", "member.", &c.member_name, origin));
  LB_RETURN_IF_ERROR(Str(m, "data-dir", "member.", &c.data_dir, origin));
  LB_RETURN_IF_ERROR(Str(m, "client-url", "member.", &c.client_url, origin));
  LB_RETURN_IF_ERROR(Str(m, "peer-url", "member.", &c.peer_url, origin));
  for (auto [v, k] : {std::pair{&c.member_name, "member.name"}, {&c.data_dir, "member.data-dir"},
                      {&c.client_url, "member.client-url"}, {&c.peer_url, "member.peer-url"}}) {
    if (v->empty()) return Bad(origin, std::string("'") + k + "' is required");
  }
  if (c.data_dir.front() != '/') return Bad(origin, "'member.data-dir' must be an absolute path");
  while (c.data_dir.size() > 1 && c.data_dir.back() == '/') c.data_dir.pop_back();
  LB_RETURN_IF_ERROR(CheckUrl(c.client_url, "member.client-url", origin));
  LB_RETURN_IF_ERROR(CheckUrl(c.peer_url, "member.peer-url", origin));
  LB_RETURN_IF_ERROR(Str(m, "quarantine-client-url", "member.", &c.quarantine_client_url, origin));
  if (!c.quarantine_client_url.empty()) {
    LB_RETURN_IF_ERROR(CheckUrl(c.quarantine_client_url, "member.quarantine-client-url", origin));
    if (c.quarantine_client_url == c.client_url || c.quarantine_client_url == c.peer_url) {
      return Bad(origin, "'member.quarantine-client-url' must be a URL of its own (another port), not the client or "
                         "peer URL");
    }
  }

  LB_RETURN_IF_ERROR(Str(root, "staging-dir", "", &c.staging_dir, origin));
  if (c.staging_dir.empty()) c.staging_dir = c.data_dir + ".lifeboat-staging";
  if (c.staging_dir.front() != '/') return Bad(origin, "'staging-dir' must be an absolute path");
  if (root["min-free-bytes"]) {
    try {
      c.min_free_bytes = root["min-free-bytes"].as<uint64_t>();
    } catch (const YAML::Exception&) {
      return Bad(origin, "'min-free-bytes' must be a whole number of bytes");
    }
  }

  if (YAML::Node e = root["encryption"]) {
    LB_RETURN_IF_ERROR(CheckKeys(e, "encryption", {"key-file", "key-env", "key-id", "old-keys"}, origin));
    c.has_encryption = true;
    LB_RETURN_IF_ERROR(Str(e, "key-file", "encryption.", &c.key.file, origin));
    LB_RETURN_IF_ERROR(Str(e, "key-env", "encryption.", &c.key.env, origin));
    LB_RETURN_IF_ERROR(Str(e, "key-id", "encryption.", &c.key.id, origin));
    if (YAML::Node old = e["old-keys"]) {
      if (!old.IsSequence()) return Bad(origin, "'encryption.old-keys' must be a list of {id, file|env}");
      for (const auto& o : old) {
        LB_RETURN_IF_ERROR(CheckKeys(o, "encryption.old-keys", {"id", "file", "env"}, origin));
        codec::KeySource k;
        LB_RETURN_IF_ERROR(Str(o, "id", "encryption.old-keys.", &k.id, origin));
        LB_RETURN_IF_ERROR(Str(o, "file", "encryption.old-keys.", &k.file, origin));
        LB_RETURN_IF_ERROR(Str(o, "env", "encryption.old-keys.", &k.env, origin));
        c.old_keys.push_back(k);
      }
    }
  }

  if (YAML::Node t = root["tls"]) {
    LB_RETURN_IF_ERROR(CheckKeys(t, "tls", {"cert", "key", "client-ca"}, origin));
    LB_RETURN_IF_ERROR(Str(t, "cert", "tls.", &c.tls_cert, origin));
    LB_RETURN_IF_ERROR(Str(t, "key", "tls.", &c.tls_key, origin));
    LB_RETURN_IF_ERROR(Str(t, "client-ca", "tls.", &c.tls_client_ca, origin));
    if (c.tls_cert.empty() || c.tls_key.empty()) return Bad(origin, "'tls' needs both 'cert' and 'key'");
  }

  std::string mode = "process";
  LB_RETURN_IF_ERROR(Str(root, "mode", "", &mode, origin));
  if (mode == "process") {
    c.mode = ControlMode::kProcess;
  } else if (mode == "systemd") {
    c.mode = ControlMode::kSystemd;
  } else if (mode == "commands") {
    c.mode = ControlMode::kCommands;
  } else {
    return Bad(origin, "'mode' must be process, systemd or commands (got '" + mode + "')");
  }

  if (YAML::Node e = root["etcd"]) {
    LB_RETURN_IF_ERROR(CheckKeys(e, "etcd", {"binary", "extra-args", "log-file", "cacert", "cert", "key"}, origin));
    LB_RETURN_IF_ERROR(Str(e, "binary", "etcd.", &c.etcd_binary, origin));
    LB_RETURN_IF_ERROR(Str(e, "log-file", "etcd.", &c.etcd_log_file, origin));
    LB_RETURN_IF_ERROR(Str(e, "cacert", "etcd.", &c.etcd_cacert, origin));
    LB_RETURN_IF_ERROR(Str(e, "cert", "etcd.", &c.etcd_cert, origin));
    LB_RETURN_IF_ERROR(Str(e, "key", "etcd.", &c.etcd_key, origin));
    if (YAML::Node a = e["extra-args"]) {
      if (!a.IsSequence()) return Bad(origin, "'etcd.extra-args' must be a list of strings");
      for (const auto& x : a) {
        if (!x.IsScalar()) return Bad(origin, "'etcd.extra-args' must be a list of strings");
        c.etcd_extra_args.push_back(x.as<std::string>());
      }
    }
  }
  if (c.etcd_log_file.empty()) c.etcd_log_file = c.data_dir + ".log";

  if (YAML::Node s = root["systemd"]) {
    LB_RETURN_IF_ERROR(CheckKeys(s, "systemd", {"unit"}, origin));
    LB_RETURN_IF_ERROR(Str(s, "unit", "systemd.", &c.systemd_unit, origin));
  }
  if (YAML::Node s = root["commands"]) {
    LB_RETURN_IF_ERROR(CheckKeys(s, "commands", {"start", "stop", "status"}, origin));
    LB_RETURN_IF_ERROR(Str(s, "start", "commands.", &c.command_start, origin));
    LB_RETURN_IF_ERROR(Str(s, "stop", "commands.", &c.command_stop, origin));
    LB_RETURN_IF_ERROR(Str(s, "status", "commands.", &c.command_status, origin));
  }
  if (c.mode == ControlMode::kSystemd && c.systemd_unit.empty()) {
    return Bad(origin, "mode systemd needs 'systemd.unit' (e.g. etcd.service)");
  }
  if (c.mode == ControlMode::kCommands &&
      (c.command_start.empty() || c.command_stop.empty() || c.command_status.empty())) {
    return Bad(origin, "mode commands needs 'commands.start', 'commands.stop' and 'commands.status'");
  }
  // A unit takes its client URLs from its own files, which override what the agent could set.
  if (c.mode == ControlMode::kSystemd && !c.quarantine_client_url.empty()) {
    return Bad(origin, "'member.quarantine-client-url' needs mode process or commands (a systemd unit's client URLs "
                       "come from its own files); remove it");
  }
  return c;
}

}  // namespace

const char* ControlModeName(ControlMode m) {
  switch (m) {
    case ControlMode::kProcess:
      return "process";
    case ControlMode::kSystemd:
      return "systemd";
    case ControlMode::kCommands:
      return "commands";
  }
  return "?";
}

Result<AgentConfig> ParseAgentConfig(const std::string& yaml, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Bad(origin, "not valid YAML: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  try {
    return Parse(root, origin);
  } catch (const YAML::Exception& e) {
    return Bad(origin, "line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read agent config " + path + " (check the path given to --config)");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseAgentConfig(ss.str(), path);
}

}  // namespace lifeboat::agent
