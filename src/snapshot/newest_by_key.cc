#include "snapshot/newest_by_key.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "base/errno_status.h"
#include "base/temp_dir.h"

namespace lifeboat::snapshot {
namespace {

constexpr int kFanOutBits = 6;
constexpr size_t kFanOut = size_t{1} << kFanOutBits;
constexpr int kLastLevel = 9;              // 10 levels of 6 bits use the hash's top 60 bits
constexpr size_t kWriteEntries = 4096;     // 64 KiB per spill file
constexpr size_t kReadEntries = 1 << 16;   // 1 MiB

uint64_t Hash(std::string_view s) {
  // MurmurHash64A-style mixing: fast and well spread for short keys.
  const uint64_t m = 0xc6a4a7935bd1e995ull;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (s.size() * m);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t k;
    std::memcpy(&k, s.data() + i, 8);
    k *= m;
    k ^= k >> 47;
    k *= m;
    h ^= k;
    h *= m;
  }
  uint64_t tail = 0;
  for (size_t j = 0; i + j < s.size(); ++j) tail |= uint64_t{static_cast<uint8_t>(s[i + j])} << (8 * j);
  h ^= tail;
  h *= m;
  h ^= h >> 47;
  h *= m;
  h ^= h >> 47;
  return h;
}

// A key's hash (never 0: 0 marks an empty slot) and its last value.
struct Pair {
  uint64_t hash = 0;
  uint64_t value = 0;
};

uint64_t KeyHash(std::string_view key) {
  const uint64_t h = Hash(key);
  return h == 0 ? 1 : h;
}

// The spill file an entry goes to at `level`: top bits first, so the table's slot (low bits)
// stays independent of the split.
size_t Part(uint64_t hash, int level) { return (hash >> (64 - kFanOutBits * (level + 1))) & (kFanOut - 1); }

class Table {
 public:
  explicit Table(size_t max_slots) : max_(max_slots) {}

  // False when the key is new and the table may not grow: the caller spills.
  bool Set(const Pair& p) {
    if (slots_.empty()) slots_.assign(std::min<size_t>(size_t{1} << 14, max_), Pair{});
    Pair* slot = Find(slots_, p.hash);
    if (slot->hash == 0) {
      if ((used_ + 1) * 2 > slots_.size()) {
        if (slots_.size() > max_ / 2) return false;
        Grow();
        slot = Find(slots_, p.hash);
      }
      ++used_;
    }
    *slot = p;
    return true;
  }
  const std::vector<Pair>& slots() const { return slots_; }
  void Release() {
    std::vector<Pair>().swap(slots_);
    used_ = 0;
  }

 private:
  static Pair* Find(std::vector<Pair>& slots, uint64_t h) {
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i].hash == 0 || slots[i].hash == h) return &slots[i];
    }
  }
  void Grow() {
    std::vector<Pair> bigger(slots_.size() * 2);
    for (const Pair& s : slots_) {
      if (s.hash != 0) *Find(bigger, s.hash) = s;
    }
    slots_.swap(bigger);
  }

  size_t max_;
  std::vector<Pair> slots_;
  size_t used_ = 0;
};

// An anonymous file of pairs: appended through a buffer, read back in order.
class SpillFile {
 public:
  static Result<std::unique_ptr<SpillFile>> Create(const std::string& dir) {
    int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      std::string tmpl = dir + "/.lifeboat-keys-XXXXXX";  // file systems without O_TMPFILE
      fd = mkostemp(tmpl.data(), O_CLOEXEC);
      if (fd >= 0) unlink(tmpl.c_str());
    }
    if (fd < 0) {
      Status s = ErrnoStatus(errno, "create a spill file in", dir);
      return s.WithMessage(s.message() + " (set TMPDIR to a writable directory with room)");
    }
    return std::unique_ptr<SpillFile>(new SpillFile(fd, dir));
  }
  ~SpillFile() { close(fd_); }

  Status Append(const Pair& p) {
    if (buf_.empty()) buf_.reserve(kWriteEntries);
    buf_.push_back(p);
    return buf_.size() == kWriteEntries ? Flush() : Status::OK();
  }

  Status Flush() {
    const char* p = reinterpret_cast<const char*>(buf_.data());
    size_t left = buf_.size() * sizeof(Pair);
    while (left > 0) {
      ssize_t n = write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Status s = ErrnoStatus(errno, "write a spill file in", dir_);
        return s.WithMessage(s.message() + " (set TMPDIR to a directory with room)");
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    written_ += buf_.size();
    buf_.clear();
    return Status::OK();
  }

  // Calls f(pair) for every pair in the order they were appended; flushes first.
  template <class F>
  Status ForEach(F&& f) {
    LB_RETURN_IF_ERROR(Flush());
    std::vector<Pair>().swap(buf_);
    std::vector<Pair> chunk(std::min<uint64_t>(kReadEntries, written_));
    for (uint64_t at = 0; at < written_;) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), written_ - at));
      size_t got = 0;
      while (got < want * sizeof(Pair)) {
        ssize_t n = pread(fd_, reinterpret_cast<char*>(chunk.data()) + got, want * sizeof(Pair) - got,
                          static_cast<off_t>(at * sizeof(Pair) + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, "read a spill file in", dir_, Access::kRead);
        got += static_cast<size_t>(n);
      }
      for (size_t i = 0; i < want; ++i) LB_RETURN_IF_ERROR(f(chunk[i]));
      at += want;
    }
    return Status::OK();
  }

 private:
  SpillFile(int fd, std::string dir) : fd_(fd), dir_(std::move(dir)) {}
  int fd_;
  std::string dir_;
  std::vector<Pair> buf_;
  uint64_t written_ = 0;
};

using Parts = std::vector<std::unique_ptr<SpillFile>>;

}  // namespace

using Fn = std::function<Status(uint64_t)>;

class NewestByKey::Impl {
 public:
  Impl(size_t max_slots, std::string dir) : max_slots_(max_slots), dir_(std::move(dir)), table_(max_slots_) {
    if (dir_.empty()) dir_ = DefaultTempParent();
  }

  Status Set(const Pair& p) {
    if (parts_.empty()) {
      if (table_.Set(p)) return Status::OK();
      LB_RETURN_IF_ERROR(Split(&table_, 0, &parts_));
      spilled_ = true;
    }
    return parts_[Part(p.hash, 0)]->Append(p);
  }

  Status ForEachNewest(const Fn& f) {
    if (!spilled_) {
      for (const Pair& s : table_.slots()) {
        if (s.hash != 0) LB_RETURN_IF_ERROR(f(s.value));
      }
      table_.Release();
      return Status::OK();
    }
    return ForEachInParts(std::move(parts_), 1, f);
  }

  bool spilled() const { return spilled_; }

 private:
  // The table's pairs go first: they are each key's last so far, and all that follows is later.
  Status Split(Table* t, int level, Parts* parts) {
    parts->resize(kFanOut);
    for (auto& p : *parts) {
      LB_ASSIGN_OR_RETURN(p, SpillFile::Create(dir_));
    }
    for (const Pair& s : t->slots()) {
      if (s.hash != 0) LB_RETURN_IF_ERROR((*parts)[Part(s.hash, level)]->Append(s));
    }
    t->Release();
    return Status::OK();
  }

  Status ForEachInParts(Parts parts, int level, const Fn& f) {
    for (auto& p : parts) LB_RETURN_IF_ERROR(ForEachInFile(std::move(p), level, f));
    return Status::OK();
  }

  // Past the last level the hash's bits are used up: the table grows as it must.
  Status ForEachInFile(std::unique_ptr<SpillFile> file, int level, const Fn& f) {
    Table t(level > kLastLevel ? std::numeric_limits<size_t>::max() : max_slots_);
    Parts parts;
    LB_RETURN_IF_ERROR(file->ForEach([&](const Pair& p) -> Status {
      if (parts.empty()) {
        if (t.Set(p)) return Status::OK();
        LB_RETURN_IF_ERROR(Split(&t, level, &parts));
      }
      return parts[Part(p.hash, level)]->Append(p);
    }));
    file.reset();  // its disk space, before the parts are read
    if (!parts.empty()) return ForEachInParts(std::move(parts), level + 1, f);
    for (const Pair& s : t.slots()) {
      if (s.hash != 0) LB_RETURN_IF_ERROR(f(s.value));
    }
    return Status::OK();
  }

  size_t max_slots_;
  std::string dir_;
  Table table_;
  Parts parts_;
  bool spilled_ = false;
};

NewestByKey::NewestByKey(size_t max_slots, std::string spill_dir) {
  if (max_slots == 0) {
    const char* env = std::getenv("LIFEBOAT_KEY_TABLE_SLOTS");
    max_slots = env != nullptr ? std::strtoull(env, nullptr, 10) : 0;
    if (max_slots == 0) max_slots = kDefaultMaxSlots;
  }
  size_t slots = 4;  // a power of two, so the probe can mask
  while (slots < max_slots) slots *= 2;
  impl_ = std::make_unique<Impl>(slots, std::move(spill_dir));
}

NewestByKey::~NewestByKey() = default;

Status NewestByKey::Set(std::string_view key, uint64_t value) { return impl_->Set(Pair{KeyHash(key), value}); }

Status NewestByKey::ForEachNewest(const Fn& f) { return impl_->ForEachNewest(f); }

bool NewestByKey::spilled() const { return impl_->spilled(); }

}  // namespace lifeboat::snapshot
