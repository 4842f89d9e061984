// Coverage: a recovery must reach every member of the cluster, or it splits it. A member left
// out of a whole-cluster restore keeps the old cluster's data and goes on answering clients
// beside the restored cluster (the runbook's trap, made by the tool); a member without an agent
// is invisible to recover-member's quorum arithmetic. So before any change the agents' members
// are compared with the cluster's membership: the member list of any member that answers, or,
// when none does, the members stored in the backup. A member with no agent stops the recovery,
// named with its peer URL; one gone for good may be left out by name (--without), only while
// none of its URLs answers; an agent whose member name or peer URL disagrees with the membership
// is refused by name.
#pragma once

#include <string>
#include <vector>

#include "agent/agent_client.h"
#include "base/status.h"
#include "etcd/options.h"
#include "ops/recovery/fleet.h"

namespace lifeboat::ops {

struct Membership {
  std::vector<agent::StoredMember> members;  // name (empty: added, never started), peer and client URLs
  std::string source;                        // "the member list of http://...", "the members stored in ..."
};

// The member list of the first of `endpoints` that answers (each tried briefly); NotFound when
// none answers.
Result<Membership> LiveMembership(const etcd::ClientOptions& client, const std::vector<std::string>& endpoints);

// Where to ask for the member list: the agents' client URLs, then the configured endpoints that
// are not among them.
std::vector<std::string> MembershipUrls(const std::vector<std::string>& agent_urls, const etcd::ClientOptions& client);

struct CoverageOptions {
  std::vector<std::string> without;  // members to leave out: must be in the membership, without an agent, silent
  // An agent whose member is not in the membership: allowed (restore-cluster: a member an
  // interrupted recover-member removed comes back), or allowed only for this name
  // (recover-member's target); otherwise refused.
  bool allow_unlisted = false;
  std::string unlisted_ok;
  // recover-member --auto: also an agent whose etcd is stopped (a member an interrupted run
  // removed is stopped; a stray agent of another cluster is not, and stays refused).
  bool unlisted_ok_if_stopped = false;
};

struct LeftOut {
  std::string name, peer_url, why;
  std::vector<std::string> urls;  // its client and peer URLs
};

struct Coverage {
  std::vector<LeftOut> without;    // the members left out, each with why that is safe
  std::vector<std::string> notes;  // agents whose member the membership does not list
};

// InvalidArgument for a --without name that is not a member or has an agent; FailedPrecondition
// naming every member with no agent (and its peer URL), every agent that disagrees with the
// membership, and every left-out member whose URL answers. Nothing is changed either way.
Result<Coverage> CheckCoverage(const std::vector<FleetMember>& agents, const Membership& membership,
                               const CoverageOptions& options);

// Whether a left-out member is still silent: FailedPrecondition naming the URL that answers.
Status StillSilent(const std::string& name, const std::vector<std::string>& urls);

}  // namespace lifeboat::ops
