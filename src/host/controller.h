// EtcdController: starts, stops and observes the local etcd, in one of three modes: `process`
// (the agent runs etcd as its child, and a restarted agent adopts the etcd its predecessor left
// running), `systemd` (a unit) or `commands` (operator commands).
// Start() only launches; the service waits for the member to answer. Calls are serialized by
// the caller except IsRunning()/Pid(), which may run concurrently with them.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/agent_config.h"
#include "base/status.h"

namespace lifeboat::host {

struct StartArgs {
  std::string initial_cluster;
  std::string initial_cluster_state;  // new | existing
  std::string initial_cluster_token;
  bool quarantine = false;  // serve clients on the config's quarantine URL only
};

class EtcdController {
 public:
  virtual ~EtcdController() = default;
  virtual Status Start(const StartArgs& args) = 0;
  // Idempotent; returns whether etcd was running. DeadlineExceeded when it is still running then.
  virtual Result<bool> Stop(std::chrono::milliseconds deadline) = 0;
  virtual Result<bool> IsRunning() = 0;
  virtual int64_t Pid() { return 0; }  // 0 when unknown or not running
  // While a start is awaited: an error once it can no longer succeed (systemd mode: the unit
  // failed, etcd exited and was restarted, its log shows another cluster), so the wait ends
  // then instead of at its deadline. OK otherwise.
  virtual Status CheckStarting() { return Status::OK(); }
  // The last lines of etcd's log, quoted when a start fails.
  virtual std::string LogTail(int lines) = 0;
  // Process mode: how the etcd an earlier agent started was recognised and taken over at
  // construction (host/liveness.h FindRunningEtcd); "" when none was.
  virtual std::string Adopted() const { return ""; }
};

// Picks the implementation for config.mode.
std::unique_ptr<EtcdController> NewController(const AgentConfig& config);
std::unique_ptr<EtcdController> NewProcessController(const AgentConfig& config);
std::unique_ptr<EtcdController> NewSystemdController(const AgentConfig& config);
std::unique_ptr<EtcdController> NewCommandsController(const AgentConfig& config);

// The client URL etcd serves with these args: the quarantine URL or the member's own.
const std::string& ServedClientUrl(const AgentConfig& config, const StartArgs& args);
// etcd's flags for this member: name, data dir, listen/advertise URLs, initial cluster.
std::vector<std::string> MemberFlags(const AgentConfig& config, const StartArgs& args);
// The same as ETCD_* variables (etcd reads them when the flag is not given; it refuses to start
// when a variable and its flag are both set), for the commands mode (as LIFEBOAT_*). The systemd
// mode keeps what its unit gives etcd instead (host/unit_settings.h).
std::map<std::string, std::string> MemberEnv(const AgentConfig& config, const StartArgs& args);

}  // namespace lifeboat::host
