#include "snapshot/hashkv.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "snapshot/crc32c.h"
#include "snapshot/newest_by_key.h"
#include "snapshot/snapshot_status.h"

namespace lifeboat::snapshot {
namespace {

// Calls `fn(main, sub, tombstone, key, value)` for every entry of the `key` bucket, in order.
template <typename Fn>
class KeyBucketVisitor : public BboltVisitor {
 public:
  explicit KeyBucketVisitor(Fn fn) : fn_(std::move(fn)) {}
  Status BeginBucket(std::string_view name, uint64_t) override {
    in_key_ = name == "key";
    return Status::OK();
  }
  Status Entry(std::string_view key, std::string_view value, bool is_bucket) override {
    if (!in_key_ || is_bucket) return Status::OK();
    int64_t main = 0, sub = 0;
    bool tombstone = false;
    if (!ParseRevisionKey(key, &main, &sub, &tombstone)) {
      return Status::Corruption(fmt::format("key bucket: a {}-byte key is not an mvcc revision", key.size()));
    }
    return fn_(main, sub, tombstone, key, value);
  }
  Status EndBucket() override {
    in_key_ = false;
    return Status::OK();
  }

 private:
  Fn fn_;
  bool in_key_ = false;
};

template <typename Fn>
Status WalkKeyBucket(BboltReader& db, Fn fn) {
  KeyBucketVisitor<Fn> v(std::move(fn));
  return db.Walk(v);
}

Result<int64_t> MetaRevision(BboltReader& db, std::string_view name) {
  LB_ASSIGN_OR_RETURN(auto v, db.Get("meta", name));
  if (!v) return int64_t{0};
  int64_t main = 0, sub = 0;
  bool t = false;
  if (!ParseRevisionKey(*v, &main, &sub, &t)) return Status::Corruption(fmt::format("meta/{} is not a revision", name));
  return main;
}

// The compact revision C the hash is taken against: the caller's, else the db's own (the later
// of the finished and the scheduled compaction).
Result<int64_t> CompactRevision(BboltReader& db, std::optional<int64_t> compact_revision) {
  if (compact_revision) return *compact_revision;
  LB_ASSIGN_OR_RETURN(int64_t finished, MetaRevision(db, "finishedCompactRev"));
  LB_ASSIGN_OR_RETURN(int64_t scheduled, MetaRevision(db, "scheduledCompactRev"));
  return std::max(finished, scheduled);
}

// Which entries <= C count, by entry number: entries are numbered in bucket order (revision
// order), so those <= C are a prefix and a bitmap over their numbers is enough.
class CountedEntries {
 public:
  void Size(uint64_t entries) { bits_.assign((entries + 63) / 64, 0); }
  // Marks the entry `newest` names (entry number << 1 | "is a put") when it is a put; false for
  // a tombstone.
  bool Count(uint64_t newest) {
    if ((newest & 1) == 0) return false;
    const uint64_t n = newest >> 1;
    if (n / 64 < bits_.size()) bits_[n / 64] |= uint64_t{1} << (n % 64);
    return true;
  }
  bool Counts(uint64_t n) const { return n / 64 < bits_.size() && (bits_[n / 64] >> (n % 64) & 1) != 0; }

 private:
  std::vector<uint64_t> bits_;
};

// Feeds `newest` each entry of revision <= limit as (user key, entry number << 1 | "is a put"),
// and sets *at_or_below_c to the number of entries <= C.
Status NewestUpTo(BboltReader& db, int64_t limit, int64_t compact, NewestByKey& newest, uint64_t* at_or_below_c) {
  uint64_t number = 0;
  std::string user_key;
  return WalkKeyBucket(
      db, [&](int64_t main, int64_t sub, bool tombstone, std::string_view, std::string_view value) -> Status {
        const uint64_t n = number++;
        if (main > limit) return Status::OK();
        if (!ParseKeyValueKey(value, &user_key)) {
          return Status::Corruption(fmt::format("key bucket: the value at revision {}_{} is not a KeyValue", main, sub));
        }
        if (main <= compact) *at_or_below_c = n + 1;
        return newest.Set(user_key, n << 1 | (tombstone ? 0 : 1));
      });
}

// Pass 1, needed only below the compact revision C (etcd 3.4 mvcc/kvstore.go HashByRev): an
// entry <= C counts when it is in kvindex.Keep(revision), i.e. it is its key's newest entry
// <= the hashed revision and not a tombstone. When Keep is empty altogether (no key is live
// at the revision), etcd counts every entry <= C its bucket still holds: after the compaction,
// the entries kept at C. Each key's newest entry comes from NewestByKey, whose memory is
// bounded whatever the number of keys.
Result<CountedEntries> CountBelowCompaction(BboltReader& db, int64_t upper, int64_t compact) {
  CountedEntries counted;
  if (compact <= 0) return counted;
  uint64_t at_or_below_c = 0;
  bool keep_empty = true;
  {
    NewestByKey at_rev;
    LB_RETURN_IF_ERROR(NewestUpTo(db, upper, compact, at_rev, &at_or_below_c));
    counted.Size(at_or_below_c);
    LB_RETURN_IF_ERROR(at_rev.ForEachNewest([&](uint64_t newest) {
      if (counted.Count(newest)) keep_empty = false;
      return Status::OK();
    }));
  }
  if (keep_empty) {  // what the compaction kept at C: each key's newest entry <= C, if a put
    NewestByKey at_c;
    LB_RETURN_IF_ERROR(NewestUpTo(db, compact, compact, at_c, &at_or_below_c));
    LB_RETURN_IF_ERROR(at_c.ForEachNewest([&](uint64_t newest) {
      counted.Count(newest);
      return Status::OK();
    }));
  }
  return counted;
}

// Pass 2: the CRC-32C of every counted entry <= upper, in bucket order, as etcd hashes them;
// *last_main is the newest revision in the bucket.
Status HashEntries(BboltReader& db, int64_t upper, int64_t compact, const CountedEntries& counted, uint32_t* crc,
                   int64_t* last_main) {
  *crc = Crc32c(0, std::string_view("key"));
  uint64_t number = 0;
  return WalkKeyBucket(db, [&](int64_t main, int64_t, bool, std::string_view key, std::string_view value) -> Status {
    const uint64_t n = number++;
    *last_main = main;
    if (main > upper) return Status::OK();
    if (main <= compact && !counted.Counts(n)) return Status::OK();
    *crc = Crc32c(*crc, key);
    *crc = Crc32c(*crc, value);
    return Status::OK();
  });
}

}  // namespace

Result<KvHashResult> ComputeHashKV(BboltReader& db, int64_t revision, std::optional<int64_t> compact_revision) {
  KvHashResult r;
  LB_ASSIGN_OR_RETURN(r.compact_revision, CompactRevision(db, compact_revision));
  if (revision > 0 && revision <= r.compact_revision) {
    return Status::FailedPrecondition(
        fmt::format("revision {} is compacted (compact revision {}): hash a later revision", revision, r.compact_revision));
  }
  const int64_t upper = revision > 0 ? revision : INT64_MAX;
  LB_ASSIGN_OR_RETURN(CountedEntries counted, CountBelowCompaction(db, upper, r.compact_revision));
  uint32_t crc = 0;
  int64_t last_main = 0;
  LB_RETURN_IF_ERROR(HashEntries(db, upper, r.compact_revision, counted, &crc, &last_main));
  // An empty store is at revision 1, as etcd starts one.
  const int64_t current = std::max({last_main, r.compact_revision, int64_t{1}});
  if (revision > current) {
    return Status::FailedPrecondition(
        fmt::format("revision {} is beyond the db's current revision {}: hash an earlier revision", revision, current));
  }
  r.hash = crc;
  r.revision = revision > 0 ? revision : current;
  return r;
}

}  // namespace lifeboat::snapshot
