#include "snapshot/wal_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/errno_status.h"
#include "snapshot/crc32c.h"
#include "snapshot/proto_wire.h"

namespace lifeboat::snapshot {

void WalWriter::Append(wal::RecordType type, std::string_view data) {
  std::string rec;
  proto::AppendVarintField(&rec, 1, static_cast<uint64_t>(type));
  if (type == wal::kCrc) {
    proto::AppendVarintField(&rec, 2, crc_);  // the chain so far; not updated by itself
  } else {
    crc_ = Crc32c(crc_, data);
    proto::AppendVarintField(&rec, 2, crc_);
    proto::AppendBytesField(&rec, 3, data);
  }
  const uint64_t len = rec.size();
  const uint64_t pad = (8 - len % 8) % 8;
  const uint64_t field = pad ? (len | ((0x80 | pad) << 56)) : len;
  for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<char>((field >> (8 * i)) & 0xff));
  buf_ += rec;
  buf_.append(pad, '\0');
}

Status WalWriter::Finish() {
  int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "create", path_);
  Status st;
  size_t done = 0;
  while (st.ok() && done < buf_.size()) {
    ssize_t n = write(fd, buf_.data() + done, buf_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      st = ErrnoStatus(errno, "write", path_);
    else
      done += static_cast<size_t>(n);
  }
  // etcd preallocates every segment (fallocate); the tail reads as zeros either way.
  if (st.ok() && buf_.size() < wal::kSegmentSize) {
    int rc = posix_fallocate(fd, 0, static_cast<off_t>(wal::kSegmentSize));
    if (rc == EOPNOTSUPP || rc == EINVAL) rc = ftruncate(fd, static_cast<off_t>(wal::kSegmentSize)) == 0 ? 0 : errno;
    if (rc != 0) st = ErrnoStatus(rc, "preallocate", path_);
  }
  if (st.ok() && fsync(fd) != 0) st = ErrnoStatus(errno, "fsync", path_);
  if (close(fd) != 0 && st.ok()) st = ErrnoStatus(errno, "close", path_);
  if (!st.ok()) unlink(path_.c_str());
  return st;
}

}  // namespace lifeboat::snapshot
