#include "catalog/local_object.h"

#include <fmt/format.h>

#include <filesystem>

#include "base/file_chunks.h"
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
  snapshot::SnapshotDigest digest;
  LB_RETURN_IF_ERROR(ReadFileChunks(path, [&](std::span<const uint8_t> c) {
    digest.Update(c);
    return Status::OK();
  }));
  auto d = digest.Finish();
  if (!d.ok()) return d.status().Annotate(path);
  if (digest.bytes() != m.size) {
    return Status::Corruption(fmt::format("{}: {} bytes, its manifest says {}", path, digest.bytes(), m.size));
  }
  if (const std::string sha = HexEncode(d->file_sha256); sha != m.sha256) {
    return Status::Corruption("sha256 " + sha + ", its manifest says " + m.sha256);
  }
  return path;
}

}  // namespace lifeboat::catalog
