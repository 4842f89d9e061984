#include "snapshot/restore.h"

#include "snapshot/proto_wire.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <set>

#include "base/atomic_file.h"
#include "base/errno_status.h"
#include "base/sha256.h"
#include "fmt/format.h"
#include "snapshot/bbolt_reader.h"
#include "snapshot/bbolt_writer.h"
#include "snapshot/cluster_config.h"
#include "snapshot/db_clone.h"
#include "snapshot/digest.h"
#include "snapshot/raft_messages.h"
#include "snapshot/snap_file.h"
#include "snapshot/snapshot_file.h"
#include "snapshot/snapshot_status.h"
#include "snapshot/wal_writer.h"

namespace lifeboat::snapshot {
namespace {

namespace fs = std::filesystem;

// Buckets every restored db has: etcd 3.4 creates key, meta and lease when it opens mvcc and
// the lessor; 3.5 creates the membership ones. Empty buckets cost nothing.
const char* const kRequiredBuckets[] = {"cluster", "key", "lease", "members", "members_removed", "meta"};

std::string BigEndian64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
  return s;
}

std::string RevisionKey(int64_t main, uint64_t sub = 0) {
  return BigEndian64(static_cast<uint64_t>(main)) + "_" + BigEndian64(sub);
}

// mvccpb.KeyValue as Go's marshaller writes it: fields in number order, zero values omitted.
std::string KeyValueBytes(const MvccChange& c) {
  std::string out;
  proto::AppendBytesField(&out, 1, c.key);
  if (c.is_delete) return out;  // a tombstone's value holds only the key
  if (c.create_revision) proto::AppendVarintField(&out, 2, static_cast<uint64_t>(c.create_revision));
  proto::AppendVarintField(&out, 3, static_cast<uint64_t>(c.revision));
  if (c.version) proto::AppendVarintField(&out, 4, static_cast<uint64_t>(c.version));
  if (!c.value.empty()) proto::AppendBytesField(&out, 5, c.value);
  if (c.lease) proto::AppendVarintField(&out, 6, static_cast<uint64_t>(c.lease));
  return out;
}

// The replayed changes as `key` bucket entries, pulled one at a time: the next one's key and
// value, checked to come in strictly increasing key order.
class ReplayCursor {
 public:
  explicit ReplayCursor(ChangeStream* stream) : stream_(stream) {}

  // Loads the next change (if any). Call once before the first peek.
  Status Advance() {
    if (!stream_ || done_) {
      done_ = true;
      return Status::OK();
    }
    LB_ASSIGN_OR_RETURN(const MvccChange* c, stream_->Next());
    if (c == nullptr) {
      done_ = true;
      return Status::OK();
    }
    std::string k = RevisionKey(c->revision, c->sub) + (c->is_delete ? "t" : "");
    if (count_ > 0 && k <= key_) {
      return Status::InvalidArgument(
          fmt::format("replayed change at revision {}.{} is out of order or repeated", c->revision, c->sub));
    }
    key_ = std::move(k);
    value_ = KeyValueBytes(*c);
    last_revision_ = c->revision;
    ++count_;
    return Status::OK();
  }
  bool done() const { return done_; }
  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  int64_t last_revision() const { return last_revision_; }
  size_t count() const { return count_; }

 private:
  ChangeStream* stream_;
  bool done_ = false;
  std::string key_, value_;
  int64_t last_revision_ = 0;
  size_t count_ = 0;
};

// A revision bump (etcdutl's --bump-revision N --mark-compacted): written when `key` ends, once
// its last revision (the replay's included) is known; `meta` sorts after `key`, so the scheduled
// compaction is still an edit there.
struct RevisionBump {
  uint64_t amount = 0;
  bool mark_compacted = false;
  int64_t finished_compaction = 0;  // meta/finishedCompactRev: etcd resumes at least there
  int64_t revision = 0;             // the bumped revision, once written
};

// Copies the source db into the writer while applying the edits, merging in key order, and
// creating the required buckets the source lacks. The replay is merged into `key` as it streams;
// its leases are asked for when `lease` begins, after `key` ended. Also collects the source's
// status.
class CopyVisitor : public BboltVisitor {
 public:
  CopyVisitor(BboltWriter* w, std::map<std::string, BucketEdit> edits, ChangeStream* replay, RevisionBump bump)
      : w_(w), edits_(std::move(edits)), replay_(replay), cursor_(replay), bump_(bump), status_(/*hash=*/false) {
    for (const char* b : kRequiredBuckets) pending_.insert(b);
  }

  Status BeginBucket(std::string_view name, uint64_t sequence) override {
    LB_RETURN_IF_ERROR(EmitMissingBefore(name));
    pending_.erase(std::string(name));
    LB_RETURN_IF_ERROR(status_.BeginBucket(name, sequence));
    LB_RETURN_IF_ERROR(w_->BeginBucket(name, sequence));
    LB_RETURN_IF_ERROR(Enter(name));
    auto it = edits_.find(std::string(name));
    edit_ = it == edits_.end() ? nullptr : &it->second;
    if (edit_) next_ = edit_->puts.begin();
    page_copied_ = false;
    return Status::OK();
  }

  // An unedited bucket's leaf pages are copied whole (most of a db: `key`); their entries then
  // only feed the status. A nested bucket in one fails at its entry, as below.
  // Not in `key` while a replay streams into it: its entries are merged one by one.
  Status LeafPage(std::span<const uint8_t> image) override {
    page_copied_ = edit_ == nullptr && !in_key_;
    return page_copied_ ? w_->CopyLeafPage(image) : Status::OK();
  }

  // While a replay merges into `key`, the status is fed what is written, in order (below and in
  // EmitReplayed), so that its revision and live keys are the result's.
  Status Entry(std::string_view key, std::string_view value, bool is_bucket) override {
    if (!in_key_) LB_RETURN_IF_ERROR(status_.Entry(key, value, is_bucket));
    if (in_key_bucket_) NoteKeyRevision(key);
    if (is_bucket) {
      return Status::Corruption(
          fmt::format("nested bucket \"{}\": etcd never writes one, so this is not an etcd db", key));
    }
    if (page_copied_) return Status::OK();
    if (in_key_) {
      while (!cursor_.done() && std::string_view(cursor_.key()) < key) LB_RETURN_IF_ERROR(EmitReplayed());
      if (!cursor_.done() && cursor_.key() == key) return EmitReplayed();  // the replay wins
      LB_RETURN_IF_ERROR(status_.Entry(key, value, false));
    }
    if (!edit_) return w_->Put(key, value);
    while (next_ != edit_->puts.end() && std::string_view(next_->first) < key) LB_RETURN_IF_ERROR(EmitEdit());
    if (next_ != edit_->puts.end() && next_->first == key) return EmitEdit();
    return edit_->drop_source ? Status::OK() : w_->Put(key, value);
  }

  Status EndBucket() override {
    if (in_key_) LB_RETURN_IF_ERROR(DrainReplay());
    if (edit_) {
      while (next_ != edit_->puts.end()) LB_RETURN_IF_ERROR(EmitEdit());
    }
    edit_ = nullptr;
    if (in_key_bucket_) LB_RETURN_IF_ERROR(WriteBump());
    LB_RETURN_IF_ERROR(status_.EndBucket());
    return w_->EndBucket();
  }

  // After the walk: the required buckets that sort after the last source bucket.
  Status Finish() { return EmitMissingBefore(std::string_view("\xff\xff\xff\xff", 4), true); }
  Result<SnapshotStatus> SourceStatus() { return status_.Finish(); }
  const ReplayCursor& replayed() const { return cursor_; }
  size_t leases_written() const { return leases_written_; }
  int64_t bumped_revision() const { return bump_.revision; }

 private:
  // Sets up the replay for the bucket about to be written.
  Status Enter(std::string_view name) {
    in_key_bucket_ = name == "key";
    in_key_ = replay_ != nullptr && in_key_bucket_;
    if (in_key_) return cursor_.Advance();
    if (replay_ != nullptr && name == "lease") {
      if (!cursor_.done()) return Status::Internal("the replay's leases were asked for before its changes ended");
      LB_ASSIGN_OR_RETURN(auto leases, replay_->Leases());
      auto& puts = edits_["lease"].puts;
      for (const auto& l : leases) {
        std::string pb;  // leasepb.Lease {ID = 1, TTL = 2}, as etcd's lessor persists it
        proto::AppendVarintField(&pb, 1, static_cast<uint64_t>(l.id));
        if (l.ttl) proto::AppendVarintField(&pb, 2, static_cast<uint64_t>(l.ttl));
        puts[BigEndian64(static_cast<uint64_t>(l.id))] = pb;
      }
      leases_written_ = leases.size();
    }
    return Status::OK();
  }

  void NoteKeyRevision(std::string_view key) {
    int64_t main = 0, sub = 0;
    bool tombstone = false;
    if (ParseRevisionKey(key, &main, &sub, &tombstone)) last_key_revision_ = std::max(last_key_revision_, main);
  }

  // The bump entry after every other `key` entry: etcdutl writes an empty value at the latest
  // revision + N (sub 0); lifeboat's latest also counts a finished compaction above the last
  // entry (etcd resumes there: 3.4.23 drops a tombstone at the compact revision).
  Status WriteBump() {
    in_key_bucket_ = false;
    if (bump_.amount == 0) return Status::OK();
    const int64_t latest = std::max(last_key_revision_, bump_.finished_compaction);
    bump_.revision = latest + static_cast<int64_t>(bump_.amount);
    if (bump_.mark_compacted) edits_["meta"].puts["scheduledCompactRev"] = RevisionKey(bump_.revision);
    return w_->Put(RevisionKey(bump_.revision), std::string_view());
  }

  Status EmitReplayed() {
    NoteKeyRevision(cursor_.key());
    LB_RETURN_IF_ERROR(status_.Entry(cursor_.key(), cursor_.value(), false));
    LB_RETURN_IF_ERROR(w_->Put(cursor_.key(), cursor_.value()));
    return cursor_.Advance();
  }

  Status DrainReplay() {
    while (!cursor_.done()) LB_RETURN_IF_ERROR(EmitReplayed());
    in_key_ = false;
    return Status::OK();
  }

  Status EmitEdit() {
    const auto& [k, v] = *next_;
    ++next_;
    return v ? w_->Put(k, *v) : Status::OK();
  }

  Status EmitMissingBefore(std::string_view name, bool all = false) {
    while (!pending_.empty() && (all || std::string_view(*pending_.begin()) < name)) {
      const std::string b = *pending_.begin();
      pending_.erase(pending_.begin());
      LB_RETURN_IF_ERROR(status_.BeginBucket(b, 0));
      LB_RETURN_IF_ERROR(w_->BeginBucket(b));
      LB_RETURN_IF_ERROR(Enter(b));
      if (in_key_) LB_RETURN_IF_ERROR(DrainReplay());
      auto it = edits_.find(b);
      if (it != edits_.end()) {
        for (const auto& [k, v] : it->second.puts) {
          if (v) LB_RETURN_IF_ERROR(w_->Put(k, *v));
        }
      }
      if (in_key_bucket_) LB_RETURN_IF_ERROR(WriteBump());
      LB_RETURN_IF_ERROR(status_.EndBucket());
      LB_RETURN_IF_ERROR(w_->EndBucket());
    }
    return Status::OK();
  }

  BboltWriter* w_;
  std::map<std::string, BucketEdit> edits_;
  ChangeStream* replay_;
  ReplayCursor cursor_;
  RevisionBump bump_;
  bool in_key_ = false;         // in `key` with a replay to merge
  bool in_key_bucket_ = false;  // in `key`
  int64_t last_key_revision_ = 0;
  size_t leases_written_ = 0;
  std::set<std::string> pending_;
  BucketEdit* edit_ = nullptr;
  bool page_copied_ = false;  // the current leaf page went to the writer whole
  std::map<std::string, std::optional<std::string>>::iterator next_;
  StatusCollector status_;
};

// Temp directories removed (recursively) unless released.
class TempDirs {
 public:
  ~TempDirs() {
    for (const auto& d : dirs_) {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  }
  void Add(const std::string& d) { dirs_.push_back(d); }
  void Release() { dirs_.clear(); }

 private:
  std::vector<std::string> dirs_;
};

std::string Parent(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();
  fs::path parent = p.parent_path();
  return parent.empty() ? "." : parent.string();
}

std::string Base(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

// A target may be absent or an empty directory; anything else is refused before any work.
Status CheckTarget(const std::string& path, const char* flag) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::OK();
    return ErrnoStatus(errno, "stat", path, Access::kRead);
  }
  std::error_code ec;
  if (!S_ISDIR(st.st_mode) || !fs::is_empty(path, ec) || ec) {
    return Status::InvalidArgument(fmt::format(
        "{} {} already exists and is not empty: restore never overwrites data (move it aside or choose another {})",
        flag, path, flag));
  }
  return Status::OK();
}

Result<std::string> MakeTempDir(const std::string& parent, const std::string& base) {
  LB_RETURN_IF_ERROR(MakeDirs(parent, 0700));
  std::string tmpl = fmt::format("{}/.{}.lifeboat-restore-XXXXXX", parent, base.substr(0, 180));
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, "create a temp dir in", parent);
  return tmpl;
}

Status Mkdir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0) return ErrnoStatus(errno, "create", path);
  return Status::OK();
}

// etcdutl's WAL: wal.Create's crc, metadata and empty snapshot records, the members' ConfChange
// entries and HardState, then the snapshot at index N; 3.5+ (walpb.Snapshot.conf_state) names
// the voters in that last record; 3.7 marshals as raftmsg::Marshal::kPresence.
Status WriteWal(const std::string& path, const ClusterConfig& c, int minor) {
  const uint64_t n = c.members.size();
  const raftmsg::Marshal marshal = raftmsg::MarshalOf(minor);
  WalWriter w(path);
  w.Append(wal::kCrc, {});
  w.Append(wal::kMetadata, raftmsg::Metadata(c.local_id, c.cluster_id));
  w.Append(wal::kSnapshot, raftmsg::WalSnapshot(0, 0));
  std::vector<uint64_t> voters;
  for (uint64_t i = 0; i < n; ++i) {
    const auto& m = c.members[i];
    voters.push_back(m.id);
    const std::string cc = raftmsg::ConfChange(raftmsg::kAddNode, m.id, MemberJson(m), marshal);
    w.Append(wal::kEntry, raftmsg::Entry(raftmsg::kEntryConfChange, 1, i + 1, cc));
  }
  w.Append(wal::kState, raftmsg::HardState(1, c.members.front().id, n));
  w.Append(wal::kSnapshot, raftmsg::WalSnapshot(n, 1, minor >= 5 ? &voters : nullptr, marshal));
  return w.Finish();
}

Status RenameInto(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus(errno, "rename into place", to);
  return FsyncDir(Parent(to));
}

// The minor to write for: the forced one, else the snapshot's own; never below the version the
// snapshot requires (etcd refuses to downgrade), never above the newest lifeboat knows.
Result<int> ChooseMinor(const SnapshotVersion& version, int forced_minor, const std::string& path) {
  if (version.required_minor > kNewestRestoreMinor) {
    return Status::FailedPrecondition(fmt::format(
        "{} is from {}, newer than lifeboat restores (3.4 to 3.{}): restore it with that version's etcdutl", path,
        version.Describe(), kNewestRestoreMinor));
  }
  const int minor = forced_minor ? forced_minor : std::max(version.layout_minor, version.required_minor);
  if (minor < version.required_minor) {
    return Status::InvalidArgument(fmt::format(
        "{} is from {}: restoring it for etcd 3.{} would downgrade it, which etcd refuses (its rule: no downgrade "
        "below the snapshot's cluster version); use --target-version 3.{} or newer and start that etcd",
        path, version.Describe(), minor, version.required_minor));
  }
  return minor;
}

// Every version's membership edits: only the new members (v3 store: `members`), none removed,
// consistent_index = N (the raft index of the last ConfChange). etcdutl 3.5+ writes the raft
// term of the new WAL (1). For 3.4 too when the source has one (`write_term`): 3.4 ignores it,
// but a stale term (the old cluster's, say 8) outlives an upgrade to 3.5, whose consistent index
// then stands still until raft's term passes it.
std::map<std::string, BucketEdit> MembershipEdits(const ClusterConfig& cluster, bool write_term) {
  std::map<std::string, BucketEdit> edits;
  edits["members"].drop_source = true;
  for (const auto& m : cluster.members) edits["members"].puts[IdString(m.id)] = MemberJson(m);
  edits["members_removed"].drop_source = true;
  edits["meta"].puts["consistent_index"] = BigEndian64(cluster.members.size());
  if (write_term) edits["meta"].puts["term"] = BigEndian64(1);
  return edits;
}

struct CopiedDb {
  SnapshotStatus source;  // of what was written, replay included
  size_t replayed = 0, leases = 0;
  int64_t replayed_to = 0, bumped_to = 0;
};

// The source db walked (every page checked) into a fresh bbolt file at `path`, with the edits,
// the replay and the bump applied.
Result<CopiedDb> CopyDb(BboltReader& src, const std::string& path, std::map<std::string, BucketEdit> edits,
                        ChangeStream* replay, RevisionBump bump) {
  LB_ASSIGN_OR_RETURN(auto writer, BboltWriter::Create(path, src.page_size()));
  CopyVisitor copy(writer.get(), std::move(edits), replay, bump);
  LB_RETURN_IF_ERROR(src.Walk(copy));
  LB_RETURN_IF_ERROR(copy.Finish());
  LB_RETURN_IF_ERROR(writer->Finish());
  CopiedDb out;
  LB_ASSIGN_OR_RETURN(out.source, copy.SourceStatus());
  out.replayed = copy.replayed().count();
  out.leases = copy.leases_written();
  out.replayed_to = copy.replayed().last_revision();
  out.bumped_to = copy.bumped_revision();
  return out;
}

// The snapshot file, opened and checked, and the etcd minor version the restore writes for.
struct Source {
  SnapshotFileInfo info;
  bool check_hash = false;  // it has a trailer and the caller did not skip the check
  std::unique_ptr<BboltReader> db;
  SnapshotVersion version;
  int minor = 0;
};

// Where the restored data dir and WAL dir are built before they are renamed into place.
struct Staging {
  std::string dir;      // becomes the data dir
  std::string member;   // dir + "/member"
  std::string snapdir;  // member + "/snap"
  std::string waldir;   // member + "/wal", or a temp dir next to --wal-dir
};

}  // namespace

std::string SnapshotVersion::Describe() const {
  std::string ev = layout_minor >= 6 ? "meta/storageVersion" : layout_minor == 5 ? "meta/term" : "no meta/term";
  if (!cluster_version.empty()) ev += "; cluster/clusterVersion " + cluster_version;
  if (!storage_version.empty()) ev += "; meta/storageVersion " + storage_version;
  return fmt::format("etcd 3.{} ({})", std::max(layout_minor, required_minor), ev);
}

Result<SnapshotVersion> DetectSnapshotVersion(BboltReader& db) {
  SnapshotVersion v;
  LB_ASSIGN_OR_RETURN(auto storage, db.Get("meta", "storageVersion"));
  LB_ASSIGN_OR_RETURN(auto term, db.Get("meta", "term"));
  LB_ASSIGN_OR_RETURN(auto conf, db.Get("meta", "confState"));
  LB_ASSIGN_OR_RETURN(auto cluster, db.Get("cluster", "clusterVersion"));
  v.layout_minor = storage ? 6 : (term || conf) ? 5 : 4;  // 3.7 writes the layout 3.6 does
  for (const auto& [value, out] : {std::pair{&cluster, &v.cluster_version}, {&storage, &v.storage_version}}) {
    if (!*value) continue;
    *out = **value;
    const int minor = EtcdMinor(*out);
    // Not "3.x": written by an etcd this lifeboat does not know, so at least as new as it.
    v.required_minor = std::max(v.required_minor, minor < 0 ? 99 : minor);
  }
  return v;
}

Result<int> ParseTargetVersion(std::string_view s) {
  const int minor = EtcdMinor(s);
  if (minor < 4 || minor > kNewestRestoreMinor) {
    return Status::InvalidArgument(fmt::format(
        "--target-version {} is not an etcd version lifeboat restores for: give 3.4, 3.5, 3.6 or 3.7", s));
  }
  return minor;
}

Status CheckBumpFlags(uint64_t bump_revision, bool mark_compacted) {
  if (bump_revision > 0 && !mark_compacted) {
    return Status::InvalidArgument(
        "--bump-revision needs --mark-compacted, as in etcdutl (without it a watcher resuming inside the jump is "
        "never told to re-list): give both");
  }
  if (mark_compacted && bump_revision == 0) {
    return Status::InvalidArgument(
        "--mark-compacted needs --bump-revision N > 0 (compacting at the current revision would overwrite its key)");
  }
  return Status::OK();
}

namespace {

// The data dir, the WAL dir and the db path the restore writes; refused when one exists
// already, before anything is read.
Status PlanTargets(const RestoreOptions& o, RestoreResult* result) {
  result->data_dir = o.data_dir.empty() ? o.name + ".etcd" : o.data_dir;
  const bool separate_wal = !o.wal_dir.empty();
  result->wal_dir = separate_wal ? o.wal_dir : result->data_dir + "/member/wal";
  result->db_path = result->data_dir + "/member/snap/db";
  LB_RETURN_IF_ERROR(CheckTarget(result->data_dir, "--data-dir"));
  if (separate_wal) LB_RETURN_IF_ERROR(CheckTarget(result->wal_dir, "--wal-dir"));
  return Status::OK();
}

// Opens the snapshot and picks the version to write for, refusing the downgrade etcd would
// refuse. A damaged image fails here when its first pages are bad: the trailer's verdict then
// names the cause better than the page that failed.
Result<Source> OpenSource(const RestoreOptions& o, int forced_minor) {
  Source src;
  LB_ASSIGN_OR_RETURN(src.info, InspectSnapshotFile(o.snapshot_path));
  if (!src.info.has_trailer && !o.skip_hash_check) {
    return Status::FailedPrecondition(fmt::format(
        "{}: snapshot missing hash but --skip-hash-check=false ({} bytes: no SHA-256 trailer; a db copied from a "
        "data dir needs --skip-hash-check)",
        o.snapshot_path, src.info.file_size));
  }
  src.check_hash = src.info.has_trailer && !o.skip_hash_check;
  auto damaged = [&](Status s) {
    Status h = src.check_hash ? VerifySnapshotTrailer(src.info) : Status::OK();
    return h.ok() ? s : h;
  };
  auto db = BboltReader::Open(o.snapshot_path, src.info.image_size);
  if (!db.ok()) return damaged(db.status());
  src.db = std::move(*db);
  auto detected = DetectSnapshotVersion(*src.db);
  if (!detected.ok()) return damaged(detected.status());
  src.version = *detected;
  LB_ASSIGN_OR_RETURN(src.minor, ChooseMinor(src.version, forced_minor, o.snapshot_path));
  return src;
}

// The revision bump asked for, with the source's finished compaction, which the bump's
// compaction mark must not go below.
Result<RevisionBump> PlanBump(const RestoreOptions& o, BboltReader& db) {
  RevisionBump bump{o.bump_revision, o.mark_compacted};
  if (o.bump_revision > 0) {
    LB_ASSIGN_OR_RETURN(auto fin, db.Get("meta", "finishedCompactRev"));
    int64_t sub = 0;
    bool t = false;
    if (fin) ParseRevisionKey(*fin, &bump.finished_compaction, &sub, &t);
  }
  return bump;
}

// The data dir is built in a temp dir next to the target (and the WAL dir next to --wal-dir
// when it is separate), so a rename puts each into place whole; `temps` removes them on failure.
Result<Staging> MakeStaging(const RestoreResult& result, bool separate_wal, TempDirs& temps) {
  Staging st;
  LB_ASSIGN_OR_RETURN(st.dir, MakeTempDir(Parent(result.data_dir), Base(result.data_dir)));
  temps.Add(st.dir);
  st.member = st.dir + "/member";
  st.snapdir = st.member + "/snap";
  LB_RETURN_IF_ERROR(Mkdir(st.member));
  LB_RETURN_IF_ERROR(Mkdir(st.snapdir));
  st.waldir = st.member + "/wal";
  if (separate_wal) {
    LB_ASSIGN_OR_RETURN(st.waldir, MakeTempDir(Parent(result.wal_dir), Base(result.wal_dir)));
    temps.Add(st.waldir);
  } else {
    LB_RETURN_IF_ERROR(Mkdir(st.waldir));
  }
  return st;
}

// The trailer and the whole file's SHA-256, in one pass over the file as it is now: Corruption
// when the trailer does not match, the size changed since it was opened, or the file is not the
// one expected (`expect`, hex; empty: any). Returns the file's hex SHA-256.
Result<std::string> CheckWholeFile(const SnapshotFileInfo& info, const std::string& expect) {
  LB_ASSIGN_OR_RETURN(SnapshotDigests d, DigestSnapshotFile(info.path));
  if (d.file_size != info.file_size) {
    return Status::Corruption(
        fmt::format("{} changed size while being read ({} -> {} bytes)", info.path, info.file_size, d.file_size));
  }
  std::string sha = HexEncode(d.file_sha256);
  if (!expect.empty() && sha != expect) {
    return Status::Corruption(fmt::format("{}: SHA-256 {}, not the expected {}: a different or damaged file",
                                          info.path, sha, expect));
  }
  return sha;
}

// The source's status from a walk that checks every page, as the rebuild's copy does; a nested
// bucket is refused there too.
class CheckedStatus : public StatusCollector {
 public:
  CheckedStatus() : StatusCollector(/*hash=*/false) {}
  Status Entry(std::string_view key, std::string_view value, bool is_bucket) override {
    if (is_bucket) {
      return Status::Corruption(
          fmt::format("nested bucket \"{}\": etcd never writes one, so this is not an etcd db", key));
    }
    return StatusCollector::Entry(key, value, false);
  }
};

// Without a replay or a bump, only small buckets change: the db is cloned and edited where its
// shape allows (db_clone.h) while a walk of the source checks every page and collects its status;
// otherwise it is rebuilt.
Result<CopiedDb> CloneOrRebuild(Source& src, const std::string& path, std::map<std::string, BucketEdit> edits) {
  auto walked = std::async(std::launch::async, [&db = *src.db]() -> Result<SnapshotStatus> {
    CheckedStatus status;
    LB_RETURN_IF_ERROR(db.Walk(status));
    return status.Finish();
  });
  auto cloned = CloneDb(CloneSource{src.info.path, src.info.image_size, src.db->meta()}, path, edits, kRequiredBuckets);
  auto status = walked.get();
  if (!status.ok()) return status.status();  // the damage, named; the staging dir goes with it
  if (!cloned.ok()) return cloned.status();
  if (!*cloned) return CopyDb(*src.db, path, std::move(edits), nullptr, RevisionBump{});
  CopiedDb out;
  out.source = std::move(*status);
  return out;
}

// Writes the db into the staging dir while the file is hashed on a second thread: the target is
// renamed into place only once the trailer (and the expected SHA-256) matched. A damaged image
// usually also fails the walk; the hash's verdict is the one reported then, as it names the cause.
Result<CopiedDb> WriteDb(Source& src, const Staging& st, std::map<std::string, BucketEdit> edits,
                         ChangeStream* replay, RevisionBump bump, const std::string& expect_sha256,
                         std::string* file_sha256) {
  std::future<Result<std::string>> hashed;
  if (src.check_hash) {
    hashed = std::async(std::launch::async,
                        [&info = src.info, &expect_sha256] { return CheckWholeFile(info, expect_sha256); });
  }
  const std::string db = st.snapdir + "/db";
  auto copied = replay == nullptr && bump.amount == 0 ? CloneOrRebuild(src, db, std::move(edits))
                                                      : CopyDb(*src.db, db, std::move(edits), replay, bump);
  if (hashed.valid()) {
    LB_ASSIGN_OR_RETURN(*file_sha256, hashed.get());
  }
  return copied;
}

// The raft side of the new member, in 3.4's order after the db: the WAL, then the .snap file;
// then every staging dir is synced so the renames publish complete files.
Status WriteRaftFiles(const Staging& st, const ClusterConfig& cluster, int minor) {
  LB_RETURN_IF_ERROR(WriteWal(st.waldir + "/" + wal::kFirstSegmentName, cluster, minor));
  LB_RETURN_IF_ERROR(WriteSnapFile(st.snapdir, cluster, 1, cluster.members.size(), raftmsg::MarshalOf(minor)));
  LB_RETURN_IF_ERROR(FsyncDir(st.snapdir));
  LB_RETURN_IF_ERROR(FsyncDir(st.waldir));
  LB_RETURN_IF_ERROR(FsyncDir(st.member));
  return FsyncDir(st.dir);
}

// Into place: the WAL dir first, so that a data dir never appears without its WAL.
Status MoveIntoPlace(const Staging& st, const RestoreResult& result, bool separate_wal, TempDirs& temps) {
  if (separate_wal) LB_RETURN_IF_ERROR(RenameInto(st.waldir, result.wal_dir));
  Status s = RenameInto(st.dir, result.data_dir);
  if (!s.ok()) {
    if (separate_wal) temps.Add(result.wal_dir);
    return s;
  }
  temps.Release();
  return Status::OK();
}

// What the restore wrote: the new member and cluster ids, and the revision and keys the db holds.
void FillResult(const ClusterConfig& cluster, const CopiedDb& copied, RestoreResult* result) {
  result->member_id = cluster.local_id;
  result->cluster_id = cluster.cluster_id;
  result->members = cluster.members.size();
  result->revision = copied.source.current_revision;
  result->live_keys = copied.source.live_keys;  // with a replay: the result's (see CopyVisitor::Entry)
  result->source_members = copied.source.members;
  result->replayed = copied.replayed;
  result->leases = copied.leases;
  if (result->replayed > 0) result->revision = std::max(result->revision, copied.replayed_to);
  if (copied.bumped_to > 0) result->revision = copied.bumped_to;
}

}  // namespace

Result<RestoreResult> RestoreSnapshot(const RestoreOptions& o) {
  // 1. Everything that can be refused is refused before a byte is written.
  LB_RETURN_IF_ERROR(CheckBumpFlags(o.bump_revision, o.mark_compacted));
  if (o.skip_hash_check && !o.expect_file_sha256.empty()) {
    return Status::InvalidArgument("an expected SHA-256 is checked with the trailer: drop --skip-hash-check");
  }
  int forced_minor = 0;
  if (!o.target_version.empty()) {
    LB_ASSIGN_OR_RETURN(forced_minor, ParseTargetVersion(o.target_version));
  }
  LB_ASSIGN_OR_RETURN(ClusterConfig cluster,
                      PlanCluster(o.name, o.initial_cluster, o.initial_cluster_token, o.initial_advertise_peer_urls));
  RestoreResult result;
  LB_RETURN_IF_ERROR(PlanTargets(o, &result));
  LB_ASSIGN_OR_RETURN(Source src, OpenSource(o, forced_minor));
  result.source_version = src.version.Describe();
  result.target_version = fmt::format("3.{}", src.minor);

  // 2. The edits: only the new members; consistent_index = N (raft index of the last
  // ConfChange); optionally a higher revision, marked compacted.
  std::map<std::string, BucketEdit> edits =
      MembershipEdits(cluster, src.minor >= 5 || src.version.layout_minor >= 5);
  LB_ASSIGN_OR_RETURN(RevisionBump bump, PlanBump(o, *src.db));

  // 3. Build the data dir in a temp dir next to the target.
  const bool separate_wal = !o.wal_dir.empty();
  TempDirs temps;
  LB_ASSIGN_OR_RETURN(Staging st, MakeStaging(result, separate_wal, temps));
  auto copied = WriteDb(src, st, std::move(edits), o.replay, bump, o.expect_file_sha256, &result.file_sha256);
  if (!copied.ok()) {
    return copied.status().Annotate(
        fmt::format("restore of {} failed, {} not created", o.snapshot_path, result.data_dir));
  }
  LB_RETURN_IF_ERROR(WriteRaftFiles(st, cluster, src.minor));

  // 4. Into place, then what was written.
  LB_RETURN_IF_ERROR(MoveIntoPlace(st, result, separate_wal, temps));
  FillResult(cluster, *copied, &result);
  return result;
}

}  // namespace lifeboat::snapshot
