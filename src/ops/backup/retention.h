// Retention: which backups of each tier have expired, and deleting exactly those. A backup
// expires when its manifest's finished_at + the tier's keep is before `now`. Never deleted: the
// newest backup of a tier (however old), anything whose manifest is missing or unreadable
// (reported instead), anything outside the tiers' folders, and an object under an Object Lock
// that has not ended (kept, saying until when). Besides the configured tiers,
// the two that restores write (safety backups "pre-restore", point-in-time states "pitr") are
// kept `restore_keep` (7 days by default), by the same rules.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/status.h"
#include "catalog/tiers.h"
#include "catalog/trust.h"
#include "store/store.h"

namespace lifeboat::ops {

struct PruneItem {
  enum class Action { kKeep, kDelete, kProblem };
  Action action = Action::kKeep;
  std::string tier;
  std::string object_key;  // for problems: the key the problem is about
  std::string why;
  Status result;           // after ApplyPrune: what deleting did
};

inline constexpr std::chrono::seconds kRestoreTierKeep = std::chrono::hours(24 * 7);

// The tiers restore-cluster writes without a schedule, each kept `keep`.
std::vector<catalog::Tier> RestoreTiers(std::chrono::seconds keep = kRestoreTierKeep);

// A configured tier whose folder overlaps a restore tier's governs it instead.
// Under a `trust` policy that checks (catalog/trust.h), a tier's newest is its newest trusted
// backup (a forged manifest dated in the future must not take that protection from the real
// one), and an untrusted backup expires by the later of its manifest's finished_at and the time
// the store received its object (a forged date in the past must not get a real backup deleted).
Result<std::vector<PruneItem>> PlanPrune(store::Store& store, const std::string& prefix,
                                         const std::vector<catalog::Tier>& tiers,
                                         std::chrono::system_clock::time_point now,
                                         std::chrono::seconds restore_keep = kRestoreTierKeep,
                                         const catalog::TrustPolicy& trust = {});

// Adds the change segments (tier "changes") to a plan: a segment is deleted once every backup of
// its cluster that the plan keeps is newer than the segment's end revision. PlanPrune calls it.
Status PlanSegmentPrune(store::Store& store, const std::string& prefix, std::vector<PruneItem>* plan);

// Deletes every kDelete item: for a backup its drill record, then its manifest (so it stops
// being listed as a backup), then the object; for a change segment its manifest, then the
// segment. Fills each item's result; returns the first failure, after trying them all.
Status ApplyPrune(store::Store& store, std::vector<PruneItem>& plan);

}  // namespace lifeboat::ops
