// The .snap file a restore writes into member/snap: "%016x-%016x.snap" (raft term, index)
// holding snappb.Snapshot{crc = CRC-32C(data), data = raftpb.Snapshot{data = the v2 store as
// JSON, metadata = {conf_state voters, index, term}}}. The v2 store holds only the membership
// (/0/members/<hex id>/raftAttributes), in the exact JSON Go's encoding/json gives etcd 3.4.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "snapshot/cluster_config.h"
#include "snapshot/raft_messages.h"

namespace lifeboat::snapshot {

// The v2 store of a fresh restore: members get v2 indexes 1..N in id order; the event
// history is a 1000-slot ring (etcd panics on its first v2 write with fewer slots).
std::string V2StoreJson(const ClusterConfig& cluster);

std::string SnapFileName(uint64_t term, uint64_t index);

// Writes dir/SnapFileName(term, index) (mode 0666 before umask, as etcd), fsynced, marshalled as
// the target etcd does (raftmsg::MarshalOf).
Status WriteSnapFile(const std::string& dir, const ClusterConfig& cluster, uint64_t term, uint64_t index,
                     raftmsg::Marshal marshal = raftmsg::Marshal::kGogo);

struct SnapFileContents {
  uint32_t crc = 0;
  std::string store_json;  // raftpb.Snapshot.data
  uint64_t index = 0, term = 0;
  std::vector<uint64_t> voters;
};

// Corruption if the file is empty, has no data, a zero or wrong CRC, or does not parse.
Result<SnapFileContents> ReadSnapFile(const std::string& path);

}  // namespace lifeboat::snapshot
