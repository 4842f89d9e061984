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

namespace {

// The leader's applied index, or without a reachable leader the highest any member reports:
// what a follower's lag is measured against.
uint64_t LeaderApplied(const ClusterReport& report, std::optional<size_t> leader) {
  if (leader) return report.reports[*leader].status.raft_applied_index;
  uint64_t applied = 0;
  for (const auto& r : report.reports) {
    if (r.reachable) applied = std::max(applied, r.status.raft_applied_index);
  }
  return applied;
}

// --source leader: the leader, when it can serve.
Result<size_t> ChooseLeader(const ClusterReport& report, std::optional<size_t> leader, uint64_t leader_applied,
                            uint64_t max_lag) {
  if (!leader) return Status::FailedPrecondition("the cluster has no reachable leader (check `lifeboat status`)");
  if (std::string why = Unfit(report.reports[*leader], leader_applied, max_lag); !why.empty()) {
    return Status::FailedPrecondition("the leader " + report.reports[*leader].label() + " cannot serve a backup: " +
                                      why);
  }
  return *leader;
}

// --source NAME: that member, even when it lags (the operator asked for it), but never an
// unreachable one.
Result<size_t> ChooseNamed(const ClusterReport& report, const std::string& name) {
  const auto& rs = report.reports;
  for (size_t i = 0; i < rs.size(); ++i) {
    if (rs[i].name != name) continue;
    if (!rs[i].reachable) {
      return Status::FailedPrecondition("member " + name + " is unreachable: " + rs[i].error);
    }
    return i;
  }
  std::string names;
  for (const auto& r : rs) names += (names.empty() ? "" : ", ") + r.label();
  return Status::InvalidArgument("--source " + name + ": no such member (members: " + names +
                                 "; or use follower, leader, any)");
}

// --source follower or any: the fit follower with the least lag, then the first by name; for
// any, the leader when no follower fits.
Result<size_t> ChooseFollower(const ClusterReport& report, std::optional<size_t> leader, uint64_t leader_applied,
                              const SourcePolicy& policy) {
  const auto& rs = report.reports;
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
  if (policy.mode == "any" && leader && Unfit(rs[*leader], leader_applied, policy.max_lag).empty()) return *leader;
  return Status::FailedPrecondition("no healthy follower to back up from (" +
                                    (reasons.empty() ? std::string("the cluster has only a leader") : reasons) +
                                    "); use --source any to allow the leader");
}

}  // namespace

Result<size_t> ChooseSource(const ClusterReport& report, const SourcePolicy& policy) {
  std::optional<size_t> leader;
  for (size_t i = 0; i < report.reports.size(); ++i) {
    if (report.reports[i].is_leader) leader = i;
  }
  const uint64_t leader_applied = LeaderApplied(report, leader);
  if (policy.mode == "leader") return ChooseLeader(report, leader, leader_applied, policy.max_lag);
  if (policy.mode != "follower" && policy.mode != "any") return ChooseNamed(report, policy.mode);
  return ChooseFollower(report, leader, leader_applied, policy);
}

}  // namespace lifeboat::ops
