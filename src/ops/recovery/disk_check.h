// Whether one host has room for a whole-cluster restore of a snapshot: the staged copy, the
// restored db, etcd's first WAL segment and the agent's reserve. The staged copy and the data dir
// share free bytes only when the agent says they share a file system (st_dev), never by guessing.
// What the agent reports staged is counted once: the planned snapshot already staged needs no
// more room, and other staged copies are dropped before the download, so their bytes count as
// free.
#pragma once

#include <cstdint>
#include <string>

#include "agent/agent_client.h"
#include "base/status.h"

namespace lifeboat::ops {

// OK, or FailedPrecondition naming the member, the dir, what it needs and what it has.
Status CheckHostDisk(const agent::AgentStatus& st, const std::string& agent_address, uint64_t snapshot_size,
                     const std::string& sha256 = "");

}  // namespace lifeboat::ops
