// AgentServer: the gRPC Agent service (agent.proto) for one member on this host, bearer-token
// authenticated, serving until Shutdown(). Mutating calls run one at a time, each admitted under
// the live recovery lease's owner and epoch, checked while it holds the agent's one operation
// lock, so a call from a coordinator whose lease ended can never interleave with the new
// holder's. GetStatus never waits for them. The server owns the host::EtcdController for the
// configured mode.
#pragma once

#include <memory>
#include <string>

#include "host/agent_config.h"
#include "base/logger.h"
#include "base/status.h"

namespace lifeboat::agent {

// The recover token may call everything; the observe token (optional) only GetStatus.
struct AgentTokens {
  std::string recover, observe;
};

class AgentServer {
 public:
  // `tokens.recover` empty means no authentication (only with config.insecure_no_auth).
  // Unavailable when the listen address cannot be bound. What the agent does is reported to
  // `log`, which must outlive the server.
  static Result<std::unique_ptr<AgentServer>> Start(const host::AgentConfig& config, const AgentTokens& tokens,
                                                    Logger& log);
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
