// Plain C++ views of the etcd responses lifeboat uses, so no other module sees protobuf types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lifeboat::etcd {

struct Header {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  int64_t revision = 0;
  uint64_t raft_term = 0;
};

struct Member {
  uint64_t id = 0;
  std::string name;  // empty for a member that was added but has not started yet
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
};

struct MemberStatus {
  Header header;
  std::string version;
  int64_t db_size = 0;
  int64_t db_size_in_use = 0;
  uint64_t leader = 0;
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
  uint64_t raft_applied_index = 0;
  std::vector<std::string> errors;
  bool is_learner = false;
  std::string storage_version;  // etcd 3.6+ only; "" from 3.4 and 3.5, which do not report it
};

// A lease as LeaseTimeToLive reports it: ttl is the remaining seconds, -1 when the lease does
// not exist (expired or revoked); granted_ttl is what it was granted (or last renewed) with.
struct LeaseTtl {
  int64_t id = 0, ttl = -1, granted_ttl = 0;
};

struct KvHash {
  Header header;
  uint32_t hash = 0;
  int64_t compact_revision = 0;
};

struct Alarm {
  uint64_t member_id = 0;
  std::string type;  // "NOSPACE", "CORRUPT"
};

struct KeyValue {
  std::string key, value;
  int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

// One change from a watch. A delete carries the key and, in kv.mod_revision, the deletion's revision.
struct WatchEvent {
  bool is_delete = false;
  KeyValue kv;
  bool has_prev = false;
  KeyValue prev;  // with prev_kv: the pair before the change
};

// One WatchResponse, its fragments joined: events (possibly none: a progress notification) and
// the revision the member has reached (every change up to header_revision has been delivered).
struct WatchBatch {
  int64_t header_revision = 0;
  std::vector<WatchEvent> events;
};

// Formats a member or cluster id the way etcdctl prints it (lowercase hex, no padding).
std::string IdHex(uint64_t id);

}  // namespace lifeboat::etcd
