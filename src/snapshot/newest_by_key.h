// NewestByKey: the last value given for each key, over any number of keys, in bounded memory.
// Built for etcd's `key` bucket, whose entries come in revision order, so "last given" is "newest":
// status counts the keys whose newest entry is a put, HashKV finds each key's newest entry.
//
// Keys are held as 64-bit hashes (two of a billion keys sharing one would merge them) with their
// value, in an open-addressed table of at most `max_slots` slots (16 bytes each). When the table
// is full, it and every later pair go to one of 64 spill files picked by the hash's top bits;
// each file is then read back on its own, and split again by the next bits if it still holds too
// many keys. A key's pairs always land in one file in the order they came, so the last still wins.
//
// Memory: max_slots x 16 bytes (x1.5 while the table grows) plus 64 x 64 KiB of write buffers per
// split level. Disk: 16 bytes per pair after the table filled, in `spill_dir` (empty: $TMPDIR
// when set and not empty, else /tmp), in files unlinked at creation, so nothing outlives the process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::snapshot {

class NewestByKey {
 public:
  static constexpr size_t kDefaultMaxSlots = size_t{1} << 20;  // 16 MiB: 512 Ki keys at half load

  // max_slots 0: $LIFEBOAT_KEY_TABLE_SLOTS when set (a smaller table for a small machine, or a
  // test forcing the spill on a small db), else kDefaultMaxSlots.
  explicit NewestByKey(size_t max_slots = 0, std::string spill_dir = "");
  ~NewestByKey();
  NewestByKey(const NewestByKey&) = delete;
  NewestByKey& operator=(const NewestByKey&) = delete;

  // IOError when a spill file cannot be created or written.
  Status Set(std::string_view key, uint64_t value);
  // Calls f once per key with its last value, in no particular order; stops at f's first error.
  // Once, after the last Set.
  Status ForEachNewest(const std::function<Status(uint64_t)>& f);
  // Whether the pairs went past the table to spill files.
  bool spilled() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::snapshot
