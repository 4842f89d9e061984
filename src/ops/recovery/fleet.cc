#include "ops/recovery/fleet.h"

#include <set>
#include <thread>

namespace lifeboat::ops {

Result<Fleet> Fleet::Connect(const std::vector<std::string>& addresses, const std::string& token,
                             const agent::AgentTls& tls) {
  if (addresses.empty()) {
    return Status::InvalidArgument("no agents configured (set 'agents:' in the config or --agents HOST:PORT,...)");
  }
  Fleet f;
  f.members_.resize(addresses.size());
  auto res = ParallelFor(addresses.size(), [&](size_t i) -> Status {
    FleetMember& m = f.members_[i];
    m.address = addresses[i];
    LB_ASSIGN_OR_RETURN(m.client, agent::AgentClient::Connect(addresses[i], token, std::chrono::seconds(10), tls));
    LB_ASSIGN_OR_RETURN(m.status, m.client->GetStatus());
    return Status::OK();
  });
  LB_RETURN_IF_ERROR(Combine(res));
  std::set<std::string> names, urls;
  for (const auto& m : f.members_) {
    if (!names.insert(m.status.member_name).second) {
      return Status::InvalidArgument("two agents serve member " + m.status.member_name + " (fix the agents list)");
    }
    if (!urls.insert(m.status.peer_url).second || !urls.insert(m.status.client_url).second ||
        (!m.status.quarantine_client_url.empty() && !urls.insert(m.status.quarantine_client_url).second)) {
      return Status::InvalidArgument("agent " + m.address + " repeats another agent's URL (fix its member config)");
    }
  }
  return f;
}

int Fleet::Find(const std::string& name) const {
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].status.member_name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Fleet::InitialCluster() const {
  std::string out;
  for (const auto& m : members_) out += (out.empty() ? "" : ",") + m.status.member_name + "=" + m.status.peer_url;
  return out;
}

std::vector<std::string> Fleet::ClientUrls() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back(m.status.client_url);
  return out;
}

}  // namespace lifeboat::ops
