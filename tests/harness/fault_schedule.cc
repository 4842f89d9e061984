#include "harness/fault_schedule.h"

#include <random>

#include <fmt/format.h>

namespace lifeboat::harness {
namespace {

// std::mt19937_64 is specified exactly; the distributions are not, so values are drawn by hand.
class Draw {
 public:
  explicit Draw(uint64_t seed) : g_(seed) {}
  int Below(int n) { return static_cast<int>(g_() % static_cast<uint64_t>(n)); }
  int Between(int lo, int hi) { return lo + Below(hi - lo + 1); }
  bool Chance(int percent) { return Below(100) < percent; }

 private:
  std::mt19937_64 g_;
};

CoordinatorPlan MakeCoordinator(Draw& d, int index, int backups, int members) {
  CoordinatorPlan c;
  int kind = d.Below(100);
  if (index > 0 && kind < 20) {
    c.kind = CoordinatorPlan::Kind::kResumeCopy;
    c.of = d.Below(index);
    c.break_lease = true;
  } else if (kind < 35) {
    c.kind = CoordinatorPlan::Kind::kRecoverMember;
    c.member = d.Below(members);
  } else if (kind < 45) {
    c.kind = CoordinatorPlan::Kind::kPartialRestore;
    c.member = d.Below(members);
    c.backup = d.Below(backups);
  } else {
    c.kind = CoordinatorPlan::Kind::kRestore;
    c.backup = d.Below(backups);
  }
  if (c.kind != CoordinatorPlan::Kind::kResumeCopy) c.break_lease = d.Chance(40);
  return c;
}

}  // namespace

Schedule MakeSchedule(uint64_t seed, int backups, int members, std::chrono::milliseconds ttl) {
  Draw d(seed);
  Schedule s;
  s.seed = seed;
  const int n = d.Between(1, 3);
  int start = 0;
  for (int i = 0; i < n; ++i) {
    CoordinatorPlan c = MakeCoordinator(d, i, backups, members);
    c.start_ms = start;
    start += d.Between(0, 4000);
    s.coordinators.push_back(c);
  }
  const int ttl_ms = static_cast<int>(ttl.count());
  const int faults = d.Between(0, 2);
  for (int i = 0; i < faults; ++i) {
    FaultPlan f;
    int kind = d.Below(100);
    if (kind < 40) {
      f.kind = FaultPlan::Kind::kPauseCoordinator;
      f.target = d.Below(n);
      f.for_ms = ttl_ms + d.Between(1000, 9000);  // past the lease: another may take over
    } else if (kind < 65) {
      f.kind = FaultPlan::Kind::kKillCoordinator;
      f.target = d.Below(n);
    } else if (kind < 85) {
      f.kind = FaultPlan::Kind::kKillAgent;
      f.target = d.Below(members);
      f.for_ms = d.Between(500, 3000);
    } else {
      f.kind = FaultPlan::Kind::kKillEtcd;
      f.target = d.Below(members);
    }
    f.at_ms = s.coordinators[f.kind == FaultPlan::Kind::kPauseCoordinator ||
                                     f.kind == FaultPlan::Kind::kKillCoordinator
                                 ? f.target
                                 : 0]
                  .start_ms +
              d.Between(0, 5000);
    s.faults.push_back(f);
  }
  return s;
}

std::string Schedule::Describe() const {
  std::string out = fmt::format("schedule seed {}:\n", seed);
  int i = 0;
  for (const auto& c : coordinators) {
    std::string what;
    switch (c.kind) {
      case CoordinatorPlan::Kind::kRestore:
        what = fmt::format("restore-cluster --backup B{}", c.backup);
        break;
      case CoordinatorPlan::Kind::kRecoverMember:
        what = fmt::format("recover-member m{} --force", c.member + 1);
        break;
      case CoordinatorPlan::Kind::kResumeCopy:
        what = fmt::format("restore-cluster --resume of a copy of C{}'s journal", c.of);
        break;
      case CoordinatorPlan::Kind::kPartialRestore:
        what = fmt::format("restore-cluster --backup B{} with no agent for m{}", c.backup, c.member + 1);
        break;
    }
    out += fmt::format("  C{} at {} ms: {}{}\n", i++, c.start_ms, what, c.break_lease ? " --break-lease" : "");
  }
  for (const auto& f : faults) {
    switch (f.kind) {
      case FaultPlan::Kind::kPauseCoordinator:
        out += fmt::format("  at {} ms: SIGSTOP C{} for {} ms\n", f.at_ms, f.target, f.for_ms);
        break;
      case FaultPlan::Kind::kKillCoordinator:
        out += fmt::format("  at {} ms: SIGKILL C{}\n", f.at_ms, f.target);
        break;
      case FaultPlan::Kind::kKillAgent:
        out += fmt::format("  at {} ms: SIGKILL m{}'s agent, back after {} ms\n", f.at_ms, f.target + 1, f.for_ms);
        break;
      case FaultPlan::Kind::kKillEtcd:
        out += fmt::format("  at {} ms: SIGKILL m{}'s etcd\n", f.at_ms, f.target + 1);
        break;
    }
  }
  return out;
}

}  // namespace lifeboat::harness
