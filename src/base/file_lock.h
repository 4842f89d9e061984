// FileLock: an exclusive, non-blocking flock(2) on a file, held until destruction. The kernel
// drops it when the process dies however it dies, so holding it proves that no other live
// process holds it; the holder's pid is written into the file for the refusal message.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace lifeboat {

class FileLock {
 public:
  // Creates `path` when missing. FailedPrecondition naming the holder's pid when another
  // process holds it.
  static Result<std::unique_ptr<FileLock>> TryAcquire(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace lifeboat
