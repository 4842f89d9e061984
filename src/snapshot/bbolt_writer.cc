#include "snapshot/bbolt_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/errno_status.h"
#include "fmt/format.h"
#include "snapshot/bbolt_format.h"

namespace lifeboat::snapshot {

using namespace bbolt;

namespace {
constexpr uint64_t kFreelistPgid = 2;
constexpr uint64_t kFirstDataPgid = 3;
constexpr size_t kWriteBuffer = 4 << 20;
// Start writeback every so often: the final fsync then finds most pages already on disk
// instead of flushing the whole db at once.
constexpr uint64_t kWritebackEvery = 8 << 20;
}  // namespace

// Hands out page ids in order and writes pages sequentially from page 3 on.
class BboltWriter::PageSink {
 public:
  PageSink(std::string path, int fd, uint32_t page_size) : path_(std::move(path)), fd_(fd), page_size_(page_size) {
    buf_.reserve(kWriteBuffer);
  }
  ~PageSink() {
    if (fd_ >= 0) close(fd_);
  }

  uint64_t next_pgid() const { return next_; }
  uint32_t page_size() const { return page_size_; }

  // `page` is a whole number of pages; returns the id it was given.
  Result<uint64_t> Write(std::vector<uint8_t>& page) {
    const uint64_t id = next_;
    Store<uint64_t>(page.data(), id);
    next_ += page.size() / page_size_;
    if (buf_.size() + page.size() > kWriteBuffer) LB_RETURN_IF_ERROR(Flush());
    if (page.size() > kWriteBuffer) {
      LB_RETURN_IF_ERROR(WriteAt(offset_, page.data(), page.size()));
      offset_ += page.size();
    } else {
      buf_.insert(buf_.end(), page.begin(), page.end());
    }
    return id;
  }

  // A page image taken from elsewhere: copied into the buffer and given its new id there.
  Result<uint64_t> WriteCopy(std::span<const uint8_t> page) {
    const uint64_t id = next_;
    next_ += page.size() / page_size_;
    if (buf_.size() + page.size() > kWriteBuffer) LB_RETURN_IF_ERROR(Flush());
    if (page.size() > kWriteBuffer) {
      std::vector<uint8_t> copy(page.begin(), page.end());
      Store<uint64_t>(copy.data(), id);
      LB_RETURN_IF_ERROR(WriteAt(offset_, copy.data(), copy.size()));
      offset_ += copy.size();
    } else {
      const size_t at = buf_.size();
      buf_.insert(buf_.end(), page.begin(), page.end());
      Store<uint64_t>(buf_.data() + at, id);
    }
    return id;
  }

  Status Flush() {
    if (buf_.empty()) return Status::OK();
    LB_RETURN_IF_ERROR(WriteAt(offset_, buf_.data(), buf_.size()));
    offset_ += buf_.size();
    buf_.clear();
    if (offset_ - synced_ >= kWritebackEvery) {
      // Best effort: an error here resurfaces at fsync.
      sync_file_range(fd_, static_cast<off_t>(synced_), static_cast<off_t>(offset_ - synced_), SYNC_FILE_RANGE_WRITE);
      synced_ = offset_;
    }
    return Status::OK();
  }

  Status WriteAt(uint64_t off, const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t w = pwrite(fd_, p, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "write", path_);
      }
      p += w;
      off += static_cast<uint64_t>(w);
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  }

  Status SyncAndClose() {
    LB_RETURN_IF_ERROR(Flush());
    if (fsync(fd_) != 0) return ErrnoStatus(errno, "fsync", path_);
    int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return ErrnoStatus(errno, "close", path_);
    return Status::OK();
  }

 private:
  const std::string path_;
  int fd_;
  const uint32_t page_size_;
  uint64_t next_ = kFirstDataPgid;
  uint64_t offset_ = kFirstDataPgid * page_size_;
  uint64_t synced_ = offset_;
  std::vector<uint8_t> buf_;
};

// Builds one B+tree bottom-up from keys in order: a leaf is written when the next item would
// not fit, and each written page adds (first key, pgid) to the level above, which is written
// the same way. Finish() closes every level; the last single page is the root.
class BboltWriter::TreeBuilder {
 public:
  TreeBuilder(PageSink* sink, bool may_inline) : sink_(sink), may_inline_(may_inline) {}

  Status Add(std::string_view key, std::string_view value, uint32_t flags) {
    if (key.size() > kMaxKeySize)
      return Status::InvalidArgument(fmt::format("a key of {} bytes is too large for bbolt", key.size()));
    if (value.size() > kMaxValueSize)
      return Status::InvalidArgument(fmt::format("a value of {} bytes is too large", value.size()));
    const uint64_t item = kElementSize + key.size() + value.size();
    if (!leaf_.items.empty() && (leaf_size_ + item > sink_->page_size() || leaf_.items.size() >= 0xFFFE)) {
      LB_RETURN_IF_ERROR(FlushLeaf());
    }
    leaf_.items.push_back(Item{leaf_.arena.size(), key.size(), value.size(), flags});
    leaf_.arena.append(key);
    leaf_.arena.append(value);
    leaf_size_ += item;
    return Status::OK();
  }

  // A finished leaf page from elsewhere (see BboltWriter::CopyLeafPage), after any items added.
  Status AddPage(std::span<const uint8_t> page, std::string_view first_key) {
    if (!leaf_.items.empty()) LB_RETURN_IF_ERROR(FlushLeaf());
    LB_ASSIGN_OR_RETURN(uint64_t id, sink_->WriteCopy(page));
    ++leaves_;
    return AddRef(0, first_key, id);
  }

  // The bucket value: 16-byte header (root pgid, sequence), plus the page image when inline.
  Result<std::string> Finish(uint64_t sequence) {
    std::string value(kBucketHeaderSize, '\0');
    Store<uint64_t>(reinterpret_cast<uint8_t*>(value.data()) + 8, sequence);
    if (may_inline_ && leaves_ == 0 && leaf_size_ <= sink_->page_size() / 4) {
      std::vector<uint8_t> img = LeafImage(0);
      value.append(reinterpret_cast<const char*>(img.data()), img.size());
      return value;
    }
    if (!leaf_.items.empty() || leaves_ == 0) LB_RETURN_IF_ERROR(FlushLeaf());
    for (size_t level = 0;; ++level) {
      Level& l = levels_[level];
      if (l.pages == 0 && l.items.size() == 1) {
        Store<uint64_t>(reinterpret_cast<uint8_t*>(value.data()), l.items[0].pgid);
        return value;
      }
      LB_RETURN_IF_ERROR(FlushBranch(level));
    }
  }

 private:
  struct Item {
    size_t off, ksize, vsize;
    uint32_t flags;
    uint64_t pgid = 0;  // branch items
  };
  struct Level {
    std::vector<Item> items;
    std::string arena;
    uint64_t size = kPageHeaderSize;
    uint64_t pages = 0;
  };
  struct Leaf {
    std::vector<Item> items;
    std::string arena;
  };

  size_t PageBytes(uint64_t size) const {
    const uint64_t p = sink_->page_size();
    return static_cast<size_t>((size + p - 1) / p * p);
  }

  // Element headers first, then keys and values in element order (as bbolt writes them).
  std::vector<uint8_t> LeafImage(size_t padded) {
    std::vector<uint8_t> img(std::max<size_t>(padded, leaf_size_), 0);
    WritePageHeader(img.data(), PageHeader{0, kLeafPage, static_cast<uint16_t>(leaf_.items.size()),
                                           padded ? static_cast<uint32_t>(padded / sink_->page_size() - 1) : 0});
    size_t data = kPageHeaderSize + leaf_.items.size() * kElementSize;
    for (size_t i = 0; i < leaf_.items.size(); ++i) {
      const Item& it = leaf_.items[i];
      uint8_t* e = img.data() + kPageHeaderSize + i * kElementSize;
      Store<uint32_t>(e, it.flags);
      Store<uint32_t>(e + 4, static_cast<uint32_t>(data - (kPageHeaderSize + i * kElementSize)));
      Store<uint32_t>(e + 8, static_cast<uint32_t>(it.ksize));
      Store<uint32_t>(e + 12, static_cast<uint32_t>(it.vsize));
      std::memcpy(img.data() + data, leaf_.arena.data() + it.off, it.ksize + it.vsize);
      data += it.ksize + it.vsize;
    }
    if (!padded) img.resize(data);
    return img;
  }

  Status FlushLeaf() {
    std::vector<uint8_t> page = LeafImage(PageBytes(leaf_size_));
    LB_ASSIGN_OR_RETURN(uint64_t id, sink_->Write(page));
    const Item& first = leaf_.items.empty() ? Item{0, 0, 0, 0} : leaf_.items[0];
    LB_RETURN_IF_ERROR(AddRef(0, std::string_view(leaf_.arena).substr(first.off, first.ksize), id));
    ++leaves_;
    leaf_.items.clear();
    leaf_.arena.clear();
    leaf_size_ = kPageHeaderSize;
    return Status::OK();
  }

  Status AddRef(size_t level, std::string_view key, uint64_t pgid) {
    if (levels_.size() <= level) levels_.resize(level + 1);
    Level& l = levels_[level];
    const uint64_t item = kElementSize + key.size();
    if (!l.items.empty() && (l.size + item > sink_->page_size() || l.items.size() >= 0xFFFE)) {
      LB_RETURN_IF_ERROR(FlushBranch(level));
    }
    Level& l2 = levels_[level];  // FlushBranch may have grown levels_
    l2.items.push_back(Item{l2.arena.size(), key.size(), 0, 0, pgid});
    l2.arena.append(key);
    l2.size += item;
    return Status::OK();
  }

  Status FlushBranch(size_t level) {
    std::vector<Item> items;
    std::string arena;
    uint64_t size;
    {
      Level& l = levels_[level];
      items.swap(l.items);
      arena.swap(l.arena);
      size = l.size;
      l.size = kPageHeaderSize;
      ++l.pages;
    }
    std::vector<uint8_t> page(PageBytes(size), 0);
    WritePageHeader(page.data(), PageHeader{0, kBranchPage, static_cast<uint16_t>(items.size()),
                                            static_cast<uint32_t>(page.size() / sink_->page_size() - 1)});
    size_t data = kPageHeaderSize + items.size() * kElementSize;
    for (size_t i = 0; i < items.size(); ++i) {
      uint8_t* e = page.data() + kPageHeaderSize + i * kElementSize;
      Store<uint32_t>(e, static_cast<uint32_t>(data - (kPageHeaderSize + i * kElementSize)));
      Store<uint32_t>(e + 4, static_cast<uint32_t>(items[i].ksize));
      Store<uint64_t>(e + 8, items[i].pgid);
      std::memcpy(page.data() + data, arena.data() + items[i].off, items[i].ksize);
      data += items[i].ksize;
    }
    LB_ASSIGN_OR_RETURN(uint64_t id, sink_->Write(page));
    return AddRef(level + 1, std::string_view(arena).substr(items[0].off, items[0].ksize), id);
  }

  PageSink* sink_;
  const bool may_inline_;
  Leaf leaf_;
  uint64_t leaf_size_ = kPageHeaderSize;
  uint64_t leaves_ = 0;
  std::vector<Level> levels_;
};

Result<std::unique_ptr<BboltWriter>> BboltWriter::Create(const std::string& path, uint32_t page_size) {
  if (page_size < 1024 || !std::has_single_bit(page_size)) {
    return Status::InvalidArgument(fmt::format("bbolt page size {} is not a power of two >= 1024", page_size));
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "create", path);
  return std::unique_ptr<BboltWriter>(new BboltWriter(path, fd, page_size));
}

BboltWriter::BboltWriter(std::string path, int fd, uint32_t page_size)
    : path_(std::move(path)), page_size_(page_size), sink_(std::make_unique<PageSink>(path_, fd, page_size)) {
  root_ = std::make_unique<TreeBuilder>(sink_.get(), false);
}

BboltWriter::~BboltWriter() {
  if (!finished_) {
    sink_.reset();
    unlink(path_.c_str());
  }
}

uint64_t BboltWriter::pages() const { return sink_->next_pgid(); }

Status BboltWriter::Fail(Status s) {
  if (error_.ok()) error_ = s;
  return s;
}

Status BboltWriter::BeginBucket(std::string_view name, uint64_t sequence) {
  if (!error_.ok()) return error_;
  if (bucket_) return Fail(Status::Internal("BeginBucket inside a bucket"));
  if (has_bucket_ && std::string_view(last_bucket_) >= name) {
    return Fail(
        Status::InvalidArgument(fmt::format("bucket \"{}\" is out of order (after \"{}\")", name, last_bucket_)));
  }
  bucket_ = std::make_unique<TreeBuilder>(sink_.get(), true);
  bucket_name_.assign(name);
  bucket_sequence_ = sequence;
  has_key_ = false;
  return Status::OK();
}

Status BboltWriter::Put(std::string_view key, std::string_view value) {
  if (!error_.ok()) return error_;
  if (!bucket_) return Fail(Status::Internal("Put outside a bucket"));
  if (has_key_ && std::string_view(last_key_) >= key) {
    return Fail(Status::InvalidArgument(fmt::format("bucket \"{}\": keys out of order", bucket_name_)));
  }
  last_key_.assign(key);
  has_key_ = true;
  Status s = bucket_->Add(key, value, 0);
  return s.ok() ? s : Fail(s);
}

Status BboltWriter::CopyLeafPage(std::span<const uint8_t> image) {
  if (!error_.ok()) return error_;
  if (!bucket_) return Fail(Status::Internal("CopyLeafPage outside a bucket"));
  if (image.size() < kPageHeaderSize || image.size() % page_size_ != 0) {
    return Fail(Status::InvalidArgument(fmt::format("a leaf page of {} bytes is not a whole number of {}-byte pages",
                                                    image.size(), page_size_)));
  }
  const PageHeader h = ParsePageHeader(image.data());
  if (!(h.flags & kLeafPage) || (uint64_t{h.overflow} + 1) * page_size_ != image.size() ||
      kPageHeaderSize + uint64_t{h.count} * kElementSize > image.size()) {
    return Fail(Status::InvalidArgument("CopyLeafPage: not a leaf page of this page size"));
  }
  if (h.count == 0) return Status::OK();
  auto key_of = [&](uint16_t i) -> Result<std::string_view> {
    const uint8_t* e = image.data() + kPageHeaderSize + size_t{i} * kElementSize;
    const uint64_t off = kPageHeaderSize + uint64_t{i} * kElementSize + Load<uint32_t>(e + 4);
    const uint64_t ksize = Load<uint32_t>(e + 8), vsize = Load<uint32_t>(e + 12);
    if (Load<uint32_t>(e) & kBucketLeafFlag) return Status::InvalidArgument("CopyLeafPage: a nested bucket");
    if (off + ksize + vsize > image.size()) return Status::InvalidArgument("CopyLeafPage: element past the page");
    return std::string_view(reinterpret_cast<const char*>(image.data() + off), ksize);
  };
  auto first = key_of(0);
  if (!first.ok()) return Fail(first.status());
  if (has_key_ && std::string_view(last_key_) >= *first) {
    return Fail(Status::InvalidArgument(fmt::format("bucket \"{}\": keys out of order", bucket_name_)));
  }
  for (uint16_t i = 1; i < h.count; ++i) {
    auto k = key_of(i);
    if (!k.ok()) return Fail(k.status());
  }
  auto last = key_of(static_cast<uint16_t>(h.count - 1));
  Status s = bucket_->AddPage(image, *first);
  if (!s.ok()) return Fail(s);
  last_key_.assign(*last);
  has_key_ = true;
  return Status::OK();
}

Status BboltWriter::EndBucket() {
  if (!error_.ok()) return error_;
  if (!bucket_) return Fail(Status::Internal("EndBucket without BeginBucket"));
  auto value = bucket_->Finish(bucket_sequence_);
  if (!value.ok()) return Fail(value.status());
  bucket_.reset();
  Status s = root_->Add(bucket_name_, *value, kBucketLeafFlag);
  if (!s.ok()) return Fail(s);
  last_bucket_ = bucket_name_;
  has_bucket_ = true;
  return Status::OK();
}

Status BboltWriter::Finish() {
  if (!error_.ok()) return error_;
  if (bucket_) return Fail(Status::Internal("Finish inside a bucket"));
  auto root_value = root_->Finish(0);
  if (!root_value.ok()) return Fail(root_value.status());
  const uint64_t root = Load<uint64_t>(reinterpret_cast<const uint8_t*>(root_value->data()));
  Status s = sink_->Flush();
  // Pages 0..2: both metas and the (empty) freelist, written last so that a file cut short by
  // a crash has no valid meta rather than one pointing at missing pages.
  std::vector<uint8_t> head(3 * size_t{page_size_}, 0);
  for (int i = 0; i < 2; ++i) {
    uint8_t* p = head.data() + size_t{page_size_} * i;
    WritePageHeader(p, PageHeader{static_cast<uint64_t>(i), kMetaPage, 0, 0});
    Meta m;
    m.page_size = page_size_;
    m.root = root;
    m.freelist = kFreelistPgid;
    m.pgid = sink_->next_pgid();
    m.txid = i == 0 ? 2 : 1;
    EncodeMeta(m, p + kMetaOffset);
  }
  WritePageHeader(head.data() + 2 * size_t{page_size_}, PageHeader{kFreelistPgid, kFreelistPage, 0, 0});
  if (s.ok()) s = sink_->WriteAt(0, head.data(), head.size());
  if (s.ok()) s = sink_->SyncAndClose();
  if (!s.ok()) return Fail(s);
  finished_ = true;
  return Status::OK();
}

}  // namespace lifeboat::snapshot
