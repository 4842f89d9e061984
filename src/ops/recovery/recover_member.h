// RecoverMember: replace one broken member without touching the others, the runbook's
// one-member recovery, under a recovery lease on every agent of the cluster: refuse when that
// would lose quorum or the data (recovery_plan.h); member remove (when still listed); on its
// host, stop etcd and move the data dir aside; member add as a learner; start it with
// --initial-cluster-state existing; promote it once the leader says it has caught up; then wait,
// with a deadline, until its revision and HashKV match the others. Each step is timed
// (step_runner.h); once the lease is taken, each renews it first: a recovery whose lease expired
// or was taken over stops before its next step. Before any change, every member of the cluster
// must have an agent (coverage.h). A re-run after a failure picks up where the cluster is (a
// member already removed, or already added and not started).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_client.h"
#include "base/status.h"
#include "etcd/options.h"
#include "ops/recovery/fleet.h"
#include "ops/recovery/recovery_lease.h"
#include "ops/verify/check.h"
#include "ops/verify/survey.h"

namespace lifeboat::ops {

struct RecoverMemberOptions {
  std::vector<std::string> agents;  // HOST:PORT, one per member
  std::string agent_token;
  agent::AgentTls agent_tls;        // TLS/mTLS to the agents (empty: plain text)
  etcd::ClientOptions client;       // TLS and credentials; endpoints are the agents' client URLs
  std::string name;                 // the member to replace; empty with auto_pick
  bool auto_pick = false;           // find the one broken member
  bool force = false;               // replace a healthy member
  bool learner = true;              // add as a learner, promote when caught up
  std::chrono::milliseconds timeout{600000};  // for membership changes and the catch-up
  std::chrono::milliseconds lease_ttl{600000};  // the recovery lease on every agent (ops/recovery_lease.h)
  bool break_lease = false;
  std::function<void(const std::string&)> log;  // progress lines; each step too unless step_done is set
  std::function<void(const StepReport&)> step_done;  // each step as it ends (also in the result's steps)
};

struct RecoverMemberResult {
  std::string name, agent, peer_url;
  uint64_t old_id = 0, new_id = 0;
  std::vector<std::string> moved_to;
  std::vector<StepReport> steps;
  std::optional<ClusterReport> report;  // the final survey
  std::optional<CheckResult> check;
  Status status;
  std::string failed_step;
  bool nothing_to_do = false;  // --auto found every member healthy
  bool lease_lost = false;     // the recovery lease expired or was taken over: nothing more was changed
  bool finished_learner = false;  // the member was a started learner: only promoted (new_id)
};

RecoverMemberResult RecoverMember(const RecoverMemberOptions& options);

}  // namespace lifeboat::ops
