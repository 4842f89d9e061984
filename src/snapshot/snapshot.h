// The snapshot module's entry points, for the CLI and for restore orchestration on every host:
// open a snapshot file (or a data dir's bbolt file), read its status, verify it. Restore is in
// restore.h. Formats only: nothing here touches the network or a store.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "snapshot/bbolt_reader.h"
#include "snapshot/snapshot_file.h"
#include "snapshot/snapshot_status.h"

namespace lifeboat::snapshot {

struct OpenedSnapshot {
  SnapshotFileInfo file;
  std::unique_ptr<BboltReader> db;  // reads only the image, never the trailer
};

// Opens `path`. With `verify_trailer`, a file with a trailer is hashed first (Corruption on a
// mismatch); a file without one is accepted either way (use file.has_trailer to insist).
Result<OpenedSnapshot> OpenSnapshot(const std::string& path, bool verify_trailer);

// `snapshot status`: no hash check (as etcdctl), one checked walk.
Result<SnapshotStatus> StatusOfFile(const std::string& path);

// What a member answered to HashKV at `revision` (with its compact revision then).
struct ExpectedKvHash {
  int64_t revision = 0;
  uint32_t hash = 0;
  int64_t compact_revision = 0;
};

struct VerifyOptions {
  bool allow_no_trailer = false;             // accept a plain bbolt file (no SHA-256 to check)
  std::optional<int64_t> manifest_revision;  // the file's revision must be >= this
  std::string manifest_db_sha256;            // hex; when set, must equal the trailer
  std::optional<ExpectedKvHash> source_hashkv;  // the file's native HashKV must equal it
};

struct VerifyReport {
  SnapshotFileInfo file;
  bool trailer_checked = false;
  bool hashkv_checked = false;  // equal to VerifyOptions::source_hashkv
  SnapshotStatus status;
};

// `verify`: SHA-256 trailer, a full tree walk with every page checked, etcd's records parsed,
// and the manifest's facts when given, a member's HashKV (manifest source_hashkv) included. The
// first problem found is returned as Corruption
// (FailedPrecondition for a missing trailer); `report` holds what was established so far.
Status VerifySnapshotFile(const std::string& path, const VerifyOptions& options, VerifyReport* report = nullptr);

}  // namespace lifeboat::snapshot
