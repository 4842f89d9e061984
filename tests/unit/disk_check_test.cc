// The restore's disk check: whether the staged copy and the restored data share free bytes is
// the agent's st_dev comparison, never a guess from two free-byte counts that happen to differ
// (a busy file system changes between two statvfs calls) or happen to agree (two equal disks).
#include "ops/recovery/disk_check.h"

#include <gtest/gtest.h>

#include "host/host_ops.h"
#include "scratch_dir.h"

namespace lifeboat::ops {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

agent::AgentStatus Host(uint64_t free_bytes, uint64_t staging_free_bytes, bool other_fs) {
  agent::AgentStatus st;
  st.member_name = "m1";
  st.data_dir = "/var/lib/etcd/m1.etcd";
  st.staging_dir = "/var/lib/etcd/m1.etcd.lifeboat-staging";
  st.free_bytes = free_bytes;
  st.staging_free_bytes = staging_free_bytes;
  st.staging_on_other_fs = other_fs;
  return st;
}

TEST(DiskCheckTest, OneFileSystemCountsTheStagedCopyTooEvenWhenFreeBytesDiffer) {
  // 100 MiB snapshot: staged + restored + 64 MiB WAL = 264 MiB on one file system. The two
  // statvfs answers differ by a little, as they do on a file system in use.
  EXPECT_FALSE(CheckHostDisk(Host(200 * kMiB, 201 * kMiB, false), "a:1", 100 * kMiB).ok());
  Status s = CheckHostDisk(Host(200 * kMiB, 201 * kMiB, false), "a:1", 100 * kMiB);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("disk too small"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("m1"), std::string::npos) << s.ToString();
  EXPECT_TRUE(CheckHostDisk(Host(264 * kMiB, 265 * kMiB, false), "a:1", 100 * kMiB).ok());
}

TEST(DiskCheckTest, SeparateFileSystemsEachNeedTheirOwnShareEvenWhenFreeBytesAreEqual) {
  // Two equal disks: the data dir needs 164 MiB, the staging dir 100 MiB.
  EXPECT_TRUE(CheckHostDisk(Host(200 * kMiB, 200 * kMiB, true), "a:1", 100 * kMiB).ok());
  EXPECT_FALSE(CheckHostDisk(Host(163 * kMiB, 500 * kMiB, true), "a:1", 100 * kMiB).ok());
  Status s = CheckHostDisk(Host(500 * kMiB, 99 * kMiB, true), "a:1", 100 * kMiB);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("staging dir"), std::string::npos) << s.ToString();
}

TEST(DiskCheckTest, WhatIsStagedAlreadyIsCountedOnce) {
  const std::string planned(64, 'a'), older(64, 'b');
  // 200 MiB free, 100 MiB snapshot: staged + restored + WAL = 264 MiB does not fit...
  auto st = Host(200 * kMiB, 200 * kMiB, false);
  EXPECT_FALSE(CheckHostDisk(st, "a:1", 100 * kMiB, planned).ok());
  // ...but with the planned snapshot staged already (its bytes are not free any more), only the
  // restored db and the WAL are still needed.
  st.staged[planned] = 100 * kMiB;
  EXPECT_TRUE(CheckHostDisk(st, "a:1", 100 * kMiB, planned).ok());
  // An older recovery's copy is dropped before the download: its bytes count as free.
  auto older_staged = Host(180 * kMiB, 180 * kMiB, false);
  older_staged.staged[older] = 100 * kMiB;
  EXPECT_TRUE(CheckHostDisk(older_staged, "a:1", 100 * kMiB, planned).ok());
  older_staged.staged[older] = 50 * kMiB;
  Status s = CheckHostDisk(older_staged, "a:1", 100 * kMiB, planned);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("of older staged copies"), std::string::npos) << s.message();
  // On a staging file system of its own, the same holds for the staging dir.
  auto apart = Host(500 * kMiB, 60 * kMiB, true);
  EXPECT_FALSE(CheckHostDisk(apart, "a:1", 100 * kMiB, planned).ok());
  apart.staged[older] = 40 * kMiB;
  EXPECT_TRUE(CheckHostDisk(apart, "a:1", 100 * kMiB, planned).ok());
  apart.staged.clear();
  apart.staged[planned] = 100 * kMiB;
  apart.staging_free_bytes = 0;
  EXPECT_TRUE(CheckHostDisk(apart, "a:1", 100 * kMiB, planned).ok());
}

TEST(DiskCheckTest, ReserveIsCounted) {
  auto st = Host(300 * kMiB, 300 * kMiB, true);
  st.min_free_bytes = 200 * kMiB;
  EXPECT_FALSE(CheckHostDisk(st, "a:1", 100 * kMiB).ok());
}

TEST(DiskCheckTest, AgentReportsTheFileSystemOfTheNearestExistingParent) {
  testing::ScratchDir dir;
  auto here = host::InspectDataDir(dir.path());
  EXPECT_NE(here.dev, 0u);
  // A dir not created yet lives where its parent is.
  EXPECT_EQ(host::InspectDataDir(dir.Join("m1.etcd.lifeboat-staging/not/yet")).dev, here.dev);
  // /proc is always a file system of its own.
  EXPECT_NE(host::InspectDataDir("/proc").dev, here.dev);
}

}  // namespace
}  // namespace lifeboat::ops
