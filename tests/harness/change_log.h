// A change log (ops::RunChangeLog) on a thread of the test, watching one member (or the first
// of several that answers) and writing to a store, so that a test can write to the cluster
// meanwhile. Stop() (or the destructor) ends it.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "catalog/change_segment.h"
#include "harness/process.h"
#include "ops/backup/changelog.h"
#include "store/store.h"

namespace lifeboat::harness {

// Cluster "prod", prefix "db-etcd", a segment every 200 ms, an empty one every 400 ms when idle.
inline ops::ChangeLogOptions FastChangeLog() {
  ops::ChangeLogOptions o;
  o.cluster_name = "prod";
  o.flush_interval = std::chrono::milliseconds(200);
  o.idle_flush = std::chrono::milliseconds(400);
  return o;
}

class BackgroundChangeLog {
 public:
  BackgroundChangeLog(const std::string& endpoint, store::Store& store, int64_t start_revision,
                      const ops::ChangeLogOptions& options = FastChangeLog(), uint64_t cluster_id = 0)
      : store_(store), options_(options), cluster_id_(cluster_id) {
    etcd::ClientOptions client;
    for (size_t at = 0; at <= endpoint.size();) {  // "a" or "a,b,c": the log moves on in that order
      size_t comma = std::min(endpoint.find(',', at), endpoint.size());
      client.endpoints.push_back(endpoint.substr(at, comma - at));
      at = comma + 1;
    }
    thread_ = std::thread([this, client, start_revision] {
      ops::ChangeLogHooks hooks;
      hooks.on_segment = [this](const catalog::SegmentManifest&) { segments_++; };
      hooks.on_watch_error = [this](const Status&) { reopened_++; };
      result_ = ops::RunChangeLog(client, store_, options_, start_revision, cluster_id_, stop_, hooks);
    });
  }
  ~BackgroundChangeLog() { Stop(); }
  BackgroundChangeLog(const BackgroundChangeLog&) = delete;
  BackgroundChangeLog& operator=(const BackgroundChangeLog&) = delete;

  // Polls (up to 20 s) until a stored segment of this log's history reaches `revision`.
  bool WaitFor(int64_t revision) {
    return PollUntil(std::chrono::seconds(20), [&] {
      auto l = catalog::ListSegments(store_, options_.prefix, options_.cluster_name);
      if (!l.ok()) return false;
      for (const auto& s : l->segments) {
        if (catalog::SameHistory(s.cluster_id, cluster_id_) && s.end_revision >= revision) return true;
      }
      return false;
    }, std::chrono::milliseconds(100));
  }

  // Stops the log (its buffer is flushed first) and returns how it ended.
  Status Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return result_;
  }
  int segments() const { return segments_.load(); }
  // How often the watch ended and was reopened.
  int reopened() const { return reopened_.load(); }

 private:
  store::Store& store_;
  const ops::ChangeLogOptions options_;
  const uint64_t cluster_id_;
  std::atomic<bool> stop_{false};
  std::atomic<int> segments_{0};
  std::atomic<int> reopened_{0};
  Status result_;
  std::thread thread_;
};

}  // namespace lifeboat::harness
