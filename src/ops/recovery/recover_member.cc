#include "ops/recovery/recover_member.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "etcd/client.h"
#include "etcd/first_answering.h"
#include "etcd/types.h"
#include "ops/recovery/coverage.h"
#include "ops/recovery/recovery_plan.h"
#include "ops/recovery/step_runner.h"
#include "ops/verify/etcd_version.h"

namespace lifeboat::ops {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool HasUrl(const etcd::Member& m, const std::string& url) {
  return std::find(m.peer_urls.begin(), m.peer_urls.end(), url) != m.peer_urls.end();
}

class Recovery {
 public:
  explicit Recovery(const RecoverMemberOptions& o) : o_(o) {}

  RecoverMemberResult Run() {
    if (!Step("connect agents", [&] { return ConnectFleet(); })) return std::move(r_);
    if (!Step("lease", [&] { return AcquireLease(); })) return std::move(r_);
    if (!Step("check coverage", [&] { return CheckMembership(); })) return std::move(r_);
    if (!Step("survey", [&] { return Choose(); })) return std::move(r_);
    if (r_.nothing_to_do) return std::move(r_);
    if (r_.finished_learner) return FinishLearner();
    if (!Step("check versions", [&] { return CheckVersions(); })) return std::move(r_);
    if (!Step("member remove", [&] { return Remove(); })) return std::move(r_);
    if (!Step("stop + move aside", [&] { return StopAndMoveAside(); })) return std::move(r_);
    if (!Step("member add", [&] { return Add(); })) return std::move(r_);
    if (!Step("start", [&] { return Start(); })) return std::move(r_);
    if (o_.learner && !Step("promote", [&] { return Promote(); })) return std::move(r_);
    if (!Step("catch up", [&] { return WaitConsistent(); })) return std::move(r_);
    if (!Step("release lease", [&] { return ReleaseFinished(); })) return std::move(r_);
    return std::move(r_);
  }

 private:
  void Log(const std::string& line) {
    if (o_.log) o_.log(line);
  }

  // Runs one step through the runner (under the lease, it renews it first on every agent).
  bool Step(const std::string& name, const StepRunner::Step& fn) {
    if (!runner_.Run(name, fn)) return false;
    // Fault injection for the tests: die right after a step.
    if (const char* crash = std::getenv("LIFEBOAT_TEST_CRASH_AFTER"); crash && name == crash) raise(SIGKILL);
    return true;
  }

  // A learner an interrupted recovery added and started only needs its promotion and catch-up.
  RecoverMemberResult FinishLearner() {
    if (!Step("promote", [&] { return Promote(); })) return std::move(r_);
    if (!Step("catch up", [&] { return WaitConsistent(); })) return std::move(r_);
    if (!Step("release lease", [&] { return ReleaseFinished(); })) return std::move(r_);
    return std::move(r_);
  }

  // Retries `fn` while etcd answers FailedPrecondition/Unavailable (3.4 refuses membership
  // changes until every member has been connected for 5 s; a learner is promoted only in sync).
  // Each attempt renews the lease first: a recovery whose lease ended stops retrying at once.
  Status Retry(const std::string& what, const std::function<Status()>& fn) {
    auto until = Clock::now() + o_.timeout;
    for (;;) {
      LB_RETURN_IF_ERROR(runner_.RenewLease());
      Status s = fn();
      if (s.ok()) return s;
      bool transient = s.code() == Status::Code::kFailedPrecondition || s.code() == Status::Code::kUnavailable ||
                       s.code() == Status::Code::kDeadlineExceeded;
      if (!transient || Clock::now() >= until) return s.Annotate(what);
      std::this_thread::sleep_for(milliseconds(200));
    }
  }

  StepOutcome ConnectFleet() {
    LB_ASSIGN_OR_RETURN(fleet_, Fleet::Connect(o_.agents, o_.agent_token, o_.agent_tls));
    return StepOutcome::Done(std::to_string(fleet_.members().size()) + " agents answer");
  }

  // Every agent of the cluster, not only the target's: a restore-cluster must not run meanwhile.
  StepOutcome AcquireLease() {
    LeaseSpec spec;
    spec.operation = "recover-member " + (o_.auto_pick ? std::string("--auto") : o_.name);
    spec.ttl = o_.lease_ttl;
    spec.break_lease = o_.break_lease;
    spec.agent_token = o_.agent_token;
    spec.agent_tls = o_.agent_tls;
    spec.log = o_.log;
    LB_ASSIGN_OR_RETURN(lease_, RecoveryLease::Acquire(fleet_, spec));
    runner_.RenewBeforeEachStep(lease_.get());
    return StepOutcome::Done(lease_->Summary());
  }

  // Every member in the member list needs an agent: one without is not surveyed, so the quorum
  // arithmetic would not count it. Only the named target may be missing from the list (an
  // interrupted run removed it).
  StepOutcome CheckMembership() {
    LB_ASSIGN_OR_RETURN(Membership m, LiveMembership(o_.client, MembershipUrls(fleet_.ClientUrls(), o_.client)));
    CoverageOptions co;
    co.unlisted_ok = o_.auto_pick ? std::string() : o_.name;
    co.unlisted_ok_if_stopped = o_.auto_pick;
    LB_ASSIGN_OR_RETURN(Coverage cov, CheckCoverage(fleet_.members(), m, co));
    for (const auto& n : cov.notes) Log(n);
    return StepOutcome::Done(fmt::format("{} members in {}, each with its agent", m.members.size(), m.source));
  }

  // Renewed once more by the runner, then released with a record of this recovery on every agent.
  StepOutcome ReleaseFinished() {
    agent::RecoveryRecord rec;
    rec.operation = "recover-member " + r_.name;
    lease_->Release(&rec);
    return StepOutcome::Done("each agent records this recovery as its last finished one");
  }

  etcd::ClientOptions ClientFor(const std::vector<std::string>& endpoints) const {
    etcd::ClientOptions c = o_.client;
    c.endpoints = endpoints;
    return c;
  }

  // A survey of the members the agents serve: status, and HashKV when `hashes`.
  Result<ClusterReport> SurveyMembers(bool hashes = true) {
    SurveyOptions so;
    so.whole_cluster = false;
    so.hashes = hashes;
    return Survey(ClientFor(fleet_.ClientUrls()), so);
  }

  // The step "survey": which member to replace (or nothing to do), and what the rest of the
  // recovery needs to know of the cluster.
  StepOutcome Choose() {
    LB_ASSIGN_OR_RETURN(ClusterReport rep, SurveyForChoice());
    CheckResult chk = Judge(rep);
    std::string name = o_.name;
    if (o_.auto_pick) {
      auto i = FindBrokenMember(rep, chk);
      if (!i.ok() && i.status().code() == Status::Code::kNotFound) {
        r_.nothing_to_do = true;
        return StepOutcome::Done(i.status().message());
      }
      if (!i.ok()) return i.status();
      LB_ASSIGN_OR_RETURN(name, BrokenMemberName(rep.reports[*i]));
    } else {
      LB_RETURN_IF_ERROR(CheckNamedTarget(rep, chk, name));
    }
    LB_RETURN_IF_ERROR(AdoptTarget(rep, name));
    return StepOutcome::Done(r_.finished_learner
                                 ? "finishing " + name + ": a learner an interrupted recovery added, to be promoted"
                                 : "replacing " + name +
                                       (r_.old_id ? " (id " + etcd::IdHex(r_.old_id) + ")" : " (not listed)"));
  }

  // A named member that does not answer is broken whatever the hashes say: its survey skips
  // HashKV over the whole key space (seconds on a GB-sized db, plus waiting for applied indexes
  // to settle).
  Result<ClusterReport> SurveyForChoice() {
    LB_ASSIGN_OR_RETURN(ClusterReport rep, SurveyMembers(/*hashes=*/false));
    bool target_down = false;
    for (const auto& rr : rep.reports) target_down |= !o_.auto_pick && rr.name == o_.name && !rr.reachable;
    if (target_down) return rep;
    return SurveyMembers();
  }

  // The name of the broken member --auto found. Removed by an interrupted run, or added and
  // never started: the member list has no name for it, but the agent serving its client URL does.
  Result<std::string> BrokenMemberName(const MemberReport& broken) const {
    std::string name = broken.name;
    for (const auto& fm : fleet_.members()) {
      if (name.empty() && fm.status.client_url == broken.endpoint) name = fm.status.member_name;
    }
    if (name.empty()) {
      return Status::FailedPrecondition("the broken member at " + broken.endpoint + " has no name yet (recover it by name)");
    }
    return name;
  }

  // Whether the named member may be replaced. One removed by an earlier, interrupted run is, when
  // the others are healthy and agree (the target itself may be listed again, added but never
  // started: no name yet, not answering); a listed one by the rules of recovery_plan.h.
  Status CheckNamedTarget(const ClusterReport& rep, const CheckResult& chk, const std::string& name) const {
    bool listed = std::any_of(rep.members.begin(), rep.members.end(), [&](const etcd::Member& m) { return m.name == name; });
    if (listed || fleet_.Find(name) < 0) return ChooseMemberToRecover(rep, chk, name, o_.force).status();
    const std::string& target_url = fleet_.members()[fleet_.Find(name)].status.client_url;
    for (const auto& rr : rep.reports) {
      if (rr.name != name && rr.endpoint != target_url && !rr.reachable) {
        return Status::FailedPrecondition(name + " is not a member any more and " + rr.label() +
                                          " does not answer either (fix it first, or restore the whole cluster)");
      }
    }
    return Status::OK();
  }

  // Records the target and what the later steps need of the survey: its agent and ids, whether
  // it is a started learner to promote only, the healthy members to change the membership
  // through, and how many members the cluster lists once it is back.
  Status AdoptTarget(const ClusterReport& rep, const std::string& name) {
    int a = fleet_.Find(name);
    if (a < 0) return Status::InvalidArgument("no agent serves member " + name + " (add its agent to 'agents')");
    agent_ = static_cast<size_t>(a);
    r_.name = name;
    r_.agent = fleet_.members()[agent_].address;
    r_.peer_url = fleet_.members()[agent_].status.peer_url;
    for (const auto& m : rep.members) {
      if (m.name == name) r_.old_id = m.id;
      if (m.name.empty() && HasUrl(m, r_.peer_url)) pending_id_ = m.id;  // added earlier, never started
      if (m.name == name && m.is_learner) {
        for (const auto& rr : rep.reports) r_.finished_learner |= rr.name == name && rr.reachable;
      }
    }
    if (r_.finished_learner) {
      r_.new_id = r_.old_id;
      r_.old_id = 0;
    }
    for (const auto& rr : rep.reports) {
      if (rr.reachable && rr.name != name) healthy_.push_back(rr.endpoint);
    }
    if (healthy_.empty()) return Status::FailedPrecondition("no other member answers (restore the whole cluster)");
    members_before_ = 1;  // the target, once back, plus every other started member
    for (const auto& m : rep.members) members_before_ += !m.name.empty() && m.name != name;
    return Status::OK();
  }

  // The replacement joins the running cluster, which etcd's upgrade rules govern (unlike a
  // restore-cluster, which writes the membership anew): 3.5.26 or later before 3.6, and no
  // binary older than the cluster's version (the lowest the other members run).
  StepOutcome CheckVersions() {
    std::vector<std::pair<std::string, std::string>> all;
    std::string cluster;
    for (size_t i = 0; i < fleet_.members().size(); ++i) {
      const auto& st = fleet_.members()[i].status;
      all.emplace_back(st.member_name, st.etcd_version);
      auto mm = ParseMajorMinor(st.etcd_version);
      if (i != agent_ && mm && (cluster.empty() || *mm < *ParseMajorMinor(cluster))) cluster = st.etcd_version;
    }
    LB_RETURN_IF_ERROR(CheckUpgradeRule(all));
    const auto& target = fleet_.members()[agent_];
    LB_RETURN_IF_ERROR(CheckCanServe(r_.name + " (agent " + target.address + ")", target.status.etcd_version, cluster,
                                     "", "the cluster's version"));
    return StepOutcome::Done("etcd " + target.status.etcd_version + " joins a cluster at " +
                             (cluster.empty() ? "unknown" : cluster));
  }

  // A client on a healthy member other than the one being replaced.
  Result<std::unique_ptr<etcd::Client>> Healthy() {
    LB_ASSIGN_OR_RETURN(etcd::Answering a,
                        etcd::FirstAnswering(healthy_, o_.client, [](etcd::Client&) { return Status::OK(); }));
    return std::move(a.client);
  }

  // The agent of a healthy member other than the one being replaced: membership changes go
  // through it, admitted under this recovery's lease like every other change.
  Result<agent::AgentClient*> HealthyAgent() {
    for (const auto& e : healthy_) {
      for (auto& fm : fleet_.members()) {
        if (fm.status.client_url == e) return fm.client.get();
      }
    }
    return Status::FailedPrecondition("no member that answers has an agent to change the membership through");
  }

  StepOutcome Remove() {
    if (r_.old_id == 0) return StepOutcome::Done(r_.name + " is not listed: nothing to remove");
    LB_ASSIGN_OR_RETURN(agent::AgentClient * a, HealthyAgent());
    LB_RETURN_IF_ERROR(Retry("member remove " + r_.name, [&] {
      Status s = a->MemberRemove(r_.old_id).status();
      // Already gone (a retry after a lost answer) is what we wanted.
      if (!s.ok() && s.message().find("not found") != std::string::npos) return Status::OK();
      return s;
    }));
    return StepOutcome::Done("removed id " + etcd::IdHex(r_.old_id));
  }

  StepOutcome StopAndMoveAside() {
    agent::AgentClient& a = *fleet_.members()[agent_].client;
    LB_ASSIGN_OR_RETURN(bool was, a.StopEtcd(std::chrono::seconds(30)));
    const std::string stopped = was ? "stopped; " : "was not running; ";
    auto moved = a.MoveDataAside();
    if (moved.ok()) {
      r_.moved_to.push_back(*moved);
      return StepOutcome::Done(stopped + "data dir moved to " + *moved);
    }
    if (moved.status().code() == Status::Code::kNotFound) return StepOutcome::Done(stopped + "no data dir to move");
    return moved.status();
  }

  StepOutcome Add() {
    if (pending_id_ != 0) {
      r_.new_id = pending_id_;
      return StepOutcome::Done("already added as " + etcd::IdHex(pending_id_));
    }
    LB_ASSIGN_OR_RETURN(agent::AgentClient * a, HealthyAgent());
    LB_RETURN_IF_ERROR(Retry("member add " + r_.name, [&]() -> Status {
      auto m = a->MemberAdd({r_.peer_url}, o_.learner);
      if (!m.ok()) return m.status();
      r_.new_id = *m;
      return Status::OK();
    }));
    return StepOutcome::Done(std::string(o_.learner ? "learner " : "member ") + etcd::IdHex(r_.new_id) + " at " +
                             r_.peer_url);
  }

  StepOutcome Start() {
    // The initial cluster is the member list as it is now, the new member under its name (it
    // has none in the list until it starts).
    LB_ASSIGN_OR_RETURN(auto c, Healthy());
    LB_ASSIGN_OR_RETURN(auto list, c->MemberList());
    std::string initial;
    for (const auto& m : list) {
      std::string n = m.id == r_.new_id ? r_.name : m.name;
      for (const auto& u : m.peer_urls) initial += (initial.empty() ? "" : ",") + n + "=" + u;
    }
    agent::StartRequest req;
    req.initial_cluster = initial;
    req.initial_cluster_state = "existing";
    req.timeout = std::chrono::duration_cast<milliseconds>(std::min<milliseconds>(o_.timeout, std::chrono::minutes(5)));
    LB_ASSIGN_OR_RETURN(auto started, fleet_.members()[agent_].client->StartEtcd(req));
    return StepOutcome::Done("etcd " + started.version + " answers (initial cluster " + initial + ")");
  }

  StepOutcome Promote() {
    LB_ASSIGN_OR_RETURN(agent::AgentClient * a, HealthyAgent());
    LB_RETURN_IF_ERROR(Retry("promote " + r_.name, [&] {
      Status s = a->MemberPromote(r_.new_id).status();
      if (!s.ok() && s.message().find("not a learner") != std::string::npos) return Status::OK();
      return s;
    }));
    return StepOutcome::Done(r_.name + " votes");
  }

  // A HashKV round reads every member's whole keyspace, so it runs once the recovered member
  // has applied what the others had when the wait began (status alone, polled cheaply), not on
  // every poll of the catch-up. At the deadline it returns, and the hashed round says why.
  void WaitForRevision(Clock::time_point until) {
    int64_t target = 0;
    for (; Clock::now() < until; std::this_thread::sleep_for(milliseconds(100))) {
      auto rep = SurveyMembers(/*hashes=*/false);
      if (!rep.ok()) continue;
      int64_t own = -1, others = 0;
      for (const auto& rr : rep->reports) {
        if (!rr.reachable) continue;
        if (rr.name == r_.name) own = rr.status.header.revision;
        else others = std::max(others, rr.status.header.revision);
      }
      if (target == 0) target = others;
      if (own >= target && target > 0) return;
    }
  }

  StepOutcome WaitConsistent() {
    auto until = Clock::now() + o_.timeout;
    WaitForRevision(until);
    std::string why;
    for (;;) {
      auto rep = SurveyMembers();
      if (rep.ok()) {
        CheckResult chk = Judge(*rep);
        r_.report = *rep;
        r_.check = chk;
        why.clear();
        for (const auto& rr : rep->reports) {
          if (!rr.reachable) why += rr.label() + " does not answer; ";
        }
        if (rep->members.size() != members_before_) {
          why += fmt::format("{} members listed, {} before; ", rep->members.size(), members_before_);
        }
        if (chk.verdict != CheckResult::Verdict::kConsistent) {
          for (const auto& f : chk.findings) why += f + "; ";
          if (chk.findings.empty()) why += std::string(VerdictName(chk.verdict)) + "; ";
        }
        if (why.empty()) break;
      } else {
        why = rep.status().message();
      }
      if (Clock::now() >= until) {
        return Status::DeadlineExceeded(r_.name + " did not catch up within " +
                                        std::to_string(o_.timeout.count() / 1000) + "s: " + why);
      }
      std::this_thread::sleep_for(milliseconds(300));
    }
    int64_t rev = 0;
    for (const auto& rr : r_.report->reports) rev = std::max(rev, rr.status.header.revision);
    return StepOutcome::Done(fmt::format("revision {} and HashKV equal on {} members", rev, r_.report->reports.size()));
  }

  const RecoverMemberOptions& o_;
  RecoverMemberResult r_;
  Fleet fleet_;
  std::unique_ptr<RecoveryLease> lease_;  // released before the fleet's connections close
  size_t agent_ = 0;
  uint64_t pending_id_ = 0;
  size_t members_before_ = 0;
  std::vector<std::string> healthy_;
  StepRunner runner_{&r_, o_.log, o_.step_done};
};

}  // namespace

RecoverMemberResult RecoverMember(const RecoverMemberOptions& options) { return Recovery(options).Run(); }

}  // namespace lifeboat::ops
