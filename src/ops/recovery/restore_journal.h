// The restore journal: a whole-cluster restore's plan and progress, rewritten atomically (temp
// file, fsync, rename, fsync dir) after every step, so that a coordinator killed at any point
// can be resumed (`restore-cluster --resume`) from what is certainly done. Phases only move
// forward; each member's own steps are recorded too, because they run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace lifeboat::ops {

// In order. A phase is recorded once it is complete for every member.
// kOpened only with quarantine: the verified members restarted on their client URLs.
enum class RestorePhase { kPlanned, kSafetyBackup, kStopped, kMovedAside, kRestored, kStarted, kVerified, kOpened };
const char* PhaseName(RestorePhase p);

struct MemberJournal {
  std::string name, agent, client_url, peer_url, data_dir;
  std::string quarantine_client_url;  // where it serves until verified (quarantine only)
  std::string staged_path;  // the backup on the agent's host
  bool stopped = false;
  std::vector<std::string> moved_to;  // every data dir this restore moved aside, in order
  bool restored = false;
  std::string restored_sha256;
  uint64_t member_id = 0;
  bool started = false;
  bool opened = false;  // restarted on its client URL after verification (quarantine only)
  // The epoch this member's agent granted this restore's lease, the latest when resumed: a
  // recovery that finished on the member under a later epoch came after this plan.
  uint64_t lease_epoch = 0;
};

// A member of the cluster restored without (--without): gone for good, its URLs silent.
struct LeftOutMember {
  std::string name, peer_url, why;
  std::vector<std::string> urls;  // every client and peer URL it had: each must stay silent
};

struct RestoreJournal {
  // 2: lease epochs and left-out members. Version 1 journals are still read.
  int format_version = 2;
  std::string created_at;  // RFC 3339
  RestorePhase phase = RestorePhase::kPlanned;
  // The snapshot every member is restored from.
  std::string store, backup_key, sha256, source_cluster_name, source_member;
  uint64_t size = 0;
  int64_t revision = 0;
  uint64_t live_keys = 0;
  // The new cluster.
  std::string cluster_token, initial_cluster;
  std::string target_version;  // restore for this etcd ("3.4" .. "3.7"); empty: the snapshot's own
  // etcdutl's --bump-revision N --mark-compacted on every member; restored_revision is where the
  // restored members resume (the bumped revision), 0 until they are restored.
  uint64_t bump_revision = 0;
  bool mark_compacted = false;
  int64_t restored_revision = 0;
  uint64_t cluster_id = 0;  // from the restore (every member must report the same)
  // Start on the quarantine URLs, verify there, and only then restart on the client URLs.
  bool quarantine = false;
  std::string safety_backup;  // object key, or why there is none
  // The recovery lease this restore holds on the agents (ops/recovery_lease.h); --resume
  // re-acquires it under the same owner.
  std::string lease_owner;
  std::vector<MemberJournal> members;
  std::vector<LeftOutMember> without;  // members of the old cluster the new one leaves out
  std::string membership_source;       // where the membership the plan was checked against came from
  std::string last_error;   // the step that failed last, for the report and for --resume
};

// Whether every phase the restore needs is done (verified; and opened, when quarantined).
bool Finished(const RestoreJournal& j);

std::string ToJson(const RestoreJournal& j);
Result<RestoreJournal> ParseRestoreJournal(const std::string& json);

// Atomic, durable write; the directory must exist (it is created when missing).
Status SaveJournal(const std::string& path, const RestoreJournal& j);
// NotFound when there is no journal at `path`.
Result<RestoreJournal> LoadJournal(const std::string& path);

}  // namespace lifeboat::ops
