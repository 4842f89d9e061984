// Backup: snapshot one member into one or more stores and tiers. Picks the source
// (ops/backup/source.h), streams Maintenance.Snapshot straight into one writer per (store, tier) while
// checking etcd's SHA-256 trailer, and commits each copy only when the trailer matches; each
// manifest is written after its object, so a copy is listed only once it is whole. A copy whose
// store fails is aborted on its own; the others go on. A copy that fails before its object is
// committed leaves nothing visible; one whose manifest then fails keeps its object (listed as
// INCOMPLETE) and reports the error.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"
#include "catalog/manifest.h"
#include "catalog/tiers.h"
#include "codec/object_codec.h"
#include "etcd/options.h"
#include "ops/backup/source.h"
#include "store/store.h"

namespace lifeboat::ops {

struct TierTarget {
  std::string name;    // recorded in the manifest
  std::string folder;  // under the prefix
  // S3 Object Lock ("" none, "GOVERNANCE", "COMPLIANCE"): the object and its manifest are
  // retained `keep` from the start of the backup (catalog/tiers.h).
  std::string object_lock;
  std::chrono::seconds keep{0};
};

// The target of a configured tier.
TierTarget TargetOf(const catalog::Tier& tier);

struct BackupOptions {
  SourcePolicy source;
  std::string prefix = "db-etcd";
  std::vector<TierTarget> tiers = {{"hourly", "hourly", "", {}}};
  std::string cluster_name;  // empty: the cluster id in hex
  std::chrono::milliseconds stall_timeout{30000};
  uint64_t max_rate = 0;     // bytes per second; 0 = as fast as the member sends
  int zstd_level = 0;        // 0: store the snapshot as is; 1..19: zstd-compress it (".db.zst")
  // zstd worker threads; 1 (default) compresses beside the streaming thread instead of on it.
  int zstd_threads = 1;
  // Set (with a current key): AES-256-GCM client-side encryption after compression (".enc").
  const codec::KeyRing* encryption = nullptr;
  // Set (with a current key): every manifest is authenticated with it (catalog/trust.h).
  const codec::KeyRing* signing = nullptr;
};

// The encoding every copy is stored with (codec/object_codec.h).
codec::EncodeOptions EncodeOptionsOf(const BackupOptions& options);

// done and total are bytes of the snapshot stream; total is 0 until the member announces it.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

struct StoredCopy {
  std::string store;  // Describe() of the store
  std::string tier;
  std::string object_key;
  Status status;      // OK when this copy and its manifest are stored
};

struct BackupResult {
  catalog::Manifest manifest;     // of the first stored copy (the others differ in key/tier/store)
  std::vector<StoredCopy> copies;  // one per (store, tier), in that order
  double seconds = 0;              // time spent streaming
  bool all_ok() const;
};

// Fails only when no copy could be stored; otherwise check copies[i].status.
Result<BackupResult> RunBackup(const etcd::ClientOptions& client, const BackupOptions& options,
                               const std::vector<store::Store*>& stores, const ProgressFn& progress);

}  // namespace lifeboat::ops
