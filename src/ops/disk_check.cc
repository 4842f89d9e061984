#include "ops/disk_check.h"

#include <fmt/format.h>

namespace lifeboat::ops {

namespace {
constexpr uint64_t kWalBytes = 64ull << 20;  // etcd preallocates its first WAL segment
}  // namespace

Status CheckHostDisk(const agent::AgentStatus& st, const std::string& agent_address, uint64_t size) {
  // The restored db is about the snapshot's size; the old data dir is renamed, so it costs nothing.
  const uint64_t need_data = size + kWalBytes + st.min_free_bytes;
  const bool same_fs = !st.staging_on_other_fs;
  const uint64_t need_here = same_fs ? need_data + size : need_data;
  if (st.free_bytes < need_here) {
    return Status::FailedPrecondition(fmt::format(
        "{}: disk too small: {} needs {} bytes free for {} (snapshot {}{} + WAL + reserve {}), has {} (free space or "
        "lower min-free-bytes)",
        st.member_name, agent_address, need_here, st.data_dir, size, same_fs ? " staged + restored" : "",
        st.min_free_bytes, st.free_bytes));
  }
  if (!same_fs && st.staging_free_bytes < size) {
    return Status::FailedPrecondition(fmt::format("{}: disk too small: staging dir {} needs {} bytes, has {}",
                                                  st.member_name, st.staging_dir, size, st.staging_free_bytes));
  }
  return Status::OK();
}

}  // namespace lifeboat::ops
