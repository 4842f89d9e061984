#include "store/store.h"

#include "fmt/format.h"
#include "store/local_store.h"
#include "store/s3_store.h"

namespace lifeboat::store {

namespace {

constexpr size_t kMaxKeyBytes = 1024;

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

Result<std::unique_ptr<Store>> OpenStore(std::string_view url) {
  std::string_view path;
  if (StartsWith(url, "file://")) {
    path = url.substr(7);
    if (path.empty() || path[0] != '/') {
      return Status::InvalidArgument(fmt::format(
          "store URL \"{}\" has no absolute path (use three slashes: file:///backups/etcd)", url));
    }
  } else if (StartsWith(url, "/")) {
    path = url;
  } else if (StartsWith(url, "s3://")) {
    LB_ASSIGN_OR_RETURN(std::unique_ptr<S3Store> s3, S3Store::Open(url));
    return std::unique_ptr<Store>(std::move(s3));
  } else {
    return Status::InvalidArgument(fmt::format(
        "unsupported store \"{}\" (use file:///absolute/path, an absolute path like /backups/etcd, or "
        "s3://bucket/prefix)", url));
  }
  // Operators expect a fresh --store folder to just work, so the store root is created here.
  LB_ASSIGN_OR_RETURN(std::unique_ptr<LocalStore> local, LocalStore::Open(path, /*create=*/true));
  return std::unique_ptr<Store>(std::move(local));
}

Status ValidateKey(std::string_view key) {
  auto bad = [key](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("invalid object key \"{}\": {} (keys look like db-etcd/prod/daily/2026-11-24/20/x.db)", key, why));
  };
  if (key.empty()) return bad("it is empty");
  if (key.size() > kMaxKeyBytes) return bad(fmt::format("it is longer than {} bytes", kMaxKeyBytes));
  if (key.find('\0') != std::string_view::npos) return bad("it contains a NUL byte");
  if (key[0] == '/') return bad("it starts with '/'");
  size_t pos = 0;
  while (true) {
    size_t end = key.find('/', pos);
    std::string_view segment = key.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (segment.empty()) return bad("it has an empty part");
    if (segment == "." || segment == "..") return bad("it has a '.' or '..' part");
    // Names starting with '.' are where stores keep unfinished writes.
    if (segment[0] == '.') return bad("a part starts with '.'");
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return Status::OK();
}

}  // namespace lifeboat::store
