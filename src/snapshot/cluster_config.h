// The new cluster a restore creates, derived exactly as etcd 3.4 does from --name,
// --initial-cluster, --initial-cluster-token and --initial-advertise-peer-urls: canonical
// sorted peer URLs, member id = SHA-1(urls || token)[0:8] big-endian, cluster id =
// SHA-1(sorted ids as 8-byte big-endian)[0:8], and VerifyBootstrap's checks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace lifeboat::snapshot {

struct ClusterMember {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;  // canonical, sorted bytewise
};

struct ClusterConfig {
  std::vector<ClusterMember> members;  // ascending id: the order of WAL entries and v2 indexes
  uint64_t cluster_id = 0;
  uint64_t local_id = 0;
};

// InvalidArgument naming the offending flag value: a bad URL, --name not in the cluster, the
// advertised URLs not the member's, a URL used twice, an empty cluster, an id clash.
Result<ClusterConfig> PlanCluster(std::string_view name, std::string_view initial_cluster, std::string_view token,
                                  std::string_view advertise_peer_urls);

// types.NewURLs: trims, checks scheme (http, https, unix, unixs), host:port and no path;
// returns the canonical forms sorted.
Result<std::vector<std::string>> CanonicalUrls(const std::vector<std::string>& urls);

// types.ID.String(): lowercase hex without padding.
std::string IdString(uint64_t id);

// membership.Member as json.Marshal writes it: {"id":N,"peerURLs":[...],"name":"..."}.
std::string MemberJson(const ClusterMember& m);

}  // namespace lifeboat::snapshot
