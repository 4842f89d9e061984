#include "snapshot/db_clone.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "base/errno_status.h"
#include "fmt/format.h"
#include "snapshot/file_reader.h"

namespace lifeboat::snapshot {

using namespace bbolt;

namespace {

struct Element {
  uint32_t flags = 0;
  std::string key, value;
};
using Elements = std::vector<Element>;

// A leaf page image's elements; nullopt when it is not a well-formed leaf (the caller's walk
// reports the damage; the fast path just does not apply).
std::optional<Elements> LeafElements(std::span<const uint8_t> page) {
  if (page.size() < kPageHeaderSize) return std::nullopt;
  const PageHeader h = ParsePageHeader(page.data());
  if ((h.flags & kLeafPage) == 0 || kPageHeaderSize + size_t{h.count} * kElementSize > page.size()) return std::nullopt;
  Elements out(h.count);
  for (size_t i = 0; i < h.count; ++i) {
    const uint8_t* e = page.data() + kPageHeaderSize + i * kElementSize;
    const size_t start = kPageHeaderSize + i * kElementSize + Load<uint32_t>(e + 4);
    const size_t ksize = Load<uint32_t>(e + 8), vsize = Load<uint32_t>(e + 12);
    if (start + ksize + vsize > page.size()) return std::nullopt;
    const char* k = reinterpret_cast<const char*>(page.data() + start);
    out[i] = Element{Load<uint32_t>(e), std::string(k, ksize), std::string(k + ksize, vsize)};
  }
  return out;
}

size_t LeafSize(const Elements& els) {
  size_t n = kPageHeaderSize;
  for (const auto& e : els) n += kElementSize + e.key.size() + e.value.size();
  return n;
}

// A leaf page image with id `id`, padded to `min_size` bytes.
std::string LeafImage(const Elements& els, uint64_t id, size_t min_size = 0) {
  std::string img(std::max(LeafSize(els), min_size), '\0');
  auto* p = reinterpret_cast<uint8_t*>(img.data());
  WritePageHeader(p, PageHeader{id, kLeafPage, static_cast<uint16_t>(els.size()), 0});
  size_t data = kPageHeaderSize + els.size() * kElementSize;
  for (size_t i = 0; i < els.size(); ++i) {
    uint8_t* e = p + kPageHeaderSize + i * kElementSize;
    Store<uint32_t>(e, els[i].flags);
    Store<uint32_t>(e + 4, static_cast<uint32_t>(data - (kPageHeaderSize + i * kElementSize)));
    Store<uint32_t>(e + 8, static_cast<uint32_t>(els[i].key.size()));
    Store<uint32_t>(e + 12, static_cast<uint32_t>(els[i].value.size()));
    std::memcpy(p + data, els[i].key.data(), els[i].key.size());
    std::memcpy(p + data + els[i].key.size(), els[i].value.data(), els[i].value.size());
    data += els[i].key.size() + els[i].value.size();
  }
  return img;
}

// The new value of an edited (or absent required) bucket: inline, the source's entries merged
// with the edit; nullopt when the source bucket is not inline, holds a nested bucket, or the
// result would be too large to stay inline.
std::optional<std::string> InlineBucket(const std::string* source, const BucketEdit* edit, uint32_t page_size) {
  std::string header(kBucketHeaderSize, '\0');
  std::map<std::string, std::string> entries;
  if (source) {
    if (source->size() < kBucketHeaderSize + kPageHeaderSize || Load<uint64_t>(
            reinterpret_cast<const uint8_t*>(source->data())) != 0) return std::nullopt;
    header = source->substr(0, kBucketHeaderSize);
    auto els = LeafElements({reinterpret_cast<const uint8_t*>(source->data()) + kBucketHeaderSize,
                             source->size() - kBucketHeaderSize});
    if (!els) return std::nullopt;
    for (auto& e : *els) {
      if (e.flags & kBucketLeafFlag) return std::nullopt;
      if (!edit || !edit->drop_source) entries[std::move(e.key)] = std::move(e.value);
    }
  }
  if (edit) {
    for (const auto& [k, v] : edit->puts) {
      if (v) entries[k] = *v;
      else entries.erase(k);
    }
  }
  Elements els;
  for (auto& [k, v] : entries) els.push_back(Element{0, k, std::move(v)});
  if (LeafSize(els) > page_size / 4) return std::nullopt;
  return header + LeafImage(els, 0);
}

Status WriteAt(int fd, uint64_t off, std::string_view data, const std::string& path) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "write", path);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

// Page `id` and its overflow pages, checked to carry that id and one of `flags`.
Result<std::vector<uint8_t>> ReadPageAt(const FileReader& in, const CloneSource& src, uint64_t id, uint16_t flags) {
  const uint32_t ps = src.meta.page_size;
  if ((id + 1) * ps > src.image_size) {
    return Status::Corruption(fmt::format("{}: page {} is past the end of the image", src.path, id));
  }
  std::vector<uint8_t> page(ps);
  LB_RETURN_IF_ERROR(in.ReadDirect(id * ps, page));
  const PageHeader h = ParsePageHeader(page.data());
  if (h.id != id || (h.flags & flags) == 0 || (id + h.overflow + 1) * ps > src.image_size) {
    return Status::Corruption(fmt::format("{}: page {} is not the {} page its meta names", src.path, id,
                                          flags == kFreelistPage ? "freelist" : "root"));
  }
  if (h.overflow > 0) {
    page.resize(size_t{ps} * (h.overflow + 1));
    LB_RETURN_IF_ERROR(in.ReadDirect((id + 1) * ps, {page.data() + ps, page.size() - ps}));
  }
  return page;
}

// The freelist's page ids (free and pending), as bbolt writes them.
std::vector<uint64_t> FreelistIds(std::span<const uint8_t> page) {
  const PageHeader h = ParsePageHeader(page.data());
  size_t count = h.count, at = kPageHeaderSize;
  if (count == kFreelistCountOverflow && page.size() >= at + 8) {
    count = Load<uint64_t>(page.data() + at);
    at += 8;
  }
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < count && at + 8 * (i + 1) <= page.size(); ++i) ids.push_back(Load<uint64_t>(page.data() + at + 8 * i));
  return ids;
}

// A freelist page image for `ids` (sorted) with id `id`, a whole number of pages.
std::string FreelistImage(const std::vector<uint64_t>& ids, uint64_t id, uint32_t page_size) {
  const bool big = ids.size() >= kFreelistCountOverflow;
  const size_t bytes = kPageHeaderSize + 8 * (ids.size() + (big ? 1 : 0));
  const size_t pages = (bytes + page_size - 1) / page_size;
  std::string img(pages * page_size, '\0');
  auto* p = reinterpret_cast<uint8_t*>(img.data());
  WritePageHeader(p, PageHeader{id, kFreelistPage, static_cast<uint16_t>(big ? kFreelistCountOverflow : ids.size()),
                                static_cast<uint32_t>(pages - 1)});
  size_t at = kPageHeaderSize;
  if (big) {
    Store<uint64_t>(p + at, ids.size());
    at += 8;
  }
  for (uint64_t v : ids) {
    Store<uint64_t>(p + at, v);
    at += 8;
  }
  return img;
}

// What the clone writes past the source's high-water mark, and its new metas.
struct Commit {
  std::string root;      // the new root leaf page
  std::string freelist;  // the new freelist page(s); empty when the source's is not synced
  Meta meta;             // root, freelist and pgid updated; txid still the source's
};

// The new root page: every source bucket, the edited ones (and absent required ones) inline.
Result<std::optional<std::string>> NewRoot(const FileReader& in, const CloneSource& src, const std::map<std::string, BucketEdit>& edits,
                                           std::span<const char* const> required, uint64_t id) {
  LB_ASSIGN_OR_RETURN(auto page, ReadPageAt(in, src, src.meta.root, kLeafPage | kBranchPage));
  const PageHeader h = ParsePageHeader(page.data());
  auto els = (h.flags & kLeafPage) != 0 && h.overflow == 0 ? LeafElements(page) : std::nullopt;
  if (!els) return std::optional<std::string>();
  std::map<std::string, std::string> buckets;
  for (auto& e : *els) {
    if ((e.flags & kBucketLeafFlag) == 0) return std::optional<std::string>();
    buckets[std::move(e.key)] = std::move(e.value);
  }
  std::map<std::string, const BucketEdit*> rewrite;
  for (const auto& [name, edit] : edits) rewrite[name] = &edit;
  for (const char* name : required) {
    if (!buckets.count(name)) rewrite.emplace(name, nullptr);
  }
  for (const auto& [name, edit] : rewrite) {
    auto it = buckets.find(name);
    auto value = InlineBucket(it == buckets.end() ? nullptr : &it->second, edit, src.meta.page_size);
    if (!value) return std::optional<std::string>();
    buckets[name] = std::move(*value);
  }
  Elements root;
  for (auto& [name, value] : buckets) root.push_back(Element{kBucketLeafFlag, name, std::move(value)});
  if (LeafSize(root) > src.meta.page_size) return std::optional<std::string>();
  return std::optional<std::string>(LeafImage(root, id, src.meta.page_size));
}

Result<std::optional<Commit>> PlanCommit(const FileReader& in, const CloneSource& src, const std::map<std::string, BucketEdit>& edits,
                                         std::span<const char* const> required) {
  Commit c;
  c.meta = src.meta;
  const uint64_t high = src.meta.pgid;
  LB_ASSIGN_OR_RETURN(auto root, NewRoot(in, src, edits, required, high));
  if (!root) return std::optional<Commit>();
  c.root = std::move(*root);
  c.meta.root = high;
  c.meta.pgid = high + 1;
  if (src.meta.freelist != kNoFreelist) {
    LB_ASSIGN_OR_RETURN(auto page, ReadPageAt(in, src, src.meta.freelist, kFreelistPage));
    std::vector<uint64_t> ids = FreelistIds(page);
    ids.push_back(src.meta.root);
    for (uint64_t i = 0; i * src.meta.page_size < page.size(); ++i) ids.push_back(src.meta.freelist + i);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    c.freelist = FreelistImage(ids, high + 1, src.meta.page_size);
    c.meta.freelist = high + 1;
    c.meta.pgid += c.freelist.size() / src.meta.page_size;
  }
  return std::optional<Commit>(std::move(c));
}

// The source's first `bytes` into `out` at the same offsets: copy_file_range (page-cache to
// page-cache in the kernel), or read/write where the kernel cannot.
Status CopyImage(const FileReader& in, int out, uint64_t bytes, const std::string& to) {
  const std::string& from = in.path();
  loff_t off_in = 0, off_out = 0;
  while (static_cast<uint64_t>(off_in) < bytes) {
    ssize_t n = copy_file_range(in.fd(), &off_in, out, &off_out, bytes - static_cast<uint64_t>(off_in), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) break;
    if (n < 0) return ErrnoStatus(errno, "copy", from + " -> " + to);
    if (n == 0) return Status::Corruption(fmt::format("{} ends at byte {}", from, off_in));
  }
  std::vector<uint8_t> buf(4 << 20);
  while (static_cast<uint64_t>(off_in) < bytes) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), bytes - static_cast<uint64_t>(off_in)));
    LB_RETURN_IF_ERROR(in.ReadDirect(static_cast<uint64_t>(off_in), {buf.data(), n}));
    LB_RETURN_IF_ERROR(WriteAt(out, static_cast<uint64_t>(off_out), {reinterpret_cast<char*>(buf.data()), n}, to));
    off_in += static_cast<loff_t>(n);
    off_out += static_cast<loff_t>(n);
  }
  return Status::OK();
}

// The new pages, then both metas (txids source+1 and source+2, each in its own slot), then fsync.
Status WriteCommit(int out, const Commit& c, uint64_t src_txid, const std::string& path) {
  const uint64_t ps = c.meta.page_size;
  LB_RETURN_IF_ERROR(WriteAt(out, c.meta.root * ps, c.root, path));
  if (!c.freelist.empty()) LB_RETURN_IF_ERROR(WriteAt(out, c.meta.freelist * ps, c.freelist, path));
  for (uint64_t txid : {src_txid + 1, src_txid + 2}) {
    Meta m = c.meta;
    m.txid = txid;
    uint8_t enc[kMetaSize];
    EncodeMeta(m, enc);
    LB_RETURN_IF_ERROR(WriteAt(out, (txid % 2) * ps + kMetaOffset, {reinterpret_cast<char*>(enc), kMetaSize}, path));
  }
  if (fsync(out) != 0) return ErrnoStatus(errno, "fsync", path);
  return Status::OK();
}

// The clone's descriptor, closed on every path.
struct OutFd {
  int fd = -1;
  ~OutFd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Result<bool> CloneDb(const CloneSource& src, const std::string& path, const std::map<std::string, BucketEdit>& edits,
                     std::span<const char* const> required) {
  LB_ASSIGN_OR_RETURN(auto in, FileReader::Open(src.path));
  LB_ASSIGN_OR_RETURN(auto commit, PlanCommit(*in, src, edits, required));
  if (!commit) return false;
  OutFd out;
  out.fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out.fd < 0) return ErrnoStatus(errno, "create", path);
  Status s = CopyImage(*in, out.fd, src.meta.pgid * src.meta.page_size, path);
  if (s.ok()) s = WriteCommit(out.fd, *commit, src.meta.txid, path);
  if (s.ok() && close(std::exchange(out.fd, -1)) != 0) s = ErrnoStatus(errno, "close", path);
  if (!s.ok()) {
    unlink(path.c_str());
    return s;
  }
  return true;
}

}  // namespace lifeboat::snapshot
