// Check: judges from a ClusterReport (taken with hashes) whether every member holds the same data.
// Members that agree form a group; when there is more than one group, every member outside the
// reference group is divergent: the group that started from more history (revision minus
// applied index: the one member a one-member restore filled, not the ones it left empty), then
// the largest, then the leader's.
// The findings say how they differ, in numbers an operator can check with etcdctl.
#pragma once

#include <string>
#include <vector>

#include "ops/verify/survey.h"

namespace lifeboat::ops {

struct CheckResult {
  enum class Verdict { kConsistent, kDivergent, kIncomplete, kCannotJudge };
  Verdict verdict = Verdict::kCannotJudge;
  // Indexes into ClusterReport::reports of members that agree; the reference group first.
  std::vector<std::vector<size_t>> groups;
  std::vector<size_t> divergent;            // indexes of members outside the reference group
  std::vector<std::string> findings;        // one line each
};

// kCannotJudge when fewer than 2 of several members can be compared (learners and unreachable
// members cannot), kDivergent when there is more than one group, kIncomplete when some member
// was not compared, kConsistent otherwise.
CheckResult Judge(const ClusterReport& report);

const char* VerdictName(CheckResult::Verdict v);

}  // namespace lifeboat::ops
