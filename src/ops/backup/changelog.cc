#include "ops/backup/changelog.h"

#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "etcd/client.h"
#include "etcd/first_answering.h"

namespace lifeboat::ops {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Served {
  std::unique_ptr<etcd::Client> client;
  uint64_t cluster_id = 0;
  size_t index = 0;  // its position in the endpoints
};

// The first endpoint from position `first` on (wrapping around) that answers Status: any member
// will do for a watch of the whole key space.
Result<Served> ConnectFrom(const etcd::ClientOptions& client, size_t first) {
  uint64_t cluster_id = 0;
  auto status = [&](etcd::Client& c) -> Status {
    LB_ASSIGN_OR_RETURN(auto st, c.Status());
    cluster_id = st.header.cluster_id;
    return Status::OK();
  };
  LB_ASSIGN_OR_RETURN(etcd::Answering a, etcd::FirstAnswering(client.endpoints, client, status, first));
  return Served{std::move(a.client), cluster_id, a.index};
}

// Waits `d`, or less when `stop` turns true; false when it did.
bool Pause(milliseconds d, const std::atomic<bool>& stop) {
  for (auto until = Clock::now() + d; Clock::now() < until;) {
    if (stop.load()) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), milliseconds(50)));
  }
  return !stop.load();
}

std::string Seconds(milliseconds d) { return fmt::format("{:.1f}s", static_cast<double>(d.count()) / 1000.0); }

}  // namespace

Result<uint64_t> ServedClusterId(const etcd::ClientOptions& client) {
  LB_ASSIGN_OR_RETURN(Served s, ConnectFrom(client, 0));
  return s.cluster_id;
}

Result<int64_t> ChangeLogStart(store::Store& store, const std::string& prefix, const std::string& cluster,
                               uint64_t cluster_id, const catalog::TrustPolicy& trust) {
  LB_ASSIGN_OR_RETURN(auto listing, catalog::ListBackups(store, prefix, "", trust));
  int64_t newest = 0;
  for (const auto& b : listing.backups) {
    const catalog::Manifest& m = b.manifest;
    if (b.trusted() && m.cluster_name == cluster && catalog::SameHistory(m.cluster_id, cluster_id)) {
      newest = std::max(newest, m.revision);
    }
  }
  if (newest == 0) {
    return Status::NotFound(fmt::format("no full backup of cluster {} (id {:x}) yet: the change log extends one (run a "
                                        "backup)",
                                        cluster, cluster_id));
  }
  LB_ASSIGN_OR_RETURN(auto segs, catalog::ListSegments(store, prefix, cluster, trust));
  int64_t last = 0;
  for (const auto& s : segs.segments) {
    if (catalog::SameHistory(s.cluster_id, cluster_id)) last = std::max(last, s.end_revision);
  }
  return last >= newest ? last + 1 : newest + 1;
}

namespace {

constexpr milliseconds kMinBackoff{100};

// One log: the watch (reopened as often as it ends), the buffer of changes not yet stored, and
// the segments written from it.
class ChangeLogger {
 public:
  ChangeLogger(const etcd::ClientOptions& client, store::Store& store, const ChangeLogOptions& o, int64_t start,
               uint64_t cluster_id, const std::atomic<bool>& stop, const ChangeLogHooks& hooks)
      : client_(client), store_(store), o_(o), stop_(stop), hooks_(hooks), cluster_id_(cluster_id),
        seg_start_(start), reached_(start - 1), log_(hooks.log != nullptr ? *hooks.log : null_log_) {}

  Status Run();

 private:
  // Opens a watch from reached_ + 1 on the first member from endpoint `next` on that answers,
  // and follows it until it ends; `*index` is the member's position.
  Status WatchOnce(size_t next, size_t* index, int64_t* compacted);
  Result<bool> OnBatch(const etcd::WatchBatch& b);
  void Append(const etcd::WatchEvent& e);
  std::optional<catalog::SegmentHash> Checkpoint();
  // Stores the buffer as the segment [seg_start_, reached_]; with `empty`, also when that holds
  // no revision.
  Status Flush(bool checkpoint, bool empty = false);
  // `write`, again after a growing pause while the store refuses it, until it succeeds or stop.
  Status StoreRetrying(const std::function<Status()>& write);
  Status Gap(const Status& why, int64_t compact_revision);

  const etcd::ClientOptions& client_;
  store::Store& store_;
  const ChangeLogOptions& o_;
  const std::atomic<bool>& stop_;
  const ChangeLogHooks& hooks_;
  uint64_t cluster_id_;  // 0 until the first member answers
  std::unique_ptr<etcd::Client> conn_;
  std::string member_;  // the endpoint conn_ serves

  catalog::SegmentData buffer_;
  // Leases whose grant is already logged (or that no longer exist): one LeaseTimeToLive each.
  std::unordered_set<int64_t> known_leases_;
  uint64_t buffered_bytes_ = 0;
  int64_t seg_start_;  // the next segment's first revision
  int64_t reached_;    // every change up to it has been received
  Clock::time_point oldest_{}, last_flush_ = Clock::now();
  std::optional<Clock::time_point> last_hash_;
  int64_t sub_rev_ = -1;
  uint32_t sub_ = 0;
  uint64_t batches_ = 0;
  bool replaced_ = false;  // a member serves another cluster id
  Status sink_error_;  // why the sink ended a watch (the store refused, and stop came)
  NullLogger null_log_;
  Logger& log_;
};

Status ChangeLogger::Run() {
  milliseconds backoff{0};
  size_t next = 0;
  while (!stop_.load()) {
    if (backoff.count() > 0 && !Pause(backoff, stop_)) break;
    const uint64_t delivered = batches_;
    size_t index = next;
    int64_t compacted = 0;
    Status ended = WatchOnce(next, &index, &compacted);
    if (!sink_error_.ok()) return sink_error_;
    if (stop_.load()) break;
    if (compacted > 0) return Gap(ended, compacted);
    if (replaced_) return ended;
    // What was received is stored now, so the log stays whole however long the next watch takes.
    LB_RETURN_IF_ERROR(StoreRetrying([&] { return Flush(false); }));
    backoff = batches_ > delivered ? kMinBackoff : std::min(o_.max_backoff, std::max(kMinBackoff, backoff * 2));
    next = index + 1;
    if (hooks_.on_watch_error) hooks_.on_watch_error(ended);
    log_.Warn("change log: {}; reopening the watch from revision {} on the next member in {}", ended.message(),
              reached_ + 1, Seconds(backoff));
  }
  return StoreRetrying([&] { return Flush(conn_ != nullptr); });
}

Status ChangeLogger::WatchOnce(size_t next, size_t* index, int64_t* compacted) {
  auto served = ConnectFrom(client_, next);
  if (!served.ok()) return served.status();
  *index = served->index;
  if (cluster_id_ == 0) cluster_id_ = served->cluster_id;
  if (served->cluster_id != cluster_id_) {
    replaced_ = true;
    return Status::FailedPrecondition(fmt::format(
        "the endpoints serve cluster id {:x}, not {:x} (the cluster was replaced: the log starts again after its "
        "first full backup)",
        served->cluster_id, cluster_id_));
  }
  conn_ = std::move(served->client);
  member_ = conn_->endpoint().url;
  etcd::WatchOptions w;
  // Progress requests twice per flush interval keep reached_ fresh on a quiet cluster.
  w.progress_every = std::max(kMinBackoff, o_.flush_interval / 2);
  w.stall_timeout = o_.stall_timeout;
  const std::string all(1, '\0');
  log_.Info("change log: watching cluster {:x} from revision {} on {}", cluster_id_, reached_ + 1, member_);
  return conn_->Watch(all, all, reached_ + 1, w, [&](const etcd::WatchBatch& b) { return OnBatch(b); }, compacted);
}

// The log's reach comes from the changes alone. Every revision of etcd's key space has at least
// one (a write that changes nothing makes no revision), so the last change received is the
// revision reached. A progress notification (a batch without changes) only says the stream
// lives: etcd before 3.4.25 and 3.5.8 answers a progress request with the store's revision at
// once, even while older changes are still on their way to a watcher catching up (fixed there
// by "guarantee order of requested progress notification"), so its revision is never trusted.
Result<bool> ChangeLogger::OnBatch(const etcd::WatchBatch& b) {
  batches_++;
  for (const auto& e : b.events) Append(e);
  if (hooks_.on_progress) hooks_.on_progress(reached_);
  auto now = Clock::now();
  const bool idle = buffer_.events.empty() && now - last_flush_ >= o_.idle_flush;
  if ((!buffer_.events.empty() && now - oldest_ >= o_.flush_interval) || buffered_bytes_ >= o_.max_segment_bytes ||
      idle) {
    // On a quiet cluster an empty segment (no revision: it ends before it starts) says the log
    // is alive and has stored everything up to its end.
    sink_error_ = StoreRetrying([&] { return Flush(true, idle); });
    if (!sink_error_.ok()) return sink_error_;
  }
  return !stop_.load();
}

void ChangeLogger::Append(const etcd::WatchEvent& e) {
  catalog::ChangeEvent ce;
  ce.is_delete = e.is_delete;
  ce.revision = e.kv.mod_revision;
  // Events of one revision (a transaction) arrive in order, in one batch: number them as etcd does.
  sub_ = ce.revision == sub_rev_ ? sub_ + 1 : 0;
  sub_rev_ = ce.revision;
  ce.sub = sub_;
  ce.key = e.kv.key;
  if (!e.is_delete) {
    ce.value = e.kv.value;
    ce.create_revision = e.kv.create_revision;
    ce.version = e.kv.version;
    ce.lease = e.kv.lease;
  }
  if (ce.lease != 0 && !known_leases_.count(ce.lease)) {
    // The watch does not report lease grants, and a lease granted after the full backup is
    // not in it: log the grant, so a point-in-time restore can attach the key again.
    auto l = conn_->LeaseTimeToLive(ce.lease);
    if (l.ok()) {
      known_leases_.insert(ce.lease);
      if (l->ttl >= 0) buffer_.leases.push_back({ce.lease, l->granted_ttl});
    }
  }
  if (buffer_.events.empty()) oldest_ = Clock::now();
  buffered_bytes_ += ce.key.size() + ce.value.size() + 41;
  buffer_.events.push_back(std::move(ce));
  reached_ = std::max(reached_, e.kv.mod_revision);
}

// The member that serves the watch answers: its events and its hash describe one history.
std::optional<catalog::SegmentHash> ChangeLogger::Checkpoint() {
  if (o_.hash_interval.count() == 0 || reached_ < 1 || (last_hash_ && Clock::now() - *last_hash_ < o_.hash_interval)) {
    return std::nullopt;  // (HashKV at revision 0 would hash "now")
  }
  // On a connection of its own: the watch's may be the one that stalled, and a HashKV queued
  // behind it would hold the log (this runs inside the watch's callback) for its whole deadline
  // before the stall could be noticed.
  auto c = etcd::Client::Connect(member_, client_);
  if (!c.ok()) return std::nullopt;
  auto h = (*c)->HashKV(reached_);
  if (!h.ok()) return std::nullopt;  // a missed checkpoint weakens the check, it loses nothing; retried next flush
  last_hash_ = Clock::now();
  return catalog::SegmentHash{reached_, h->hash, h->compact_revision, h->header.member_id};
}

Status ChangeLogger::Flush(bool checkpoint, bool empty) {
  if (reached_ < seg_start_ && !empty) return Status::OK();  // nothing new is covered
  catalog::SegmentManifest seg;
  seg.cluster_name = o_.cluster_name;
  seg.cluster_id = cluster_id_;
  seg.start_revision = seg_start_;
  seg.end_revision = reached_;
  if (checkpoint) seg.hashkv = Checkpoint();
  seg.finished_at = FormatRFC3339(std::chrono::system_clock::now());
  LB_ASSIGN_OR_RETURN(auto m, catalog::WriteSegment(store_, o_.prefix, seg, buffer_, o_.encode));
  if (hooks_.on_segment) hooks_.on_segment(m);
  seg_start_ = reached_ + 1;
  buffer_ = {};
  buffered_bytes_ = 0;
  last_flush_ = Clock::now();
  return Status::OK();
}

Status ChangeLogger::StoreRetrying(const std::function<Status()>& write) {
  for (milliseconds pause = kMinBackoff;; pause = std::min(o_.max_backoff, pause * 2)) {
    Status s = write();
    if (s.ok()) return s;
    if (hooks_.on_store_error) hooks_.on_store_error(s);
    if (stop_.load()) return s;
    log_.Error("change log: {} (changes up to revision {} kept; retrying in {})", s.message(), reached_, Seconds(pause));
    if (!Pause(pause, stop_)) return s;
  }
}

Status ChangeLogger::Gap(const Status& why, int64_t compact_revision) {
  // Everything received is stored first: the gap starts right after it.
  LB_RETURN_IF_ERROR(StoreRetrying([&] { return Flush(false); }));
  catalog::ChangeGap g{o_.cluster_name, cluster_id_, reached_ + 1, compact_revision, member_,
                       FormatRFC3339(std::chrono::system_clock::now())};
  LB_RETURN_IF_ERROR(StoreRetrying([&] { return catalog::WriteGap(store_, o_.prefix, g); }));
  if (hooks_.on_gap) hooks_.on_gap(g);
  return why;
}

}  // namespace

Status RunChangeLog(const etcd::ClientOptions& client, store::Store& store, const ChangeLogOptions& o,
                    int64_t start_revision, uint64_t cluster_id, const std::atomic<bool>& stop,
                    const ChangeLogHooks& hooks) {
  if (o.cluster_name.empty()) return Status::InvalidArgument("the change log needs a cluster name (cluster-name)");
  if (start_revision < 1) return Status::InvalidArgument("the change log starts at revision 1 or later");
  if (client.endpoints.empty()) return Status::InvalidArgument("the change log needs --endpoints");
  ChangeLogger log(client, store, o, start_revision, cluster_id, stop, hooks);
  return log.Run();
}

}  // namespace lifeboat::ops
