#include "ops/recovery/coverage.h"

#include <algorithm>

#include <fmt/format.h>

#include "etcd/client.h"
#include "etcd/first_answering.h"
#include "host/liveness.h"

namespace lifeboat::ops {
namespace {

using std::chrono::milliseconds;

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string First(const std::vector<std::string>& v) { return v.empty() ? std::string("no URL") : v.front(); }

std::vector<std::string> UrlsOf(const agent::StoredMember& m) {
  std::vector<std::string> v = m.client_urls;
  v.insert(v.end(), m.peer_urls.begin(), m.peer_urls.end());
  return v;
}

// The first of `urls` that accepts a connection; empty: none does.
std::string AnsweringUrl(const std::vector<std::string>& urls) {
  for (const auto& u : urls) {
    if (host::UrlAnswers(u, milliseconds(500))) return u;
  }
  return {};
}

const agent::StoredMember* Named(const std::vector<agent::StoredMember>& members, const std::string& name) {
  for (const auto& m : members) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

}  // namespace

Result<Membership> LiveMembership(const etcd::ClientOptions& base, const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) return Status::NotFound("no member answers (no endpoint)");
  etcd::ClientOptions o = base;
  o.dial_timeout = std::min(o.dial_timeout, milliseconds(1500));
  o.command_timeout = std::min(o.command_timeout, milliseconds(3000));
  std::vector<etcd::Member> list;
  auto member_list = [&](etcd::Client& c) -> Status {
    LB_ASSIGN_OR_RETURN(list, c.MemberList());
    return Status::OK();
  };
  auto answering = etcd::FirstAnswering(endpoints, o, member_list);
  if (!answering.ok()) return Status::NotFound("no member answers (" + answering.status().message() + ")");
  Membership m;
  m.source = "the member list of " + endpoints[answering->index];
  for (const auto& x : list) m.members.push_back({x.name, x.peer_urls, x.client_urls, x.is_learner});
  return m;
}

std::vector<std::string> MembershipUrls(const std::vector<std::string>& agent_urls, const etcd::ClientOptions& client) {
  std::vector<std::string> urls = agent_urls;
  for (const auto& e : client.endpoints) {
    if (!Has(urls, e)) urls.push_back(e);
  }
  return urls;
}

Status StillSilent(const std::string& name, const std::vector<std::string>& urls) {
  if (std::string url = AnsweringUrl(urls); !url.empty()) {
    return Status::FailedPrecondition(name + " is not gone: " + url + " answers (restore it with its agent, or stop "
                                      "it for good before leaving it out with --without)");
  }
  return Status::OK();
}

namespace {

// The members --without leaves out, each checked: a member of that name, without an agent, and
// silent (one that answers goes to `problems`).
Status LeaveOut(const std::vector<FleetMember>& agents, const Membership& ms, const CoverageOptions& o,
                Coverage& out, std::vector<std::string>& problems) {
  for (const auto& name : o.without) {
    const agent::StoredMember* m = Named(ms.members, name);
    if (!m) return Status::InvalidArgument("--without " + name + ": no member of that name in " + ms.source);
    bool has_agent = std::any_of(agents.begin(), agents.end(),
                                 [&](const FleetMember& a) { return a.status.member_name == name; });
    if (has_agent) {
      return Status::InvalidArgument("--without " + name + ": " + name + " has an agent, so it is restored with the "
                                     "others (drop --without, or remove its agent from 'agents')");
    }
    if (std::string url = AnsweringUrl(UrlsOf(*m)); !url.empty()) {
      problems.push_back(name + " is not gone: " + url + " answers, so it cannot be left out (restore it with its "
                         "agent, or stop it for good first)");
      continue;
    }
    out.without.push_back({name, First(m->peer_urls), "its client and peer URLs do not answer", UrlsOf(*m)});
  }
  return Status::OK();
}

// Every member needs an agent, unless it is left out.
void FindUnserved(const std::vector<FleetMember>& agents, const Membership& ms, const CoverageOptions& o,
                  std::vector<std::string>& problems) {
  for (const auto& m : ms.members) {
    if (Has(o.without, m.name)) continue;
    bool served = false;  // by URL, or by name (a disagreeing URL is reported below)
    for (const auto& fm : agents) {
      served |= Has(m.peer_urls, fm.status.peer_url) || (!m.name.empty() && m.name == fm.status.member_name);
    }
    if (!served) {
      problems.push_back(fmt::format("member {} (peer {}) has no agent: add its agent to 'agents'{}",
                                     m.name.empty() ? "(not started yet)" : m.name, First(m.peer_urls),
                                     m.name.empty() ? "" : ", or, if it is gone for good, --without " + m.name));
    }
  }
}

// Every agent must agree with the membership on its member's name and peer URL; one whose member
// is not listed is noted when the options allow it.
void FindDisagreeing(const std::vector<FleetMember>& agents, const Membership& ms, const CoverageOptions& o,
                     Coverage& out, std::vector<std::string>& problems) {
  for (const auto& fm : agents) {
    const auto& st = fm.status;
    const agent::StoredMember* by_name = Named(ms.members, st.member_name);
    const agent::StoredMember* by_url = nullptr;
    for (const auto& m : ms.members) {
      if (Has(m.peer_urls, st.peer_url)) by_url = &m;
    }
    if (by_name && !Has(by_name->peer_urls, st.peer_url)) {
      problems.push_back(fmt::format("agent {} serves {} with peer URL {}, but {} lists {} at {} (fix member.peer-url "
                                     "in that agent's config)",
                                     fm.address, st.member_name, st.peer_url, ms.source, st.member_name,
                                     First(by_name->peer_urls)));
    } else if (by_url && !by_url->name.empty() && by_url->name != st.member_name) {
      problems.push_back(fmt::format("agent {} serves {} at peer URL {}, but {} names that member {} (fix member.name "
                                     "in that agent's config)",
                                     fm.address, st.member_name, st.peer_url, ms.source, by_url->name));
    } else if (!by_name && !by_url) {
      if (o.allow_unlisted || st.member_name == o.unlisted_ok || (o.unlisted_ok_if_stopped && !st.etcd_running)) {
        out.notes.push_back(st.member_name + " (agent " + fm.address + ") is not in " + ms.source +
                            ": it is restored as a member");
      } else {
        problems.push_back(fmt::format("agent {} serves {} ({}), which is not a member in {} (remove it from "
                                       "'agents')",
                                       fm.address, st.member_name, st.peer_url, ms.source));
      }
    }
  }
}

}  // namespace

Result<Coverage> CheckCoverage(const std::vector<FleetMember>& agents, const Membership& ms, const CoverageOptions& o) {
  Coverage out;
  std::vector<std::string> problems;
  LB_RETURN_IF_ERROR(LeaveOut(agents, ms, o, out, problems));
  FindUnserved(agents, ms, o, problems);
  FindDisagreeing(agents, ms, o, out, problems);
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return Status::FailedPrecondition("the agents do not cover the cluster (" + ms.source + "): " + all);
  }
  return out;
}

}  // namespace lifeboat::ops
