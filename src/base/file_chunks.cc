#include "base/file_chunks.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/errno_status.h"

namespace lifeboat {

Status ReadFileChunks(const std::string& path, const std::function<Status(std::span<const uint8_t>)>& chunk) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", path, Access::kRead);
  std::vector<uint8_t> buf(1 << 20);
  Status s;
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = ErrnoStatus(errno, "read", path, Access::kRead);
      break;
    }
    if (n == 0) break;
    s = chunk(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    if (!s.ok()) break;
  }
  close(fd);
  return s;
}

}  // namespace lifeboat
