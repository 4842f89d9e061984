// UnitSettings: what a systemd unit gives etcd, read the way systemd and etcd read it: the
// unit's Environment=, then each EnvironmentFile= in order (a later one wins), then the flags of
// ExecStart= with $VAR and ${VAR} expanded (a flag beats its ETCD_* variable, as in etcd). The
// systemd controller starts etcd with an environment file of its own, read last: SystemdStartEnv
// puts in it the cluster settings of the start, and the member's name, data dir and URLs only
// where the unit gives none, so every URL the operator gave etcd (a 127.0.0.1 listener for a
// local kube-apiserver, say) stays.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "host/agent_config.h"
#include "host/controller.h"

namespace lifeboat::host {

struct UnitSettings {
  std::map<std::string, std::string> env;  // after Environment= and the EnvironmentFiles read
  std::vector<std::string> argv;           // ExecStart=, expanded

  // etcd's setting `flag` ("listen-client-urls"): the flag's value, else ETCD_LISTEN_CLIENT_URLS;
  // "" when the unit gives neither.
  std::string Get(const std::string& flag) const;
  bool InFlags(const std::string& flag) const;
};

// KEY=VALUE lines of an EnvironmentFile: comments (#, ;), blank lines, quoted values ('' or "",
// with \ escapes in ""), and a trailing \ joining the next line.
std::map<std::string, std::string> ParseEnvironmentFile(const std::string& text);

// From `systemctl show -p Environment,EnvironmentFiles,ExecStart UNIT`. `read_file` returns an
// EnvironmentFile's text ("" when missing); the file `skip` (the agent's own) is not read.
UnitSettings ParseUnitSettings(const std::string& show, const std::string& skip,
                               const std::function<std::string(const std::string&)>& read_file);

// The variables of the agent's environment file for this start (docs/agent.md). FailedPrecondition
// naming both values when the unit gives etcd another name or data dir than the agent's config,
// does not listen on its client URL, or sets in ExecStart= what this start must set.
Result<std::map<std::string, std::string>> SystemdStartEnv(const AgentConfig& config, const StartArgs& args,
                                                           const UnitSettings& unit, const std::string& unit_name);

}  // namespace lifeboat::host
