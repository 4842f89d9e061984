// The changes a point-in-time restore replays on top of a snapshot: one mvcc change as etcd
// writes it, the leases such changes need, and the stream that hands them over one at a time.
// Shared by the change log that records them (catalog) and the restore that writes them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
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

}  // namespace lifeboat::snapshot
