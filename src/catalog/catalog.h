// The catalog: which backups a store holds, read from their manifests. A backup counts only
// when its manifest parses and its object is present with the manifest's size; anything else
// is reported as a problem, never silently skipped and never fatal for the other backups.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "catalog/manifest.h"
#include "catalog/trust.h"
#include "codec/object_codec.h"
#include "store/store.h"

namespace lifeboat::catalog {

struct BackupEntry {
  Manifest manifest;
  std::string manifest_key;
  // Why the backup is not trusted under the listing's TrustPolicy (catalog/trust.h); empty when
  // it is, or when nothing is checked.
  std::string untrusted;
  int64_t object_mtime_unix = 0;  // when the store received the object (not the manifest's word)
  bool trusted() const { return untrusted.empty(); }
};

struct Listing {
  std::vector<BackupEntry> backups;   // newest first: finished_at descending, then key descending
  std::vector<std::string> problems;  // "<manifest key>: <why>", in key order
  // Backup objects (".db", ".db.zst", ".db.enc", ".db.zst.enc") without a manifest: one whose
  // manifest write failed, or whose manifest was deleted. Never used by a reader, never deleted
  // by prune; `list` shows them as INCOMPLETE.
  std::vector<store::ObjectInfo> incomplete;
};

// Lists "<prefix>/" once and reads every manifest in it. `tier` is a tier's folder (by default
// its name; see catalog/tiers.h): empty means all tiers, otherwise only "<prefix>/<tier>/..."
// is considered. Each backup is judged under `trust` (BackupEntry::untrusted).
Result<Listing> ListBackups(store::Store& store, std::string_view prefix, std::string_view tier,
                            const TrustPolicy& trust = {});

// A backup chosen for a reader, and the untrusted ones passed over on the way ("<object key>:
// <why>", newest first), which the caller reports.
struct Selection {
  std::optional<BackupEntry> entry;  // none: nothing acceptable
  std::vector<std::string> skipped;
};

// The newest trusted backup of `listing` that `accept` takes (null: any).
Selection NewestTrusted(const Listing& listing, const std::function<bool(const BackupEntry&)>& accept = nullptr);

// `ref` is "latest" (the newest trusted, within `tier` when given), an object key, a manifest key
// (either may omit the prefix), or an object's file name with or without ".db" that matches
// exactly one backup. NotFound when nothing matches; InvalidArgument listing the candidates
// when several do; FailedPrecondition naming why when `ref` names an untrusted backup and
// `trust.allow_untrusted` is false. On success `entry` is set.
Result<Selection> ResolveBackup(store::Store& store, std::string_view prefix, std::string_view tier,
                                std::string_view ref, const TrustPolicy& trust = {});

// The manifest of one backup object; NotFound when it has none.
Result<Manifest> ReadManifest(store::Store& store, std::string_view object_key);

// Stores ManifestKey(m.object_key) atomically, authenticated with the current key of `signer`
// when given. Write it after the object has been committed, so that every manifest points at a
// complete object.
// `options`: how it is stored (the Object Lock of its backup).
Status WriteManifest(store::Store& store, const Manifest& m, const codec::KeyRing* signer = nullptr,
                     const store::WriteOptions& options = {});

// Commits `object` (the writer of m->object_key), then writes its manifest, authenticated with
// `signer` when given (m->auth is then set). When the manifest cannot be written the committed
// object stays (it may be the only copy of the data; `list` shows it INCOMPLETE) and the error
// says so. A failed object commit leaves nothing. The manifest is stored with `options` (the
// object's lock). `committed` (optional): whether the object is stored.
Status CommitBackup(store::Store& store, store::ObjectWriter& object, Manifest* m, const codec::KeyRing* signer,
                    const store::WriteOptions& options = {}, bool* committed = nullptr);

// How the object is stored (plain for format 1).
codec::Encoding EncodingOf(const Manifest& m);
// After encoder->Finish(): records its encoding and the stored size and SHA-256; format 2 when
// the object is encoded (older lifeboats then refuse it rather than misread it), else unchanged.
void RecordEncoding(const codec::ObjectEncoder& encoder, Manifest* m);

// Streams the backup's snapshot file to `sink` (decoded when the object is compressed) while
// checking the object against object_size/object_sha256 and the file against size/sha256. Corruption is only certain at the end, so on any error the caller must throw away
// what `sink` received (e.g. Abort() its ObjectWriter).
// An encrypted backup needs `keys` holding its key id (FailedPrecondition naming the id otherwise).
Status CopyVerified(store::Store& src, const Manifest& m, const store::ChunkSink& sink,
                    const codec::KeyRing* keys = nullptr);

// CopyVerified into a new file at `path` (temp name, fsync, rename), also checking etcd's SHA-256
// trailer of the snapshot: the file exists only if every check passed. `progress` (optional)
// sees the bytes written so far. For fetch, drills, point-in-time restore and agent staging.
Status FetchToFile(store::Store& src, const Manifest& m, const std::string& path, const codec::KeyRing* keys,
                   const std::function<void(uint64_t)>& progress = nullptr);

}  // namespace lifeboat::catalog
