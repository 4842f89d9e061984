// Which member a one-member recovery may replace (remove, wipe aside, re-add, resync) without
// risking the cluster. Pure rules over a survey taken with hashes, so they are tested without a
// cluster; the orchestration that performs the steps through agents builds on them.
#pragma once

#include <string>

#include "base/status.h"
#include "ops/verify/check.h"
#include "ops/verify/survey.h"

namespace lifeboat::ops {

// Index into report.reports of member `name`, when replacing it is safe:
// - the voting members left after removing it must still hold a quorum of themselves, all healthy;
// - it must not be the only healthy member;
// - a healthy member that agrees with the others is refused unless `force`.
// FailedPrecondition explains a refusal; InvalidArgument for an unknown name.
Result<size_t> ChooseMemberToRecover(const ClusterReport& report, const CheckResult& check,
                                     const std::string& name, bool force);

// For `recover-member --auto`: the one member that is unreachable or divergent. NotFound when
// every member is healthy; FailedPrecondition when more than one is broken (recover them one at
// a time by name, or restore the whole cluster).
Result<size_t> FindBrokenMember(const ClusterReport& report, const CheckResult& check);

}  // namespace lifeboat::ops
