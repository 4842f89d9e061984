// FileReader: positional reads from a read-only file through a few aligned read-ahead windows,
// so that walking a bbolt tree (page ids mostly ascending, with jumps back) costs one pread per
// window, not per page, and memory stays at kWindows windows however large the file is.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace lifeboat::snapshot {

class FileReader {
 public:
  static constexpr size_t kDefaultWindow = 256 << 10;
  static constexpr size_t kWindows = 8;

  // NotFound / PermissionDenied / IOError naming `path`.
  static Result<std::unique_ptr<FileReader>> Open(const std::string& path, size_t window = kDefaultWindow);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }  // at open time
  int fd() const { return fd_; }

  // Fills `dst` from `offset`. Corruption if the file ends first (it was truncated), IOError
  // if the read fails.
  Status ReadAt(uint64_t offset, std::span<uint8_t> dst);
  // The same without the window, for large sequential reads (hashing).
  Status ReadDirect(uint64_t offset, std::span<uint8_t> dst) const;

 private:
  FileReader(std::string path, int fd, uint64_t size, size_t window);

  const std::string path_;
  const int fd_;
  const uint64_t size_;
  struct Window {
    std::vector<uint8_t> data;
    uint64_t offset = 0;
    size_t len = 0;
    uint64_t used = 0;  // LRU clock
  };
  const size_t window_size_;
  std::vector<Window> windows_;
  uint64_t clock_ = 0;
};

}  // namespace lifeboat::snapshot
