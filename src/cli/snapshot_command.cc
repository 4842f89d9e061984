// lifeboat snapshot status FILE / snapshot restore FILE: etcd's snapshot formats read and
// written natively (no etcdctl/etcdutl). status prints etcdctl's four fields first, with the
// same values, then what etcdctl does not show.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/point_in_time.h"
#include "cli/printer.h"
#include "cli/revision_bump.h"
#include "fmt/format.h"
#include "ops/recovery/pitr.h"
#include "snapshot/hashkv.h"
#include "snapshot/restore.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

std::string Opt(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }
std::string Opt(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// `-w json`: etcdutl's fields first, under etcdutl's names, then lifeboat's own.
nlohmann::ordered_json StatusJson(const snapshot::SnapshotStatus& s) {
  nlohmann::ordered_json j;
  j["hash"] = s.hash;
  j["revision"] = s.revision;
  j["totalKey"] = s.total_keys;
  j["totalSize"] = s.total_size;
  j["version"] = s.storage_version;
  j["totalKeyCounts"] = s.status_minor >= 6 ? "live keys" : "bucket entries";
  j["statusOf"] = fmt::format("etcdutl 3.{}", s.status_minor);
  j["bucketEntries"] = s.bucket_entries;
  j["currentRevision"] = s.current_revision;
  j["liveKeys"] = s.live_keys;
  j["keyEntries"] = s.key_entries;
  j["tombstones"] = s.tombstones;
  j["compactedRevision"] = s.compacted_revision ? nlohmann::ordered_json(*s.compacted_revision) : nullptr;
  j["scheduledCompactRevision"] = s.scheduled_compaction ? nlohmann::ordered_json(*s.scheduled_compaction) : nullptr;
  j["consistentIndex"] = s.consistent_index ? nlohmann::ordered_json(*s.consistent_index) : nullptr;
  j["term"] = s.term ? nlohmann::ordered_json(*s.term) : nullptr;
  j["clusterVersion"] = s.cluster_version;
  j["authEnabled"] = s.auth_enabled;
  j["leases"] = s.leases;
  auto members = nlohmann::ordered_json::array();
  for (const auto& m : s.members) {
    nlohmann::ordered_json mj;
    mj["id"] = fmt::format("{:x}", m.id);
    mj["name"] = m.name;
    mj["peerURLs"] = m.peer_urls;
    mj["clientURLs"] = m.client_urls;
    mj["isLearner"] = m.is_learner;
    members.push_back(mj);
  }
  j["members"] = members;
  auto removed = nlohmann::ordered_json::array();
  for (uint64_t id : s.removed_member_ids) removed.push_back(fmt::format("{:x}", id));
  j["removedMembers"] = removed;
  auto alarms = nlohmann::ordered_json::array();
  for (const auto& a : s.alarms)
    alarms.push_back({{"memberID", fmt::format("{:x}", a.member_id)}, {"alarm", a.alarm}});
  j["alarms"] = alarms;
  j["buckets"] = s.buckets;
  return j;
}

void PrintStatus(const snapshot::SnapshotStatus& s, const std::string& format) {
  if (format == "json") {
    std::cout << StatusJson(s).dump() << "\n";
    return;
  }
  // etcdutl's columns first, unchanged (3.6+'s VERSION included), so `-w simple | cut -d, -f1-5`
  // still works.
  Table t({"HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE", "VERSION", "LIVE KEYS", "CURRENT REV", "COMPACTED REV",
           "CONSISTENT INDEX", "MEMBERS"});
  t.AddRow({fmt::format("{:x}", s.hash), std::to_string(s.revision), std::to_string(s.total_keys),
            HumanBytes(s.total_size), s.storage_version, std::to_string(s.live_keys),
            std::to_string(s.current_revision), Opt(s.compacted_revision), Opt(s.consistent_index),
            std::to_string(s.members.size())});
  t.Print(std::cout, format);
  if (s.members.empty()) return;
  Table m({"ID", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"});
  for (const auto& mem : s.members) {
    m.AddRow({fmt::format("{:x}", mem.id), mem.name, Join(mem.peer_urls), Join(mem.client_urls),
              mem.is_learner ? "true" : "false"});
  }
  if (format != "simple") m.Print(std::cout, format);
}

struct StatusArgs {
  std::string file;
};

void RunStatus(Context& ctx, const StatusArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto st = snapshot::StatusOfFile(a.file);
  if (!st.ok()) return ctx.Fail(st.status());
  PrintStatus(*st, settings->write_out);
}

struct HashKvArgs {
  std::string file;
  int64_t revision = 0;
  std::optional<int64_t> compact_revision;
};

// As `etcdctl endpoint hashkv --rev R` answers for a member holding this db: compare a backup or
// a restored data dir with a live member without starting etcd.
void RunHashKv(Context& ctx, const HashKvArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto snap = snapshot::OpenSnapshot(a.file, false);
  if (!snap.ok()) return ctx.Fail(snap.status());
  auto h = snapshot::ComputeHashKV(*snap->db, a.revision, a.compact_revision);
  if (!h.ok()) return ctx.Fail(h.status());
  if (settings->write_out == "json") {
    nlohmann::ordered_json j;
    j["file"] = a.file;
    j["hash"] = h->hash;
    j["revision"] = h->revision;
    j["compactRevision"] = h->compact_revision;
    std::cout << j.dump() << "\n";
    return;
  }
  Table t({"FILE", "HASH", "REVISION", "COMPACT REV"});
  t.AddRow({a.file, std::to_string(h->hash), std::to_string(h->revision), std::to_string(h->compact_revision)});
  t.Print(std::cout, settings->write_out);
}

struct RestoreArgs {
  snapshot::RestoreOptions o;
  std::string advertise = "http://localhost:2380";
  PointInTimeFlags point;
  RevisionBumpFlags bump;
};

void RunRestore(Context& ctx, RestoreArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  a.o.initial_advertise_peer_urls = a.advertise;
  auto bump = a.bump.Parse();
  if (!bump.ok()) return ctx.Fail(bump.status());
  a.o.bump_revision = bump->amount;
  a.o.mark_compacted = bump->mark_compacted;
  Result<snapshot::RestoreResult> r = Status::Internal("not run");
  if (a.point.given()) {
    // Point in time: from the store, not a file.
    if (!a.o.snapshot_path.empty()) {
      return ctx.Fail(Status::InvalidArgument("--to-revision/--to-time restore from the store: give no FILE"));
    }
    auto point = a.point.Parse();
    if (!point.ok()) return ctx.Fail(point.status());
    ops::PitrOptions po;
    po.prefix = settings->prefix;
    po.cluster_name = settings->cluster_name;
    po.to_revision = point->revision;
    po.to_time = point->time;
    po.cluster_id = point->cluster_id;
    po.keys = settings->keys.get();
    po.trust = TrustOf(*settings);
    auto store = store::OpenStore(settings->store);
    if (!store.ok()) return ctx.Fail(store.status());
    auto p = ops::RestoreToPoint(**store, po, a.o);
    if (!p.ok()) return ctx.Fail(p.status());
    for (const auto& why : p->skipped) std::cerr << "lifeboat: warning: skipped untrusted " << why << "\n";
    std::cerr << fmt::format("lifeboat: {} (revision {}) + {} logged changes from {} segments{} -> revision {}, {}\n",
                             p->backup_key, p->backup_revision, p->changes, p->segments,
                             p->leases ? fmt::format(" + {} leases", p->leases) : "", p->target_revision,
                             ops::DescribeCheck(*p));
    a.o.snapshot_path = p->backup_key;
    r = p->restore;
  } else {
    if (a.o.snapshot_path.empty()) return ctx.Fail(Status::InvalidArgument("snapshot restore needs FILE (or --to-revision)"));
    r = snapshot::RestoreSnapshot(a.o);
  }
  if (!r.ok()) return ctx.Fail(r.status());
  if (settings->write_out == "json") {
    nlohmann::ordered_json j;
    j["dataDir"] = r->data_dir;
    j["walDir"] = r->wal_dir;
    j["memberID"] = fmt::format("{:x}", r->member_id);
    j["clusterID"] = fmt::format("{:x}", r->cluster_id);
    j["revision"] = r->revision;
    j["keys"] = r->live_keys;
    j["sourceVersion"] = r->source_version;
    j["targetVersion"] = r->target_version;
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << fmt::format(
      "restored {} -> {} (member {:x}, cluster {:x}, {} members, revision {}, {} keys) for etcd {}; snapshot from {}\n",
      a.o.snapshot_path, r->data_dir, r->member_id, r->cluster_id, r->members, r->revision, r->live_keys,
      r->target_version, r->source_version);
}

}  // namespace

void AddSnapshotCommand(CLI::App& app, Context& ctx) {
  auto* snap = app.add_subcommand("snapshot", "read and restore etcd snapshot files natively");
  snap->require_subcommand(1);

  auto st = std::make_shared<StatusArgs>();
  auto* status = snap->add_subcommand("status",
                                      "hash, revision, keys and size of a snapshot (as etcdctl), plus "
                                      "live keys, members, consistent index and compaction");
  status->add_option("file", st->file, "snapshot file, or a bbolt db from a data dir")->required();
  status->callback([&ctx, st] { RunStatus(ctx, *st); });

  auto ha = std::make_shared<HashKvArgs>();
  auto* hashkv = snap->add_subcommand("hashkv", "etcd's HashKV of a snapshot or data dir db, as a member holding it answers");
  hashkv->add_option("file", ha->file, "snapshot file, or a bbolt db from a data dir")->required();
  hashkv->add_option("--rev", ha->revision, "hash up to this revision (default: the db's current revision)");
  hashkv->add_option("--compact-revision", ha->compact_revision,
                     "the member's compact revision, when it compacted after this db was taken (default: the db's own)");
  hashkv->callback([&ctx, ha] { RunHashKv(ctx, *ha); });

  auto ra = std::make_shared<RestoreArgs>();
  auto* restore = snap->add_subcommand("restore", "write a new data dir from a snapshot (etcdutl's flags)");
  restore->add_option("file", ra->o.snapshot_path, "snapshot file (none with --to-revision/--to-time)");
  ra->point.AddTo(*restore);
  restore->add_option("--name", ra->o.name, "this member's name")->default_val("default");
  restore->add_option("--initial-cluster", ra->o.initial_cluster, "name=peer-url,... of the new cluster")
      ->default_val("default=http://localhost:2380");
  restore->add_option("--initial-cluster-token", ra->o.initial_cluster_token, "the new cluster's token")
      ->default_val("etcd-cluster");
  restore->add_option("--initial-advertise-peer-urls", ra->advertise, "this member's peer URLs (comma-separated)")
      ->default_val("http://localhost:2380");
  restore->add_option("--data-dir", ra->o.data_dir, "data dir to create (default <name>.etcd)");
  restore->add_option("--wal-dir", ra->o.wal_dir, "WAL dir (default <data-dir>/member/wal)");
  restore->add_flag("--skip-hash-check", ra->o.skip_hash_check, "accept a file without (or with an unchecked) trailer");
  restore->add_option("--target-version", ra->o.target_version,
                      "write the data dir etcdutl of this etcd writes: 3.4, 3.5, 3.6 or 3.7 (default: the snapshot's own; "
                      "older than its cluster version is refused)");
  ra->bump.AddTo(*restore);
  restore->callback([&ctx, ra] { RunRestore(ctx, *ra); });
}

}  // namespace lifeboat::cli
