// LocalStore: a Store in a local folder; key "a/b/c.db" is the file <root>/a/b/c.db. Objects
// are written through AtomicFile, whose temp names start with '.', and List() skips every path
// component starting with '.', so half-written objects are never listed.
// OpenStore() accepts "file:///abs/path" and a bare "/abs/path" for this store.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace lifeboat::store {

class LocalStore : public Store {
 public:
  // `root` must be absolute. With `create`, a missing root is made (mkdir -p) and failing to
  // make it is an error. A root that exists but is not a writable directory still opens (a
  // store used only for list/fetch may be read-only); Create() then explains the problem.
  // Without `create` a missing root is never made; List() then reports NotFound.
  static Result<std::unique_ptr<LocalStore>> Open(std::string_view root, bool create);

  Result<std::unique_ptr<ObjectWriter>> Create(std::string_view key, const WriteOptions& options = {}) override;
  Status Read(std::string_view key, const ChunkSink& sink) override;
  Result<ObjectInfo> Stat(std::string_view key) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  // Also removes the object's folders that became empty, up to (not including) the root.
  Status Delete(std::string_view key) override;
  std::string Describe() const override;  // "file:///root"
  std::string LocalPath(std::string_view key) const override;  // empty for an invalid key

  const std::string& root() const { return root_; }

 private:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}
  std::string PathOf(std::string_view key) const;
  Status CheckRootIsDir() const;

  const std::string root_;  // absolute, normalized, no trailing '/' (except the root "/")
};

}  // namespace lifeboat::store
