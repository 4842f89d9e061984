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
    Status s = Steps();
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

  Status Steps() {
    // The throwaway copy is ours alone: removing it loses nothing (the backup is in the store).
    LB_ASSIGN_OR_RETURN(auto tmp, TempDir::Create(o_.work_dir, "lifeboat-drill-"));
    dir_ = tmp->path();
    Status s = InDir();
    if (controller_) controller_->Stop(std::chrono::seconds(30));  // before its data dir goes
    return s;
  }

  Status InDir() {
    // 1. Fetch, verified against the manifest and etcd's trailer.
    std::string snap = dir_ + "/snapshot.db";
    LB_RETURN_IF_ERROR(catalog::FetchToFile(store_, manifest_, snap, o_.keys).Annotate("fetch"));
    Log("fetched and verified " + manifest_.object_key);
    // 2. What the file says etcd must serve after a restore.
    LB_ASSIGN_OR_RETURN(auto st, snapshot::StatusOfFile(snap));
    rec_.expected_revision = st.current_revision;
    rec_.expected_keys = st.live_keys;
    // The throwaway etcd must be able to serve the snapshot's cluster version.
    LB_RETURN_IF_ERROR(CheckCanServe("the drill's etcd (" + o_.etcd_binary + ")", host::EtcdVersion(o_.etcd_binary),
                                     st.cluster_version,
                                     "set drill.etcd-binary (or --etcd-binary) to an etcd of the backup's version"));
    // 3. Native restore into a one-member cluster on free loopback ports.
    LB_ASSIGN_OR_RETURN(auto ports, FreeLoopbackPorts(2));
    host::AgentConfig c;
    c.member_name = "drill";
    c.data_dir = dir_ + "/drill.etcd";
    c.client_url = fmt::format("http://127.0.0.1:{}", ports[0]);
    c.peer_url = fmt::format("http://127.0.0.1:{}", ports[1]);
    c.etcd_binary = o_.etcd_binary;
    c.etcd_log_file = dir_ + "/etcd.log";
    snapshot::RestoreOptions ro;
    ro.snapshot_path = snap;
    ro.name = c.member_name;
    ro.initial_cluster = c.member_name + "=" + c.peer_url;
    ro.initial_advertise_peer_urls = c.peer_url;
    ro.initial_cluster_token = "lifeboat-drill";
    ro.data_dir = c.data_dir;
    ro.skip_hash_check = true;  // checked while fetching
    ro.bump_revision = o_.bump_revision;
    ro.mark_compacted = o_.mark_compacted;
    auto restored = snapshot::RestoreSnapshot(ro);
    if (!restored.ok()) return restored.status().Annotate("restore");
    rec_.expected_revision = restored->revision;  // the snapshot's, or the bumped one
    rec_.bump_revision = o_.bump_revision;
    // 4. A real etcd on it.
    controller_ = host::NewProcessController(c);
    LB_RETURN_IF_ERROR(controller_->Start({ro.initial_cluster, "new", ro.initial_cluster_token}).Annotate("start etcd"));
    etcd::ClientOptions co;
    co.endpoints = {c.client_url};
    co.dial_timeout = std::chrono::milliseconds(500);
    co.command_timeout = std::chrono::milliseconds(2000);
    auto until = Clock::now() + o_.start_timeout;
    std::string last = "no answer";
    for (;;) {
      auto running = controller_->IsRunning();
      if (running.ok() && !*running) {
        return Status::Unavailable("etcd exited during the drill; its log ends with:\n" + controller_->LogTail(10));
      }
      auto client = etcd::Client::Connect(c.client_url, co);
      if (client.ok()) {
        auto ms = (*client)->Status();
        if (ms.ok() && ms->leader != 0) {
          // 5. Read back what it serves.
          const std::string all(1, '\0');
          LB_ASSIGN_OR_RETURN(rec_.keys, (*client)->Count(all, all, 0, false));
          LB_ASSIGN_OR_RETURN(auto again, (*client)->Status());
          rec_.revision = again.header.revision;
          rec_.etcd_version = again.version;
          LB_RETURN_IF_ERROR(CheckBumpedAndCompacted(**client));
          LB_RETURN_IF_ERROR(CompareWithSource(**client, snap));
          break;
        }
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
  // was taken (manifest source_hashkv): the drill then proves the restore serves the member's data byte for byte, not only
  // the same revision and key count. When the member had compacted further by then, the file is
  // hashed natively under that compaction instead (a member hashes by its own compact revision).
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
  std::string dir_;
  std::unique_ptr<host::EtcdController> controller_;
};

}  // namespace

Result<catalog::DrillRecord> RunDrill(store::Store& store, const DrillOptions& options) {
  return Drill(store, options).Run();
}

}  // namespace lifeboat::ops
