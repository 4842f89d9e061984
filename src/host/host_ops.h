// The agent's host-local file operations: facts about the data dir, moving it aside (never
// deleting it), the local etcd binary's version and a file's SHA-256. No etcd knowledge here.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace lifeboat::host {

struct DataDirFacts {
  bool present = false;
  uint64_t bytes = 0;       // sum of regular files' sizes under it
  uint64_t free_bytes = 0;  // available to us on its file system (its nearest existing parent's)
  uint64_t dev = 0;         // st_dev of that file system: equal devs share their free bytes
};
DataDirFacts InspectDataDir(const std::string& dir);

// True when `dir` does not exist or is an empty directory.
bool AbsentOrEmpty(const std::string& dir);

// "<dir>.lifeboat-YYYYMMDDTHHMMSSZ" for `now` (UTC).
std::string AsidePath(const std::string& dir, std::chrono::system_clock::time_point now);

// Renames `dir` to AsidePath(dir, now) (a suffix "-2", "-3", ... when that exists) and fsyncs the
// parent. NotFound when `dir` is absent. Returns the new path.
Result<std::string> MoveAside(const std::string& dir, std::chrono::system_clock::time_point now);

// Gives `dir` and everything under it the owner and group of its parent directory, when they
// differ: a restore runs as the agent's user (root), while etcd may run as another (Debian's
// etcd.service: User=etcd, /var/lib/etcd owned by etcd) and must be able to open its files.
// Symlinks are not followed. Returns whether anything was changed.
Result<bool> GiveToParentOwner(const std::string& dir);

// "3.4.23" from `<binary> --version`; empty when it cannot be run.
std::string EtcdVersion(const std::string& binary);

// Hex SHA-256 of the whole file.
Result<std::string> FileSha256(const std::string& path);

}  // namespace lifeboat::host
