// CloneDb: the fast way to write a restored db when only a few small top-level buckets change
// (a restore's new membership and consistent index). The source image is copied as it is (the
// kernel copies page-cache pages: no pass through user space, as `cp` does), then the edits are
// committed as bbolt commits them: the edited buckets and a new root leaf are written past the
// high-water mark, with a new freelist that lists the old root and freelist pages, and both metas
// point at them with the next transaction ids. bbolt's Check() of the result finds every page
// reachable or free; etcdutl's own restore also edits a copy of the file in place.
//
// It applies only when the source's root bucket is a single leaf page, every edited bucket is
// inline there (no nested bucket in it) and stays small enough to remain inline, and the new root
// fits one page. Otherwise it writes nothing and says so, and the caller rebuilds the db instead.
// It does not check the source's pages: the caller walks them (it needs the status anyway).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "base/status.h"
#include "snapshot/bbolt_format.h"

namespace lifeboat::snapshot {

// A top-level bucket's changes: new values (nullopt deletes), and whether every source entry is
// dropped first.
struct BucketEdit {
  bool drop_source = false;
  std::map<std::string, std::optional<std::string>> puts;
};

struct CloneSource {
  std::string path;         // the snapshot or db file
  uint64_t image_size = 0;  // the bbolt image's bytes at its start (a snapshot's trailer excluded)
  bbolt::Meta meta;         // its valid meta (BboltReader::meta())
};

// Writes `path` (mode 0600; it must not exist), fsynced. Returns false, with nothing written, when
// the fast path does not apply; `required` buckets absent from the source are created (empty,
// unless edited). IOError or Corruption (a root or freelist page that is not what the meta says)
// otherwise, with `path` removed.
Result<bool> CloneDb(const CloneSource& src, const std::string& path, const std::map<std::string, BucketEdit>& edits,
                     std::span<const char* const> required);

}  // namespace lifeboat::snapshot
