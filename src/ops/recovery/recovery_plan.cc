#include "ops/recovery/recovery_plan.h"

#include <algorithm>

namespace lifeboat::ops {
namespace {

// Unreachable, divergent, or a learner: a member recover-member has something to do for (a
// learner left by an interrupted recovery still needs its promotion).
bool Broken(const ClusterReport& report, const CheckResult& check, size_t i) {
  return !report.reports[i].reachable || report.reports[i].status.is_learner ||
         std::find(check.divergent.begin(), check.divergent.end(), i) != check.divergent.end();
}

}  // namespace

Result<size_t> FindBrokenMember(const ClusterReport& report, const CheckResult& check) {
  std::vector<size_t> broken;
  for (size_t i = 0; i < report.reports.size(); ++i) {
    if (Broken(report, check, i)) broken.push_back(i);
  }
  if (broken.empty()) return Status::NotFound("every member is healthy and consistent: nothing to recover");
  if (broken.size() > 1) {
    std::string names;
    for (size_t i : broken) names += (names.empty() ? "" : ", ") + report.reports[i].label();
    return Status::FailedPrecondition(std::to_string(broken.size()) + " members are broken (" + names +
                                      "): recover them one at a time by name, or restore the whole cluster");
  }
  return broken.front();
}

Result<size_t> ChooseMemberToRecover(const ClusterReport& report, const CheckResult& check, const std::string& name,
                                     bool force) {
  const auto& rs = report.reports;
  auto it = std::find_if(rs.begin(), rs.end(), [&](const MemberReport& r) { return r.name == name; });
  if (it == rs.end()) {
    std::string names;
    for (const auto& r : rs) names += (names.empty() ? "" : ", ") + r.label();
    return Status::InvalidArgument("no member named " + name + " (members: " + names + ")");
  }
  size_t target = static_cast<size_t>(it - rs.begin());

  size_t voters_left = 0, healthy_left = 0, healthy_total = 0;
  for (size_t i = 0; i < rs.size(); ++i) {
    bool healthy = !Broken(report, check, i);
    healthy_total += healthy;
    if (i == target || rs[i].status.is_learner) continue;
    voters_left++;
    healthy_left += healthy;
  }
  bool target_healthy = !Broken(report, check, target);
  if (target_healthy && healthy_total == 1) {
    return Status::FailedPrecondition(name + " is the only healthy member: replacing it would lose the data "
                                      "(restore the whole cluster from a backup instead)");
  }
  size_t quorum = voters_left / 2 + 1;
  if (healthy_left < quorum) {
    return Status::FailedPrecondition("removing " + name + " leaves " + std::to_string(healthy_left) +
                                      " healthy of " + std::to_string(voters_left) + " voting members, below a quorum of " +
                                      std::to_string(quorum) + " (fix the other members first, or restore the whole cluster)");
  }
  if (target_healthy && !force) {
    return Status::FailedPrecondition(name + " is healthy and holds the same data as the others; refusing to replace "
                                      "it (pass --force to do it anyway)");
  }
  return target;
}

}  // namespace lifeboat::ops
