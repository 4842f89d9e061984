// TempDir: a fresh private directory (mode 0700) that is removed, with everything in it, when
// the object goes. For throwaway copies only: never point it at data that must survive.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace lifeboat {

class TempDir {
 public:
  // "<parent>/<prefix>XXXXXX"; an empty parent means $TMPDIR, else /tmp.
  static Result<std::unique_ptr<TempDir>> Create(const std::string& parent, const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace lifeboat
