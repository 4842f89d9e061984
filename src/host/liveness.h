// Whether this host's member is live the way etcd itself sees it, whoever started it: a lock is
// held on its data dir (etcd 3.4 takes an OFD write lock, fcntl F_OFD_SETLK, on every WAL file;
// bbolt flock()s member/snap/db) or its client, quarantine or peer URL accepts a TCP connection.
// The probes only observe (F_OFD_GETLK, /proc/locks, connect): they never take a lock etcd needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "host/agent_config.h"
#include "base/status.h"

namespace lifeboat::host {

struct LockHolder {
  bool held = false;
  int64_t pid = 0;   // 0 when the holder could not be found (an OFD lock has no owner pid)
  std::string file;  // the locked file
};

// A lock of any kind (OFD, POSIX or flock) held on `path` by another open file description.
LockHolder ProbeFileLock(const std::string& path);
// ProbeFileLock over <data_dir>/member/wal/*.wal and <data_dir>/member/snap/db.
LockHolder ProbeDataDirLock(const std::string& data_dir);
// True when the URL's host:port accepts a TCP connection within `timeout`.
bool UrlAnswers(const std::string& url, std::chrono::milliseconds timeout);

struct Liveness {
  bool live = false;
  int64_t pid = 0;      // the lock holder's, when known
  std::string reason;   // "pid 123 holds the lock on <file>" or "<url> answers"
};
// The lock first (it names a pid), then the member's URLs.
Liveness ProbeMember(const AgentConfig& config);

// An etcd already running as this member, whoever started it (in process mode: an earlier agent
// process, whose exit leaves its etcd running): the holder of the data dir's lock while the
// member's client (or quarantine) URL answers. `pidfd` pins it (owned by the caller).
struct RunningEtcd {
  int64_t pid = 0;
  int pidfd = -1;
  std::string reason;
};
std::optional<RunningEtcd> FindRunningEtcd(const AgentConfig& config);

// Called after the controller's own stop (`controller_stopped`: it stopped something) to make
// sure nothing of this member is left live. With `signal_holder` (process mode) an etcd holding
// the data dir's lock is stopped by its pid: SIGTERM, SIGKILL once `deadline` has passed; returns
// whether it was. FailedPrecondition when something live cannot be stopped here (no pid, only a
// URL answering, or a mode whose own stop said there was nothing to stop); DeadlineExceeded when
// it outlives the deadline.
Result<bool> StopRemaining(const AgentConfig& config, bool controller_stopped, bool signal_holder,
                           std::chrono::milliseconds deadline);

}  // namespace lifeboat::host
