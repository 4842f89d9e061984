#include "catalog/local_object.h"

#include <fmt/format.h>

#include <filesystem>

#include "base/sha256.h"
#include "catalog/catalog.h"
#include "snapshot/digest.h"

namespace lifeboat::catalog {

Result<std::string> CheckedLocalObject(store::Store& store, const Manifest& m) {
  const std::string path = store.LocalPath(m.object_key);
  std::error_code ec;
  if (path.empty() || m.compression != "none" || m.encryption != "none" || !EncodingOf(m).plain() ||
      !std::filesystem::is_regular_file(path, ec)) {
    return std::string();
  }
  // SHA-256 of the whole file and etcd's trailer, in the same single pass.
  LB_ASSIGN_OR_RETURN(snapshot::SnapshotDigests d, snapshot::DigestSnapshotFile(path));
  if (d.file_size != m.size) {
    return Status::Corruption(fmt::format("{}: {} bytes, its manifest says {}", path, d.file_size, m.size));
  }
  if (const std::string sha = HexEncode(d.file_sha256); sha != m.sha256) {
    return Status::Corruption("sha256 " + sha + ", its manifest says " + m.sha256);
  }
  return path;
}

}  // namespace lifeboat::catalog
