#include "ops/backup/backup.h"

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "base/sha256.h"
#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/layout.h"
#include "codec/object_codec.h"
#include "etcd/client.h"
#include "snapshot/digest.h"

namespace lifeboat::ops {

bool BackupResult::all_ok() const {
  for (const auto& c : copies) {
    if (!c.status.ok()) return false;
  }
  return !copies.empty();
}

namespace {

struct Copy {
  store::Store* store;
  TierTarget tier;
  std::string key;
  store::WriteOptions options;  // the tier's Object Lock, for the object and its manifest
  std::unique_ptr<store::ObjectWriter> writer;
  Status status;
};

// The lock of a copy begun at `started`: retained the tier's keep, rounded up to the second.
store::WriteOptions LockOf(const TierTarget& t, std::chrono::system_clock::time_point started) {
  if (t.object_lock.empty()) return {};
  const auto until = std::chrono::ceil<std::chrono::seconds>(started + t.keep);
  return store::WriteOptions{t.object_lock, until.time_since_epoch().count()};
}

// The member that vouches for the backup: its HashKV at the manifest's revision goes into the
// manifest, so verify and drills can prove the file holds what the cluster held. Another
// follower than the source when there is one, asked while the snapshot streams: the source then
// reads its db once, as for `etcdctl snapshot save`, and the two members' agreement is part of
// the proof. Without another follower (a one- or two-member cluster, every other member
// unreachable), the source itself, after its stream, so it never reads its db twice at once.
size_t PickWitness(const ClusterReport& report, size_t source) {
  size_t best = source;
  uint64_t best_applied = 0;
  for (size_t i = 0; i < report.reports.size(); ++i) {
    const MemberReport& r = report.reports[i];
    if (i == source || !r.reachable || r.is_leader || r.status.is_learner) continue;
    if (best == source || r.status.raft_applied_index > best_applied) {
      best = i;
      best_applied = r.status.raft_applied_index;
    }
  }
  return best;
}

// The witness's HashKV at `revision`, on a connection of its own. A follower that has not
// applied `revision` yet answers "future revision": asked again for a few seconds. Best effort:
// a failure leaves the record out. Always joined (a thread left running in gRPC at exit is not
// safe); HashKV's own deadline bounds each try.
class WitnessHash {
 public:
  WitnessHash(std::string endpoint, etcd::ClientOptions client, int64_t revision, bool now)
      : endpoint_(std::move(endpoint)), client_(std::move(client)), revision_(revision) {
    if (now) thread_ = std::thread([this] { Ask(); });
  }
  ~WitnessHash() {
    if (thread_.joinable()) thread_.join();
  }
  WitnessHash(const WitnessHash&) = delete;
  WitnessHash& operator=(const WitnessHash&) = delete;

  // The record; asks now when it was not asked while the snapshot streamed.
  std::optional<catalog::KvHashRecord> Get() {
    if (thread_.joinable()) {
      thread_.join();
    } else if (!asked_) {
      Ask();
    }
    return rec_;
  }

 private:
  void Ask() {
    asked_ = true;
    auto c = etcd::Client::Connect(endpoint_, client_);
    if (!c.ok()) return;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto h = (*c)->HashKV(revision_);
      if (h.ok()) {
        rec_ = catalog::KvHashRecord{revision_, h->hash, h->compact_revision, h->header.member_id};
        return;
      }
      if (h.status().message().find("future revision") == std::string::npos ||
          std::chrono::steady_clock::now() >= until) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  const std::string endpoint_;
  const etcd::ClientOptions client_;
  const int64_t revision_;
  bool asked_ = false;
  std::optional<catalog::KvHashRecord> rec_;  // written by the thread, read after the join
  std::thread thread_;
};

}  // namespace

TierTarget TargetOf(const catalog::Tier& tier) { return {tier.name, tier.folder, tier.object_lock, tier.keep}; }

codec::EncodeOptions EncodeOptionsOf(const BackupOptions& o) {
  return codec::EncodeOptions{o.zstd_level, o.zstd_level > 0 ? o.zstd_threads : 0, o.encryption, o.signing};
}

namespace {

// One backup's steps, in order: pick the source, open a writer per (store, tier), stream the
// snapshot into every open writer, then commit each copy with its manifest. Each step reads and
// fills the members below.
class BackupRun {
 public:
  BackupRun(const etcd::ClientOptions& client, const BackupOptions& options,
            const std::vector<store::Store*>& stores, const ProgressFn& progress)
      : client_(client), options_(options), stores_(stores), progress_(progress) {}

  Result<BackupResult> Run() {
    if (stores_.empty() || options_.tiers.empty()) return Status::InvalidArgument("backup needs a store and a tier");
    LB_RETURN_IF_ERROR(ConnectToSource());
    started_ = std::chrono::system_clock::now();
    cluster_ = options_.cluster_name.empty() ? etcd::IdHex(before_.header.cluster_id) : options_.cluster_name;
    member_ = source().name.empty() ? etcd::IdHex(before_.header.member_id) : source().name;
    OpenCopies();
    const std::string failed = "backup from " + member_ + " failed, nothing was stored";
    if (CopiesWriting() == 0) return copies_.front().status.Annotate(failed);

    // snapshot -> [zstd] -> [AES-256-GCM] -> every store
    auto encoder = codec::ObjectEncoder::Create(EncodeOptionsOf(options_),
                                                [this](std::span<const uint8_t> blob) { return AppendToAll(blob); });
    if (!encoder.ok()) {
      AbortAll(encoder.status());
      return encoder.status().Annotate(failed);
    }
    if (Status st = StreamSnapshot(**encoder); !st.ok()) {
      AbortAll(st);
      return st.Annotate(failed);
    }
    auto digests = digest_.Finish();
    if (!digests.ok()) {
      AbortAll(digests.status());
      return digests.status().Annotate("backup from " + member_ + " rejected, nothing was stored");
    }
    catalog::Manifest base = ManifestOfAllCopies(*digests, **encoder);
    base.source_hashkv = witness_->Get();
    return CommitCopies(base);
  }

 private:
  const MemberReport& source() const { return report_.reports[source_]; }

  // Surveys the cluster, picks the source, and opens a connection of its own to exactly that
  // member: the snapshot must come from it. Its Status gives the manifest's revision, and the
  // witness starts asking for the HashKV at that revision.
  Status ConnectToSource() {
    SurveyOptions so;
    so.whole_cluster = true;
    LB_ASSIGN_OR_RETURN(report_, Survey(client_, so));
    LB_ASSIGN_OR_RETURN(source_, ChooseSource(report_, options_.source));
    for (const auto& r : report_.reports) {
      if (r.is_leader) leader_name_ = r.name;
    }
    LB_ASSIGN_OR_RETURN(conn_, etcd::Client::Connect(source().endpoint, client_));
    LB_ASSIGN_OR_RETURN(before_, conn_->Status());
    const size_t witness = PickWitness(report_, source_);
    witness_.emplace(report_.reports[witness].endpoint, client_, before_.header.revision,
                     /*now=*/witness != source_);
    return Status::OK();
  }

  // One writer per (store, tier), in that order; a store that refuses one keeps its error.
  void OpenCopies() {
    for (store::Store* st : stores_) {
      for (const auto& tier : options_.tiers) {
        std::string key =
            catalog::ObjectKey(options_.prefix, tier.folder, cluster_, member_, before_.header.revision, started_) +
            codec::EncodedSuffix(codec::EncodingOf(EncodeOptionsOf(options_)));
        Copy c{st, tier, key, LockOf(tier, started_), nullptr, Status::OK()};
        auto w = st->Create(c.key, c.options);
        if (w.ok()) {
          c.writer = std::move(*w);
        } else {
          c.status = w.status();
        }
        copies_.push_back(std::move(c));
      }
    }
  }

  // How many copies still have an open writer.
  size_t CopiesWriting() const {
    size_t n = 0;
    for (const auto& c : copies_) n += c.writer ? 1 : 0;
    return n;
  }

  // Aborts every open writer; a copy without an error of its own takes `why`.
  void AbortAll(const Status& why) {
    for (auto& c : copies_) {
      if (c.writer) c.writer->Abort();
      c.writer.reset();
      if (c.status.ok()) c.status = why;
    }
  }

  // The encoder's sink: `blob` goes to every open writer. A store that fails is aborted on its
  // own and the others go on; the stream fails only when no writer is left.
  Status AppendToAll(std::span<const uint8_t> blob) {
    Status last;
    for (auto& c : copies_) {
      if (!c.writer) continue;
      if (Status s = c.writer->Append(blob); !s.ok()) {
        c.writer->Abort();
        c.writer.reset();
        c.status = s;
        last = s;
      }
    }
    return CopiesWriting() == 0 ? last : Status::OK();
  }

  // Streams the source's snapshot through the digest and the encoder, at most max_rate bytes a
  // second, and finishes the encoder; sets seconds_ to the time spent streaming.
  Status StreamSnapshot(codec::ObjectEncoder& enc) {
    auto t0 = std::chrono::steady_clock::now();
    Status st = conn_->Snapshot(
        [&](std::span<const uint8_t> blob, uint64_t image_size) -> Status {
          digest_.Update(blob);
          LB_RETURN_IF_ERROR(enc.Update(blob));
          if (progress_) progress_(digest_.bytes(), image_size + 32);
          if (options_.max_rate > 0) {
            // Throttle by sleeping until the average rate is back under the limit.
            std::this_thread::sleep_until(t0 +
                                          std::chrono::microseconds(digest_.bytes() * 1000000 / options_.max_rate));
          }
          return Status::OK();
        },
        options_.stall_timeout);
    if (st.ok()) st = enc.Finish();
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
  }

  // What every copy's manifest records; CommitCopies adds each copy's key, tier and store.
  catalog::Manifest ManifestOfAllCopies(const snapshot::SnapshotDigests& digests,
                                        const codec::ObjectEncoder& enc) const {
    catalog::Manifest base;
    base.sha256 = HexEncode(digests.file_sha256);
    base.db_sha256 = HexEncode(digests.image_sha256);
    base.size = digest_.bytes();
    base.revision = before_.header.revision;
    base.cluster_id = before_.header.cluster_id;
    base.cluster_name = cluster_;
    base.member_name = source().name;
    base.member_id = before_.header.member_id;
    base.member_endpoint = source().endpoint;
    base.leader_id = before_.leader;
    base.leader_name = leader_name_;
    base.source_is_leader = before_.leader == before_.header.member_id;
    base.etcd_version = before_.version;
    base.raft_term = before_.raft_term;
    base.raft_index = before_.raft_index;
    base.raft_applied_index = before_.raft_applied_index;
    base.started_at = FormatRFC3339(started_);
    base.finished_at = FormatRFC3339(std::chrono::system_clock::now());
    base.tool_version = LIFEBOAT_VERSION;
    catalog::RecordEncoding(enc, &base);
    return base;
  }

  // Commits every copy still open, its object first and its manifest last; fails only when no
  // copy was stored whole.
  Result<BackupResult> CommitCopies(const catalog::Manifest& base) {
    BackupResult result;
    result.seconds = seconds_;
    bool first = true, kept = false;
    for (auto& c : copies_) {
      if (c.writer) {
        catalog::Manifest m = base;
        m.object_key = c.key;
        m.tier = c.tier.name;
        m.store = c.store->Describe();
        bool committed = false;
        c.status = catalog::CommitBackup(*c.store, *c.writer, &m, options_.signing, c.options, &committed);
        kept |= committed;
        c.writer.reset();
        if (c.status.ok() && first) {
          result.manifest = m;
          first = false;
        }
      }
      result.copies.push_back({c.store->Describe(), c.tier.name, c.key, c.status});
    }
    if (first) {
      return result.copies.front().status.Annotate("backup from " + member_ + (kept ? " incomplete" : " not stored"));
    }
    return result;
  }

  const etcd::ClientOptions& client_;
  const BackupOptions& options_;
  const std::vector<store::Store*>& stores_;
  const ProgressFn& progress_;

  ClusterReport report_;
  size_t source_ = 0;        // index into report_.reports
  std::string leader_name_;
  std::unique_ptr<etcd::Client> conn_;
  etcd::MemberStatus before_;  // the source's Status just before the snapshot
  // Declared before the copies, so that their writers are gone before its thread is joined.
  std::optional<WitnessHash> witness_;
  std::chrono::system_clock::time_point started_;
  std::string cluster_;  // the cluster name in object keys and manifests
  std::string member_;   // the source's name in object keys and messages
  std::vector<Copy> copies_;
  snapshot::SnapshotDigest digest_;
  double seconds_ = 0;
};

}  // namespace

Result<BackupResult> RunBackup(const etcd::ClientOptions& client, const BackupOptions& options,
                               const std::vector<store::Store*>& stores, const ProgressFn& progress) {
  return BackupRun(client, options, stores, progress).Run();
}

}  // namespace lifeboat::ops
