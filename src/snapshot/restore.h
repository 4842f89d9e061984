// RestoreSnapshot: writes the data dir that `etcdutl snapshot restore` of the target etcd
// version writes (3.4: etcdctl's; 3.5, 3.6 and 3.7 add meta/term = 1 and the WAL's final
// snapshot record carries conf_state), from the same flags and with the same ids, WAL and .snap. The
// target is the snapshot's own version unless told (RestoreOptions::target_version); one older
// than the snapshot's cluster version is refused, as etcd refuses to downgrade. In every
// version the db holds only the new members (members_removed emptied), consistent_index = the
// number of members, and no user key is ever deleted. Nothing is written before the flags and
// the target have been checked; everything is built in a temp dir next to the target, fsynced,
// and renamed into place only after the SHA-256 trailer (hashed while the db is written) matched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "snapshot/change_stream.h"
#include "snapshot/snapshot_status.h"

namespace lifeboat::snapshot {

// The etcd a snapshot came from, read from its db: meta/storageVersion is written by 3.6 and
// later ("3.6.0", "3.7.0"), meta/term and meta/confState by 3.5, neither by 3.4.
// `required_minor` is the oldest etcd 3.x that may open it: its cluster/clusterVersion and
// storageVersion (a 3.5 member of a cluster still at 3.4 writes meta/term, yet etcd 3.4 may run
// it).
struct SnapshotVersion {
  int layout_minor = 4;
  int required_minor = 0;
  std::string cluster_version, storage_version;  // as stored; empty when absent
  std::string Describe() const;  // e.g. "etcd 3.5 (meta/term; cluster/clusterVersion 3.5.0)"
};
class BboltReader;
Result<SnapshotVersion> DetectSnapshotVersion(BboltReader& db);

// The newest etcd minor a restore writes for (3.7).
inline constexpr int kNewestRestoreMinor = 7;

// "3.4" .. "3.7" (a patch level such as "3.5.30" is accepted: the layout is per minor) -> 4 .. 7;
// InvalidArgument naming the flag otherwise.
Result<int> ParseTargetVersion(std::string_view v);

// etcdutl's rule for --bump-revision N and --mark-compacted: both or neither. InvalidArgument
// naming the missing flag.
Status CheckBumpFlags(uint64_t bump_revision, bool mark_compacted);

struct RestoreOptions {
  std::string snapshot_path;
  std::string name = "default";
  std::string initial_cluster = "default=http://localhost:2380";
  std::string initial_cluster_token = "etcd-cluster";
  std::string initial_advertise_peer_urls = "http://localhost:2380";  // comma-separated
  std::string data_dir;                                               // empty: "<name>.etcd"
  std::string wal_dir;                                                // empty: "<data-dir>/member/wal"
  bool skip_hash_check = false;
  // Hex SHA-256 the whole file (trailer included) must have; empty: any. Checked in the pass that
  // checks the trailer, while the db is written, and before anything is renamed into place.
  std::string expect_file_sha256;
  std::string target_version;  // "3.4" .. "3.7"; empty: the snapshot's own
  // etcdutl 3.5.10+'s --bump-revision N --mark-compacted (both or neither): an empty-valued
  // entry at N above the latest revision (the replay's included), scheduled for compaction, so
  // etcd resumes there and refuses every older revision to watchers ("compacted").
  uint64_t bump_revision = 0;
  bool mark_compacted = false;
  // Changes after the snapshot's revision, in (revision, sub) order, all above the snapshot's
  // last revision (the caller filters); etcd resumes at the last one (plus any bump).
  // Its leases are written over any lease of the same id in the snapshot. Not owned.
  ChangeStream* replay = nullptr;
};

struct RestoreResult {
  std::string data_dir, wal_dir;
  std::string db_path;  // the restored bbolt file: <data-dir>/member/snap/db
  std::string file_sha256;  // hex SHA-256 of the whole snapshot file as read; empty with skip_hash_check
  uint64_t member_id = 0, cluster_id = 0;
  size_t members = 0;
  int64_t revision = 0;  // the revision etcd will resume at (the bumped one after a bump)
  uint64_t live_keys = 0;  // of the restored db: the snapshot's, with the replayed changes applied
  size_t replayed = 0, leases = 0;  // changes and leases written from the replay
  std::string source_version;  // SnapshotVersion::Describe() of the snapshot
  std::string target_version;  // the layout written: "3.4" .. "3.7"
  std::vector<StoredMember> source_members;  // the snapshot's own membership (the restore replaces it)
};

// InvalidArgument for bad flags (name not in --initial-cluster, duplicate URLs, ...), an existing
// non-empty target, a target version older than the snapshot's, or a bump without
// mark_compacted (or the reverse); FailedPrecondition for a snapshot of an etcd newer than 3.7;
// Corruption for a damaged snapshot (target untouched).
Result<RestoreResult> RestoreSnapshot(const RestoreOptions& options);

}  // namespace lifeboat::snapshot
