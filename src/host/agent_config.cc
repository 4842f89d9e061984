#include "host/agent_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "config/key_section.h"
#include "config/yaml_section.h"

namespace lifeboat::host {
namespace {

Status Bad(const std::string& origin, const std::string& what) {
  return Status::InvalidArgument("agent config " + origin + ": " + what);
}

Status CheckUrl(const std::string& url, const std::string& key, const std::string& origin) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Bad(origin, "'" + key + "' must be one http:// or https:// URL (got '" + url + "')");
  }
  if (url.find(',') != std::string::npos) return Bad(origin, "'" + key + "' must be a single URL");
  return Status::OK();
}

// The nested sections, captured by the top level and read by the steps below.
struct Sections {
  YAML::Node member = config::Absent(), encryption = config::Absent(), tls = config::Absent(),
             etcd = config::Absent(), systemd = config::Absent(), commands = config::Absent();
  std::string mode = "process";
};

// The top level: where to listen, who may call, and which stores FetchBackup may read.
// Unknown keys are errors: a misspelt "token_file" must not silently disable authentication.
Status ReadTop(const YAML::Node& root, const std::string& origin, AgentConfig& c, Sections& n) {
  const std::string where = "agent config " + origin;
  if (!root.IsMap()) return Bad(origin, "the file must be a mapping of key: value");
  config::YamlSection top(where, "");
  top.String("listen", &c.listen)
      .String("token-file", &c.token_file)
      .String("observe-token-file", &c.observe_token_file)
      .StringList("stores", &c.stores)
      .Bool("insecure-no-auth", &c.insecure_no_auth)
      .Node("member", &n.member)
      .String("mode", &n.mode)
      .Node("etcd", &n.etcd)
      .Node("systemd", &n.systemd)
      .Node("commands", &n.commands)
      .String("staging-dir", &c.staging_dir)
      .Uint64("min-free-bytes", &c.min_free_bytes)
      .Node("encryption", &n.encryption)
      .Node("tls", &n.tls);
  LB_RETURN_IF_ERROR(top.Read(root));
  auto colon = c.listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == c.listen.size()) {
    return Bad(origin, "'listen' must be HOST:PORT (e.g. 127.0.0.1:9438), got '" + c.listen + "'");
  }
  if (c.token_file.empty() && !c.insecure_no_auth) {
    return Bad(origin, "'token-file' is required (a file holding the bearer token; or set insecure-no-auth: true "
                       "for a test setup)");
  }
  if (!c.observe_token_file.empty() && c.observe_token_file == c.token_file) {
    return Bad(origin, "'observe-token-file' must be another file than 'token-file' (the observe token only reads "
                       "status; give it a token of its own)");
  }
  for (const auto& s : c.stores) {
    if (s.rfind("file:///", 0) != 0 && s.rfind("s3://", 0) != 0 && s.rfind("/", 0) != 0) {
      return Bad(origin, "'stores' must list store URLs (file:///path or s3://bucket/prefix?...), got '" + s + "'");
    }
  }
  return Status::OK();
}

// The one member this host runs, and where its backups are staged.
Status ReadMember(const YAML::Node& m, const std::string& origin, AgentConfig& c) {
  if (!config::Given(m)) return Bad(origin, "'member' is required (name, data-dir, client-url, peer-url)");
  config::YamlSection member("agent config " + origin, "member");
  member.String("name", &c.member_name)
      .String("data-dir", &c.data_dir)
      .String("client-url", &c.client_url)
      .String("peer-url", &c.peer_url)
      .String("quarantine-client-url", &c.quarantine_client_url);
  if (!m.IsMap()) return Bad(origin, "'member' must be a mapping (name, data-dir, client-url, peer-url)");
  LB_RETURN_IF_ERROR(member.Read(m));
  for (auto [v, k] : {std::pair{&c.member_name, "member.name"}, {&c.data_dir, "member.data-dir"},
                      {&c.client_url, "member.client-url"}, {&c.peer_url, "member.peer-url"}}) {
    if (v->empty()) return Bad(origin, std::string("'") + k + "' is required");
  }
  if (c.data_dir.front() != '/') return Bad(origin, "'member.data-dir' must be an absolute path");
  while (c.data_dir.size() > 1 && c.data_dir.back() == '/') c.data_dir.pop_back();
  LB_RETURN_IF_ERROR(CheckUrl(c.client_url, "member.client-url", origin));
  LB_RETURN_IF_ERROR(CheckUrl(c.peer_url, "member.peer-url", origin));
  if (!c.quarantine_client_url.empty()) {
    LB_RETURN_IF_ERROR(CheckUrl(c.quarantine_client_url, "member.quarantine-client-url", origin));
    if (c.quarantine_client_url == c.client_url || c.quarantine_client_url == c.peer_url) {
      return Bad(origin, "'member.quarantine-client-url' must be a URL of its own (another port), not the client or "
                         "peer URL");
    }
  }
  if (c.staging_dir.empty()) c.staging_dir = c.data_dir + ".lifeboat-staging";
  if (c.staging_dir.front() != '/') return Bad(origin, "'staging-dir' must be an absolute path");
  return Status::OK();
}

// The keys that decrypt backups this agent stages, and the agent's own TLS.
Status ReadSecrets(const Sections& n, const std::string& origin, AgentConfig& c) {
  const std::string where = "agent config " + origin;
  if (config::Given(n.encryption)) {
    LB_RETURN_IF_ERROR(config::ReadKeySection(n.encryption, where, "encryption", config::KeySpelling::kAgent, &c.key,
                                              &c.old_keys));
    c.has_encryption = true;
  }
  if (config::Given(n.tls)) {
    config::YamlSection t(where, "tls");
    t.String("cert", &c.tls_cert).String("key", &c.tls_key).String("client-ca", &c.tls_client_ca);
    LB_RETURN_IF_ERROR(t.Read(n.tls));
    if (c.tls_cert.empty() || c.tls_key.empty()) return Bad(origin, "'tls' needs both 'cert' and 'key'");
  }
  return Status::OK();
}

// How this host's etcd is run and reached: the mode and what it needs.
Status ReadControl(const Sections& n, const std::string& origin, AgentConfig& c) {
  const std::string where = "agent config " + origin;
  if (n.mode == "process") {
    c.mode = ControlMode::kProcess;
  } else if (n.mode == "systemd") {
    c.mode = ControlMode::kSystemd;
  } else if (n.mode == "commands") {
    c.mode = ControlMode::kCommands;
  } else {
    return Bad(origin, "'mode' must be process, systemd or commands (got '" + n.mode + "')");
  }
  config::YamlSection e(where, "etcd");
  e.String("binary", &c.etcd_binary)
      .StringList("extra-args", &c.etcd_extra_args)
      .String("log-file", &c.etcd_log_file)
      .String("user", &c.etcd_user)
      .String("password-file", &c.etcd_password_file)
      .String("cacert", &c.etcd_cacert)
      .String("cert", &c.etcd_cert)
      .String("key", &c.etcd_key);
  LB_RETURN_IF_ERROR(e.Read(n.etcd));
  if (c.etcd_log_file.empty()) c.etcd_log_file = c.data_dir + ".log";
  config::YamlSection sd(where, "systemd");
  sd.String("unit", &c.systemd_unit);
  LB_RETURN_IF_ERROR(sd.Read(n.systemd));
  config::YamlSection cmd(where, "commands");
  cmd.String("start", &c.command_start).String("stop", &c.command_stop).String("status", &c.command_status);
  LB_RETURN_IF_ERROR(cmd.Read(n.commands));
  if (c.mode == ControlMode::kSystemd && c.systemd_unit.empty()) {
    return Bad(origin, "mode systemd needs 'systemd.unit' (e.g. etcd.service)");
  }
  if (c.mode == ControlMode::kCommands &&
      (c.command_start.empty() || c.command_stop.empty() || c.command_status.empty())) {
    return Bad(origin, "mode commands needs 'commands.start', 'commands.stop' and 'commands.status'");
  }
  return Status::OK();
}

Result<AgentConfig> Parse(const YAML::Node& root, const std::string& origin) {
  AgentConfig c;
  Sections n;
  LB_RETURN_IF_ERROR(ReadTop(root, origin, c, n));
  LB_RETURN_IF_ERROR(ReadMember(n.member, origin, c));
  LB_RETURN_IF_ERROR(ReadSecrets(n, origin, c));
  LB_RETURN_IF_ERROR(ReadControl(n, origin, c));
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

}  // namespace lifeboat::host
