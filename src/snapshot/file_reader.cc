#include "snapshot/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/errno_status.h"
#include "fmt/format.h"

namespace lifeboat::snapshot {

Result<std::unique_ptr<FileReader>> FileReader::Open(const std::string& path, size_t window) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", path, Access::kRead);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status s = ErrnoStatus(errno, "stat", path, Access::kRead);
    close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Status::InvalidArgument(fmt::format("{} is not a regular file", path));
  }
  return std::unique_ptr<FileReader>(new FileReader(path, fd, static_cast<uint64_t>(st.st_size), window));
}

FileReader::FileReader(std::string path, int fd, uint64_t size, size_t window)
    : path_(std::move(path)), fd_(fd), size_(size), window_size_(window) {
  if (window_size_ > 0) windows_.resize(kWindows);
}

FileReader::~FileReader() { close(fd_); }

Status FileReader::ReadDirect(uint64_t offset, std::span<uint8_t> dst) const {
  size_t done = 0;
  while (done < dst.size()) {
    ssize_t n = pread(fd_, dst.data() + done, dst.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", path_, Access::kRead);
    }
    if (n == 0) {
      return Status::Corruption(
          fmt::format("{}: unexpected end of file at byte {} (wanted {} bytes at offset {}): truncated", path_,
                      offset + done, dst.size(), offset));
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status FileReader::ReadAt(uint64_t offset, std::span<uint8_t> dst) {
  if (windows_.empty() || dst.size() > window_size_ / 2) return ReadDirect(offset, dst);
  Window* lru = &windows_[0];
  for (Window& w : windows_) {
    if (w.len > 0 && offset >= w.offset && offset + dst.size() <= w.offset + w.len) {
      w.used = ++clock_;
      std::memcpy(dst.data(), w.data.data() + (offset - w.offset), dst.size());
      return Status::OK();
    }
    if (w.used < lru->used) lru = &w;
  }
  // Aligned windows: a jump back to a page near one read before finds it still cached.
  const uint64_t start = offset / window_size_ * window_size_;
  if (start >= size_ || offset + dst.size() > start + window_size_) return ReadDirect(offset, dst);
  const size_t len = static_cast<size_t>(std::min<uint64_t>(window_size_, size_ - start));
  lru->data.resize(window_size_);
  lru->len = 0;
  LB_RETURN_IF_ERROR(ReadDirect(start, std::span<uint8_t>(lru->data.data(), len)));
  lru->offset = start;
  lru->len = len;
  lru->used = ++clock_;
  if (offset + dst.size() > start + len) return ReadDirect(offset, dst);  // reports the truncation
  std::memcpy(dst.data(), lru->data.data() + (offset - start), dst.size());
  return Status::OK();
}

}  // namespace lifeboat::snapshot
