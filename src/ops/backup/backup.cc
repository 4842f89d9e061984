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

Result<BackupResult> RunBackup(const etcd::ClientOptions& client, const BackupOptions& options,
                               const std::vector<store::Store*>& stores, const ProgressFn& progress) {
  if (stores.empty() || options.tiers.empty()) return Status::InvalidArgument("backup needs a store and a tier");
  SurveyOptions so;
  so.whole_cluster = true;
  LB_ASSIGN_OR_RETURN(ClusterReport report, Survey(client, so));
  LB_ASSIGN_OR_RETURN(size_t pick, ChooseSource(report, options.source));
  const MemberReport& src = report.reports[pick];

  std::string leader_name;
  for (const auto& r : report.reports) {
    if (r.is_leader) leader_name = r.name;
  }

  // A connection of its own to exactly the chosen member: the snapshot must come from it.
  LB_ASSIGN_OR_RETURN(auto conn, etcd::Client::Connect(src.endpoint, client));
  LB_ASSIGN_OR_RETURN(etcd::MemberStatus before, conn->Status());

  const size_t witness = PickWitness(report, pick);
  WitnessHash witness_hash(report.reports[witness].endpoint, client, before.header.revision,
                           /*now=*/witness != pick);

  auto started = std::chrono::system_clock::now();
  std::string cluster = options.cluster_name.empty() ? etcd::IdHex(before.header.cluster_id) : options.cluster_name;
  std::string member = src.name.empty() ? etcd::IdHex(before.header.member_id) : src.name;

  std::vector<Copy> copies;
  for (store::Store* st : stores) {
    for (const auto& tier : options.tiers) {
      std::string key = catalog::ObjectKey(options.prefix, tier.folder, cluster, member, before.header.revision, started) +
                        codec::EncodedSuffix(codec::EncodingOf(EncodeOptionsOf(options)));
      Copy c{st, tier, key, LockOf(tier, started), nullptr, Status::OK()};
      auto w = st->Create(c.key, c.options);
      if (w.ok()) {
        c.writer = std::move(*w);
      } else {
        c.status = w.status();
      }
      copies.push_back(std::move(c));
    }
  }
  auto live = [&] {
    size_t n = 0;
    for (const auto& c : copies) n += c.writer ? 1 : 0;
    return n;
  };
  auto fail_all = [&](const Status& why) {
    for (auto& c : copies) {
      if (c.writer) c.writer->Abort();
      c.writer.reset();
      if (c.status.ok()) c.status = why;
    }
  };
  const std::string failed = "backup from " + member + " failed, nothing was stored";
  if (live() == 0) return copies.front().status.Annotate(failed);

  snapshot::SnapshotDigest digest;
  auto store_all = [&](std::span<const uint8_t> blob) -> Status {
    Status last;
    for (auto& c : copies) {
      if (!c.writer) continue;
      if (Status s = c.writer->Append(blob); !s.ok()) {
        // This store failed; the others go on.
        c.writer->Abort();
        c.writer.reset();
        c.status = s;
        last = s;
      }
    }
    return live() == 0 ? last : Status::OK();
  };
  // snapshot -> [zstd] -> [AES-256-GCM] -> every store
  auto encoder = codec::ObjectEncoder::Create(EncodeOptionsOf(options), store_all);
  if (!encoder.ok()) {
    fail_all(encoder.status());
    return encoder.status().Annotate(failed);
  }
  codec::ObjectEncoder& enc = **encoder;
  auto t0 = std::chrono::steady_clock::now();
  Status st = conn->Snapshot(
      [&](std::span<const uint8_t> blob, uint64_t image_size) -> Status {
        digest.Update(blob);
        LB_RETURN_IF_ERROR(enc.Update(blob));
        if (progress) progress(digest.bytes(), image_size + 32);
        if (options.max_rate > 0) {
          // Throttle by sleeping until the average rate is back under the limit.
          std::this_thread::sleep_until(t0 + std::chrono::microseconds(digest.bytes() * 1000000 / options.max_rate));
        }
        return Status::OK();
      },
      options.stall_timeout);
  if (st.ok()) st = enc.Finish();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!st.ok()) {
    fail_all(st);
    return st.Annotate(failed);
  }
  auto digests = digest.Finish();
  if (!digests.ok()) {
    fail_all(digests.status());
    return digests.status().Annotate("backup from " + member + " rejected, nothing was stored");
  }

  catalog::Manifest base;
  base.sha256 = HexEncode(digests->file_sha256);
  base.db_sha256 = HexEncode(digests->image_sha256);
  base.size = digest.bytes();
  base.revision = before.header.revision;
  base.cluster_id = before.header.cluster_id;
  base.cluster_name = cluster;
  base.member_name = src.name;
  base.member_id = before.header.member_id;
  base.member_endpoint = src.endpoint;
  base.leader_id = before.leader;
  base.leader_name = leader_name;
  base.source_is_leader = before.leader == before.header.member_id;
  base.etcd_version = before.version;
  base.raft_term = before.raft_term;
  base.raft_index = before.raft_index;
  base.raft_applied_index = before.raft_applied_index;
  base.started_at = FormatRFC3339(started);
  base.finished_at = FormatRFC3339(std::chrono::system_clock::now());
  base.tool_version = LIFEBOAT_VERSION;
  catalog::RecordEncoding(enc, &base);

  base.source_hashkv = witness_hash.Get();

  BackupResult result;
  result.seconds = seconds;
  bool first = true, kept = false;
  for (auto& c : copies) {
    if (c.writer) {
      catalog::Manifest m = base;
      m.object_key = c.key;
      m.tier = c.tier.name;
      m.store = c.store->Describe();
      bool committed = false;
      c.status = catalog::CommitBackup(*c.store, *c.writer, &m, options.signing, c.options, &committed);
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
    return result.copies.front().status.Annotate("backup from " + member + (kept ? " incomplete" : " not stored"));
  }
  return result;
}

}  // namespace lifeboat::ops
