#include "cli/report_json.h"

#include "etcd/types.h"

namespace lifeboat::cli {

nlohmann::json MemberToJson(const ops::MemberReport& r) {
  nlohmann::json j;
  j["endpoint"] = r.endpoint;
  j["name"] = r.name;
  j["id"] = etcd::IdHex(r.id);
  j["reachable"] = r.reachable;
  if (!r.reachable) {
    j["error"] = r.error;
    return j;
  }
  const auto& s = r.status;
  j["cluster_id"] = etcd::IdHex(s.header.cluster_id);
  j["version"] = s.version;
  j["storage_version"] = s.storage_version;
  j["db_size"] = s.db_size;
  j["db_size_in_use"] = s.db_size_in_use;
  j["is_leader"] = r.is_leader;
  j["is_learner"] = s.is_learner;
  j["leader"] = etcd::IdHex(s.leader);
  j["raft_term"] = s.raft_term;
  j["raft_index"] = s.raft_index;
  j["raft_applied_index"] = s.raft_applied_index;
  j["revision"] = s.header.revision;
  j["errors"] = s.errors;
  j["alarms"] = r.alarms;
  if (r.keys) j["keys"] = *r.keys;
  if (r.keys_at_common) j["keys_at_common_revision"] = *r.keys_at_common;
  if (r.hash) j["hashkv"] = *r.hash;
  if (r.hash) j["compact_revision"] = r.compact_revision;
  if (!r.hash_error.empty()) j["hashkv_error"] = r.hash_error;
  return j;
}

nlohmann::json ReportToJson(const ops::ClusterReport& report) {
  nlohmann::json j;
  j["cluster_id"] = etcd::IdHex(report.cluster_id);
  j["leader"] = etcd::IdHex(report.leader_id);
  j["common_revision"] = report.common_revision;
  j["settled"] = report.settled;
  j["members"] = nlohmann::json::array();
  for (const auto& r : report.reports) j["members"].push_back(MemberToJson(r));
  j["notes"] = report.notes;
  return j;
}

}  // namespace lifeboat::cli
