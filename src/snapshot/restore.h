// RestoreSnapshot: etcd 3.4's `etcdctl snapshot restore` (flags, ids, WAL, .snap) with 3.5's
// backend semantics: the db is rewritten with only the new members (members_removed emptied),
// consistent_index = number of members, no user key ever deleted. Nothing is written before
// the flags, the target and (unless skipped) the SHA-256 trailer have been checked; everything
// is built in a temp dir next to the target, fsynced, and renamed into place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace lifeboat::snapshot {

// One logged change to replay on top of the snapshot (point-in-time restore): written into the
// mvcc `key` bucket exactly as etcd writes it (revision key main_sub[t], mvccpb.KeyValue value).
struct MvccChange {
  bool is_delete = false;
  int64_t revision = 0;
  uint32_t sub = 0;
  std::string key, value;
  int64_t create_revision = 0, version = 0, lease = 0;
  bool operator==(const MvccChange&) const = default;
};

// A lease to create in the restored db's `lease` bucket (etcd's leasepb.Lease: id, granted TTL),
// for replayed keys attached to a lease granted after the snapshot. etcd restarts every lease's
// countdown from its TTL when it starts, as it does after any restore.
struct LeaseGrant {
  int64_t id = 0, ttl = 0;
  bool operator==(const LeaseGrant&) const = default;
};

// The changes to replay, pulled one at a time while the restored db is written, so that only
// what the source buffers (one change segment) is in memory, never the whole log.
class ChangeStream {
 public:
  virtual ~ChangeStream() = default;
  // The next change in (revision, sub) order, or nullptr at the end. The change stays valid
  // until the next call.
  virtual Result<const MvccChange*> Next() = 0;
  // The leases to write into the `lease` bucket; asked once, after Next() returned the end
  // (etcd's `lease` bucket sorts after `key`, so the source may decide while streaming).
  virtual Result<std::vector<LeaseGrant>> Leases() = 0;
};

// A ChangeStream over changes and leases held in memory: for small replays and tests.
class VectorChangeStream : public ChangeStream {
 public:
  VectorChangeStream(std::vector<MvccChange> changes, std::vector<LeaseGrant> leases = {})
      : changes_(std::move(changes)), leases_(std::move(leases)) {}
  Result<const MvccChange*> Next() override {
    return next_ < changes_.size() ? &changes_[next_++] : nullptr;
  }
  Result<std::vector<LeaseGrant>> Leases() override { return leases_; }

 private:
  std::vector<MvccChange> changes_;
  std::vector<LeaseGrant> leases_;
  size_t next_ = 0;
};

struct RestoreOptions {
  std::string snapshot_path;
  std::string name = "default";
  std::string initial_cluster = "default=http://localhost:2380";
  std::string initial_cluster_token = "etcd-cluster";
  std::string initial_advertise_peer_urls = "http://localhost:2380";  // comma-separated
  std::string data_dir;                                               // empty: "<name>.etcd"
  std::string wal_dir;                                                // empty: "<data-dir>/member/wal"
  bool skip_hash_check = false;
  uint64_t bump_revision = 0;  // etcdutl 3.5.10+: needs mark_compacted
  bool mark_compacted = false;
  // Changes after the snapshot's revision, in (revision, sub) order, all above the snapshot's
  // last revision (the caller filters); etcd resumes at the last one. Not with bump_revision.
  // Its leases are written over any lease of the same id in the snapshot. Not owned.
  ChangeStream* replay = nullptr;
};

struct RestoreResult {
  std::string data_dir, wal_dir;
  std::string db_path;  // the restored bbolt file: <data-dir>/member/snap/db
  uint64_t member_id = 0, cluster_id = 0;
  size_t members = 0;
  int64_t revision = 0;  // the revision etcd will resume at
  uint64_t live_keys = 0;  // of the snapshot; 0 after a replay (count them in the started etcd)
  size_t replayed = 0, leases = 0;  // changes and leases written from the replay
};

// InvalidArgument for bad flags (name not in --initial-cluster, duplicate URLs, ...) or an
// existing non-empty target; Corruption for a damaged snapshot (target untouched).
Result<RestoreResult> RestoreSnapshot(const RestoreOptions& options);

}  // namespace lifeboat::snapshot
