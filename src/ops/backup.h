// Backup: snapshot one member into a store. Picks the source (ops/source.h), streams
// Maintenance.Snapshot straight into a store writer while checking etcd's SHA-256 trailer, and
// commits the object only when the trailer matches; the manifest is written last, so a backup
// is listed only once it is whole. On any failure nothing new is visible in the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"
#include "catalog/manifest.h"
#include "etcd/options.h"
#include "ops/source.h"
#include "store/store.h"

namespace lifeboat::ops {

struct BackupOptions {
  SourcePolicy source;
  std::string prefix = "db-etcd";
  std::string tier = "hourly";
  std::string cluster_name;  // empty: the cluster id in hex
  std::chrono::milliseconds stall_timeout{30000};
  uint64_t max_rate = 0;     // bytes per second; 0 = as fast as the member sends
};

// done and total are bytes of the snapshot stream; total is 0 until the member announces it.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

Result<catalog::Manifest> RunBackup(const etcd::ClientOptions& client, const BackupOptions& options,
                                    store::Store& store, const ProgressFn& progress);

}  // namespace lifeboat::ops
