// Staging: backups downloaded onto this host before a restore, as "<staging-dir>/<sha256>.db".
// A staged file is always whole and checked: it is written through an AtomicFile while the
// object's SHA-256 and etcd's trailer are computed in one pass, and committed only when both
// match what the coordinator expects. A file already staged is re-checked, never trusted.
// A staged copy is a full copy of the database on etcd's own host: it lives only as long as the
// recovery that staged it (the coordinator drops it when the recovery or its dry run ends, a
// new recovery drops the previous one's before downloading, an agent starting with no recovery
// under way drops them all), and is readable by its owner only (0600 in a 0700 dir).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "snapshot/snapshot_status.h"

namespace lifeboat::codec {
class KeyRing;
}

namespace lifeboat::host {

struct StagedBackup {
  std::string path, sha256;
  int64_t revision = 0;  // the revision etcd resumes at after restoring it
  uint64_t live_keys = 0;
  std::string cluster_version;  // the db's cluster/clusterVersion, e.g. "3.5.0"; "" when absent
  std::vector<snapshot::StoredMember> members;  // the membership the snapshot was taken in
  bool cached = false;
  bool in_place = false;  // a plain snapshot in a local-folder store: `path` is the store's file
};

struct StageRequest {
  std::string store_url, object_key, sha256;
  uint64_t size = 0;
};

// Downloads (or re-checks) into `staging_dir`, creating it. Corruption when the bytes do not
// match; the staging dir then holds nothing new. A plain (not compressed, not encrypted) object
// of a local-folder store is checked where it is, read only, and not copied.
// `keys` decrypts encrypted backups (null: none configured on this host). `drop_others`: other
// staged copies are removed before downloading (the staging dir holds what this recovery needs).
Result<StagedBackup> StageBackup(const StageRequest& req, const std::string& staging_dir,
                                 const codec::KeyRing* keys, bool drop_others = false);

// The staged copies in `staging_dir`: SHA-256 -> bytes ("<sha256>.db", and "<sha256>.db.damaged"
// ones a re-check set aside, counted under their SHA-256 too).
std::map<std::string, uint64_t> StagedCopies(const std::string& staging_dir);

struct Dropped {
  std::vector<std::string> paths;
  uint64_t bytes = 0;
};
// Removes every staged copy whose SHA-256 is not in `keep`; nothing else in the dir (leases,
// temp files of a live download) is touched. A missing dir drops nothing.
Result<Dropped> DropStaged(const std::string& staging_dir, const std::vector<std::string>& keep);

// One pass over a snapshot file: hex SHA-256 of the whole file, and Corruption unless etcd's
// trailer matches the image.
Result<std::string> CheckSnapshotFile(const std::string& path);

}  // namespace lifeboat::host
