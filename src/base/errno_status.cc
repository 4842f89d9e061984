#include "base/errno_status.h"

#include <cerrno>
#include <system_error>

#include "fmt/format.h"

namespace lifeboat {

Status ErrnoStatus(int err, std::string_view verb, std::string_view path, Access access) {
  // std::error_code gives the strerror text without strerror()'s shared buffer.
  const std::string reason = std::error_code(err, std::generic_category()).message();
  switch (err) {
    case ENOSPC:
      return Status::IOError(
          fmt::format("no space left on device writing {} (free space on that filesystem or choose another store)", path));
    case EDQUOT:
      return Status::IOError(
          fmt::format("disk quota exceeded writing {} (free space, raise the quota or choose another store)", path));
    case EFBIG:
      return Status::IOError(fmt::format(
          "file too large writing {}: the file system or the file size limit refuses more bytes "
          "(raise `ulimit -f` or choose another store)",
          path));
    case EROFS:
      return Status::IOError(
          fmt::format("cannot {} {}: read-only file system (remount it read-write or choose another store)", verb, path));
    case EACCES:
    case EPERM:
      if (access == Access::kRead) {
        return Status::PermissionDenied(
            fmt::format("cannot {} {}: {} (make it readable by this user or choose another --store)", verb, path, reason));
      }
      return Status::PermissionDenied(fmt::format(
          "cannot {} {}: {} (make the store folder writable by this user or choose another --store)", verb, path, reason));
    case ENOENT:
      return Status::NotFound(fmt::format("cannot {} {}: {} (check the path)", verb, path, reason));
    case ENOTDIR:
      return Status::IOError(fmt::format(
          "cannot {} {}: a component of the path is not a directory (move the file that is in the way or choose "
          "another path)",
          verb, path));
    case EIO:
      return Status::IOError(
          fmt::format("cannot {} {}: {} (the disk may be failing; check the kernel log)", verb, path, reason));
    case ENAMETOOLONG:
      return Status::IOError(fmt::format("cannot {} {}: {} (use shorter names)", verb, path, reason));
    default:
      return Status::IOError(fmt::format("cannot {} {}: {} (check the path and its file system)", verb, path, reason));
  }
}

}  // namespace lifeboat
