#include "ops/verify/drill.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <fmt/format.h>

#include "base/temp_dir.h"
#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "etcd/client.h"
#include "host/controller.h"
#include "host/host_ops.h"
#include "ops/verify/etcd_version.h"
#include "snapshot/hashkv.h"
#include "snapshot/restore.h"
#include "snapshot/snapshot.h"

namespace lifeboat::ops {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kClusterToken[] = "lifeboat-drill";

// n ports the kernel considers free on 127.0.0.1 (bound together, then released).
Result<std::vector<int>> FreeLoopbackPorts(int n) {
  std::vector<int> fds, ports;
  Status err;
  for (int i = 0; i < n && err.ok(); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      err = Status::IOError("cannot find a free port on 127.0.0.1 for the drill");
    } else {
      ports.push_back(ntohs(a.sin_port));
    }
    if (fd >= 0) fds.push_back(fd);
  }
  for (int fd : fds) close(fd);
  if (!err.ok()) return err;
  return ports;
}

class Drill {
 public:
  Drill(store::Store& store, const DrillOptions& o) : store_(store), o_(o) {}

  Result<catalog::DrillRecord> Run() {
    LB_ASSIGN_OR_RETURN(auto sel, catalog::ResolveBackup(store_, o_.prefix, o_.tier_folder, o_.ref, o_.trust));
    for (const auto& why : sel.skipped) Log("skipped untrusted backup " + why);
    manifest_ = sel.entry->manifest;
    rec_.object_key = manifest_.object_key;
    auto t0 = Clock::now();
    Status s = RunInScratchDir();
    rec_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    rec_.ok = s.ok();
    rec_.error = s.ok() ? "" : s.message();
    rec_.drilled_at = FormatRFC3339(std::chrono::system_clock::now());
    if (o_.record) {
      if (Status w = catalog::WriteDrillRecord(store_, rec_); !w.ok()) {
        Log("warning: could not store the drill record: " + w.message());
      }
    }
    return rec_;
  }

 private:
  void Log(const std::string& line) {
    if (o_.log) o_.log(line);
  }

  // The throwaway copy is ours alone: removing it loses nothing (the backup is in the store).
  Status RunInScratchDir() {
    LB_ASSIGN_OR_RETURN(auto tmp, TempDir::Create(o_.work_dir, "lifeboat-drill-"));
    dir_ = tmp->path();
    Status s = FetchRestoreAndServe();
    if (controller_) controller_->Stop(std::chrono::seconds(30));  // before its data dir goes
    return s;
  }

  // The drill inside the scratch dir: the backup fetched, restored and served by a real etcd,
  // whose answers must match what the snapshot file holds.
  Status FetchRestoreAndServe() {
    LB_RETURN_IF_ERROR(Fetch());
    LB_RETURN_IF_ERROR(ReadExpected());
    LB_RETURN_IF_ERROR(Restore());
    LB_RETURN_IF_ERROR(StartEtcd());
    LB_ASSIGN_OR_RETURN(auto client, WaitUntilServing());
    LB_RETURN_IF_ERROR(ReadBack(*client));
    return CompareWithSnapshot();
  }

  // The backup, verified against the manifest and etcd's trailer.
  Status Fetch() {
    snap_ = dir_ + "/snapshot.db";
    LB_RETURN_IF_ERROR(catalog::FetchToFile(store_, manifest_, snap_, o_.keys).Annotate("fetch"));
    Log("fetched and verified " + manifest_.object_key);
    return Status::OK();
  }

  // What the file says etcd must serve after a restore; the throwaway etcd must be able to
  // serve the snapshot's cluster version.
  Status ReadExpected() {
    LB_ASSIGN_OR_RETURN(auto st, snapshot::StatusOfFile(snap_));
    rec_.expected_revision = st.current_revision;
    rec_.expected_keys = st.live_keys;
    return CheckCanServe("the drill's etcd (" + o_.etcd_binary + ")", host::EtcdVersion(o_.etcd_binary),
                         st.cluster_version,
                         "set drill.etcd-binary (or --etcd-binary) to an etcd of the backup's version");
  }

  // Native restore into a one-member cluster on free loopback ports.
  Status Restore() {
    LB_ASSIGN_OR_RETURN(auto ports, FreeLoopbackPorts(2));
    member_.member_name = "drill";
    member_.data_dir = dir_ + "/drill.etcd";
    member_.client_url = fmt::format("http://127.0.0.1:{}", ports[0]);
    member_.peer_url = fmt::format("http://127.0.0.1:{}", ports[1]);
    member_.etcd_binary = o_.etcd_binary;
    member_.etcd_log_file = dir_ + "/etcd.log";
    snapshot::RestoreOptions ro;
    ro.snapshot_path = snap_;
    ro.name = member_.member_name;
    ro.initial_cluster = member_.member_name + "=" + member_.peer_url;
    ro.initial_advertise_peer_urls = member_.peer_url;
    ro.initial_cluster_token = kClusterToken;
    ro.data_dir = member_.data_dir;
    ro.skip_hash_check = true;  // checked while fetching
    ro.bump_revision = o_.bump_revision;
    ro.mark_compacted = o_.mark_compacted;
    auto restored = snapshot::RestoreSnapshot(ro);
    if (!restored.ok()) return restored.status().Annotate("restore");
    rec_.expected_revision = restored->revision;  // the snapshot's, or the bumped one
    rec_.bump_revision = o_.bump_revision;
    return Status::OK();
  }

  // A real etcd on the restored data dir.
  Status StartEtcd() {
    controller_ = host::NewProcessController(member_);
    const std::string initial_cluster = member_.member_name + "=" + member_.peer_url;
    return controller_->Start({initial_cluster, "new", kClusterToken}).Annotate("start etcd");
  }

  // A client of the restored etcd once it has a leader; fails fast when etcd exits, and after
  // start_timeout otherwise.
  Result<std::unique_ptr<etcd::Client>> WaitUntilServing() {
    etcd::ClientOptions co;
    co.endpoints = {member_.client_url};
    co.dial_timeout = std::chrono::milliseconds(500);
    co.command_timeout = std::chrono::milliseconds(2000);
    auto until = Clock::now() + o_.start_timeout;
    std::string last = "no answer";
    for (;;) {
      auto running = controller_->IsRunning();
      if (running.ok() && !*running) {
        return Status::Unavailable("etcd exited during the drill; its log ends with:\n" + controller_->LogTail(10));
      }
      auto client = etcd::Client::Connect(member_.client_url, co);
      if (client.ok()) {
        auto ms = (*client)->Status();
        if (ms.ok() && ms->leader != 0) return std::move(*client);
        last = ms.ok() ? "no leader yet" : ms.status().message();
      } else {
        last = client.status().message();
      }
      if (Clock::now() >= until) {
        return Status::DeadlineExceeded("the restored etcd did not serve within " +
                                        std::to_string(o_.start_timeout.count() / 1000) + "s (" + last + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // What the restored etcd serves: its key count, revision and version, its compaction after a
  // bump, and its HashKV against the cluster's.
  Status ReadBack(etcd::Client& client) {
    const std::string all(1, '\0');
    LB_ASSIGN_OR_RETURN(rec_.keys, client.Count(all, all, 0, false));
    LB_ASSIGN_OR_RETURN(auto again, client.Status());
    rec_.revision = again.header.revision;
    rec_.etcd_version = again.version;
    LB_RETURN_IF_ERROR(CheckBumpedAndCompacted(client));
    return CompareWithSource(client, snap_);
  }

  // The restored etcd must serve exactly the snapshot's revision and keys, and no less than the
  // manifest's revision.
  Status CompareWithSnapshot() {
    Log(fmt::format("etcd {} serves revision {} with {} keys", rec_.etcd_version, rec_.revision, rec_.keys));
    if (rec_.revision != rec_.expected_revision || static_cast<uint64_t>(rec_.keys) != rec_.expected_keys) {
      return Status::Corruption(fmt::format("the restored etcd serves revision {} with {} keys, the snapshot holds "
                                            "revision {} with {} keys",
                                            rec_.revision, rec_.keys, rec_.expected_revision, rec_.expected_keys));
    }
    if (rec_.revision < manifest_.revision) {
      return Status::Corruption(fmt::format("the restored etcd serves revision {}, below the manifest's {}",
                                            rec_.revision, manifest_.revision));
    }
    return Status::OK();
  }

  // After a bump marked compacted, etcd must refuse every revision below the bumped one: that is
  // what turns a watcher of the old history into one that re-lists.
  Status CheckBumpedAndCompacted(etcd::Client& client) {
    if (o_.bump_revision == 0) return Status::OK();
    LB_ASSIGN_OR_RETURN(auto now, client.HashKV(0));
    if (now.compact_revision != rec_.expected_revision) {
      return Status::Corruption(fmt::format("the restored etcd's compact revision is {}, not the bumped {}",
                                            now.compact_revision, rec_.expected_revision));
    }
    Log(fmt::format("revision bumped by {} to {} and compacted there", o_.bump_revision, rec_.expected_revision));
    return Status::OK();
  }

  // The restored etcd's own HashKV against the one a member of the cluster gave when the backup
  // was taken (manifest source_hashkv): the drill then proves the restore serves the member's
  // data byte for byte, not only the same revision and key count. When the member had compacted
  // further by then, the file is hashed natively under that compaction instead (a member hashes
  // by its own compact revision).
  Status CompareWithSource(etcd::Client& client, const std::string& snap) {
    const auto& want = manifest_.source_hashkv;
    if (!want) return Status::OK();
    // A bumped etcd is compacted above every revision of the backup: only the file can answer.
    etcd::KvHash got;
    got.compact_revision = want->compact_revision + 1;
    if (o_.bump_revision == 0) {
      LB_ASSIGN_OR_RETURN(got, client.HashKV(want->revision));
    }
    uint32_t hash = got.hash;
    std::string who = "the restored etcd";
    if (got.compact_revision != want->compact_revision) {
      LB_ASSIGN_OR_RETURN(auto file, snapshot::OpenSnapshot(snap, false));
      LB_ASSIGN_OR_RETURN(auto native, snapshot::ComputeHashKV(*file.db, want->revision, want->compact_revision));
      hash = native.hash;
      who = "the snapshot";
    }
    if (hash != want->hash) {
      return Status::Corruption(fmt::format("{}'s HashKV at revision {} is {}, the cluster's member reported {} when the "
                                            "backup was taken",
                                            who, want->revision, hash, want->hash));
    }
    rec_.hashkv_revision = want->revision;
    Log(fmt::format("HashKV at revision {} equal to the cluster's (member {:x}: {})", want->revision, want->member_id, hash));
    return Status::OK();
  }

  store::Store& store_;
  const DrillOptions& o_;
  catalog::Manifest manifest_;
  catalog::DrillRecord rec_;
  std::string dir_;   // the scratch dir
  std::string snap_;  // the fetched snapshot in it
  host::AgentConfig member_;  // the throwaway etcd
  std::unique_ptr<host::EtcdController> controller_;
};

}  // namespace

Result<catalog::DrillRecord> RunDrill(store::Store& store, const DrillOptions& options) {
  return Drill(store, options).Run();
}

}  // namespace lifeboat::ops
