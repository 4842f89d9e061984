// Survey: one concurrent pass over a cluster's members that gathers what status and check print:
// each member's Status, the member list, alarms and, optionally, HashKV and key counts at one
// common revision. Unreachable members are reported, not fatal; the survey fails only when there
// is no endpoint, or when no member answers with the member list.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcd/options.h"
#include "etcd/types.h"

namespace lifeboat::ops {

struct MemberReport {
  std::string endpoint;  // the client URL that was queried
  std::string name;      // from the member list; empty when unknown
  uint64_t id = 0;
  bool reachable = false;
  std::string error;     // why it could not be queried
  etcd::MemberStatus status;
  bool is_leader = false;
  std::vector<std::string> alarms;

  // Filled when hashes are requested.
  std::optional<uint32_t> hash;        // HashKV at ClusterReport::common_revision
  int64_t compact_revision = 0;
  std::string hash_error;
  std::optional<int64_t> keys;         // live keys now, this member's own view (serializable)
  std::optional<int64_t> keys_at_common;  // live keys at common_revision

  // The member's name, or its endpoint when the name is unknown: for messages.
  std::string label() const { return name.empty() ? endpoint : name; }
};

struct ClusterReport {
  uint64_t cluster_id = 0;
  uint64_t leader_id = 0;
  std::vector<etcd::Member> members;
  // One per member (with whole_cluster; else per member queried) and per endpoint that matched
  // no member: in the order of the endpoints given, then the others in member-list order.
  std::vector<MemberReport> reports;
  int64_t common_revision = 0;         // min revision over reachable members (hash/count point)
  bool settled = false;                // every reachable member had the same applied index
  std::vector<std::string> notes;      // things the reader should know (e.g. members not queried)
};

struct SurveyOptions {
  bool whole_cluster = true;  // also query members found in the member list, not just --endpoints
  bool hashes = false;        // HashKV and key counts at a common revision
  // With hashes: how long to wait for the members to reach the same applied index, so that
  // revisions can be compared exactly on a busy cluster.
  std::chrono::milliseconds settle_timeout{3000};
};

Result<ClusterReport> Survey(const etcd::ClientOptions& client, const SurveyOptions& options);

}  // namespace lifeboat::ops
