// Whether one host has room for a whole-cluster restore of a snapshot: the staged copy, the
// restored db, etcd's first WAL segment and the agent's reserve. The staged copy and the data dir
// are counted against the data dir's free bytes together unless the agent reports the staging dir
// on another file system (by st_dev); an agent that cannot tell (a device unknown) or does not say
// is taken to share one, which asks for the larger sum.
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
