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

}  // namespace lifeboat::host
