// AgentServer: the gRPC Agent service (agent.proto) for one member on this host, bearer-token
// authenticated, serving until Shutdown(). Mutating calls run one at a time; GetStatus never
// waits for them. The server owns the EtcdController for the configured mode.
#pragma once

#include <memory>
#include <string>

#include "agent/agent_config.h"
#include "base/logger.h"
#include "base/status.h"

namespace lifeboat::agent {

class AgentServer {
 public:
  // `token` empty means no authentication (only with config.insecure_no_auth). Unavailable when
  // the listen address cannot be bound. What the agent does is reported to `log`, which must
  // outlive the server.
  static Result<std::unique_ptr<AgentServer>> Start(const AgentConfig& config, const std::string& token, Logger& log);
  ~AgentServer();
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

  int port() const;  // the bound port (useful with "HOST:0")
  // Stops serving. In process mode the child etcd is stopped too (it cannot outlive its
  // supervisor unnoticed); in systemd/commands mode etcd is left running.
  void Shutdown();

 private:
  struct Impl;
  explicit AgentServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::agent
