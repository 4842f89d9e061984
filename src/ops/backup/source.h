// Choosing the member a backup streams from. By default a healthy follower close to the leader,
// so the leader (which carries every write) is spared the snapshot's CPU and disk reads.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "ops/verify/survey.h"

namespace lifeboat::ops {

struct SourcePolicy {
  // "follower" (default), "leader", "any" (a follower, else the leader), or a member name.
  std::string mode = "follower";
  // A follower qualifies when its applied raft index is at most this far behind the leader's.
  uint64_t max_lag = 1000;
};

// Index into report.reports of the chosen member, or FailedPrecondition explaining why none fits.
Result<size_t> ChooseSource(const ClusterReport& report, const SourcePolicy& policy);

// InvalidArgument when mode is empty. Any other word is taken as a mode above or a member name;
// ChooseSource checks the name against the cluster.
Status ValidateSourceMode(const std::string& mode);

}  // namespace lifeboat::ops
