// Fleet: the coordinator's view of the host agents of one cluster, one per member. Connects to
// every agent and reads its status concurrently; a recovery starts only when every agent
// answered and authenticated, so nothing is changed on a half-reachable fleet.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_client.h"
#include "base/parallel.h"
#include "base/status.h"

namespace lifeboat::ops {

struct FleetMember {
  std::string address;
  std::unique_ptr<agent::AgentClient> client;
  agent::AgentStatus status;  // as of Connect / Refresh
};

class Fleet {
 public:
  // Connects to every address and reads its status. Fails with the first agent that is
  // unreachable or refuses the token (all are tried; the message names every failure), or when
  // two agents claim the same member name or URL.
  static Result<Fleet> Connect(const std::vector<std::string>& addresses, const std::string& token,
                               const agent::AgentTls& tls = {});

  std::vector<FleetMember>& members() { return members_; }
  const std::vector<FleetMember>& members() const { return members_; }
  // Index of the agent serving member `name`; -1 when none.
  int Find(const std::string& name) const;
  // "m1=http://...:2380,m2=..." over every agent, in agent order.
  std::string InitialCluster() const;
  std::vector<std::string> ClientUrls() const;

 private:
  std::vector<FleetMember> members_;
};

// One step of a recovery as reported to the operator: what, how long, what came of it.
struct StepReport {
  std::string step;
  double seconds = 0;
  std::string detail;
  bool ok = true;
};

}  // namespace lifeboat::ops
