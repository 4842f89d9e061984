#include "ops/verify/check.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "etcd/types.h"

namespace lifeboat::ops {
namespace {

std::string Facts(const MemberReport& r) {
  return "revision " + std::to_string(r.status.header.revision) +
         (r.keys ? ", " + std::to_string(*r.keys) + " keys" : std::string());
}

// Why a and b cannot hold the same data, or "" when nothing shows they differ.
std::string Difference(const ClusterReport& rep, const MemberReport& a, const MemberReport& b) {
  const auto& sa = a.status;
  const auto& sb = b.status;
  // Every applied raft entry raises the revision by at most one, so two members that applied the
  // same log can be apart in revision by no more than they are apart in applied index.
  int64_t drev = std::llabs(sa.header.revision - sb.header.revision);
  int64_t didx = std::llabs(static_cast<int64_t>(sa.raft_applied_index) - static_cast<int64_t>(sb.raft_applied_index));
  int64_t slack = rep.settled ? 0 : 2;
  if (drev > didx + slack) {
    return "revision " + std::to_string(sa.header.revision) + " vs " + std::to_string(sb.header.revision) +
           " at raft applied index " + std::to_string(sa.raft_applied_index) + " vs " +
           std::to_string(sb.raft_applied_index);
  }
  if (a.hash && b.hash && a.compact_revision == b.compact_revision && *a.hash != *b.hash) {
    return "HashKV at revision " + std::to_string(rep.common_revision) + " " + std::to_string(*a.hash) + " vs " +
           std::to_string(*b.hash);
  }
  if (rep.settled && (a.hash.has_value() != b.hash.has_value())) {
    const MemberReport& failed = a.hash ? b : a;
    return "HashKV at revision " + std::to_string(rep.common_revision) + " fails on " + failed.label() + " (" +
           failed.hash_error + ")";
  }
  if (a.keys_at_common && b.keys_at_common) {
    if (*a.keys_at_common == *b.keys_at_common) return "";
    return std::to_string(*a.keys_at_common) + " vs " + std::to_string(*b.keys_at_common) + " keys at revision " +
           std::to_string(rep.common_revision);
  }
  // Counts "now" are taken one member after the other, after HashKV: a write in between (the
  // daemon's own tick claim, at the same second as its check) makes them differ on a healthy
  // cluster. They stand in only when a count at the common revision is missing.
  if (rep.settled && a.keys && b.keys && *a.keys != *b.keys) {
    return std::to_string(*a.keys) + " vs " + std::to_string(*b.keys) + " keys now";
  }
  return "";
}

// The members whose data can be compared (reachable voters), in report order. Every other member,
// and every alarm, becomes a finding.
std::vector<size_t> ComparableMembers(const ClusterReport& report, std::vector<std::string>* findings) {
  std::vector<size_t> comparable;
  for (size_t i = 0; i < report.reports.size(); ++i) {
    const auto& r = report.reports[i];
    if (r.reachable && r.status.is_learner) {
      // It serves no HashKV, so it cannot be compared; one left behind by an interrupted
      // recover-member only needs its promotion.
      findings->push_back(r.label() + " is a learner (added, not promoted): not compared; if a recover-member was "
                          "interrupted, finish it: lifeboat recover-member " + r.label());
    } else if (r.reachable) {
      comparable.push_back(i);
      for (const auto& a : r.alarms) findings->push_back(r.label() + " has alarm " + a);
    } else {
      findings->push_back(r.label() + " not checked: " + r.error);
    }
  }
  return comparable;
}

// Greedy grouping: a member joins the first group whose first member shows no difference.
std::vector<std::vector<size_t>> GroupBySameData(const ClusterReport& report, const std::vector<size_t>& members) {
  std::vector<std::vector<size_t>> groups;
  for (size_t i : members) {
    bool placed = false;
    for (auto& g : groups) {
      if (Difference(report, report.reports[g.front()], report.reports[i]).empty()) {
        g.push_back(i);
        placed = true;
        break;
      }
    }
    if (!placed) groups.push_back({i});
  }
  return groups;
}

// Members that apply the same raft log keep revision - applied index apart by a fixed amount:
// the history each started from. True when group x started from more history than group y.
bool StartsWithMore(const ClusterReport& report, const std::vector<size_t>& x, const std::vector<size_t>& y) {
  auto base = [&](const std::vector<size_t>& g) {
    const auto& st = report.reports[g.front()].status;
    return st.header.revision - static_cast<int64_t>(st.raft_applied_index);
  };
  const int64_t slack = report.settled ? 0 : 2;
  return base(x) > base(y) + slack;
}

// Puts the reference group first. The group that started from more (the one member the runbook's
// trap restored, against two that started empty) is the reference, even as the minority: the
// others lack data it holds, and it has every write made since. Between groups that started
// alike (a hash mismatch), the majority decides, then the leader's group.
void OrderReferenceFirst(const ClusterReport& report, std::vector<std::vector<size_t>>* groups) {
  auto has_leader = [&](const std::vector<size_t>& g) {
    return std::any_of(g.begin(), g.end(), [&](size_t i) { return report.reports[i].is_leader; });
  };
  std::stable_sort(groups->begin(), groups->end(), [&](const auto& x, const auto& y) {
    if (StartsWithMore(report, x, y)) return true;
    if (StartsWithMore(report, y, x)) return false;
    if (x.size() != y.size()) return x.size() > y.size();
    return has_leader(x) && !has_leader(y);
  });
}

// Marks every member outside the reference group (out->groups.front()) divergent, with a finding
// that says how it differs from the reference.
void ReportDivergent(const ClusterReport& report, CheckResult* out) {
  const auto& ref_group = out->groups.front();
  const MemberReport& ref = report.reports[ref_group.front()];
  std::string ref_names;
  for (size_t i : ref_group) ref_names += (ref_names.empty() ? "" : ", ") + report.reports[i].label();
  for (size_t g = 1; g < out->groups.size(); ++g) {
    for (size_t i : out->groups[g]) {
      out->divergent.push_back(i);
      const MemberReport& m = report.reports[i];
      if (StartsWithMore(report, ref_group, out->groups[g])) {
        const std::string holds = ref_group.size() == 1 ? " holds" : " hold";
        out->findings.push_back(
            (m.status.header.revision <= 1 ? m.label() + " is empty (" + Facts(m) + ") while " + ref_names + holds +
                                                 " the data (" + Facts(ref) + ")"
                                           : m.label() + " (" + Facts(m) + ") lacks data " + ref_names + holds + " (" +
                                                 Facts(ref) + "): " + Difference(report, m, ref)) +
            ": restored on some members only? Restore every member from one backup (lifeboat restore-cluster)");
        continue;
      }
      out->findings.push_back(m.label() + " (" + Facts(m) + ") holds different data than " + ref_names + " (" +
                              Facts(ref) + "): " + Difference(report, m, ref));
    }
  }
}

// The finding that names every member's version when they run different ones, or nullopt. Not a
// verdict of its own (a rolling upgrade passes through it), but what the operator must know
// before a restore or a member recovery: a restored snapshot must not meet an older server.
std::optional<std::string> MixedVersions(const ClusterReport& report, const std::vector<size_t>& members) {
  std::string versions;
  bool mixed = false;
  for (size_t i : members) {
    const auto& s = report.reports[i].status;
    if (s.version != report.reports[members.front()].status.version ||
        s.storage_version != report.reports[members.front()].status.storage_version) {
      mixed = true;
    }
    versions += (versions.empty() ? "" : ", ") + report.reports[i].label() + " " + s.version +
                (s.storage_version.empty() ? "" : " (storage " + s.storage_version + ")");
  }
  if (!mixed) return std::nullopt;
  return "members run different etcd versions: " + versions;
}

}  // namespace

const char* VerdictName(CheckResult::Verdict v) {
  switch (v) {
    case CheckResult::Verdict::kConsistent: return "consistent";
    case CheckResult::Verdict::kDivergent: return "DIVERGENT";
    case CheckResult::Verdict::kIncomplete: return "incomplete";
    case CheckResult::Verdict::kCannotJudge: return "cannot judge";
  }
  return "?";
}

CheckResult Judge(const ClusterReport& report) {
  CheckResult out;
  const std::vector<size_t> comparable = ComparableMembers(report, &out.findings);
  if (comparable.size() < 2 && report.reports.size() > 1) {
    out.verdict = CheckResult::Verdict::kCannotJudge;
    out.findings.push_back("only " + std::to_string(comparable.size()) + " of " +
                           std::to_string(report.reports.size()) +
                           " members answered: at least 2 are needed to compare");
    return out;
  }
  out.groups = GroupBySameData(report, comparable);
  OrderReferenceFirst(report, &out.groups);
  if (out.groups.size() > 1) {
    ReportDivergent(report, &out);
    out.verdict = CheckResult::Verdict::kDivergent;
    return out;
  }
  if (auto mixed = MixedVersions(report, comparable)) out.findings.push_back(*mixed);
  if (!report.settled) {
    out.findings.push_back("members did not reach the same applied index while checking (busy cluster): "
                           "revisions compared with a tolerance");
  }
  out.verdict = comparable.size() == report.reports.size() ? CheckResult::Verdict::kConsistent
                                                           : CheckResult::Verdict::kIncomplete;
  return out;
}

}  // namespace lifeboat::ops
