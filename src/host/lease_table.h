// LeaseTable: the recovery lease of one member, as its agent keeps it. At most one coordinator
// holds it; it ends when released, broken, or `ttl` after its last renewal. It is kept in a file
// (atomic writes) so an agent restarted mid-recovery still refuses the other coordinators.
// Times are Unix milliseconds of the wall clock, passed in so tests can move them. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "base/status.h"

namespace lifeboat::host {

struct LeaseInfo {
  std::string owner_id, holder, operation, journal;
  int64_t acquired_ms = 0, renewed_ms = 0, expires_ms = 0;
  bool empty() const { return owner_id.empty(); }
};

// "restore-cluster by alice@ws1 since 2026-12-01T10:02:11.000Z (expires 10:12:11Z)".
std::string DescribeLease(const LeaseInfo& l);

class LeaseTable {
 public:
  // `path` empty: kept in memory only.
  explicit LeaseTable(std::string path) : path_(std::move(path)) {}

  // Reads the kept lease, if any. A damaged file is an error (the agent must not forget a lease).
  Status Load();

  struct Grant {
    LeaseInfo lease;     // as granted
    LeaseInfo previous;  // another owner's live lease that was broken; empty: none
    Status not_kept;     // why the lease is held in memory only (its file could not be written)
  };
  // Granted when there is no live lease, when it is the same owner's (owner_id and holder equal:
  // a renewal or a resume on the same host), or with `break_lease`. Otherwise FailedPrecondition
  // naming the holder. The lease is written to the file before the grant returns; when that
  // fails (a full disk) it is still granted, held in memory, with the reason in `not_kept`.
  Result<Grant> Acquire(const LeaseInfo& want, std::chrono::milliseconds ttl, bool break_lease, int64_t now_ms);
  // Whether `owner_id` held a lease that is now released (false: it did not, nothing changed).
  Result<bool> Release(const std::string& owner_id, int64_t now_ms);
  // OK when a mutating call made under `owner_id` (empty: under no lease) may proceed now.
  Status Admit(const std::string& owner_id, int64_t now_ms) const;
  // The live lease; empty when none.
  LeaseInfo Live(int64_t now_ms) const;

 private:
  Status Persist(const LeaseInfo& l);

  const std::string path_;
  mutable std::mutex mu_;
  LeaseInfo lease_;  // possibly expired
};

int64_t UnixMillisNow();

}  // namespace lifeboat::host
