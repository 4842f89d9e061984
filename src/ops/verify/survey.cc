#include "ops/verify/survey.h"

#include <algorithm>
#include <map>
#include <memory>
#include <thread>

#include "base/parallel.h"
#include "etcd/client.h"
#include "etcd/endpoint.h"

namespace lifeboat::ops {
namespace {

// The whole key space, as etcdctl's `get "" --prefix` spells it.
const std::string kAllKeys(1, '\0');

struct Probe {
  std::string endpoint;
  std::unique_ptr<etcd::Client> client;
  Status error;
  etcd::MemberStatus status;
};

Probe Dial(const std::string& endpoint, const etcd::ClientOptions& options) {
  Probe p;
  p.endpoint = endpoint;
  auto c = etcd::Client::Connect(endpoint, options);
  if (!c.ok()) {
    p.error = c.status();
    return p;
  }
  auto st = (*c)->Status();
  if (!st.ok()) {
    p.error = st.status();
    return p;
  }
  p.client = std::move(*c);
  p.status = *st;
  return p;
}

std::string Normalise(const std::string& endpoint, const etcd::ClientOptions& options) {
  bool tls = !options.cacert.empty() || !options.cert.empty();
  auto ep = etcd::ParseEndpoint(endpoint, tls);
  return ep.ok() ? ep->url : endpoint;
}

// The most useful error to show when no endpoint answered: a configuration or credential error
// explains more than "connection refused".
Status PickError(const std::vector<Probe>& probes) {
  for (auto code : {Status::Code::kInvalidArgument, Status::Code::kUnauthenticated,
                    Status::Code::kPermissionDenied}) {
    for (const auto& p : probes) {
      if (p.error.code() == code) return p.error;
    }
  }
  Status first = probes.front().error;
  if (probes.size() == 1) return first;
  return Status(first).Annotate("none of the " + std::to_string(probes.size()) + " endpoints answered; first");
}

// The survey's steps, in order. Each reads and fills `report_`; the probes own the clients.
class Surveyor {
 public:
  Surveyor(const etcd::ClientOptions& client, const SurveyOptions& options) : client_(client), options_(options) {}

  Result<ClusterReport> Run() {
    if (client_.endpoints.empty()) {
      return Status::InvalidArgument("no endpoints (pass --endpoints, set ETCDCTL_ENDPOINTS or use --config)");
    }
    probes_.resize(client_.endpoints.size());
    DialAll(0, client_.endpoints);
    LB_ASSIGN_OR_RETURN(etcd::Client* any, ReadMemberList());
    for (size_t i = 0; i < probes_.size(); ++i) by_url_[Normalise(probes_[i].endpoint, client_)] = i;
    if (options_.whole_cluster) DialMembersNotGiven();
    MatchProbesToMembers();
    OrderAsGiven();
    ReadLeaderAndClusterId();
    ReadAlarms(*any);
    if (!options_.hashes) return std::move(report_);

    for (size_t i = 0; i < report_.reports.size(); ++i) {
      if (report_.reports[i].reachable) reachable_.push_back(i);
    }
    Settle();
    ReadHashesAndCounts();
    return std::move(report_);
  }

 private:
  // The member list from the first member that gives it, voters first: a learner refuses it
  // ("rpc not supported for learner"), and so may a member cut off from the leader. Returns the
  // client that answered.
  Result<etcd::Client*> ReadMemberList() {
    Status last;
    bool any_client = false;
    for (bool learners : {false, true}) {
      for (auto& p : probes_) {
        if (!p.client || p.status.is_learner != learners) continue;
        any_client = true;
        auto list = p.client->MemberList();
        if (list.ok()) {
          report_.members = std::move(*list);
          return p.client.get();
        }
        last = list.status();
      }
    }
    if (!any_client) return PickError(probes_);
    return last;
  }

  // Dials endpoints[i] into probes_[first + i], all at once.
  void DialAll(size_t first, const std::vector<std::string>& endpoints) {
    ParallelFor(endpoints.size(), [&](size_t i) {
      probes_[first + i] = Dial(endpoints[i], client_);
      return Status::OK();
    });
  }

  // Members the member list names but --endpoints did not: dialled too, at their first client URL.
  void DialMembersNotGiven() {
    std::vector<std::string> extra;
    for (const auto& m : report_.members) {
      if (m.client_urls.empty()) continue;
      bool known = false;
      for (const auto& u : m.client_urls) known = known || by_url_.count(Normalise(u, client_)) > 0;
      if (!known) extra.push_back(m.client_urls.front());
    }
    const size_t base = probes_.size();
    probes_.resize(base + extra.size());
    DialAll(base, extra);
    for (size_t i = base; i < probes_.size(); ++i) by_url_[Normalise(probes_[i].endpoint, client_)] = i;
  }

  // One report per member (member-list order), by member id first, then by client URL; then any
  // endpoint that matched no member.
  void MatchProbesToMembers() {
    std::vector<bool> used(probes_.size(), false);
    auto fill = [&](MemberReport& r, size_t i) {
      used[i] = true;
      r.endpoint = probes_[i].endpoint;
      r.reachable = probes_[i].client != nullptr;
      if (r.reachable) {
        r.status = probes_[i].status;
        r.id = r.status.header.member_id;
      } else {
        r.error = probes_[i].error.message();
      }
    };
    for (const auto& m : report_.members) {
      MemberReport r;
      r.name = m.name;
      r.id = m.id;
      std::optional<size_t> found;
      for (size_t i = 0; i < probes_.size() && !found; ++i) {
        if (probes_[i].client && probes_[i].status.header.member_id == m.id) found = i;
      }
      for (const auto& u : m.client_urls) {
        if (found) break;
        if (auto it = by_url_.find(Normalise(u, client_)); it != by_url_.end()) found = it->second;
      }
      if (found) {
        fill(r, *found);
      } else {
        r.endpoint = m.client_urls.empty() ? "" : m.client_urls.front();
        r.error = m.client_urls.empty() ? "member has not started yet (no client URL)" : "not queried";
        if (!options_.whole_cluster) continue;
      }
      report_.reports.push_back(std::move(r));
    }
    for (size_t i = 0; i < probes_.size(); ++i) {
      if (used[i]) continue;
      MemberReport r;
      fill(r, i);
      if (r.reachable) r.name = "(not a member)";
      report_.reports.push_back(std::move(r));
    }
  }

  // Rows in the order the operator gave the endpoints; members found only in the member list last.
  void OrderAsGiven() {
    auto rank = [&](const MemberReport& r) {
      std::string url = Normalise(r.endpoint, client_);
      for (size_t i = 0; i < client_.endpoints.size(); ++i) {
        if (Normalise(client_.endpoints[i], client_) == url) return i;
      }
      return client_.endpoints.size();
    };
    std::stable_sort(report_.reports.begin(), report_.reports.end(),
                     [&](const MemberReport& a, const MemberReport& b) { return rank(a) < rank(b); });
  }

  // Leader and cluster id as the reachable members see them: the leader most of them name.
  void ReadLeaderAndClusterId() {
    std::map<uint64_t, int> leader_votes;
    for (const auto& r : report_.reports) {
      if (!r.reachable) continue;
      report_.cluster_id = r.status.header.cluster_id;
      if (r.status.leader != 0) leader_votes[r.status.leader]++;
    }
    for (const auto& [id, votes] : leader_votes) {
      if (report_.leader_id == 0 || votes > leader_votes[report_.leader_id]) report_.leader_id = id;
    }
    for (auto& r : report_.reports) r.is_leader = r.reachable && r.id == report_.leader_id;
  }

  void ReadAlarms(etcd::Client& any) {
    auto alarms = any.Alarms();
    if (!alarms.ok()) {
      report_.notes.push_back("alarms not read: " + alarms.status().message());
      return;
    }
    for (const auto& a : *alarms) {
      for (auto& r : report_.reports) {
        if (r.id == a.member_id) r.alarms.push_back(a.type);
      }
    }
  }

  etcd::Client* ClientOf(const MemberReport& r) {
    for (auto& p : probes_) {
      if (p.client && p.status.header.member_id == r.id && p.endpoint == r.endpoint) return p.client.get();
    }
    return nullptr;
  }

  // Waits (briefly) for every member to have applied the same raft index: then their revisions
  // must be equal, which is the one comparison that catches members restored from different data
  // even when no key was written since.
  void Settle() {
    const auto deadline = std::chrono::steady_clock::now() + options_.settle_timeout;
    for (;;) {
      uint64_t lo = UINT64_MAX, hi = 0;
      for (size_t i : reachable_) {
        lo = std::min(lo, report_.reports[i].status.raft_applied_index);
        hi = std::max(hi, report_.reports[i].status.raft_applied_index);
      }
      report_.settled = lo == hi;
      if (report_.settled || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ParallelFor(reachable_.size(), [&](size_t k) {
        MemberReport& r = report_.reports[reachable_[k]];
        if (auto st = ClientOf(r)->Status(); st.ok()) r.status = *st;
        return Status::OK();
      });
    }
  }

  // HashKV and key counts at the lowest revision every reachable member has.
  void ReadHashesAndCounts() {
    report_.common_revision = INT64_MAX;
    for (size_t i : reachable_) {
      report_.common_revision = std::min(report_.common_revision, report_.reports[i].status.header.revision);
    }
    if (reachable_.empty()) report_.common_revision = 0;
    ParallelFor(reachable_.size(), [&](size_t k) {
      MemberReport& r = report_.reports[reachable_[k]];
      etcd::Client* c = ClientOf(r);
      ReadHash(r, *c);
      if (auto n = c->Count(kAllKeys, kAllKeys, 0, true); n.ok()) r.keys = *n;
      if (auto n = c->Count(kAllKeys, kAllKeys, report_.common_revision, true); n.ok()) r.keys_at_common = *n;
      return Status::OK();
    });
  }

  // HashKV at the common revision; a learner serves none ("rpc not supported for learner").
  void ReadHash(MemberReport& r, etcd::Client& c) const {
    if (r.status.is_learner) {
      r.hash_error = "a learner serves no HashKV";
      return;
    }
    auto h = c.HashKV(report_.common_revision);
    // etcd 3.4 refuses HashKV at exactly its compact revision (3.5+ answer), which is where a
    // restore with --bump-revision --mark-compacted leaves every member; asked for its
    // current revision (0) it hashes that same revision.
    if (!h.ok() && h.status().message().find("compacted") != std::string::npos &&
        r.status.header.revision == report_.common_revision) {
      auto now = c.HashKV(0);
      if (now.ok() && now->header.revision == report_.common_revision) h = now;
    }
    if (h.ok()) {
      r.hash = h->hash;
      r.compact_revision = h->compact_revision;
    } else {
      r.hash_error = h.status().message();
    }
  }

  const etcd::ClientOptions& client_;
  const SurveyOptions& options_;
  std::vector<Probe> probes_;
  std::map<std::string, size_t> by_url_;  // normalised URL -> probe index
  std::vector<size_t> reachable_;         // indexes of reachable reports
  ClusterReport report_;
};

}  // namespace

Result<ClusterReport> Survey(const etcd::ClientOptions& client, const SurveyOptions& options) {
  return Surveyor(client, options).Run();
}

}  // namespace lifeboat::ops
