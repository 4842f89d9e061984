#include "snapshot/cluster_config.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

#include "fmt/format.h"
#include "snapshot/go_json.h"

namespace lifeboat::snapshot {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t i = s.find(sep, start);
    out.emplace_back(s.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
    if (i == std::string_view::npos) return out;
    start = i + 1;
  }
}

uint64_t Sha1Prefix(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_sha1(), nullptr);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | md[i];
  return v;
}

Result<std::string> CanonicalUrl(std::string_view raw) {
  const std::string_view in = Trim(raw);
  const size_t sep = in.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Status::InvalidArgument(fmt::format("URL scheme must be http, https, unix, or unixs: {}", in));
  }
  std::string scheme(in.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https" && scheme != "unix" && scheme != "unixs") {
    return Status::InvalidArgument(fmt::format("URL scheme must be http, https, unix, or unixs: {}", in));
  }
  const std::string_view host = in.substr(sep + 3);
  if (host.find_first_of("/?#") != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("URL must not contain a path, query or fragment: {}", in));
  }
  if (host.find('@') != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("URL must not contain user information: {}", in));
  }
  // net.SplitHostPort: "host:port" or "[v6]:port", one colon outside brackets.
  bool ok;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    ok = close != std::string_view::npos && close + 1 < host.size() && host[close + 1] == ':' &&
         host.find(':', close + 2) == std::string_view::npos;
  } else {
    const size_t colon = host.find(':');
    ok = colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos &&
         host.find_first_of("[]") == std::string_view::npos;
  }
  if (!ok || host.find_first_of(" \t") != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("URL address does not have the form \"host:port\": {}", in));
  }
  return scheme + "://" + std::string(host);
}

}  // namespace

std::string IdString(uint64_t id) { return fmt::format("{:x}", id); }

Result<std::vector<std::string>> CanonicalUrls(const std::vector<std::string>& urls) {
  if (urls.empty()) return Status::InvalidArgument("no valid URLs given");
  std::vector<std::string> out;
  for (const auto& u : urls) {
    LB_ASSIGN_OR_RETURN(std::string c, CanonicalUrl(u));
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string MemberJson(const ClusterMember& m) {
  std::string j = fmt::format("{{\"id\":{},\"peerURLs\":[", m.id);
  for (size_t i = 0; i < m.peer_urls.size(); ++i) {
    if (i) j.push_back(',');
    AppendGoJsonString(&j, m.peer_urls[i]);
  }
  j.push_back(']');
  if (!m.name.empty()) {  // omitempty
    j.append(",\"name\":");
    AppendGoJsonString(&j, m.name);
  }
  j.push_back('}');
  return j;
}

namespace {

using UrlsMap = std::map<std::string, std::vector<std::string>>;

// types.NewURLsMap: items split on ',', empty items skipped, name=url at the first '='; a
// repeated name collects several URLs. Each member's URLs come back canonical and sorted.
Result<UrlsMap> ParseInitialCluster(std::string_view initial_cluster) {
  UrlsMap raw;
  for (const std::string& item : Split(initial_cluster, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      raw[item].push_back("");
    } else {
      raw[item.substr(0, eq)].push_back(item.substr(eq + 1));
    }
  }
  UrlsMap urls;
  for (auto& [n, us] : raw) {
    auto c = CanonicalUrls(us);
    if (!c.ok()) return c.status().Annotate("--initial-cluster");
    urls[n] = std::move(*c);
  }
  return urls;
}

// etcd's VerifyBootstrap, its checks in etcd's order, so the first error is the one etcd names.
Status VerifyBootstrap(const UrlsMap& urls, std::string_view name, std::string_view initial_cluster,
                       std::string_view advertise_peer_urls) {
  auto local = urls.find(std::string(name));
  if (local == urls.end()) {
    return Status::InvalidArgument(fmt::format(
        "couldn't find local name \"{}\" in the initial cluster configuration (--initial-cluster {}): pass --name "
        "with one of its names",
        name, initial_cluster));
  }
  auto adv = CanonicalUrls(Split(advertise_peer_urls, ','));
  if (!adv.ok()) return adv.status().Annotate("--initial-advertise-peer-urls");
  if (*adv != local->second) {
    std::string want;
    for (const auto& u : local->second) want += (want.empty() ? "" : ",") + u;
    return Status::InvalidArgument(
        fmt::format("--initial-cluster has {}={} but --initial-advertise-peer-urls is {}: they must name the same URLs",
                    name, want, advertise_peer_urls));
  }
  std::set<std::string> seen;
  for (const auto& [n, us] : urls) {
    for (const auto& u : us) {
      if (!seen.insert(u).second) {
        return Status::InvalidArgument(fmt::format("--initial-cluster {} has duplicate url {}", initial_cluster, u));
      }
    }
  }
  if (urls.empty()) return Status::InvalidArgument("--initial-cluster is empty");
  return Status::OK();
}

// The members with etcd's ids (SHA-1 of the peer URLs and the token), in ascending id order,
// and the local member's id.
Result<ClusterConfig> AssignIds(const UrlsMap& urls, std::string_view name, std::string_view token) {
  ClusterConfig cfg;
  std::set<uint64_t> ids;
  for (const auto& [n, us] : urls) {
    ClusterMember m;
    m.name = n;
    m.peer_urls = us;
    std::string b;
    for (const auto& u : us) b += u;
    b += token;
    m.id = Sha1Prefix(b);
    if (m.id == 0) return Status::InvalidArgument(fmt::format("member {} would get id 0; change the token", n));
    if (!ids.insert(m.id).second) {
      return Status::InvalidArgument(fmt::format("member {} has the same id {} as another member", n, IdString(m.id)));
    }
    if (n == name) cfg.local_id = m.id;
    cfg.members.push_back(std::move(m));
  }
  std::sort(cfg.members.begin(), cfg.members.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return cfg;
}

// etcd's cluster id: SHA-1 of the member ids, big-endian, in ascending order.
uint64_t ClusterId(const std::vector<ClusterMember>& members) {
  std::string idbuf;
  for (const auto& m : members) {
    for (int i = 7; i >= 0; --i) idbuf.push_back(static_cast<char>((m.id >> (8 * i)) & 0xff));
  }
  return Sha1Prefix(idbuf);
}

}  // namespace

Result<ClusterConfig> PlanCluster(std::string_view name, std::string_view initial_cluster, std::string_view token,
                                  std::string_view advertise_peer_urls) {
  LB_ASSIGN_OR_RETURN(UrlsMap urls, ParseInitialCluster(initial_cluster));
  LB_RETURN_IF_ERROR(VerifyBootstrap(urls, name, initial_cluster, advertise_peer_urls));
  LB_ASSIGN_OR_RETURN(ClusterConfig cfg, AssignIds(urls, name, token));
  cfg.cluster_id = ClusterId(cfg.members);
  return cfg;
}

}  // namespace lifeboat::snapshot
