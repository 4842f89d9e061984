// BboltReader: reads a bbolt file (a data dir's member/snap/db, or the image inside a snapshot
// file) without bbolt: picks the valid meta, walks the trees from the root with a visited-page
// bitmap, and reports damage (bad meta, page out of range, wrong page id or type, element out
// of bounds, keys out of order, a page reached twice: cycles) as Corruption naming the page and
// its file offset. Memory: a read window, one buffer per tree level and pgid/8 bytes of bitmap.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <span>

#include "base/status.h"
#include "snapshot/bbolt_format.h"
#include "snapshot/file_reader.h"

namespace lifeboat::snapshot {

// Receives a walk's output. The views are valid only during the call.
class BboltVisitor {
 public:
  virtual ~BboltVisitor() = default;
  // A top-level bucket begins; its entries follow in key order, then EndBucket().
  virtual Status BeginBucket(std::string_view name, uint64_t sequence) = 0;
  // One entry. For a nested bucket `value` is empty and is_bucket is true (bbolt's ForEach
  // gives nil); the nested tree is still checked.
  virtual Status Entry(std::string_view key, std::string_view value, bool is_bucket) = 0;
  virtual Status EndBucket() = 0;
  // A whole leaf page of a top-level bucket's tree (with its overflow pages, header id as
  // read), just before its entries are given to Entry(); not for inline buckets. Lets a copier
  // take the page as it is instead of rebuilding it from the entries.
  virtual Status LeafPage(std::span<const uint8_t> image) {
    (void)image;
    return Status::OK();
  }
};

struct BboltWalkStats {
  uint64_t pages_reachable = 0;  // including metas, freelist and overflow pages
  uint64_t pages_free = 0;       // listed in the freelist page (0 when the freelist is not synced)
  uint64_t buckets = 0;
  uint64_t entries = 0;
};

class BboltReader {
 public:
  // Opens `path`; only its first `image_size` bytes belong to the db (0: the whole file), so
  // a snapshot's SHA-256 trailer is never read as a page. Corruption if no meta is valid or the
  // image is shorter than the meta's high-water mark.
  static Result<std::unique_ptr<BboltReader>> Open(const std::string& path, uint64_t image_size = 0);

  const bbolt::Meta& meta() const { return meta_; }
  int meta_page() const { return meta_page_; }  // 0 or 1: where the chosen meta lives
  uint32_t page_size() const { return meta_.page_size; }
  // meta.pgid * page size: what etcdctl reports as the size (bbolt's tx.Size()).
  uint64_t total_size() const { return meta_.pgid * meta_.page_size; }
  const std::string& path() const { return file_->path(); }

  // Walks every top-level bucket in order and checks every page once (bbolt's tx.Check():
  // bounds, types, single reference; with a synced freelist also "reachable or free").
  Status Walk(BboltVisitor& visitor, BboltWalkStats* stats = nullptr);
  Status Check(BboltWalkStats* stats = nullptr);

  // The value of `key` in top-level `bucket`, found by descending the trees (no scan);
  // nullopt when the bucket or the key is absent.
  Result<std::optional<std::string>> Get(std::string_view bucket, std::string_view key);

 private:
  struct BucketRoot {
    uint64_t root = 0;             // 0: inline
    std::string_view inline_page;  // the page image when inline
  };
  struct Walker;

  explicit BboltReader(std::unique_ptr<FileReader> file, uint64_t image_size);
  Status LoadMeta();
  // Reads page `id` (with its overflow) into *buf; checks range, header id and overflow.
  Status ReadPage(uint64_t id, std::vector<uint8_t>* buf);
  Status PageError(uint64_t id, std::string_view what) const;
  Result<BucketRoot> ParseBucketValue(std::string_view value, uint64_t page_id) const;
  Result<std::optional<std::string>> Find(const BucketRoot& b, std::string_view key, bool want_bucket);

  std::unique_ptr<FileReader> file_;
  uint64_t image_size_;
  bbolt::Meta meta_;
  int meta_page_ = 0;
};

}  // namespace lifeboat::snapshot
