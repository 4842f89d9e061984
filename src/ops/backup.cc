#include "ops/backup.h"

#include <chrono>
#include <thread>

#include "base/sha256.h"
#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/layout.h"
#include "etcd/client.h"
#include "snapshot/digest.h"

namespace lifeboat::ops {

Result<catalog::Manifest> RunBackup(const etcd::ClientOptions& client, const BackupOptions& options,
                                    store::Store& store, const ProgressFn& progress) {
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

  auto started = std::chrono::system_clock::now();
  std::string cluster = options.cluster_name.empty() ? etcd::IdHex(before.header.cluster_id) : options.cluster_name;
  std::string member = src.name.empty() ? etcd::IdHex(before.header.member_id) : src.name;
  std::string key = catalog::ObjectKey(options.prefix, options.tier, cluster, member, before.header.revision, started);

  LB_ASSIGN_OR_RETURN(auto writer, store.Create(key));
  snapshot::SnapshotDigest digest;
  auto t0 = std::chrono::steady_clock::now();
  Status st = conn->Snapshot(
      [&](std::span<const uint8_t> blob, uint64_t image_size) -> Status {
        digest.Update(blob);
        LB_RETURN_IF_ERROR(writer->Append(blob));
        if (progress) progress(digest.bytes(), image_size + 32);
        if (options.max_rate > 0) {
          // Throttle by sleeping until the average rate is back under the limit.
          auto due = t0 + std::chrono::microseconds(digest.bytes() * 1000000 / options.max_rate);
          std::this_thread::sleep_until(due);
        }
        return Status::OK();
      },
      options.stall_timeout);
  if (!st.ok()) {
    writer->Abort();
    return st.Annotate("backup from " + member + " failed, nothing was stored");
  }
  auto digests = digest.Finish();
  if (!digests.ok()) {
    writer->Abort();
    return digests.status().Annotate("backup from " + member + " rejected, nothing was stored");
  }
  Status committed = writer->Commit();
  if (!committed.ok()) return committed.Annotate("backup from " + member + " not stored");

  catalog::Manifest m;
  m.object_key = key;
  m.sha256 = HexEncode(digests->file_sha256);
  m.db_sha256 = HexEncode(digests->image_sha256);
  m.size = digest.bytes();
  m.revision = before.header.revision;
  m.cluster_id = before.header.cluster_id;
  m.cluster_name = cluster;
  m.member_name = src.name;
  m.member_id = before.header.member_id;
  m.member_endpoint = src.endpoint;
  m.leader_id = before.leader;
  m.leader_name = leader_name;
  m.source_is_leader = before.leader == before.header.member_id;
  m.etcd_version = before.version;
  m.raft_term = before.raft_term;
  m.raft_index = before.raft_index;
  m.raft_applied_index = before.raft_applied_index;
  m.started_at = FormatRFC3339(started);
  m.finished_at = FormatRFC3339(std::chrono::system_clock::now());
  m.tool_version = LIFEBOAT_VERSION;
  m.tier = options.tier;
  m.store = store.Describe();
  if (Status ws = catalog::WriteManifest(store, m); !ws.ok()) {
    // Without its manifest the object is not a backup; do not leave it looking like one.
    (void)store.Delete(key);
    return ws.Annotate("backup from " + member + " not stored");
  }
  return m;
}

}  // namespace lifeboat::ops
