// SnapshotStatus: what a bbolt image holds, in one checked pass over every page. The first five
// fields equal `snapshot status` of the etcd tool that matches the snapshot's version (etcdctl
// 3.4, etcdutl 3.5, 3.6, 3.7) on the same file; the rest are read from etcd's buckets (mvcc
// `key` and `meta`, `members`, `members_removed`, `cluster`, `auth`, `lease`, `alarm`).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "snapshot/bbolt_reader.h"
#include "snapshot/newest_by_key.h"

namespace lifeboat::snapshot {

struct StoredMember {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls, client_urls;
  bool is_learner = false;
};

struct StoredAlarm {
  uint64_t member_id = 0;
  std::string alarm;  // NOSPACE, CORRUPT, or the number
};

struct SnapshotStatus {
  // etcdutl's fields: CRC-32C over bucket names, keys and values; main revision of the last
  // entry of `key`; total keys; meta.pgid * page size; meta/storageVersion (written by 3.6+).
  // Total keys is what the etcdutl of the snapshot's version counts (`status_minor`): every
  // entry of every bucket up to 3.5, the live user keys from 3.6 on.
  uint32_t hash = 0;
  int64_t revision = 0;
  uint64_t total_keys = 0;
  uint64_t total_size = 0;
  std::string storage_version;
  int status_minor = 4;         // 3.x whose etcdutl these numbers are: the snapshot's version
  uint64_t bucket_entries = 0;  // entries in all buckets (total keys up to 3.5)

  // mvcc: the revision etcd resumes at (the last entry or the finished compaction, whichever is
  // higher), user keys whose newest entry is a put, and the raw entry counts.
  int64_t current_revision = 0;
  uint64_t live_keys = 0;
  uint64_t key_entries = 0, tombstones = 0;
  std::optional<int64_t> compacted_revision;    // meta/finishedCompactRev
  std::optional<int64_t> scheduled_compaction;  // meta/scheduledCompactRev
  std::optional<uint64_t> consistent_index;     // meta/consistent_index
  std::optional<uint64_t> term;                 // meta/term (written by 3.5+)

  std::vector<StoredMember> members;         // the `members` bucket, in key order
  std::vector<uint64_t> removed_member_ids;  // the `members_removed` bucket
  std::string cluster_version;               // cluster/clusterVersion
  bool auth_enabled = false;
  uint64_t auth_users = 0, auth_roles = 0, leases = 0;
  std::vector<StoredAlarm> alarms;
  std::vector<std::string> buckets;
  uint32_t page_size = 0;
  uint64_t pages_reachable = 0, pages_free = 0;
};

// Collects a SnapshotStatus from any walk (restore reuses it while copying the db). total_size,
// page_size and page counts are left to the caller.
class StatusCollector : public BboltVisitor {
 public:
  // hash = false skips etcdctl's CRC over every byte (SnapshotStatus::hash stays 0): a
  // restore needs the revision and live keys, not that hash.
  explicit StatusCollector(bool hash = true);
  ~StatusCollector() override;
  Status BeginBucket(std::string_view name, uint64_t sequence) override;
  Status Entry(std::string_view key, std::string_view value, bool is_bucket) override;
  Status EndBucket() override;
  // Completes hash, live keys and current revision; call once, after the walk. Fails only when
  // the live-key count's spill files do (see NewestByKey).
  Result<SnapshotStatus> Finish();

 private:
  Status KeyEntry(std::string_view key, std::string_view value);
  Status MetaEntry(std::string_view key, std::string_view value);
  static bool ParseHexId(std::string_view s, uint64_t* id);

  SnapshotStatus own_;
  SnapshotStatus* st_;
  std::unique_ptr<NewestByKey> live_;
  std::string bucket_;
  uint32_t hash_ = 0;
  bool hashing_ = true;
  int64_t last_main_ = 0;
};

// Walks `db` once (every page checked as by bbolt's tx.Check()). Corruption for damaged pages
// and for etcd records that do not parse.
Result<SnapshotStatus> ComputeStatus(BboltReader& db);

// Decoders for etcd's encodings, shared with restore and the tests.
// mvcc revision key: 8-byte big-endian main, '_', 8-byte big-endian sub, optional 't'.
bool ParseRevisionKey(std::string_view key, int64_t* main, int64_t* sub, bool* tombstone);
// The user key (field 1) of an mvccpb.KeyValue; false when the message does not parse.
bool ParseKeyValueKey(std::string_view kv, std::string* key);
// Member JSON from the `members` bucket.
Result<StoredMember> ParseMemberJson(std::string_view json);
uint64_t LoadBigEndian64(std::string_view bytes);  // bytes.size() must be >= 8
// "3.5.0" / "3.6" -> 5 / 6; -1 when it is not "3.<minor>[.<patch>]".
int EtcdMinor(std::string_view version);

}  // namespace lifeboat::snapshot
