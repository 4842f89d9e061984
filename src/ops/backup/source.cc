#include "ops/backup/source.h"

#include <algorithm>
#include <optional>

namespace lifeboat::ops {
namespace {

// Why a member cannot serve a backup, or "" when it can.
std::string Unfit(const MemberReport& r, uint64_t leader_applied, uint64_t max_lag) {
  if (!r.reachable) return "unreachable";
  if (r.status.is_learner) return "a learner";
  if (!r.alarms.empty()) return "alarm " + r.alarms.front();
  if (!r.status.errors.empty()) return "error: " + r.status.errors.front();
  uint64_t applied = r.status.raft_applied_index;
  if (leader_applied > applied && leader_applied - applied > max_lag) {
    return std::to_string(leader_applied - applied) + " entries behind the leader";
  }
  return "";
}

}  // namespace

Status ValidateSourceMode(const std::string& mode) {
  if (mode.empty()) {
    return Status::InvalidArgument("--source is empty (use follower, leader, any or a member name)");
  }
  return Status::OK();
}

Result<size_t> ChooseSource(const ClusterReport& report, const SourcePolicy& policy) {
  const auto& rs = report.reports;
  std::optional<size_t> leader;
  for (size_t i = 0; i < rs.size(); ++i) {
    if (rs[i].is_leader) leader = i;
  }
  uint64_t leader_applied = 0;
  if (leader) {
    leader_applied = rs[*leader].status.raft_applied_index;
  } else {
    for (const auto& r : rs) {
      if (r.reachable) leader_applied = std::max(leader_applied, r.status.raft_applied_index);
    }
  }

  const std::string& mode = policy.mode;
  if (mode == "leader") {
    if (!leader) return Status::FailedPrecondition("the cluster has no reachable leader (check `lifeboat status`)");
    if (std::string why = Unfit(rs[*leader], leader_applied, policy.max_lag); !why.empty()) {
      return Status::FailedPrecondition("the leader " + rs[*leader].label() + " cannot serve a backup: " + why);
    }
    return *leader;
  }
  if (mode != "follower" && mode != "any") {
    for (size_t i = 0; i < rs.size(); ++i) {
      if (rs[i].name != mode) continue;
      // A member named explicitly is used even when it lags: the operator asked for it.
      if (!rs[i].reachable) {
        return Status::FailedPrecondition("member " + mode + " is unreachable: " + rs[i].error);
      }
      return i;
    }
    std::string names;
    for (const auto& r : rs) names += (names.empty() ? "" : ", ") + r.label();
    return Status::InvalidArgument("--source " + mode + ": no such member (members: " + names +
                                   "; or use follower, leader, any)");
  }

  std::optional<size_t> best;
  std::string reasons;
  for (size_t i = 0; i < rs.size(); ++i) {
    if (leader && i == *leader) continue;
    if (std::string why = Unfit(rs[i], leader_applied, policy.max_lag); !why.empty()) {
      reasons += (reasons.empty() ? "" : "; ") + rs[i].label() + " " + why;
      continue;
    }
    auto lag = [&](size_t k) { return leader_applied - std::min(leader_applied, rs[k].status.raft_applied_index); };
    if (!best || lag(i) < lag(*best) || (lag(i) == lag(*best) && rs[i].name < rs[*best].name)) best = i;
  }
  if (best) return *best;
  if (mode == "any" && leader && Unfit(rs[*leader], leader_applied, policy.max_lag).empty()) return *leader;
  return Status::FailedPrecondition("no healthy follower to back up from (" +
                                    (reasons.empty() ? std::string("the cluster has only a leader") : reasons) +
                                    "); use --source any to allow the leader");
}

}  // namespace lifeboat::ops
