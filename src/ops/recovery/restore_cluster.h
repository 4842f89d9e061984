// RestoreCluster: the whole-cluster restore of the runbook, done through one agent per member.
// Preflight first, changing nothing: every agent reachable and authenticated, the backup found
// and of the named cluster, enough disk, and the backup staged on every host with its SHA-256
// checked there. Then: a safety backup while any member still answers, stop every member, move
// every data dir aside (never delete), restore every member from the same staged snapshot (each
// agent reports the SHA-256 it restored from; all must equal the manifest's) with one new token
// and membership, start them all, and verify: one cluster id, every member started, one leader,
// equal revisions and HashKV, the snapshot's key count. With quarantine the members first serve
// only their agents' quarantine client URLs; they are restarted on their client URLs once that
// verification passes, so no client reads or writes a restore that fails it. Every step is
// journaled so a killed coordinator can --resume; a failure names the step and the member.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_client.h"
#include "base/status.h"
#include "catalog/tiers.h"
#include "catalog/trust.h"
#include "etcd/options.h"
#include "ops/recovery/fleet.h"
#include "ops/recovery/recovery_lease.h"
#include "ops/recovery/restore_journal.h"
#include "ops/verify/check.h"
#include "ops/verify/survey.h"
#include "store/store.h"

namespace lifeboat::codec {
class KeyRing;
}

namespace lifeboat::ops {

using catalog::kSafetyTier;

struct RestoreClusterOptions {
  std::vector<std::string> agents;  // HOST:PORT, one per member
  std::string agent_token;
  agent::AgentTls agent_tls;        // TLS/mTLS to the agents (empty: plain text)
  etcd::ClientOptions client;       // TLS and credentials for the members; endpoints are the agents'
  std::string store_url;            // where the backup is; each agent opens it with its own credentials
  std::string prefix = "db-etcd";
  std::string backup_ref = "latest";  // latest | key | name
  std::optional<std::chrono::system_clock::time_point> at;  // newest backup finished at or before
  // Point in time (ops/pitr.h): a backup of tier "pitr" is built from the newest full backup and
  // the change log, stored, and restored like any other. Needs cluster_name.
  int64_t to_revision = 0;
  std::optional<std::chrono::system_clock::time_point> to_time;
  uint64_t source_cluster_id = 0;        // PitrOptions::cluster_id
  // Reads encrypted backups for that build, and encrypts the safety and point-in-time backups
  // with its current key, like every other backup.
  const codec::KeyRing* keys = nullptr;
  const codec::KeyRing* signing = nullptr;  // authenticates those two's manifests (catalog/trust.h)
  catalog::TrustPolicy trust;               // which backups may be restored
  int zstd_level = 0;                    // 1..19: those two are zstd-compressed too
  std::string cluster_name;         // the cluster being restored; empty: compared by cluster id
  bool allow_other_cluster = false;
  bool dry_run = false;
  // Leave the staged copies on the agents' hosts when the restore (or dry run) ends; by default
  // they are removed then (agent DropStaged), since each is a full copy of the database.
  bool keep_staged = false;
  bool safety_backup = true;
  bool quarantine = false;  // every agent needs member.quarantine-client-url
  // The etcd the members are restored for ("3.4" .. "3.7", snapshot::RestoreOptions);
  // empty: the snapshot's own version.
  std::string target_version;
  // etcdutl's --bump-revision N --mark-compacted on every member (--kubernetes: 1,000,000,000).
  uint64_t bump_revision = 0;
  bool mark_compacted = false;
  std::vector<store::Store*> safety_stores;  // where the safety backup goes (the configured stores)
  std::string journal_path;
  bool resume = false;
  // --resume even though a later recovery finished on a member since this journal's plan (it
  // would be undone).
  bool force = false;
  // Members of the cluster to leave out of the new one (gone for good): allowed only while none
  // of their URLs answers (ops/coverage.h).
  std::vector<std::string> without;
  // The recovery lease on the agents (ops/recovery_lease.h): taken before the first change,
  // renewed while the restore runs, re-taken by --resume under the journal's owner id.
  std::chrono::milliseconds lease_ttl{600000};
  bool break_lease = false;
  std::chrono::milliseconds start_timeout{120000};
  std::chrono::milliseconds verify_timeout{180000};
  // After the preflight, with the plan: false stops before anything changes (not called on --resume).
  std::function<bool(const RestoreJournal&)> confirm;
  std::function<void(const std::string&)> log;  // progress lines; each step too unless step_done is set
  std::function<void(const StepReport&)> step_done;  // each step as it ends (also in the result's steps)
};

struct RestoreClusterResult {
  RestoreJournal journal;  // the plan and what was done
  std::vector<StepReport> steps;
  std::optional<ClusterReport> report;  // the last verification survey
  std::optional<CheckResult> check;
  std::vector<std::string> problems;    // why verification failed, one line each
  Status status;
  std::string failed_step;
  bool dry_run = false, declined = false;
  bool journaled = false;  // something may have changed: finish with --resume
  // The recovery lease was lost (expired or taken over): another coordinator owns the cluster
  // now, and this one changed nothing after it noticed.
  bool lease_lost = false;
};

RestoreClusterResult RestoreCluster(const RestoreClusterOptions& options);

// The revision the restored members resume at: the snapshot's, or the bumped one.
int64_t ExpectedRevision(const RestoreJournal& j);

// Why a restored cluster is not (yet) what the journal promised; empty when it is.
std::vector<std::string> RestoredClusterProblems(const RestoreJournal& j, const ClusterReport& report,
                                                 const CheckResult& check);

}  // namespace lifeboat::ops
