// Fault schedules for the robustness driver (tests/integration/robustness_test.cc), in the spirit
// of etcd's tests/robustness: a seed alone decides which coordinators run (restore-cluster of
// one of the backups, recover-member, a --resume of another coordinator's journal copied as if
// to another host, a restore given a partial fleet), when each starts, whether it breaks leases,
// and which faults hit them (a coordinator paused past its lease or killed, an agent killed and
// restarted, an etcd killed), and when. The same seed always gives the same schedule.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace lifeboat::harness {

struct CoordinatorPlan {
  enum class Kind { kRestore, kRecoverMember, kResumeCopy, kPartialRestore };
  Kind kind = Kind::kRestore;
  int backup = 0;        // kRestore, kPartialRestore: the backup restored (index)
  int member = 0;        // kRecoverMember: the member replaced; kPartialRestore: the member left without agent
  int of = 0;            // kResumeCopy: the coordinator whose journal is copied and resumed
  bool break_lease = false;
  int start_ms = 0;      // after the schedule starts
};

struct FaultPlan {
  enum class Kind { kPauseCoordinator, kKillCoordinator, kKillAgent, kKillEtcd };
  Kind kind = Kind::kKillCoordinator;
  int target = 0;   // the coordinator (pause, kill) or member (agent, etcd)
  int at_ms = 0;    // after the schedule starts
  int for_ms = 0;   // how long a coordinator stays paused, or an agent down
};

struct Schedule {
  uint64_t seed = 0;
  std::vector<CoordinatorPlan> coordinators;
  std::vector<FaultPlan> faults;
  // One line per coordinator and fault, for the log of a failing schedule.
  std::string Describe() const;
};

// `backups` backups to pick from, `members` members, coordinators' lease `ttl`: pauses last
// longer than it, so another coordinator may take over meanwhile.
Schedule MakeSchedule(uint64_t seed, int backups, int members, std::chrono::milliseconds ttl);

}  // namespace lifeboat::harness
