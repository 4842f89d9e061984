#include "ops/recovery/pitr.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "base/file_chunks.h"
#include "base/sha256.h"
#include "base/temp_dir.h"
#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/change_segment.h"
#include "catalog/layout.h"
#include "catalog/local_object.h"
#include "ops/recovery/restore_cluster.h"
#include "snapshot/hashkv.h"
#include "snapshot/snapshot.h"
#include "snapshot/snapshot_file.h"

namespace lifeboat::ops {
namespace {

Result<int64_t> RevisionAtTime(const catalog::SegmentListing& log, std::chrono::system_clock::time_point t) {
  int64_t rev = 0;
  for (const auto& s : log.segments) {
    auto done = ParseRFC3339(s.finished_at);
    if (done.ok() && *done <= t) rev = std::max(rev, s.end_revision);
  }
  if (rev == 0) {
    return Status::NotFound("no change log segment was finished at or before " + FormatRFC3339(t) +
                            " (pick a later --to-time, or restore a full backup)");
  }
  return rev;
}

// The segments that cover (from, to], contiguous; a gap or a short log is named.
Result<std::vector<catalog::SegmentManifest>> Cover(const catalog::SegmentListing& log, int64_t from, int64_t to) {
  std::vector<catalog::SegmentManifest> out;
  int64_t next = from + 1;
  for (const auto& s : log.segments) {
    if (next > to) break;
    if (s.end_revision < next) continue;
    if (s.start_revision > next) {
      std::string why;
      for (const auto& g : log.gaps) {
        if (g.from_revision >= next && g.from_revision < s.start_revision) {
          why = fmt::format(" (etcd had compacted it at revision {} before the log read it; recorded {})",
                            g.compact_revision, g.detected_at);
        }
      }
      return Status::FailedPrecondition(fmt::format(
          "the change log has a gap: revisions {}..{} are in no segment{} (restore to a revision before {}, or from a "
          "full backup taken after {})",
          next, s.start_revision - 1, why, next, s.start_revision - 1));
    }
    out.push_back(s);
    next = s.end_revision + 1;
  }
  if (next <= to) {
    return Status::FailedPrecondition(fmt::format("the change log reaches revision {} only, not {} (wait for the "
                                                  "next segment, or restore to an earlier revision)",
                                                  next - 1, to));
  }
  return out;
}

// The result against the newest HashKV checkpoint the covering segments carry at or before the
// target: the hash covers every entry up to its revision, the backup's included, so one suffices.
Status CheckAgainstCheckpoint(const std::vector<catalog::SegmentManifest>& segments, PitrResult& r) {
  std::optional<catalog::SegmentHash> best;
  for (const auto& s : segments) {
    if (s.hashkv && s.hashkv->revision <= r.target_revision && (!best || s.hashkv->revision > best->revision)) {
      best = s.hashkv;
    }
  }
  if (!best) return Status::OK();
  LB_ASSIGN_OR_RETURN(auto db, snapshot::BboltReader::Open(r.restore.db_path));
  LB_ASSIGN_OR_RETURN(auto h, snapshot::ComputeHashKV(*db, best->revision, best->compact_revision));
  if (h.hash != best->hash) {
    return Status::Corruption(fmt::format(
        "the point-in-time result differs from the cluster: HashKV at revision {} is {}, member {:x} reported {} "
        "(the backup or the change log does not match the cluster's history; nothing was restored — restore to a "
        "revision before {}, or from another backup)",
        best->revision, h.hash, best->member_id, best->hash, best->revision));
  }
  r.hash_checked_revision = best->revision;
  return Status::OK();
}

// The covering segments' changes in (backup, target], read one segment at a time: memory holds
// one decoded segment, never the log. Segments of two loggers may overlap: each change once.
// Leases: only those that replayed keys are attached to (others may have been granted after
// the target), with the TTL the log recorded.
class SegmentStream : public snapshot::ChangeStream {
 public:
  SegmentStream(store::Store& store, const std::vector<catalog::SegmentManifest>& segments, const codec::KeyRing* keys,
                int64_t after, int64_t target)
      : store_(store), segments_(segments), keys_(keys), applied_(after), target_(target) {}

  Result<const snapshot::MvccChange*> Next() override {
    for (;;) {
      while (next_event_ < data_.events.size()) {
        const snapshot::MvccChange& e = data_.events[next_event_++];
        if (e.revision <= from_ || e.revision > target_) continue;
        if (!e.is_delete && e.lease != 0) used_.insert(e.lease);
        ++changes_;
        return &e;
      }
      if (next_segment_ == segments_.size()) return static_cast<const snapshot::MvccChange*>(nullptr);
      const catalog::SegmentManifest& s = segments_[next_segment_++];
      data_ = {};  // the previous segment goes before the next is read
      LB_ASSIGN_OR_RETURN(data_, catalog::ReadSegment(store_, s, keys_));
      next_event_ = 0;
      from_ = applied_;
      applied_ = std::max(applied_, s.end_revision);
      for (const auto& l : data_.leases) granted_[l.id] = l.ttl;
    }
  }

  Result<std::vector<snapshot::LeaseGrant>> Leases() override {
    std::vector<snapshot::LeaseGrant> out;
    for (const auto& [id, ttl] : granted_) {
      if (used_.count(id)) out.push_back({id, ttl});
    }
    return out;
  }

  size_t changes() const { return changes_; }

 private:
  store::Store& store_;
  const std::vector<catalog::SegmentManifest>& segments_;
  const codec::KeyRing* keys_;
  int64_t applied_, from_ = 0;
  const int64_t target_;
  size_t next_segment_ = 0, next_event_ = 0, changes_ = 0;
  catalog::SegmentData data_;
  std::map<int64_t, int64_t> granted_;  // lease id -> TTL, of leases the log recorded
  std::set<int64_t> used_;
};

}  // namespace

std::string DescribeCheck(const PitrResult& r) {
  if (r.hash_checked_revision > 0) return fmt::format("equal to etcd's HashKV at revision {}", r.hash_checked_revision);
  return "not compared with etcd's HashKV (no checkpoint in the log at or before the target; segments checked by "
         "SHA-256)";
}

namespace {

// One history: a whole-cluster restore starts a new cluster id under the same name, whose
// revisions repeat the old ones. Default: the history of the newest full backup.
uint64_t ChooseHistory(const catalog::Listing& listing, const PitrOptions& o) {
  if (o.cluster_id != 0) return o.cluster_id;
  for (const auto& b : listing.backups) {  // newest first
    if (b.manifest.cluster_name == o.cluster_name && b.manifest.tier != kSafetyTier && b.trusted()) {
      return b.manifest.cluster_id;
    }
  }
  return 0;
}

// The change log of that history only; untrusted segments are left out (a gap they leave is
// refused by Cover) and named in `skipped`.
Result<catalog::SegmentListing> HistoryLog(store::Store& store, const PitrOptions& o, uint64_t cluster_id,
                                           std::vector<std::string>* skipped) {
  LB_ASSIGN_OR_RETURN(auto all_segments, catalog::ListSegments(store, o.prefix, o.cluster_name, o.trust));
  catalog::SegmentListing log;
  for (auto& s : all_segments.segments) {
    if (catalog::SameHistory(s.cluster_id, cluster_id)) log.segments.push_back(std::move(s));
  }
  for (auto& g : all_segments.gaps) {
    if (catalog::SameHistory(g.cluster_id, cluster_id)) log.gaps.push_back(std::move(g));
  }
  for (const auto& p : all_segments.problems) {
    if (p.find(": not trusted: ") != std::string::npos) skipped->push_back(p);
  }
  return log;
}

// The fetched base backup, its segments replayed into `restore`'s data dir up to the target,
// then compared with the log's newest checkpoint. A result that fails the comparison is removed:
// it is this call's own output, nothing of the operator's.
Status ReplayOnto(store::Store& store, const PitrOptions& o, const catalog::SegmentListing& log,
                  const std::string& snap, bool hash_checked, snapshot::RestoreOptions restore, PitrResult& r) {
  auto segments = Cover(log, r.backup_revision, r.target_revision);
  if (!segments.ok() && !r.skipped.empty()) {
    return segments.status().Annotate(fmt::format("{} untrusted backups or segments were left out", r.skipped.size()));
  }
  LB_RETURN_IF_ERROR(segments.status());
  SegmentStream changes(store, *segments, o.keys, r.backup_revision, r.target_revision);
  restore.replay = &changes;
  restore.snapshot_path = snap;
  restore.skip_hash_check = hash_checked;  // verified while fetching, else as the restore reads
  r.segments = segments->size();
  LB_ASSIGN_OR_RETURN(r.restore, snapshot::RestoreSnapshot(restore));
  r.changes = r.restore.replayed;
  r.leases = r.restore.leases;
  r.restore.revision = std::max(r.restore.revision, r.target_revision);
  Status checked = CheckAgainstCheckpoint(*segments, r);
  if (!checked.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(r.restore.data_dir, ec);
    std::filesystem::remove_all(r.restore.wal_dir, ec);
  }
  return checked;
}

// A plain snapshot in a local-folder store is read where it is instead of copied (the copy and
// its sync would be most of the point-in-time restore), once checked against the manifest
// (catalog/local_object.h). The restore then hashes the image again as it reads (`hash_checked`
// false), so a file replaced in between is still caught. Anything else is fetched into `dir` and
// checked as it streams.
struct SourceFile {
  std::string path;
  bool hash_checked = false;
};

Result<SourceFile> FetchOrUseInPlace(store::Store& store, const catalog::Manifest& m, const std::string& dir,
                                     const codec::KeyRing* keys) {
  auto local = catalog::CheckedLocalObject(store, m);
  if (!local.ok() && local.status().code() == Status::Code::kCorruption) {
    return Status::Corruption(fmt::format("the stored copy of {} is damaged (restore from another backup): {}",
                                          m.object_key, local.status().message()));
  }
  if (!local.ok()) return local.status();
  if (!local->empty()) return SourceFile{*local, false};
  std::string path = dir + "/" + std::to_string(m.revision) + ".db";
  LB_RETURN_IF_ERROR(catalog::FetchToFile(store, m, path, keys));
  return SourceFile{path, true};
}

}  // namespace

Result<PitrResult> RestoreToPoint(store::Store& store, const PitrOptions& o, snapshot::RestoreOptions restore) {
  if (o.cluster_name.empty()) {
    return Status::InvalidArgument("point-in-time restore needs the cluster's name (cluster-name / --cluster-name)");
  }
  LB_ASSIGN_OR_RETURN(auto listing, catalog::ListBackups(store, o.prefix, "", o.trust));
  PitrResult r;
  r.cluster_id = ChooseHistory(listing, o);
  LB_ASSIGN_OR_RETURN(catalog::SegmentListing log, HistoryLog(store, o, r.cluster_id, &r.skipped));
  r.target_revision = o.to_revision;
  if (o.to_time) {
    LB_ASSIGN_OR_RETURN(r.target_revision, RevisionAtTime(log, *o.to_time));
  }
  if (r.target_revision < 1) return Status::InvalidArgument("give --to-revision R (R >= 1) or --to-time T");

  LB_ASSIGN_OR_RETURN(auto tmp, TempDir::Create(o.work_dir, "lifeboat-pitr-"));
  // The newest full backup of the history at or before the target. A manifest's revision is a
  // lower bound (the file may be later still), so the fetched file's own revision decides.
  int64_t oldest = 0;
  for (const auto& b : listing.backups) {  // newest first
    const catalog::Manifest& m = b.manifest;
    if (m.cluster_name != o.cluster_name || m.tier == kSafetyTier) continue;
    if (!catalog::SameHistory(m.cluster_id, r.cluster_id)) continue;
    if (!b.trusted()) {
      r.skipped.push_back(m.object_key + ": " + b.untrusted);
      continue;
    }
    oldest = m.revision;
    if (m.revision > r.target_revision) continue;
    LB_ASSIGN_OR_RETURN(SourceFile snap, FetchOrUseInPlace(store, m, tmp->path(), o.keys));
    LB_ASSIGN_OR_RETURN(auto st, snapshot::StatusOfFile(snap.path));
    if (st.current_revision > r.target_revision) continue;
    r.backup_key = m.object_key;
    r.backup_revision = st.current_revision;
    LB_RETURN_IF_ERROR(ReplayOnto(store, o, log, snap.path, snap.hash_checked, restore, r));
    return r;
  }
  if (oldest == 0) {
    return Status::NotFound(fmt::format("no {}full backup of cluster {} (id {:x}) in the store (check --store, --prefix, "
                                        "--cluster-name, --source-cluster-id){}",
                                        r.skipped.empty() ? "" : "trusted ", o.cluster_name, r.cluster_id,
                                        r.skipped.empty() ? "" : "; skipped: " + r.skipped.front()));
  }
  return Status::NotFound(fmt::format("revision {} is older than every full backup of {} (id {:x}; the oldest is at "
                                      "revision {})",
                                      r.target_revision, o.cluster_name, r.cluster_id, oldest));
}

Result<PointInTimeBuild> BuildPointInTime(store::Store& store, const PitrOptions& o) {
  PointInTimeBuild b;
  LB_ASSIGN_OR_RETURN(b.dir, TempDir::Create(o.work_dir, "lifeboat-pitr-build-"));
  auto started = std::chrono::system_clock::now();
  snapshot::RestoreOptions ro;
  ro.name = "pitr";
  ro.initial_cluster = "pitr=http://127.0.0.1:1";
  ro.initial_advertise_peer_urls = "http://127.0.0.1:1";
  ro.data_dir = b.dir->path() + "/pitr.etcd";
  LB_ASSIGN_OR_RETURN(b.details, RestoreToPoint(store, o, ro));
  LB_ASSIGN_OR_RETURN(catalog::Manifest base, catalog::ReadManifest(store, b.details.backup_key));

  // The replayed db with etcd's trailer appended is a snapshot file (restore replaces its
  // membership). The db is this build's own temp output, so it is extended in place, not copied.
  b.snapshot_path = b.details.restore.db_path;
  catalog::Manifest& m = b.manifest;
  Sha256 image, whole;
  LB_RETURN_IF_ERROR(ReadFileChunks(b.snapshot_path, [&](std::span<const uint8_t> chunk) {
    image.Update(chunk);
    whole.Update(chunk);
    m.size += chunk.size();
    return Status::OK();
  }));
  auto trailer = image.Finish();
  whole.Update(trailer);
  m.size += trailer.size();
  {
    std::ofstream f(b.snapshot_path, std::ios::binary | std::ios::app);
    f.write(reinterpret_cast<const char*>(trailer.data()), static_cast<std::streamsize>(trailer.size()));
    if (!f.flush()) return Status::IOError("cannot append the snapshot trailer to " + b.snapshot_path);
  }
  m.db_sha256 = HexEncode(trailer);
  m.sha256 = HexEncode(whole.Finish());
  m.cluster_name = base.cluster_name;
  m.cluster_id = base.cluster_id;
  m.member_name = kPitrTier;
  m.etcd_version = base.etcd_version;
  m.revision = b.details.target_revision;
  m.tier = kPitrTier;
  m.store = store.Describe();
  m.object_key = catalog::ObjectKey(o.prefix, kPitrTier, base.cluster_name, kPitrTier, m.revision, started);
  m.started_at = FormatRFC3339(started);
  m.tool_version = LIFEBOAT_VERSION;
  LB_ASSIGN_OR_RETURN(auto st, snapshot::StatusOfFile(b.snapshot_path));
  b.revision = st.current_revision;
  b.live_keys = st.live_keys;
  return b;
}

Result<catalog::BackupEntry> StorePointInTime(store::Store& store, const PointInTimeBuild& b,
                                              const codec::EncodeOptions& encode) {
  catalog::Manifest m = b.manifest;
  m.object_key += codec::EncodedSuffix(codec::EncodingOf(encode));
  m.store = store.Describe();
  LB_ASSIGN_OR_RETURN(auto w, store.Create(m.object_key));
  Sha256 whole;
  auto enc = codec::ObjectEncoder::Create(encode, [&](std::span<const uint8_t> c) { return w->Append(c); });
  Status s = enc.status();
  if (s.ok()) {
    s = ReadFileChunks(b.snapshot_path, [&](std::span<const uint8_t> chunk) {
      whole.Update(chunk);
      return (*enc)->Update(chunk);
    });
  }
  if (s.ok()) s = (*enc)->Finish();
  if (s.ok() && HexEncode(whole.Finish()) != m.sha256) {
    s = Status::Corruption("the point-in-time snapshot " + b.snapshot_path + " changed after it was built (build it again)");
  }
  if (!s.ok()) {
    w->Abort();
    return s.Annotate("store the point-in-time snapshot");
  }
  catalog::RecordEncoding(**enc, &m);
  m.finished_at = FormatRFC3339(std::chrono::system_clock::now());
  LB_RETURN_IF_ERROR(catalog::CommitBackup(store, *w, &m, encode.signer).Annotate("store the point-in-time snapshot"));
  return catalog::BackupEntry{m, catalog::ManifestKey(m.object_key), "", 0};
}

}  // namespace lifeboat::ops
