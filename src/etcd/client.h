// Client: a gRPC connection to ONE etcd member. lifeboat talks to members one by one on purpose:
// status, hashes and snapshots are per-member facts, and a snapshot must come from a chosen member.
// Every unary call has the command timeout as its deadline; Connect() authenticates when a user
// is set and re-authenticates once if the token expires. Thread-compatible: one caller at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcd/endpoint.h"
#include "etcd/options.h"
#include "etcd/types.h"

namespace lifeboat::etcd {

// Receives consecutive snapshot bytes (the bbolt image, then etcd's 32-byte SHA-256 trailer)
// and the total image size the server announced. A non-OK return cancels the stream.
using SnapshotSink = std::function<Status(std::span<const uint8_t> blob, uint64_t image_size)>;

// Receives one watch response (all its fragments); true to go on, false to end the watch.
using WatchSink = std::function<Result<bool>(const WatchBatch&)>;

struct WatchOptions {
  bool prev_kv = false;
  // > 0: a progress request this often, so an idle stream still gets a batch without events
  // carrying the revision reached.
  std::chrono::milliseconds progress_every{0};
  // > 0: nothing at all received for this long (not even progress, which needs progress_every
  // shorter) ends the watch: a member cut off from us, or hung.
  std::chrono::milliseconds stall_timeout{0};
  // etcd's WithRequireLeader: the member refuses the watch, and ends it after three election
  // timeouts, while it has no leader (cut off from the others), instead of streaming nothing.
  bool require_leader = true;
};

class Client {
 public:
  // Dials `endpoint` (one of options.endpoints or a member's client URL) within the dial timeout.
  static Result<std::unique_ptr<Client>> Connect(const std::string& endpoint, const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Endpoint& endpoint() const;

  Result<MemberStatus> Status();
  Result<std::vector<Member>> MemberList();
  // Adds a member (as a learner when asked: it gets the data without voting until promoted);
  // returns the new member (id set, no name until it starts).
  Result<Member> MemberAdd(const std::vector<std::string>& peer_urls, bool learner);
  lifeboat::Status MemberRemove(uint64_t id);
  // FailedPrecondition while the learner is not caught up with the leader (retry later).
  lifeboat::Status MemberPromote(uint64_t id);
  Result<std::vector<Alarm>> Alarms();
  // HashKV of this member's keyspace up to `revision` (0 = current). Its deadline is at least
  // 60 s whatever the command timeout: it reads the whole key space.
  Result<KvHash> HashKV(int64_t revision);
  // Number of keys in [key, range_end) at `revision` (0 = current); `serializable` reads this
  // member's local state instead of going through the leader.
  Result<int64_t> Count(const std::string& key, const std::string& range_end, int64_t revision,
                        bool serializable);
  Result<LeaseTtl> LeaseTimeToLive(int64_t id);
  // Returns the revision of the put. With `ttl` > 0 the key is attached to a new lease of that
  // TTL, so it removes itself.
  Result<int64_t> Put(const std::string& key, const std::string& value, std::chrono::seconds ttl = {});
  // The value of `key`; nullopt when it does not exist.
  Result<std::optional<std::string>> Get(const std::string& key);
  // Creates `key` = `value` only if the key does not exist, attached to a new lease of `ttl`
  // (so claims clean themselves up). True when this call created it, false when it existed.
  Result<bool> CreateIfAbsent(const std::string& key, const std::string& value, std::chrono::seconds ttl);
  // Streams Maintenance.Snapshot to `sink`. Fails with DeadlineExceeded when no bytes arrive for
  // `idle_timeout` (a stalled member), and with Corruption when the stream ends early.
  lifeboat::Status Snapshot(const SnapshotSink& sink, std::chrono::milliseconds idle_timeout);
  // Streams every change to [key, range_end) from `start_revision` (0: from now) to `sink`,
  // batch by batch (a response etcd split into fragments is delivered whole), until the sink
  // returns false (-> OK) or an error (-> that error). Every other end is an error too: a start
  // revision below the compaction (FailedPrecondition "compacted", compact_revision set), a
  // watch the member cancelled, a stream it closed or that broke (Unavailable), and a stream
  // that stalled (Unavailable "stalled").
  lifeboat::Status Watch(const std::string& key, const std::string& range_end, int64_t start_revision,
                         const WatchOptions& options, const WatchSink& sink, int64_t* compact_revision = nullptr);

 private:
  Result<int64_t> GrantLease(std::chrono::seconds ttl);
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::etcd
