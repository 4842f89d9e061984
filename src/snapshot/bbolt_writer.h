// BboltWriter: writes a fresh, compact bbolt file (bbolt_format.h) from buckets and keys given
// in ascending order, streaming: pages go to disk as they fill, so memory is a few pages per
// tree level whatever the db size. Layout: metas 0 and 1 (txid 2 and 1), an empty freelist in
// page 2, then every tree page in write order with no gaps, so bbolt's Check() finds every page
// reachable. Small buckets are inlined as bbolt does (<= page size / 4). No nested buckets.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::snapshot {

class BboltWriter {
 public:
  // Creates `path` (mode 0600; it must not exist). The file is removed unless Finish() succeeds.
  static Result<std::unique_ptr<BboltWriter>> Create(const std::string& path, uint32_t page_size = 4096);
  ~BboltWriter();
  BboltWriter(const BboltWriter&) = delete;
  BboltWriter& operator=(const BboltWriter&) = delete;

  // Bucket names must ascend (memcmp order); keys must ascend within a bucket. InvalidArgument
  // otherwise, and for keys or values bbolt could not have stored.
  Status BeginBucket(std::string_view name, uint64_t sequence = 0);
  Status Put(std::string_view key, std::string_view value);
  // Adds a whole leaf page of another bbolt file of the same page size, as it is: its id is
  // rewritten, its elements are not (they are page-relative). Its keys must ascend after the
  // bucket's previous ones; no element may be a nested bucket. Cheaper than Put per entry.
  Status CopyLeafPage(std::span<const uint8_t> image);
  Status EndBucket();
  // Writes the root tree, the freelist and both metas, fsyncs and closes the file.
  Status Finish();

  uint64_t pages() const;  // allocated so far, metas and freelist included

 private:
  class PageSink;
  class TreeBuilder;
  BboltWriter(std::string path, int fd, uint32_t page_size);
  Status Fail(Status s);

  const std::string path_;
  const uint32_t page_size_;
  std::unique_ptr<PageSink> sink_;
  std::unique_ptr<TreeBuilder> root_, bucket_;
  std::string bucket_name_, last_bucket_, last_key_;
  bool has_key_ = false;
  uint64_t bucket_sequence_ = 0;
  bool has_bucket_ = false, finished_ = false;
  Status error_;
};

}  // namespace lifeboat::snapshot
