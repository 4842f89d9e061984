// Point-in-time restore: the newest full backup at or before the target, plus the logged
// changes after it up to the target (ops/changelog.h), replayed natively into the restored db
// (snapshot::RestoreOptions::replay). Refused, naming the problem, when no backup is old enough,
// when the change log has a gap between the backup and the target, or ends before it. The result
// is compared with the newest HashKV checkpoint at or before the target (ops/changelog.h):
// Corruption, and no data dir left, when etcd's hash and the result's differ.
// --to-time resolves to the end revision of the last segment finished at or before the time:
// etcd does not time-stamp revisions, so the resolution is the flush interval (about 1 s).
// Leases: keys keep the lease id they were written with; a lease granted after the full backup is
// recreated from the grant the change log recorded (its TTL restarts, as after any restore).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "catalog/tiers.h"
#include "codec/object_codec.h"
#include "snapshot/restore.h"
#include "store/store.h"

namespace lifeboat::ops {

using catalog::kPitrTier;

struct PitrOptions {
  std::string prefix = "db-etcd";
  std::string cluster_name;  // the change log's folder and the backups' cluster
  // The history to restore within (etcd's cluster id; a whole-cluster restore starts a new one
  // under the same name). 0: the history of the newest full backup of cluster_name.
  uint64_t cluster_id = 0;
  int64_t to_revision = 0;   // or:
  std::optional<std::chrono::system_clock::time_point> to_time;
  const codec::KeyRing* keys = nullptr;
  // Which backups and segments may be used (catalog/trust.h): untrusted backups are skipped as
  // bases, untrusted segments are never replayed.
  catalog::TrustPolicy trust;
  std::string work_dir;      // for the fetched backup; empty: $TMPDIR or /tmp
};

struct PitrResult {
  snapshot::RestoreResult restore;
  std::string backup_key;
  int64_t backup_revision = 0;  // of the snapshot file
  int64_t target_revision = 0;
  uint64_t cluster_id = 0;  // the history used (0: only backups that recorded none)
  size_t segments = 0, changes = 0;
  size_t leases = 0;  // granted after the backup, recreated for replayed keys
  // The newest HashKV checkpoint of the log at or before the target that the result was found
  // equal to (snapshot/hashkv.h); 0 when the covering segments carry none.
  int64_t hash_checked_revision = 0;
  // Untrusted backups passed over as bases, and untrusted segments left out ("<key>: <why>").
  std::vector<std::string> skipped;
};

// One line for the operator: which checkpoint the result was found equal to, or that none was.
std::string DescribeCheck(const PitrResult& r);

// `restore` holds the member flags (name, initial cluster, token, peer URLs, data dir); its
// snapshot path and replay are filled here.
Result<PitrResult> RestoreToPoint(store::Store& store, const PitrOptions& options, snapshot::RestoreOptions restore);

// For restore-cluster --to-revision/--to-time, in two steps so that nothing is stored before the
// operator confirms: BuildPointInTime makes the point-in-time state a snapshot file (the replayed
// db plus etcd's SHA-256 trailer) in a local temp dir, reading the store only;
// StorePointInTime then stores it as a backup of tier "pitr", through the backups' encoding,
// so every agent stages and restores the same verified object.

struct PointInTimeBuild {
  std::unique_ptr<TempDir> dir;  // holds the file; removed with the build
  std::string snapshot_path;
  catalog::Manifest manifest;    // what it will be stored as (object key without encoding suffix)
  PitrResult details;            // how the state was built and checked
  int64_t revision = 0;          // of the snapshot file: where etcd resumes
  uint64_t live_keys = 0;        // of the snapshot file
};
Result<PointInTimeBuild> BuildPointInTime(store::Store& store, const PitrOptions& options);
// The stored object's entry. The file is re-hashed while it streams and must still be the built one.
Result<catalog::BackupEntry> StorePointInTime(store::Store& store, const PointInTimeBuild& build,
                                              const codec::EncodeOptions& encode);

}  // namespace lifeboat::ops
