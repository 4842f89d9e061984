// Client: a gRPC connection to ONE etcd member. lifeboat talks to members one by one on purpose:
// status, hashes and snapshots are per-member facts, and a snapshot must come from a chosen member.
// Every unary call has the command timeout as its deadline; Connect() authenticates when a user
// is set and re-authenticates once if the token expires. Thread-compatible: one caller at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
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
  // Returns the revision of the put.
  Result<int64_t> Put(const std::string& key, const std::string& value);
  // Creates `key` = `value` only if the key does not exist, attached to a new lease of `ttl`
  // (so claims clean themselves up). True when this call created it, false when it existed.
  Result<bool> CreateIfAbsent(const std::string& key, const std::string& value, std::chrono::seconds ttl);
  // Streams Maintenance.Snapshot to `sink`. Fails with DeadlineExceeded when no bytes arrive for
  // `idle_timeout` (a stalled member), and with Corruption when the stream ends early.
  lifeboat::Status Snapshot(const SnapshotSink& sink, std::chrono::milliseconds idle_timeout);
  // Streams every change to [key, range_end) from `start_revision` (0: from now) to `sink`,
  // batch by batch, until the sink returns false (-> OK) or an error (-> that error). With
  // `progress_every` > 0 an idle stream still gets a batch without events that often, carrying
  // the revision reached. A start revision below the compaction fails with FailedPrecondition
  // "compacted" naming the compact revision.
  using WatchSink = std::function<Result<bool>(const WatchBatch&)>;
  lifeboat::Status Watch(const std::string& key, const std::string& range_end, int64_t start_revision, bool prev_kv,
                         std::chrono::milliseconds progress_every, const WatchSink& sink);

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::etcd
