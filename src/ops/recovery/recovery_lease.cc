#include "ops/recovery/recovery_lease.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "base/timefmt.h"

namespace lifeboat::ops {
namespace {

std::string At(int64_t ms) {
  return FormatRFC3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

// One line per owner: who, since when, which members, until when.
std::vector<std::string> Group(const std::vector<std::pair<std::string, host::LeaseInfo>>& held) {
  std::map<std::string, std::pair<host::LeaseInfo, std::vector<std::string>>> by_owner;
  for (const auto& [member, l] : held) {
    auto& e = by_owner[l.owner_id];
    e.first = l;
    e.second.push_back(member);
  }
  std::vector<std::string> out;
  for (auto& [owner, e] : by_owner) {
    const host::LeaseInfo& l = e.first;
    std::sort(e.second.begin(), e.second.end());
    std::string members;
    for (const auto& m : e.second) members += (members.empty() ? "" : ", ") + m;
    out.push_back(fmt::format("{} by {} since {} holds {} ({}lease expires {})",
                              l.operation.empty() ? "a recovery" : l.operation, l.holder, At(l.acquired_ms), members,
                              l.journal.empty() ? "" : "journal " + l.journal + ", ", At(l.expires_ms)));
  }
  return out;
}

agent::LeaseRequest RequestOf(const LeaseSpec& spec) {
  agent::LeaseRequest req;
  req.lease.owner_id = spec.owner_id;
  req.lease.holder = spec.holder;
  req.lease.operation = spec.operation;
  req.lease.journal = spec.journal;
  req.ttl = spec.ttl;
  return req;
}

std::string JoinLines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
  return s;
}

}  // namespace

std::string NewLeaseOwnerId() {
  std::random_device rd;
  std::mt19937_64 g((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(getpid()));
  return fmt::format("{:016x}", g());
}

std::string CoordinatorIdentity() {
  std::string user;
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) user = pw->pw_name;
  if (user.empty()) user = "uid" + std::to_string(geteuid());
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return user + "@" + host;
}

std::vector<std::string> ForeignLeases(const Fleet& fleet, const std::string& owner_id) {
  std::vector<std::pair<std::string, host::LeaseInfo>> held;
  for (const auto& m : fleet.members()) {
    if (!m.status.lease.empty() && m.status.lease.owner_id != owner_id) held.push_back({m.status.member_name, m.status.lease});
  }
  return Group(held);
}

RecoveryLease::~RecoveryLease() { Release(); }

Result<std::unique_ptr<RecoveryLease>> RecoveryLease::Acquire(Fleet& fleet, const LeaseSpec& in) {
  LeaseSpec spec = in;
  if (spec.owner_id.empty()) spec.owner_id = NewLeaseOwnerId();
  if (spec.holder.empty()) spec.holder = CoordinatorIdentity();
  auto log = [&](const std::string& line) {
    if (spec.log) spec.log(line);
  };
  auto& members = fleet.members();
  std::vector<size_t> order(members.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return members[a].status.member_name < members[b].status.member_name; });

  const agent::LeaseRequest req = RequestOf(spec);
  // Built before the first grant, so a failure part-way releases through its destructor.
  std::unique_ptr<RecoveryLease> lease(new RecoveryLease(spec));
  for (size_t i : order) {
    const FleetMember& m = members[i];
    LB_ASSIGN_OR_RETURN(auto client, agent::AgentClient::Connect(m.address, spec.agent_token,
                                                                 std::chrono::seconds(10), spec.agent_tls));
    auto g = client->AcquireLease(req);
    if (!g.ok() && g.status().code() == Status::Code::kFailedPrecondition && spec.break_lease) {
      auto st = client->GetStatus();
      log("--break-lease: taking over " + m.status.member_name + " from " +
          (st.ok() && !st->lease.empty() ? host::DescribeLease(st->lease) : g.status().message()));
      agent::LeaseRequest br = req;
      br.break_lease = true;
      g = client->AcquireLease(br);
    }
    if (!g.ok()) {
      if (g.status().code() != Status::Code::kFailedPrecondition) return g.status().Annotate("recovery lease");
      // Say who holds what, from every agent's current answer.
      std::vector<std::pair<std::string, host::LeaseInfo>> held;
      for (auto& fm : members) {
        if (auto st = fm.client->GetStatus(); st.ok()) {
          fm.status = *st;
          if (!st->lease.empty() && st->lease.owner_id != spec.owner_id) held.push_back({st->member_name, st->lease});
        }
      }
      std::string who = held.empty() ? g.status().message() : JoinLines(Group(held));
      return Status::FailedPrecondition(who + ": wait for it to finish or expire, or take it over with --break-lease");
    }
    if (!g->previous.empty()) lease->broken_.push_back(m.status.member_name + ": " + host::DescribeLease(g->previous));
    lease->held_.push_back({m.status.member_name, g->lease.epoch, std::move(client)});
  }
  for (auto& m : members) m.client->SetLease(spec.owner_id, lease->EpochOf(m.status.member_name));
  lease->renew_ = std::thread([l = lease.get()] { l->RenewLoop(); });
  return lease;
}

uint64_t RecoveryLease::EpochOf(const std::string& member) const {
  for (const auto& h : held_) {
    if (h.member == member) return h.epoch;
  }
  return 0;
}

std::string RecoveryLease::Summary() const {
  std::string epochs;
  for (const auto& h : held_) epochs += (epochs.empty() ? "" : ", ") + h.member + " " + std::to_string(h.epoch);
  std::string s = "held on " + std::to_string(held_.size()) + " agents (owner " + spec_.owner_id + ", epochs " +
                  epochs + ")";
  if (!broken_.empty()) s += ", " + std::to_string(broken_.size()) + " taken over";
  return s;
}

Status RecoveryLease::Check() const {
  std::lock_guard<std::mutex> l(mu_);
  return lost_;
}

Status RecoveryLease::RenewOne(size_t i) {
  Held& h = held_[i];
  Status last;
  // A transport failure may be a blip: a few quick tries before the lease counts as lost. A
  // refusal is final: the agent has moved on (expired, broken, released).
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    auto r = h.renewer->RenewLease(spec_.owner_id, h.epoch, spec_.ttl);
    if (r.ok()) return Status::OK();
    last = r.status();
    auto c = last.code();
    if (c != Status::Code::kUnavailable && c != Status::Code::kDeadlineExceeded && c != Status::Code::kAborted) break;
  }
  return Status::FailedPrecondition("the recovery lease is lost on " + h.member + " (" + last.message() +
                                    "): this coordinator stopped before its next step, nothing more was changed");
}

Status RecoveryLease::RenewNow() {
  std::lock_guard<std::mutex> round(renew_mu_);
  if (Status lost = Check(); !lost.ok()) return lost;
  std::vector<Status> res(held_.size());
  for (size_t i = 0; i < held_.size(); ++i) res[i] = RenewOne(i);
  for (const Status& s : res) {
    if (s.ok()) continue;
    std::lock_guard<std::mutex> l(mu_);
    if (lost_.ok()) lost_ = s;
    return lost_;
  }
  return Status::OK();
}

void RecoveryLease::RenewLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!cv_.wait_for(l, spec_.ttl / 3, [&] { return stop_; })) {
    l.unlock();
    Status s = RenewNow();
    // Said at once: the coordinator may be waiting on a long step (or a prompt) before it looks.
    if (!s.ok() && spec_.log) spec_.log(s.message());
    l.lock();
    if (!s.ok()) return;  // lost for good: a renewal never acquires again
  }
}

void RecoveryLease::Release(const agent::RecoveryRecord* finished) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
    stop_ = true;
    if (!lost_.ok()) finished = nullptr;  // a recovery that lost its lease did not finish under it
  }
  cv_.notify_all();
  if (renew_.joinable()) renew_.join();
  for (auto& h : held_) (void)h.renewer->ReleaseLease(spec_.owner_id, h.epoch, finished);
}

std::vector<std::string> RecoveryInProgress(const std::vector<std::string>& agents, const std::string& token,
                                            const agent::AgentTls& tls, std::vector<std::string>* unreachable) {
  std::vector<agent::AgentStatus> st(agents.size());
  auto res = ParallelFor(agents.size(), [&](size_t i) -> Status {
    LB_ASSIGN_OR_RETURN(auto c, agent::AgentClient::Connect(agents[i], token, std::chrono::seconds(5), tls));
    LB_ASSIGN_OR_RETURN(st[i], c->GetStatus());
    return Status::OK();
  });
  std::vector<std::pair<std::string, host::LeaseInfo>> held;
  for (size_t i = 0; i < agents.size(); ++i) {
    if (!res[i].ok()) {
      if (unreachable) unreachable->push_back(res[i].message());
      continue;
    }
    if (!st[i].lease.empty()) held.push_back({st[i].member_name, st[i].lease});
  }
  return Group(held);
}

}  // namespace lifeboat::ops
