// ChangeLogger: the continuous change log (RPO about a second). Watches the whole key space of a
// cluster from a revision on (etcd::Client::Watch, with progress requests) and writes segments
// (catalog/change_segment.h) to a store: when the oldest unwritten change is `flush_interval`
// old, when the buffer reaches `max_segment_bytes`, at every `idle_flush` while nothing changes
// (an empty segment that proves the log alive), when a watch ends, and on stop. Segments are
// contiguous: each starts at the previous end + 1 and ends at the last change received (every
// revision of the whole key space has one), so a range with no segment is a gap that
// point-in-time restore refuses. Every `hash_interval` a segment also records the watched
// member's HashKV at its end revision (a checkpoint), which point-in-time restore compares its
// result with.
// The log never ends on its own while etcd keeps the history it needs: a watch that ends for
// any reason (the member cancelled it, restarted, lost its leader, or stopped answering) is
// reopened from the revision after the last one received, on the next endpoint, with backoff.
// A store that refuses a segment is retried with the changes kept. Only a start revision that
// etcd has compacted ends the log (a gap: recorded, and a new full backup starts a new log).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/logger.h"
#include "base/status.h"
#include "catalog/change_segment.h"
#include "codec/object_codec.h"
#include "etcd/options.h"
#include "store/store.h"

namespace lifeboat::ops {

struct ChangeLogOptions {
  std::string prefix = "db-etcd";
  std::string cluster_name;  // segment folder; required
  std::chrono::milliseconds flush_interval{1000};
  std::chrono::milliseconds idle_flush{30000};
  uint64_t max_segment_bytes = 8 << 20;
  // 0: no checkpoints. HashKV reads the member's whole key space (seconds on a GB db), so not
  // every second; the first segment flushed while a watch runs asks for one.
  std::chrono::milliseconds hash_interval{std::chrono::minutes(5)};
  // How segments are stored: the backups' compression and encryption (codec/object_codec.h).
  codec::EncodeOptions encode;
  // A watch that receives nothing for this long, though it asks for progress twice per flush
  // interval, is given up and reopened on the next endpoint (a member cut off from us).
  std::chrono::milliseconds stall_timeout{10000};
  // The wait before reopening a watch doubles from 100 ms up to this; it starts again from
  // 100 ms once a watch delivered something.
  std::chrono::milliseconds max_backoff{5000};
};

// What a running log reports; every member may be empty.
struct ChangeLogHooks {
  std::function<void(const catalog::SegmentManifest&)> on_segment;
  // The watch confirmed every change up to `revision` (a batch of changes, or progress).
  std::function<void(int64_t revision)> on_progress;
  // A watch ended (why); the log reopens it.
  std::function<void(const Status&)> on_watch_error;
  // The store refused a segment; the log keeps the changes and tries again.
  std::function<void(const Status&)> on_store_error;
  // etcd had compacted the revision the log needed; recorded in the store before it is called.
  std::function<void(const catalog::ChangeGap&)> on_gap;
  Logger* log = nullptr;  // reopened watches, store retries
};

// The id of the cluster the endpoints serve (the first member that answers): the history a log
// of it belongs to.
Result<uint64_t> ServedClusterId(const etcd::ClientOptions& client);

// Where a change log of cluster id `cluster_id` should start: right after its last segment when
// that reaches the newest full backup of the same history, else right after that backup (an
// older log is superseded by it). Backups and segments of other cluster ids (the history before a
// whole-cluster restore) are ignored, and so are backups and segments not trusted under `trust`
// (a forged manifest must not move the log's start). NotFound when this history has no trusted
// full backup yet.
Result<int64_t> ChangeLogStart(store::Store& store, const std::string& prefix, const std::string& cluster,
                               uint64_t cluster_id, const catalog::TrustPolicy& trust = {});

// Logs from `start_revision` until `stop` turns true (the buffer is flushed first; OK), or until
// it cannot go on: FailedPrecondition "compacted" when etcd no longer has the revision the log
// needs (a gap, recorded with catalog::WriteGap: the caller takes a new full backup and starts
// again after it), FailedPrecondition when the endpoints serve another cluster than `cluster_id`
// (0: the first one seen). Segments record the served id.
Status RunChangeLog(const etcd::ClientOptions& client, store::Store& store, const ChangeLogOptions& options,
                    int64_t start_revision, uint64_t cluster_id, const std::atomic<bool>& stop,
                    const ChangeLogHooks& hooks = {});

}  // namespace lifeboat::ops
