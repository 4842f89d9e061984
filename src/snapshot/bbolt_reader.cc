#include "snapshot/bbolt_reader.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <functional>

#include "fmt/format.h"

namespace lifeboat::snapshot {

using namespace bbolt;

namespace {

// bbolt trees holding a few GB are 4-5 levels deep; deeper means a cycle or garbage.
constexpr int kMaxDepth = 64;

int CompareKeys(std::string_view a, std::string_view b) {
  // bytes.Compare: memcmp order, the shorter key first on a tie.
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

class Bitmap {
 public:
  explicit Bitmap(uint64_t n) : bits_((n + 63) / 64, 0) {}
  bool Get(uint64_t i) const { return (bits_[i / 64] >> (i % 64)) & 1; }
  void Set(uint64_t i) { bits_[i / 64] |= uint64_t{1} << (i % 64); }

 private:
  std::vector<uint64_t> bits_;
};

}  // namespace

// One pass over every tree. `fn` receives each element of a tree with the depth at which
// sub-trees (nested buckets) must be walked, so every level has its own page buffer.
struct BboltReader::Walker {
  using EntryFn = std::function<Status(std::string_view key, std::string_view value, uint32_t flags, int depth)>;

  BboltReader& r;
  BboltVisitor* leaf_pages = nullptr;  // set while a top-level bucket's tree is walked
  Bitmap reachable;
  std::array<std::vector<uint8_t>, kMaxDepth + 1> bufs;
  BboltWalkStats stats;

  Walker(BboltReader& reader) : r(reader), reachable(reader.meta_.pgid) {}

  Status Mark(uint64_t id, uint32_t overflow, uint64_t from) {
    for (uint64_t i = id; i <= id + overflow; ++i) {
      if (reachable.Get(i)) {
        return r.PageError(i, fmt::format("referenced twice (again from page {}): a cycle or a shared page", from));
      }
      reachable.Set(i);
      ++stats.pages_reachable;
    }
    return Status::OK();
  }

  Status Tree(const BucketRoot& b, int depth, uint64_t from, const EntryFn& fn) {
    std::string last;
    bool first = true;
    if (b.root == 0) return Leaf(b.inline_page, from, true, depth, &last, &first, fn);
    return Page(b.root, depth, from, &last, &first, fn);
  }

  Status Page(uint64_t id, int depth, uint64_t from, std::string* last, bool* first, const EntryFn& fn) {
    if (depth >= kMaxDepth) return r.PageError(id, fmt::format("tree deeper than {} levels: a cycle", kMaxDepth));
    if (id < 2 || id >= r.meta_.pgid) {
      return r.PageError(from, fmt::format("points to page {}, outside the file's pages [2, {})", id, r.meta_.pgid));
    }
    if (reachable.Get(id)) {
      return r.PageError(id, fmt::format("referenced twice (again from page {}): a cycle or a shared page", from));
    }
    std::vector<uint8_t>& buf = bufs[depth];
    LB_RETURN_IF_ERROR(r.ReadPage(id, &buf));
    const PageHeader h = ParsePageHeader(buf.data());
    LB_RETURN_IF_ERROR(Mark(id, h.overflow, from));
    if (h.flags & kLeafPage) {
      if (leaf_pages) LB_RETURN_IF_ERROR(leaf_pages->LeafPage(std::span<const uint8_t>(buf.data(), buf.size())));
      return Leaf(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()), id, false, depth, last,
                  first, fn);
    }
    if (!(h.flags & kBranchPage)) {
      return r.PageError(id, fmt::format("invalid type: flags 0x{:x} where a branch or leaf page belongs", h.flags));
    }
    if (kPageHeaderSize + uint64_t{h.count} * kElementSize > buf.size()) {
      return r.PageError(id, fmt::format("{} branch elements do not fit in the page", h.count));
    }
    // Each child is walked as soon as its key is checked: deeper levels read into buffers of
    // their own, so this page's image stays valid across the recursion.
    std::string prev;
    for (uint16_t i = 0; i < h.count; ++i) {
      const uint8_t* e = buf.data() + kPageHeaderSize + size_t{i} * kElementSize;
      const uint64_t pos = Load<uint32_t>(e), ksize = Load<uint32_t>(e + 4);
      const uint64_t child = Load<uint64_t>(e + 8);
      const uint64_t koff = kPageHeaderSize + uint64_t{i} * kElementSize + pos;
      if (koff + ksize > buf.size()) {
        return r.PageError(id, fmt::format("branch element {} has its key outside the page", i));
      }
      std::string_view key(reinterpret_cast<const char*>(buf.data() + koff), ksize);
      if (i > 0 && CompareKeys(prev, key) >= 0) {
        return r.PageError(id, fmt::format("branch element {} is out of key order", i));
      }
      prev.assign(key);
      LB_RETURN_IF_ERROR(Page(child, depth + 1, id, last, first, fn));
    }
    return Status::OK();
  }

  // A leaf page image (a real page, or an inline bucket's image when is_inline).
  Status Leaf(std::string_view img, uint64_t id, bool is_inline, int depth, std::string* last, bool* first,
              const EntryFn& fn) {
    auto err = [&](const std::string& what) { return r.PageError(id, is_inline ? "inline bucket: " + what : what); };
    if (img.size() < kPageHeaderSize) return err("shorter than a page header");
    const auto* base = reinterpret_cast<const uint8_t*>(img.data());
    const PageHeader h = ParsePageHeader(base);
    if (is_inline && !(h.flags & kLeafPage)) return err(fmt::format("flags 0x{:x} where a leaf belongs", h.flags));
    if (kPageHeaderSize + uint64_t{h.count} * kElementSize > img.size()) {
      return err(fmt::format("{} leaf elements do not fit in the page", h.count));
    }
    for (uint16_t i = 0; i < h.count; ++i) {
      const uint64_t eoff = kPageHeaderSize + uint64_t{i} * kElementSize;
      const uint8_t* e = base + eoff;
      const uint32_t flags = Load<uint32_t>(e);
      const uint64_t pos = Load<uint32_t>(e + 4), ksize = Load<uint32_t>(e + 8), vsize = Load<uint32_t>(e + 12);
      if (eoff + pos + ksize + vsize > img.size()) {
        return err(fmt::format("leaf element {} (key {} B, value {} B) runs past the page end", i, ksize, vsize));
      }
      std::string_view key(img.data() + eoff + pos, ksize);
      std::string_view value(img.data() + eoff + pos + ksize, vsize);
      if (!*first && CompareKeys(*last, key) >= 0) {
        return err(fmt::format("leaf element {} is out of key order (keys must ascend)", i));
      }
      *first = false;
      last->assign(key);
      ++stats.entries;
      Status s = fn(key, value, flags, depth + 1);
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  // Checks a nested bucket's tree without reporting its entries.
  Status CheckNested(std::string_view value, uint64_t from, int depth) {
    LB_ASSIGN_OR_RETURN(BucketRoot b, r.ParseBucketValue(value, from));
    BboltVisitor* saved = leaf_pages;
    leaf_pages = nullptr;
    struct Restore {
      BboltVisitor*& p;
      BboltVisitor* v;
      ~Restore() { p = v; }
    } restore{leaf_pages, saved};
    return Tree(b, depth, from, [&](std::string_view, std::string_view v, uint32_t flags, int d) {
      return (flags & kBucketLeafFlag) ? CheckNested(v, from, d) : Status::OK();
    });
  }

  // The pages the synced freelist names, each marked as reachable from the meta (the freelist
  // page itself) or as free; a page freed twice or out of range is corruption.
  Result<std::unique_ptr<Bitmap>> ReadFreelist() {
    const auto& meta = r.meta_;
    auto freed = std::make_unique<Bitmap>(meta.pgid);
    std::vector<uint8_t>& buf = bufs[0];
    LB_RETURN_IF_ERROR(r.ReadPage(meta.freelist, &buf));
    const PageHeader h = ParsePageHeader(buf.data());
    if (!(h.flags & kFreelistPage)) {
      return r.PageError(meta.freelist, fmt::format("flags 0x{:x} where the meta's freelist page belongs", h.flags));
    }
    LB_RETURN_IF_ERROR(Mark(meta.freelist, h.overflow, 0));
    uint64_t count = h.count, first = kPageHeaderSize;
    if (h.count == kFreelistCountOverflow) {
      if (buf.size() < kPageHeaderSize + 8) return r.PageError(meta.freelist, "freelist count missing");
      count = Load<uint64_t>(buf.data() + kPageHeaderSize);
      first += 8;
    }
    if (count > (buf.size() - first) / 8)
      return r.PageError(meta.freelist, fmt::format("{} free ids do not fit", count));
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t id = Load<uint64_t>(buf.data() + first + i * 8);
      if (id < 2 || id >= meta.pgid) {
        return r.PageError(meta.freelist, fmt::format("free page {} is out of range", id));
      }
      if (freed->Get(id)) return r.PageError(id, "freed twice");
      freed->Set(id);
      ++stats.pages_free;
    }
    return freed;
  }

  // Walks every top-level bucket for the visitor: its own entries are reported, nested
  // buckets are only checked.
  Status Buckets(BboltVisitor& visitor) {
    const uint64_t meta_root = r.meta_.root;
    BucketRoot root{meta_root, {}};
    return Tree(root, 0, meta_root, [&](std::string_view name, std::string_view value, uint32_t flags, int depth) {
      if (!(flags & kBucketLeafFlag)) {
        return Status::Corruption(fmt::format("{}: the root bucket holds a plain key \"{}\" where only buckets belong",
                                              r.file_->path(), name));
      }
      LB_ASSIGN_OR_RETURN(BucketRoot b, r.ParseBucketValue(value, meta_root));
      ++stats.buckets;
      const uint64_t seq = Load<uint64_t>(reinterpret_cast<const uint8_t*>(value.data()) + 8);
      LB_RETURN_IF_ERROR(visitor.BeginBucket(name, seq));
      leaf_pages = &visitor;
      auto entry = [&](std::string_view k, std::string_view v, uint32_t f, int d) {
        if (f & kBucketLeafFlag) {
          LB_RETURN_IF_ERROR(visitor.Entry(k, {}, true));
          return CheckNested(v, b.root, d);
        }
        return visitor.Entry(k, v, false);
      };
      Status s = Tree(b, depth, b.root ? b.root : meta_root, entry);
      leaf_pages = nullptr;
      if (!s.ok()) return s.Annotate(fmt::format("bucket \"{}\"", name));
      return visitor.EndBucket();
    });
  }

  // With a synced freelist every page past the metas is either in the tree or free, never
  // both and never neither (bbolt's tx.Check()).
  Status CheckAllAccounted(const Bitmap& freed) const {
    uint64_t unreachable = 0, first_unreachable = 0;
    for (uint64_t id = 2; id < r.meta_.pgid; ++id) {
      const bool in_tree = reachable.Get(id), is_free = freed.Get(id);
      if (in_tree && is_free) return r.PageError(id, "reachable from the tree but listed as free");
      if (!in_tree && !is_free && unreachable++ == 0) first_unreachable = id;
    }
    if (unreachable > 0) {
      return r.PageError(first_unreachable,
                         fmt::format("unreachable and not free ({} such pages in all)", unreachable));
    }
    return Status::OK();
  }
};

BboltReader::BboltReader(std::unique_ptr<FileReader> file, uint64_t image_size)
    : file_(std::move(file)), image_size_(image_size) {}

Result<std::unique_ptr<BboltReader>> BboltReader::Open(const std::string& path, uint64_t image_size) {
  LB_ASSIGN_OR_RETURN(auto file, FileReader::Open(path));
  if (image_size == 0 || image_size > file->size()) image_size = file->size();
  std::unique_ptr<BboltReader> r(new BboltReader(std::move(file), image_size));
  LB_RETURN_IF_ERROR(r->LoadMeta());
  return r;
}

Status BboltReader::LoadMeta() {
  const std::string& path = file_->path();
  // bbolt reads meta 0 from the first 4 KiB to learn the page size; if meta 0 is damaged it
  // assumes the OS page size, and so do we.
  auto read_meta = [&](uint64_t offset, Meta* m) -> bool {
    std::array<uint8_t, kMetaSize> raw{};
    if (offset + kMetaOffset + kMetaSize > image_size_) return false;
    if (!file_->ReadAt(offset + kMetaOffset, raw).ok()) return false;
    *m = ParseMeta(raw.data());
    const bool sum_ok = m->checksum == 0 || m->checksum == MetaChecksum(raw.data());  // bbolt 1.3.6 accepts 0
    const bool size_ok = m->page_size >= 512 && m->page_size <= (1u << 20) && std::has_single_bit(m->page_size);
    return m->magic == kMagic && m->version == kVersion && sum_ok && size_ok;
  };
  if (image_size_ < 1024) {
    return Status::Corruption(
        fmt::format("{} is {} bytes: too short to be a bbolt file (two meta pages)", path, image_size_));
  }
  Meta m0, m1;
  const bool ok0 = read_meta(0, &m0);
  const uint32_t psize = ok0 ? m0.page_size : static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  const bool ok1 = read_meta(psize, &m1) && m1.page_size == psize;
  if (!ok0 && !ok1) {
    return Status::Corruption(fmt::format(
        "{}: neither meta page is valid (bad magic, version or checksum): not a bbolt file, or damaged", path));
  }
  if (ok0 && (!ok1 || m0.txid >= m1.txid)) {
    meta_ = m0;
    meta_page_ = 0;
  } else {
    meta_ = m1;
    meta_page_ = 1;
  }
  const uint64_t need = meta_.pgid * meta_.page_size;
  if (meta_.pgid < 3 || need / meta_.page_size != meta_.pgid) {
    return Status::Corruption(
        fmt::format("{}: meta page {} has an impossible page count {}", path, meta_page_, meta_.pgid));
  }
  if (image_size_ < need) {
    return Status::Corruption(
        fmt::format("{}: truncated: the meta says {} pages of {} bytes ({} bytes) but the db has only {} bytes", path,
                    meta_.pgid, meta_.page_size, need, image_size_));
  }
  if (meta_.root < 2 || meta_.root >= meta_.pgid) {
    return Status::Corruption(
        fmt::format("{}: meta page {}: root page {} is outside [2, {})", path, meta_page_, meta_.root, meta_.pgid));
  }
  if (meta_.freelist != kNoFreelist && (meta_.freelist < 2 || meta_.freelist >= meta_.pgid)) {
    return Status::Corruption(fmt::format("{}: meta page {}: freelist page {} is outside [2, {})", path, meta_page_,
                                          meta_.freelist, meta_.pgid));
  }
  return Status::OK();
}

Status BboltReader::PageError(uint64_t id, std::string_view what) const {
  return Status::Corruption(
      fmt::format("{}: bbolt page {} (offset {}): {}", file_->path(), id, id * uint64_t{meta_.page_size}, what));
}

Status BboltReader::ReadPage(uint64_t id, std::vector<uint8_t>* buf) {
  const uint64_t p = meta_.page_size;
  if (id >= meta_.pgid) return PageError(id, fmt::format("outside the file's {} pages", meta_.pgid));
  buf->resize(p);
  LB_RETURN_IF_ERROR(file_->ReadAt(id * p, std::span<uint8_t>(buf->data(), p)));
  const PageHeader h = ParsePageHeader(buf->data());
  if (h.id != id) return PageError(id, fmt::format("its header says page {}", h.id));
  if (h.overflow >= meta_.pgid - id) {
    return PageError(id, fmt::format("{} overflow pages run past the file's {} pages", h.overflow, meta_.pgid));
  }
  if (h.overflow > 0) {
    buf->resize((uint64_t{h.overflow} + 1) * p);
    LB_RETURN_IF_ERROR(file_->ReadAt((id + 1) * p, std::span<uint8_t>(buf->data() + p, buf->size() - p)));
  }
  return Status::OK();
}

Result<BboltReader::BucketRoot> BboltReader::ParseBucketValue(std::string_view value, uint64_t page_id) const {
  if (value.size() < kBucketHeaderSize) {
    return PageError(page_id, fmt::format("bucket value of {} bytes is shorter than a bucket header", value.size()));
  }
  BucketRoot b;
  b.root = Load<uint64_t>(reinterpret_cast<const uint8_t*>(value.data()));
  if (b.root == 0) b.inline_page = value.substr(kBucketHeaderSize);
  return b;
}

Status BboltReader::Walk(BboltVisitor& visitor, BboltWalkStats* stats) {
  Walker w(*this);
  LB_RETURN_IF_ERROR(w.Mark(0, 0, 0));
  LB_RETURN_IF_ERROR(w.Mark(1, 0, 0));

  // With a synced freelist every page must be reachable or free (bbolt's tx.Check()); without
  // one (etcd on Linux) bbolt rebuilds it from the tree, so anything unreachable is free.
  std::unique_ptr<Bitmap> freed;
  if (meta_.freelist != kNoFreelist) {
    LB_ASSIGN_OR_RETURN(freed, w.ReadFreelist());
  }
  LB_RETURN_IF_ERROR(w.Buckets(visitor));
  if (freed) LB_RETURN_IF_ERROR(w.CheckAllAccounted(*freed));
  if (stats) *stats = w.stats;
  return Status::OK();
}

Status BboltReader::Check(BboltWalkStats* stats) {
  struct Null : BboltVisitor {
    Status BeginBucket(std::string_view, uint64_t) override { return Status::OK(); }
    Status Entry(std::string_view, std::string_view, bool) override { return Status::OK(); }
    Status EndBucket() override { return Status::OK(); }
  } null;
  return Walk(null, stats);
}

Result<std::optional<std::string>> BboltReader::Find(const BucketRoot& b, std::string_view key, bool want_bucket) {
  std::vector<uint8_t> buf;
  std::string_view img;
  uint64_t id = b.root, from = meta_.root;
  for (int depth = 0;; ++depth) {
    if (depth == 0 && b.root == 0) {
      img = b.inline_page;
    } else {
      if (depth >= kMaxDepth) return PageError(id, fmt::format("tree deeper than {} levels: a cycle", kMaxDepth));
      if (id < 2 || id >= meta_.pgid) {
        return PageError(from, fmt::format("points to page {}, outside the file's pages [2, {})", id, meta_.pgid));
      }
      LB_RETURN_IF_ERROR(ReadPage(id, &buf));
      img = std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size());
    }
    if (img.size() < kPageHeaderSize) return PageError(from, "inline bucket shorter than a page header");
    const auto* base = reinterpret_cast<const uint8_t*>(img.data());
    const PageHeader h = ParsePageHeader(base);
    if (kPageHeaderSize + uint64_t{h.count} * kElementSize > img.size()) {
      return PageError(id, fmt::format("{} elements do not fit in the page", h.count));
    }
    if (!(depth == 0 && b.root == 0) && (h.flags & kBranchPage) && !(h.flags & kLeafPage)) {
      // The child whose first key is the last one <= key (the first child if none is).
      uint64_t child = 0;
      for (uint16_t i = 0; i < h.count; ++i) {
        const uint64_t eoff = kPageHeaderSize + uint64_t{i} * kElementSize;
        const uint64_t pos = Load<uint32_t>(base + eoff), ksize = Load<uint32_t>(base + eoff + 4);
        if (eoff + pos + ksize > img.size()) return PageError(id, fmt::format("branch element {} outside the page", i));
        std::string_view k(img.data() + eoff + pos, ksize);
        if (i > 0 && CompareKeys(k, key) > 0) break;
        child = Load<uint64_t>(base + eoff + 8);
      }
      if (h.count == 0) return std::optional<std::string>();
      from = id;
      id = child;
      continue;
    }
    if (!(h.flags & kLeafPage)) return PageError(id, fmt::format("invalid type: flags 0x{:x}", h.flags));
    for (uint16_t i = 0; i < h.count; ++i) {
      const uint64_t eoff = kPageHeaderSize + uint64_t{i} * kElementSize;
      const uint32_t flags = Load<uint32_t>(base + eoff);
      const uint64_t pos = Load<uint32_t>(base + eoff + 4), ksize = Load<uint32_t>(base + eoff + 8),
                     vsize = Load<uint32_t>(base + eoff + 12);
      if (eoff + pos + ksize + vsize > img.size())
        return PageError(id, fmt::format("leaf element {} outside the page", i));
      std::string_view k(img.data() + eoff + pos, ksize);
      if (k != key) continue;
      if (((flags & kBucketLeafFlag) != 0) != want_bucket) return std::optional<std::string>();
      return std::optional<std::string>(std::string(img.data() + eoff + pos + ksize, vsize));
    }
    return std::optional<std::string>();
  }
}

Result<std::optional<std::string>> BboltReader::Get(std::string_view bucket, std::string_view key) {
  LB_ASSIGN_OR_RETURN(std::optional<std::string> bv, Find(BucketRoot{meta_.root, {}}, bucket, true));
  if (!bv) return std::optional<std::string>();
  LB_ASSIGN_OR_RETURN(BucketRoot b, ParseBucketValue(*bv, meta_.root));
  return Find(b, key, false);
}

}  // namespace lifeboat::snapshot
