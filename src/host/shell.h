// RunShell: runs an operator-supplied command line (`/bin/sh -c`) with extra environment, its
// stdout and stderr captured together, under a deadline after which its process group is killed.
// Used by the systemd and commands control modes; never blocks the agent forever.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "base/status.h"

namespace lifeboat::host {

struct ShellResult {
  int exit_code = -1;  // 128+N when killed by signal N; -1 when the deadline passed
  std::string output;  // stdout and stderr interleaved, at most the last 64 KiB
};

// Fails only when the command could not be started; a non-zero exit is a result, not an error.
Result<ShellResult> RunShell(const std::string& command, const std::map<std::string, std::string>& env,
                             std::chrono::milliseconds timeout);

// The last `lines` lines of `text` (for error messages that quote a log).
std::string LastLines(const std::string& text, int lines);

// A log tail fit to quote in an error that crosses gRPC: each line cut to `line_bytes` (etcd
// 3.5's JSON lines run to several hundred bytes, its panics to pages), the oldest lines dropped
// until the whole is at most `max_bytes`. An error status travels in gRPC trailers, and one
// larger than the peer's metadata limit (8 KiB by default) arrives as "received initial
// metadata size exceeds limit" instead of the error.
std::string ClipLog(const std::string& tail, size_t line_bytes = 300, size_t max_bytes = 4096);

}  // namespace lifeboat::host
