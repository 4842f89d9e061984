// The few etcd/raft protobuf messages a restore writes, encoded as etcd marshals them (fields in
// number order; ConfState voters unpacked). Field numbers are from raftpb, walpb, snappb and
// etcdserverpb. Two marshallings (`Marshal`): etcd 3.4-3.6 use gogo-protobuf, which writes the
// scalars listed as "always" even when 0; etcd 3.7 (raft 3.7, google.golang.org/protobuf with
// proto2 presence) writes only the fields its code sets: a restore's ConfChange has no ID and
// its ConfState no auto_leave (as etcdutl 3.7.1 writes its WAL and .snap, byte for byte).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/proto_wire.h"

namespace lifeboat::snapshot::raftmsg {

using proto::AppendBytesField;
using proto::AppendVarintField;

enum EntryType : uint64_t { kEntryNormal = 0, kEntryConfChange = 1 };
enum class Marshal { kGogo, kPresence };

// The marshalling etcd 3.<minor> writes.
inline Marshal MarshalOf(int minor) { return minor >= 7 ? Marshal::kPresence : Marshal::kGogo; }
enum ConfChangeType : uint64_t { kAddNode = 0 };

// etcdserverpb.Metadata{NodeID=1, ClusterID=2}
inline std::string Metadata(uint64_t node_id, uint64_t cluster_id) {
  std::string s;
  AppendVarintField(&s, 1, node_id);
  AppendVarintField(&s, 2, cluster_id);
  return s;
}

// raftpb.ConfChange{ID=1 (gogo: always; never set by a restore), Type=2, NodeID=3, Context=4}
inline std::string ConfChange(uint64_t type, uint64_t node_id, std::string_view context, Marshal m) {
  std::string s;
  if (m == Marshal::kGogo) AppendVarintField(&s, 1, 0);
  AppendVarintField(&s, 2, type);
  AppendVarintField(&s, 3, node_id);
  AppendBytesField(&s, 4, context);
  return s;
}

// raftpb.Entry{Type=1, Term=2, Index=3, Data=4}
inline std::string Entry(uint64_t type, uint64_t term, uint64_t index, std::string_view data) {
  std::string s;
  AppendVarintField(&s, 1, type);
  AppendVarintField(&s, 2, term);
  AppendVarintField(&s, 3, index);
  AppendBytesField(&s, 4, data);
  return s;
}

// raftpb.HardState{term=1, vote=2, commit=3}
inline std::string HardState(uint64_t term, uint64_t vote, uint64_t commit) {
  std::string s;
  AppendVarintField(&s, 1, term);
  AppendVarintField(&s, 2, vote);
  AppendVarintField(&s, 3, commit);
  return s;
}

// raftpb.ConfState{voters=1 (repeated, unpacked), auto_leave=5 (gogo: always; never set)}
inline std::string ConfState(const std::vector<uint64_t>& voters, Marshal m) {
  std::string s;
  for (uint64_t v : voters) AppendVarintField(&s, 1, v);
  if (m == Marshal::kGogo) AppendVarintField(&s, 5, 0);
  return s;
}

// walpb.Snapshot{index=1, term=2 (always: 3.7 sets both), conf_state=3 (etcd 3.5+, when given)}
inline std::string WalSnapshot(uint64_t index, uint64_t term, const std::vector<uint64_t>* voters = nullptr,
                               Marshal m = Marshal::kGogo) {
  std::string s;
  AppendVarintField(&s, 1, index);
  AppendVarintField(&s, 2, term);
  if (voters) AppendBytesField(&s, 3, ConfState(*voters, m));
  return s;
}

// raftpb.SnapshotMetadata{conf_state=1, index=2, term=3}
inline std::string SnapshotMetadata(const std::vector<uint64_t>& voters, uint64_t index, uint64_t term, Marshal m) {
  std::string s;
  AppendBytesField(&s, 1, ConfState(voters, m));
  AppendVarintField(&s, 2, index);
  AppendVarintField(&s, 3, term);
  return s;
}

// raftpb.Snapshot{data=1, metadata=2}
inline std::string RaftSnapshot(std::string_view data, std::string_view metadata) {
  std::string s;
  AppendBytesField(&s, 1, data);
  AppendBytesField(&s, 2, metadata);
  return s;
}

// snappb.Snapshot{crc=1, data=2}
inline std::string SnapFile(uint32_t crc, std::string_view data) {
  std::string s;
  AppendVarintField(&s, 1, crc);
  AppendBytesField(&s, 2, data);
  return s;
}

}  // namespace lifeboat::snapshot::raftmsg
