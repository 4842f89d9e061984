// HashKV computed from a bbolt image, equal to what etcd's Maintenance.HashKV (3.4,
// mvcc/kvstore.go HashByRev) answers for the same key space, so that a backup, a restored data
// dir or a point-in-time result can be compared with what a live member reported. The hash is
// CRC-32C over "key" and then, in bucket order, every entry (revision key, then value) of the
// mvcc `key` bucket with main revision <= `revision`. Entries at or below the compact revision
// count only when they are their key's newest entry at `revision` and not a tombstone (etcd's
// kvindex.Keep). The result is what a member answers once its compaction has finished, also for
// a db that was never compacted there (a backup taken before the member compacted).
#pragma once

#include <cstdint>
#include <optional>

#include "base/status.h"
#include "snapshot/bbolt_reader.h"

namespace lifeboat::snapshot {

struct KvHashResult {
  uint32_t hash = 0;
  int64_t revision = 0;          // the revision hashed up to
  int64_t compact_revision = 0;  // the one applied
};

// `revision` 0: the db's current revision; beyond it: FailedPrecondition, as etcd answers.
// `compact_revision` nullopt: the db's own (meta: the later of finished and scheduled, which is
// where etcd resumes). FailedPrecondition when revision <= compact revision (etcd: "compacted").
// Two passes over the db when a compact revision applies, one otherwise.
Result<KvHashResult> ComputeHashKV(BboltReader& db, int64_t revision, std::optional<int64_t> compact_revision);

}  // namespace lifeboat::snapshot
