#include "ops/recovery/disk_check.h"

#include <fmt/format.h>

namespace lifeboat::ops {

namespace {
constexpr uint64_t kWalBytes = 64ull << 20;  // etcd preallocates its first WAL segment
}  // namespace

Status CheckHostDisk(const agent::AgentStatus& st, const std::string& agent_address, uint64_t size,
                     const std::string& sha256) {
  // Staged already: nothing more to stage. Other staged copies go before the download.
  const bool staged = !sha256.empty() && st.staged.count(sha256) > 0;
  uint64_t reclaimable = 0;
  for (const auto& [sha, bytes] : st.staged) reclaimable += sha == sha256 ? 0 : bytes;
  const uint64_t stage = staged ? 0 : size;
  // The restored db is about the snapshot's size; the old data dir is renamed, so it costs nothing.
  const uint64_t need_data = size + kWalBytes + st.min_free_bytes;
  const bool same_fs = !st.staging_on_other_fs;
  const uint64_t need_here = same_fs ? need_data + stage : need_data;
  const uint64_t have_here = st.free_bytes + (same_fs ? reclaimable : 0);
  if (have_here < need_here) {
    return Status::FailedPrecondition(fmt::format(
        "{}: disk too small: {} needs {} bytes free for {} (snapshot {}{} + WAL + reserve {}), has {}{} (free space "
        "or lower min-free-bytes)",
        st.member_name, agent_address, need_here, st.data_dir, size,
        !same_fs ? "" : staged ? " restored, already staged" : " staged + restored", st.min_free_bytes, st.free_bytes,
        same_fs && reclaimable > 0 ? fmt::format(" + {} of older staged copies", reclaimable) : ""));
  }
  const uint64_t have_staging = st.staging_free_bytes + (same_fs ? 0 : reclaimable);
  if (!same_fs && have_staging < stage) {
    return Status::FailedPrecondition(fmt::format("{}: disk too small: staging dir {} needs {} bytes, has {}",
                                                  st.member_name, st.staging_dir, stage, have_staging));
  }
  return Status::OK();
}

}  // namespace lifeboat::ops
