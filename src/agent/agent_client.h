// AgentClient: a coordinator's connection to one host agent (agent.proto), one method per RPC,
// plain structs in and out. Errors are one line naming the agent's address, what failed and the
// fix; codes follow base/status.h (a wrong token is Unauthenticated). One caller at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/lease_table.h"
#include "base/status.h"

namespace lifeboat::agent {

// The recovery lease and the last finished recovery as the agent keeps them
// (host/lease_table.h), as its callers see them.
using host::LeaseInfo;
using host::RecoveryRecord;

struct AgentStatus {
  bool etcd_running = false;
  int64_t pid = 0;
  bool data_dir_present = false;
  uint64_t data_dir_bytes = 0, free_bytes = 0;
  std::string etcd_version, member_name, peer_url, client_url, data_dir, mode;
  uint64_t min_free_bytes = 0;
  std::string staging_dir;
  uint64_t staging_free_bytes = 0;
  std::string quarantine_client_url;
  bool staging_on_other_fs = false;  // by st_dev; false when the agent does not say
  LeaseInfo lease;  // the live recovery lease; empty: none
  RecoveryRecord last_recovery;  // the last recovery that finished on this member; empty: none
  std::vector<std::string> stores;  // the store URLs this agent may fetch backups from
  std::map<std::string, uint64_t> staged;  // what FetchBackup staged: SHA-256 -> bytes
};

struct LeaseRequest {
  LeaseInfo lease;  // owner_id, holder, operation, journal
  std::chrono::milliseconds ttl{600000};
  bool break_lease = false;
};
struct LeaseGrant {
  LeaseInfo lease, previous;  // previous: another owner's live lease that was broken
};

struct StartRequest {
  std::string initial_cluster, initial_cluster_state = "new", initial_cluster_token;
  std::chrono::milliseconds timeout{60000};
  bool quarantine = false;
};
struct StartResponse {
  int64_t pid = 0;
  std::string version;
};

struct RestoreRequest {
  std::string snapshot_path;  // on the agent's host
  std::string name;           // empty: the agent's member name
  std::string initial_cluster;        // empty: "<name>=<peer_url>" (one member)
  std::string initial_cluster_token;  // empty: "etcd-cluster"
  std::string peer_url;               // empty: the agent's peer URL
  bool skip_hash_check = false;
  std::string expect_sha256;   // hex SHA-256 the file must have; empty: any
  std::string target_version;  // "3.4" .. "3.7"; empty: the snapshot's own
  uint64_t bump_revision = 0;  // etcdutl's --bump-revision N --mark-compacted (both or neither)
  bool mark_compacted = false;
};
struct RestoreResponse {
  std::string sha256, data_dir;
  std::string target_version;  // the layout written
  int64_t revision = 0;
  uint64_t member_id = 0, cluster_id = 0;
  uint64_t live_keys = 0;
};

struct FetchRequest {
  std::string store_url, object_key, sha256;
  uint64_t size = 0;
};
struct DropStagedResponse {
  std::vector<std::string> removed;
  uint64_t freed_bytes = 0;
};

// A member as a snapshot's `members` bucket stores it.
struct StoredMember {
  std::string name;
  std::vector<std::string> peer_urls, client_urls;
  bool is_learner = false;
};

struct FetchResponse {
  std::string path, sha256;
  int64_t revision = 0;
  uint64_t live_keys = 0;
  bool cached = false;
  bool in_place = false;
  std::string cluster_version;  // the snapshot's cluster/clusterVersion; "" when it has none
  std::vector<StoredMember> members;  // the membership the snapshot was taken in
};

// TLS to the agent: `cacert` (the CA that signed the agent's certificate) turns TLS on; `cert`
// and `key` present a client certificate (mTLS). Empty: plain text, which carries a token only
// to a loopback agent unless `insecure_transport` says the operator accepts it in clear.
struct AgentTls {
  std::string cacert, cert, key;
  bool insecure_transport = false;
};

class AgentClient {
 public:
  // `address` is HOST:PORT; `token` empty sends no authorization. The connection is made lazily;
  // `call_timeout` bounds the quick calls (Start/Stop/Restore add their own waits to it).
  // InvalidArgument, before anything is sent, for a token in plain text to an agent that is not
  // on loopback (see AgentTls).
  static Result<std::unique_ptr<AgentClient>> Connect(
      const std::string& address, const std::string& token,
      std::chrono::milliseconds call_timeout = std::chrono::seconds(10), const AgentTls& tls = {});
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  Result<AgentStatus> GetStatus();
  // Returns whether etcd was running.
  Result<bool> StopEtcd(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  Result<StartResponse> StartEtcd(const StartRequest& req);
  // Returns the path the data dir was moved to.
  Result<std::string> MoveDataAside();
  Result<RestoreResponse> RestoreSnapshot(const RestoreRequest& req);
  // Stages a backup on the agent's host (it reads the store with its own credentials).
  Result<FetchResponse> FetchBackup(const FetchRequest& req);
  // Removes the staged copies whose SHA-256 is not in `keep` (empty: all of them).
  Result<DropStagedResponse> DropStaged(const std::vector<std::string>& keep);
  // Membership changes made through the agent's member, under the lease (agent.proto). Remove
  // and promote return the id changed; add returns the new member's id.
  Result<uint64_t> MemberRemove(uint64_t id);
  Result<uint64_t> MemberAdd(const std::vector<std::string>& peer_urls, bool learner);
  Result<uint64_t> MemberPromote(uint64_t id);
  // FailedPrecondition naming the holder when another coordinator holds the member.
  Result<LeaseGrant> AcquireLease(const LeaseRequest& req);
  // FailedPrecondition saying what became of the lease when it is no longer (owner_id, epoch)'s.
  Result<LeaseInfo> RenewLease(const std::string& owner_id, uint64_t epoch, std::chrono::milliseconds ttl);
  // `finished` (operation and backup) records the recovery as the last one that finished there.
  Result<bool> ReleaseLease(const std::string& owner_id, uint64_t epoch, const RecoveryRecord* finished = nullptr);
  // Every later mutating call is made under this lease (empty owner: none).
  void SetLease(const std::string& owner_id, uint64_t epoch);
  const std::string& address() const;

 private:
  struct Impl;
  explicit AgentClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::agent
