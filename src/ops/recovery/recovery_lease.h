// RecoveryLease: a coordinator's hold on every agent of a cluster, so that one recovery at a
// time changes it. Acquired before the first change, one agent after another in member-name
// order: two coordinators racing meet at the first member, so exactly one gets them all. All or
// nothing: a refusal releases what was taken and names the holder. Each agent mints an epoch
// (a fencing token) for the grant; every fleet client sends the owner id and its member's
// epoch, and the agents admit nothing else. While held, a thread renews it every ttl/3 on
// connections of its own. A renewal only extends: once any agent refuses it (the lease expired
// or was broken) or cannot be reached, the lease is lost for good, Check() says so and names
// who broke it, and the coordinator stops before its next step. Released on destruction (a
// killed coordinator's lease expires `ttl` after its last renewal).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_client.h"
#include "base/status.h"
#include "ops/recovery/fleet.h"

namespace lifeboat::ops {

struct LeaseSpec {
  std::string owner_id;   // empty: a new random one
  std::string holder;     // empty: CoordinatorIdentity()
  std::string operation;  // "restore-cluster", "recover-member m2"
  std::string journal;    // host:path, when the operation keeps one
  std::chrono::milliseconds ttl{600000};
  bool break_lease = false;  // take over live leases, after logging who held them
  std::string agent_token;
  agent::AgentTls agent_tls;
  std::function<void(const std::string&)> log;
};

std::string NewLeaseOwnerId();      // 16 random hex digits
std::string CoordinatorIdentity();  // user@host of this process

// The members of `fleet` (as of its last status) whose live lease is not `owner_id`'s, grouped
// in one line per holder: "restore-cluster by alice@ws1 since ... holds m1, m2, m3". Empty: none.
std::vector<std::string> ForeignLeases(const Fleet& fleet, const std::string& owner_id);

class RecoveryLease {
 public:
  // FailedPrecondition naming the holders and the way out when another coordinator holds a
  // member (nothing is held then).
  static Result<std::unique_ptr<RecoveryLease>> Acquire(Fleet& fleet, const LeaseSpec& spec);
  ~RecoveryLease();  // Release(nullptr)
  RecoveryLease(const RecoveryLease&) = delete;
  RecoveryLease& operator=(const RecoveryLease&) = delete;

  const std::string& owner_id() const { return spec_.owner_id; }
  // The epoch `member`'s agent granted; 0 for a member not held.
  uint64_t EpochOf(const std::string& member) const;
  // "held on 3 agents (owner 0123456789abcdef, epochs m1 4, m2 4, m3 5)[, 1 taken over]".
  std::string Summary() const;
  // Lines naming each live lease of another owner that Acquire broke.
  const std::vector<std::string>& broken() const { return broken_; }
  // OK while no renewal has failed; otherwise FailedPrecondition saying on which member and why
  // (the agent names who broke it), ending "nothing more was changed". No call is made.
  Status Check() const;
  // Renews on every agent now (a transport failure is retried for a few seconds); the error of
  // Check() when any agent refuses or stays unreachable.
  Status RenewNow();
  // Stops renewing and releases every member (best effort: an agent that does not answer lets
  // the lease expire). With `finished`, each agent records the recovery as the last one that
  // finished on it, under this lease's epoch.
  void Release(const agent::RecoveryRecord* finished = nullptr);

 private:
  RecoveryLease(LeaseSpec spec) : spec_(std::move(spec)) {}
  void RenewLoop();
  // One renewal of member i; OK, or why the lease is lost there.
  Status RenewOne(size_t i);

  struct Held {
    std::string member;
    uint64_t epoch = 0;
    std::unique_ptr<agent::AgentClient> renewer;  // a connection of its own, not the fleet's
  };
  LeaseSpec spec_;
  std::vector<Held> held_;
  std::vector<std::string> broken_;
  std::mutex renew_mu_;  // one renewal round at a time (the thread's or RenewNow's)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Status lost_;  // the first renewal failure: the lease is gone for good
  std::thread renew_;
};

// Whether any of `agents` is held by a recovery: one line per holder (ForeignLeases), empty when
// none. Agents that do not answer are skipped (and named in `unreachable`).
std::vector<std::string> RecoveryInProgress(const std::vector<std::string>& agents, const std::string& token,
                                            const agent::AgentTls& tls, std::vector<std::string>* unreachable);

}  // namespace lifeboat::ops
