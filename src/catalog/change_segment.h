// Change segments: the continuous log of changes between full backups. A segment holds
// every change with a revision in [start_revision, end_revision], in revision order, and nothing
// else; consecutive segments of one cluster are contiguous (the next starts at end + 1), so a gap
// is visible as a missing range. Stored as
//   <prefix>/changes/<cluster>/<start:020>-<end:020>-<id:016x>.seg   the events (format below)
//   <same>.seg.json                                            SegmentManifest, written after it
// With `encryption:` or compression configured the object goes through the backups' pipeline
// (codec/object_codec.h) and is named "<same>.seg.zst", ".seg.enc" or ".seg.zst.enc"; its
// manifest is then format 2 and records the encoding and key id (the manifest stays "<same>.seg.json").
// A manifest may carry the member's HashKV at the segment's end revision (a checkpoint): what
// point-in-time restore compares its result with (snapshot/hashkv.h).
// Encoding (little-endian): "LBCHG001", then records. A change: u8 type (0 put, 1 delete),
// i64 main revision, u32 sub revision, u32 key length, key, u32 value length, value,
// i64 create revision, i64 version, i64 lease (a delete has only the key). A lease: u8 type 2,
// i64 lease id, i64 granted TTL. Leases come first, then the changes in revision order.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "catalog/manifest.h"
#include "catalog/trust.h"
#include "codec/object_codec.h"
#include "snapshot/change_stream.h"
#include "store/store.h"

namespace lifeboat::catalog {

// One logged change: exactly what a point-in-time restore replays (snapshot/change_stream.h), with
// `revision` the main revision and `sub` its position within it (a transaction changes several keys).
using ChangeEvent = snapshot::MvccChange;
// A lease that logged changes are attached to, as granted (the watch does not report grants).
using LeaseGrant = snapshot::LeaseGrant;

// What one segment holds.
struct SegmentData {
  std::vector<ChangeEvent> events;
  std::vector<LeaseGrant> leases;
};

// etcd's HashKV as the watched member answered it at a segment end (catalog/manifest.h).
using SegmentHash = KvHashRecord;

struct SegmentManifest {
  int format_version = 1;  // 2 only when the object is encoded (older lifeboats then refuse it)
  std::string object_key, cluster_name;
  // etcd's cluster id of the history logged (0: not recorded, by an older lifeboat). A whole-
  // cluster restore starts a new history under the same name whose revisions repeat the old
  // ones: segments and backups only combine within one id.
  uint64_t cluster_id = 0;
  int64_t start_revision = 0, end_revision = 0;
  uint64_t count = 0, size = 0;
  std::string sha256;       // size and SHA-256 of the segment's encoding below (decoded)
  std::string finished_at;  // RFC 3339
  std::optional<SegmentHash> hashkv;  // absent when none was taken
  // Format 2: how the segment is stored and the stored object's own size and SHA-256.
  codec::Encoding encoding;
  uint64_t object_size = 0;
  std::string object_sha256;
  // Authentication of the rest (catalog/trust.h, kind kSegmentManifestKind); absent when written
  // without keys.
  std::optional<ManifestAuth> auth;

  uint64_t stored_size() const { return format_version >= 2 ? object_size : size; }
  const std::string& stored_sha256() const { return format_version >= 2 ? object_sha256 : sha256; }
};

std::string EncodeSegment(const SegmentData& data);
// Corruption for a bad magic or a record cut short.
Result<SegmentData> DecodeSegment(std::span<const uint8_t> bytes);

std::string SegmentFolder(std::string_view prefix, std::string_view cluster);
// With a cluster id the key ends "-<id:016x>.seg", so that two histories never share a name.
std::string SegmentKey(std::string_view prefix, std::string_view cluster, int64_t start, int64_t end,
                       uint64_t cluster_id = 0);
// "<x>.seg", "<x>.seg.zst", "<x>.seg.enc", "<x>.seg.zst.enc" -> "<x>.seg.json".
std::string SegmentManifestKey(std::string_view segment_key);

std::string ToJson(const SegmentManifest& m);
Result<SegmentManifest> ParseSegmentManifest(std::string_view json);

// Writes the segment encoded as `encode` says, then its manifest (so a listed segment is whole),
// authenticated with `encode.signer`'s current key when set.
// `m` gives the cluster name and id, the revision range, finished_at and the checkpoint; the
// rest is filled in.
Result<SegmentManifest> WriteSegment(store::Store& store, std::string_view prefix, SegmentManifest m,
                                     const SegmentData& data, const codec::EncodeOptions& encode = {});

// True when a segment or backup of cluster id `a` continues the history of id `b`: equal ids,
// or one of them unrecorded (0).
inline bool SameHistory(uint64_t a, uint64_t b) { return a == 0 || b == 0 || a == b; }

// A gap the log knows of: etcd had compacted `from_revision` (at `compact_revision`) before the
// log of that history read it, so no segment will hold the revisions from there to the start of
// the log that follows the next full backup. Stored as "<folder>/<from:020>-<id:016x>.gap.json",
// so that a refused point-in-time restore can say why the range is missing.
struct ChangeGap {
  std::string cluster_name;
  uint64_t cluster_id = 0;
  int64_t from_revision = 0, compact_revision = 0;
  std::string member;       // the member that answered "compacted"
  std::string detected_at;  // RFC 3339
};
Status WriteGap(store::Store& store, std::string_view prefix, const ChangeGap& gap);

// Every segment manifest of `cluster`, ordered by start (then end) revision, and its recorded gaps;
// unreadable ones, and those not trusted under `trust` ("<key>: not trusted: <why>"), are
// problems: a point-in-time restore never replays an untrusted change.
struct SegmentListing {
  std::vector<SegmentManifest> segments;
  std::vector<ChangeGap> gaps;
  std::vector<std::string> problems;
};
Result<SegmentListing> ListSegments(store::Store& store, std::string_view prefix, std::string_view cluster,
                                    const TrustPolicy& trust = {});

// Reads one segment, checks the stored object's and the decoded segment's size and SHA-256
// against the manifest and that every event lies in [start, end] in order; Corruption naming
// the segment otherwise. An encrypted segment needs `keys` holding its key id
// (FailedPrecondition naming the id otherwise).
Result<SegmentData> ReadSegment(store::Store& store, const SegmentManifest& m, const codec::KeyRing* keys = nullptr);

}  // namespace lifeboat::catalog
