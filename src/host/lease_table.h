// LeaseTable: the recovery lease of one member, as its agent keeps it, with fencing tokens.
// Every acquisition mints a new epoch, one more than any epoch this member ever granted; a
// mutating call is admitted only under the live lease's owner AND epoch, so a coordinator whose
// lease expired or was broken can never act again, even after the lease is free once more. A
// renewal extends only the live lease of the same owner and epoch; it never acquires. The table
// also keeps the last recovery that finished here, so a resumed older plan cannot undo it.
// State is kept in one file (atomic writes) so an agent restarted mid-recovery keeps enforcing
// it. Times are Unix milliseconds of the wall clock, passed in so tests can move them.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "base/status.h"

namespace lifeboat::host {

struct LeaseInfo {
  std::string owner_id, holder, operation, journal;
  uint64_t epoch = 0;  // the fencing token: unique and increasing per member
  int64_t acquired_ms = 0, renewed_ms = 0, expires_ms = 0;
  bool empty() const { return owner_id.empty(); }
};

// A recovery that finished on this member: who, under which epoch, from which backup, when.
struct RecoveryRecord {
  std::string owner_id, holder, operation, backup;
  uint64_t epoch = 0;
  int64_t finished_ms = 0;
  bool empty() const { return owner_id.empty(); }
};

// "restore-cluster by alice@ws1 since 2026-12-01T10:02:11.000Z (epoch 4, ...), lease expires ...".
std::string DescribeLease(const LeaseInfo& l);
// "restore-cluster by bob@ws2 (epoch 5) from db-etcd/a/...db, finished 2026-12-01T10:05:00.000Z".
std::string DescribeRecord(const RecoveryRecord& r);

class LeaseTable {
 public:
  // `path` empty: kept in memory only.
  explicit LeaseTable(std::string path) : path_(std::move(path)) {}

  // Reads the kept state, if any. A damaged file is an error (the agent must not forget a lease
  // or go back to an epoch it already granted).
  Status Load();

  struct Grant {
    LeaseInfo lease;     // as granted, with its new epoch
    LeaseInfo previous;  // another owner's live lease that was broken; empty: none
    Status not_kept;     // why the state is held in memory only (its file could not be written)
  };
  // Granted with a new epoch when there is no live lease, when the live one is the same owner's
  // from the same holder (a --resume on the same host, whose journal lock proves the earlier
  // process gone), or with `break_lease`. Otherwise FailedPrecondition naming the holder. The
  // state is written before the grant returns; when that fails (a full disk) the lease is still
  // granted, held in memory, with the reason in `not_kept`.
  Result<Grant> Acquire(const LeaseInfo& want, std::chrono::milliseconds ttl, bool break_lease, int64_t now_ms);
  // Extends the live lease when it is `owner_id`'s under `epoch`; otherwise FailedPrecondition
  // saying what became of it (expired, broken by whom, released). Never acquires.
  Result<LeaseInfo> Renew(const std::string& owner_id, uint64_t epoch, std::chrono::milliseconds ttl, int64_t now_ms);
  // Ends `owner_id`'s lease of `epoch`; with `finished`, records that recovery as the last one
  // that finished here. Returns false (nothing changed) when that lease is not the live one.
  Result<bool> Release(const std::string& owner_id, uint64_t epoch, const RecoveryRecord* finished, int64_t now_ms);
  // OK when a mutating call made under (`owner_id`, `epoch`) may proceed now: only the live
  // lease's owner and epoch may change this member.
  Status CheckFencedCall(const std::string& owner_id, uint64_t epoch, int64_t now_ms) const;
  // The live lease; empty when none.
  LeaseInfo LiveLease(int64_t now_ms) const;
  // The last recovery that finished on this member; empty when none did.
  RecoveryRecord LastRecovery() const;

 private:
  Status Persist();
  // Why (owner_id, epoch) holds no live lease now, for a refusal.
  std::string WhyNotHeld(const std::string& owner_id, uint64_t epoch, int64_t now_ms) const;

  const std::string path_;
  mutable std::mutex mu_;
  LeaseInfo lease_;     // possibly expired; empty once released
  uint64_t epoch_ = 0;  // the highest epoch ever granted here
  LeaseInfo broken_;    // the last lease taken over by another owner
  LeaseInfo breaker_;   // ... and who took it over
  RecoveryRecord last_;
};

int64_t UnixMillisNow();

}  // namespace lifeboat::host
