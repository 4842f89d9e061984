#include "ops/changelog.h"

#include <optional>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "etcd/client.h"

namespace lifeboat::ops {

namespace {

struct Served {
  std::unique_ptr<etcd::Client> client;
  uint64_t cluster_id = 0;
};

// The first endpoint that answers Status: any member will do for a watch of the whole key space.
Result<Served> ConnectAny(const etcd::ClientOptions& client) {
  Status last = Status::Unavailable("no endpoints");
  for (const auto& ep : client.endpoints) {
    auto c = etcd::Client::Connect(ep, client);
    if (!c.ok()) {
      last = c.status();
      continue;
    }
    auto st = (*c)->Status();
    if (st.ok()) return Served{std::move(*c), st->header.cluster_id};
    last = st.status();
  }
  return last;
}

}  // namespace

Result<uint64_t> ServedClusterId(const etcd::ClientOptions& client) {
  LB_ASSIGN_OR_RETURN(Served s, ConnectAny(client));
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

Status RunChangeLog(const etcd::ClientOptions& client, store::Store& store, const ChangeLogOptions& o,
                    int64_t start_revision, uint64_t cluster_id, const std::atomic<bool>& stop,
                    const std::function<void(const catalog::SegmentManifest&)>& on_segment) {
  if (o.cluster_name.empty()) return Status::InvalidArgument("the change log needs a cluster name (cluster-name)");
  if (start_revision < 1) return Status::InvalidArgument("the change log starts at revision 1 or later");
  LB_ASSIGN_OR_RETURN(Served member, ConnectAny(client));
  const std::unique_ptr<etcd::Client>& conn = member.client;
  const uint64_t served = member.cluster_id;
  if (cluster_id != 0 && served != cluster_id) {
    return Status::FailedPrecondition(fmt::format(
        "the endpoints serve cluster id {:x}, not {:x} (the cluster was replaced: the log starts again after its "
        "first full backup)",
        served, cluster_id));
  }

  using Clock = std::chrono::steady_clock;
  catalog::SegmentData buffer;
  // Leases whose grant is already logged (or that no longer exist): one LeaseTimeToLive each.
  std::unordered_set<int64_t> known_leases;
  uint64_t buffered_bytes = 0;
  int64_t seg_start = start_revision;  // the next segment's first revision
  int64_t reached = start_revision - 1;
  Clock::time_point oldest{}, last_flush = Clock::now();
  int64_t sub_rev = -1;
  uint32_t sub = 0;

  std::optional<Clock::time_point> last_hash;
  // The member that serves the watch answers: its events and its hash describe one history.
  auto checkpoint = [&]() -> std::optional<catalog::SegmentHash> {
    if (o.hash_interval.count() == 0 || (last_hash && Clock::now() - *last_hash < o.hash_interval)) return std::nullopt;
    auto h = conn->HashKV(reached);
    if (!h.ok()) return std::nullopt;  // a missed checkpoint weakens the check, it loses nothing; retried next flush
    last_hash = Clock::now();
    return catalog::SegmentHash{reached, h->hash, h->compact_revision, h->header.member_id};
  };

  auto flush = [&]() -> Status {
    if (reached < seg_start) return Status::OK();  // nothing new is covered
    catalog::SegmentManifest seg;
    seg.cluster_name = o.cluster_name;
    seg.cluster_id = served;
    seg.start_revision = seg_start;
    seg.end_revision = reached;
    seg.hashkv = checkpoint();
    seg.finished_at = FormatRFC3339(std::chrono::system_clock::now());
    LB_ASSIGN_OR_RETURN(auto m, catalog::WriteSegment(store, o.prefix, seg, buffer, o.encode));
    if (on_segment) on_segment(m);
    seg_start = reached + 1;
    buffer = {};
    buffered_bytes = 0;
    last_flush = Clock::now();
    return Status::OK();
  };

  // Progress requests twice per flush interval keep `reached` fresh on a quiet cluster.
  auto progress = std::max(std::chrono::milliseconds(100), o.flush_interval / 2);
  const std::string all(1, '\0');
  Status watched = conn->Watch(all, all, start_revision, false, progress, [&](const etcd::WatchBatch& b) -> Result<bool> {
    for (const auto& e : b.events) {
      catalog::ChangeEvent ce;
      ce.is_delete = e.is_delete;
      ce.revision = e.kv.mod_revision;
      // Events of one revision (a transaction) arrive in order: number them as etcd does.
      sub = ce.revision == sub_rev ? sub + 1 : 0;
      sub_rev = ce.revision;
      ce.sub = sub;
      ce.key = e.kv.key;
      if (!e.is_delete) {
        ce.value = e.kv.value;
        ce.create_revision = e.kv.create_revision;
        ce.version = e.kv.version;
        ce.lease = e.kv.lease;
      }
      if (ce.lease != 0 && !known_leases.count(ce.lease)) {
        // The watch does not report lease grants, and a lease granted after the full backup is
        // not in it: log the grant, so a point-in-time restore can attach the key again.
        auto l = conn->LeaseTimeToLive(ce.lease);
        if (l.ok()) {
          known_leases.insert(ce.lease);
          if (l->ttl >= 0) buffer.leases.push_back({ce.lease, l->granted_ttl});
        }
      }
      if (buffer.events.empty()) oldest = Clock::now();
      buffered_bytes += ce.key.size() + ce.value.size() + 41;
      buffer.events.push_back(std::move(ce));
      reached = std::max(reached, e.kv.mod_revision);
    }
    // A batch without events is a progress notification, which etcd sends only to a watcher
    // that has caught up: everything up to its revision has been delivered. The header of a
    // batch with events is the store's revision even while older events are still to come.
    if (b.events.empty()) reached = std::max(reached, b.header_revision);
    auto now = Clock::now();
    bool due = (!buffer.events.empty() && now - oldest >= o.flush_interval) || buffered_bytes >= o.max_segment_bytes ||
               (buffer.events.empty() && reached >= seg_start && now - last_flush >= o.idle_flush);
    if (due) LB_RETURN_IF_ERROR(flush());
    return !stop.load();
  });
  if (!watched.ok()) return watched;
  return flush();
}

}  // namespace lifeboat::ops
