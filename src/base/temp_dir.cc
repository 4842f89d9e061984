#include "base/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>

#include "base/errno_status.h"

namespace lifeboat {

Result<std::unique_ptr<TempDir>> TempDir::Create(const std::string& parent, const std::string& prefix) {
  std::string dir = parent;
  if (dir.empty()) dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string tmpl = dir + "/" + prefix + "XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    Status s = ErrnoStatus(errno, "create a temp dir in", dir);
    return s.WithMessage(s.message() + " (set TMPDIR to a writable directory with room)");
  }
  return std::unique_ptr<TempDir>(new TempDir(tmpl));
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace lifeboat
