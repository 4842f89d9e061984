#include "ops/survey.h"

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <thread>

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

// Runs fn(i) for every index concurrently and waits for all.
template <typename Fn>
void ForEachConcurrently(size_t n, Fn fn) {
  std::vector<std::future<void>> fs;
  fs.reserve(n);
  for (size_t i = 0; i < n; ++i) fs.push_back(std::async(std::launch::async, fn, i));
  for (auto& f : fs) f.get();
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

}  // namespace

Result<ClusterReport> Survey(const etcd::ClientOptions& client, const SurveyOptions& options) {
  if (client.endpoints.empty()) {
    return Status::InvalidArgument("no endpoints (pass --endpoints, set ETCDCTL_ENDPOINTS or use --config)");
  }
  std::vector<Probe> probes(client.endpoints.size());
  ForEachConcurrently(probes.size(), [&](size_t i) { probes[i] = Dial(client.endpoints[i], client); });

  etcd::Client* any = nullptr;
  for (auto& p : probes) {
    if (p.client) {
      any = p.client.get();
      break;
    }
  }
  if (any == nullptr) return PickError(probes);

  ClusterReport report;
  LB_ASSIGN_OR_RETURN(report.members, any->MemberList());

  std::map<std::string, size_t> by_url;  // normalised URL -> probe index
  for (size_t i = 0; i < probes.size(); ++i) by_url[Normalise(probes[i].endpoint, client)] = i;
  if (options.whole_cluster) {
    std::vector<std::string> extra;
    for (const auto& m : report.members) {
      if (m.client_urls.empty()) continue;
      bool known = false;
      for (const auto& u : m.client_urls) known = known || by_url.count(Normalise(u, client)) > 0;
      if (!known) extra.push_back(m.client_urls.front());
    }
    size_t base = probes.size();
    probes.resize(base + extra.size());
    ForEachConcurrently(extra.size(), [&](size_t i) { probes[base + i] = Dial(extra[i], client); });
    for (size_t i = base; i < probes.size(); ++i) by_url[Normalise(probes[i].endpoint, client)] = i;
  }

  // One report per member (member-list order), then any endpoint that matched no member.
  std::vector<bool> used(probes.size(), false);
  auto fill = [&](MemberReport& r, size_t i) {
    used[i] = true;
    r.endpoint = probes[i].endpoint;
    r.reachable = probes[i].client != nullptr;
    if (r.reachable) {
      r.status = probes[i].status;
      r.id = r.status.header.member_id;
    } else {
      r.error = probes[i].error.message();
    }
  };
  for (const auto& m : report.members) {
    MemberReport r;
    r.name = m.name;
    r.id = m.id;
    std::optional<size_t> found;
    for (size_t i = 0; i < probes.size() && !found; ++i) {
      if (probes[i].client && probes[i].status.header.member_id == m.id) found = i;
    }
    for (const auto& u : m.client_urls) {
      if (found) break;
      if (auto it = by_url.find(Normalise(u, client)); it != by_url.end()) found = it->second;
    }
    if (found) {
      fill(r, *found);
    } else {
      r.endpoint = m.client_urls.empty() ? "" : m.client_urls.front();
      r.error = m.client_urls.empty() ? "member has not started yet (no client URL)" : "not queried";
      if (!options.whole_cluster) continue;
    }
    report.reports.push_back(std::move(r));
  }
  for (size_t i = 0; i < probes.size(); ++i) {
    if (used[i]) continue;
    MemberReport r;
    fill(r, i);
    if (r.reachable) r.name = "(not a member)";
    report.reports.push_back(std::move(r));
  }

  // Rows in the order the operator gave the endpoints; members found only in the member list last.
  auto rank = [&](const MemberReport& r) {
    std::string url = Normalise(r.endpoint, client);
    for (size_t i = 0; i < client.endpoints.size(); ++i) {
      if (Normalise(client.endpoints[i], client) == url) return i;
    }
    return client.endpoints.size();
  };
  std::stable_sort(report.reports.begin(), report.reports.end(),
                   [&](const MemberReport& a, const MemberReport& b) { return rank(a) < rank(b); });

  // Leader and cluster id as the reachable members see them.
  std::map<uint64_t, int> leader_votes;
  for (const auto& r : report.reports) {
    if (!r.reachable) continue;
    report.cluster_id = r.status.header.cluster_id;
    if (r.status.leader != 0) leader_votes[r.status.leader]++;
  }
  for (const auto& [id, votes] : leader_votes) {
    if (report.leader_id == 0 || votes > leader_votes[report.leader_id]) report.leader_id = id;
  }
  for (auto& r : report.reports) r.is_leader = r.reachable && r.id == report.leader_id;

  if (auto alarms = any->Alarms(); alarms.ok()) {
    for (const auto& a : *alarms) {
      for (auto& r : report.reports) {
        if (r.id == a.member_id) r.alarms.push_back(a.type);
      }
    }
  } else {
    report.notes.push_back("alarms not read: " + alarms.status().message());
  }

  if (!options.hashes) return report;

  // Wait (briefly) for every member to have applied the same raft index: then their revisions
  // must be equal, which is the one comparison that catches members restored from different data
  // even when no key was written since.
  std::vector<size_t> live;
  for (size_t i = 0; i < report.reports.size(); ++i) {
    if (report.reports[i].reachable) live.push_back(i);
  }
  auto probe_of = [&](const MemberReport& r) -> etcd::Client* {
    for (auto& p : probes) {
      if (p.client && p.status.header.member_id == r.id && p.endpoint == r.endpoint) return p.client.get();
    }
    return nullptr;
  };
  auto deadline = std::chrono::steady_clock::now() + options.settle_timeout;
  for (;;) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i : live) {
      lo = std::min(lo, report.reports[i].status.raft_applied_index);
      hi = std::max(hi, report.reports[i].status.raft_applied_index);
    }
    report.settled = lo == hi;
    if (report.settled || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ForEachConcurrently(live.size(), [&](size_t k) {
      MemberReport& r = report.reports[live[k]];
      if (auto st = probe_of(r)->Status(); st.ok()) r.status = *st;
    });
  }

  report.common_revision = INT64_MAX;
  for (size_t i : live) report.common_revision = std::min(report.common_revision, report.reports[i].status.header.revision);
  if (live.empty()) report.common_revision = 0;

  ForEachConcurrently(live.size(), [&](size_t k) {
    MemberReport& r = report.reports[live[k]];
    etcd::Client* c = probe_of(r);
    if (auto h = c->HashKV(report.common_revision); h.ok()) {
      r.hash = h->hash;
      r.compact_revision = h->compact_revision;
    } else {
      r.hash_error = h.status().message();
    }
    if (auto n = c->Count(kAllKeys, kAllKeys, 0, true); n.ok()) r.keys = *n;
    if (auto n = c->Count(kAllKeys, kAllKeys, report.common_revision, true); n.ok()) r.keys_at_common = *n;
  });
  return report;
}

}  // namespace lifeboat::ops
