// Drill: prove that a backup restores. Fetch it (SHA-256 against the manifest, etcd's trailer),
// restore it natively into a throwaway data dir, start a real single-member etcd on free
// loopback ports, read back its revision and key count, compare them with the snapshot file's,
// compare its HashKV with the one a member of the cluster gave when the backup was taken (when
// the manifest has it), and tear everything down. The outcome is recorded beside the backup
// (catalog/drill_record.h).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "base/status.h"
#include "catalog/drill_record.h"
#include "catalog/trust.h"
#include "store/store.h"

namespace lifeboat::codec {
class KeyRing;
}

namespace lifeboat::ops {

struct DrillOptions {
  std::string prefix = "db-etcd";
  std::string ref = "latest";   // latest | object key | name (catalog::ResolveBackup)
  std::string tier_folder;      // for latest: only this tier's folder; empty: any
  std::string etcd_binary = "etcd";
  std::string work_dir;         // parent of the throwaway dir; empty: $TMPDIR or /tmp
  std::chrono::milliseconds start_timeout{60000};
  bool record = true;           // store the DrillRecord beside the backup
  const codec::KeyRing* keys = nullptr;  // for encrypted backups
  catalog::TrustPolicy trust;            // latest skips untrusted backups; a ref to one needs allow_untrusted
  // Rehearse etcdutl's --bump-revision N --mark-compacted (both or neither): the restored etcd
  // must serve the bumped revision, compacted there.
  uint64_t bump_revision = 0;
  bool mark_compacted = false;
  std::function<void(const std::string&)> log;
};

// Fails (without a record) only when `ref` does not resolve to one backup (catalog::ResolveBackup:
// none or several match, it is untrusted, or the store cannot be listed); otherwise returns the
// record, ok or not, with what failed in `error`. A record that cannot be stored is logged.
Result<catalog::DrillRecord> RunDrill(store::Store& store, const DrillOptions& options);

}  // namespace lifeboat::ops
