#include "snapshot/hashkv.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "snapshot/crc32c.h"
#include "snapshot/snapshot_status.h"

namespace lifeboat::snapshot {
namespace {

using Rev = std::pair<int64_t, int64_t>;  // main, sub: bucket order

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

}  // namespace

Result<KvHashResult> ComputeHashKV(BboltReader& db, int64_t revision, std::optional<int64_t> compact_revision) {
  KvHashResult r;
  if (compact_revision) {
    r.compact_revision = *compact_revision;
  } else {
    LB_ASSIGN_OR_RETURN(int64_t finished, MetaRevision(db, "finishedCompactRev"));
    LB_ASSIGN_OR_RETURN(int64_t scheduled, MetaRevision(db, "scheduledCompactRev"));
    r.compact_revision = std::max(finished, scheduled);
  }
  if (revision > 0 && revision <= r.compact_revision) {
    return Status::FailedPrecondition(
        fmt::format("revision {} is compacted (compact revision {}): hash a later revision", revision, r.compact_revision));
  }

  // Pass 1, needed only below the compact revision C (etcd 3.4 mvcc/kvstore.go HashByRev): an
  // entry <= C counts when it is in kvindex.Keep(revision), i.e. it is its key's newest entry
  // <= the hashed revision and not a tombstone. When Keep is empty altogether (no key is live
  // at the revision), etcd counts every entry <= C its bucket still holds: after the compaction,
  // the entries kept at C.
  const int64_t upper = revision > 0 ? revision : INT64_MAX;
  std::vector<Rev> counted;  // the entries <= C that count, in bucket order
  if (r.compact_revision > 0) {
    struct Newest {
      Rev at_c{0, 0}, at_rev{0, 0};
      bool tomb_at_c = false, tomb_at_rev = false;
    };
    std::unordered_map<std::string, Newest> newest;
    std::string user_key;
    LB_RETURN_IF_ERROR(WalkKeyBucket(db, [&](int64_t main, int64_t sub, bool tombstone, std::string_view,
                                             std::string_view value) -> Status {
      if (main > upper) return Status::OK();
      if (!ParseKeyValueKey(value, &user_key)) {
        return Status::Corruption(fmt::format("key bucket: the value at revision {}_{} is not a KeyValue", main, sub));
      }
      Newest& n = newest[user_key];  // entries come in revision order: the last one seen is the newest
      n.at_rev = {main, sub};
      n.tomb_at_rev = tombstone;
      if (main <= r.compact_revision) {
        n.at_c = {main, sub};
        n.tomb_at_c = tombstone;
      }
      return Status::OK();
    }));
    bool keep_empty = true;
    std::vector<Rev> kept_at_c;
    for (const auto& [k, n] : newest) {
      if (!n.tomb_at_rev) {
        keep_empty = false;
        if (n.at_rev.first <= r.compact_revision) counted.push_back(n.at_rev);
      }
      if (n.at_c.first > 0 && !n.tomb_at_c) kept_at_c.push_back(n.at_c);
    }
    if (keep_empty) counted = std::move(kept_at_c);
    std::sort(counted.begin(), counted.end());
  }

  // Pass 2: the hash, in bucket order; `counted` is sorted the same way, so one cursor suffices.
  uint32_t crc = Crc32c(0, std::string_view("key"));
  size_t cursor = 0;
  int64_t last_main = 0;
  LB_RETURN_IF_ERROR(WalkKeyBucket(db, [&](int64_t main, int64_t sub, bool, std::string_view key,
                                           std::string_view value) -> Status {
    last_main = main;
    if (main > upper) return Status::OK();
    if (main <= r.compact_revision) {
      while (cursor < counted.size() && counted[cursor] < Rev{main, sub}) ++cursor;
      if (cursor == counted.size() || counted[cursor] != Rev{main, sub}) return Status::OK();
    }
    crc = Crc32c(crc, key);
    crc = Crc32c(crc, value);
    return Status::OK();
  }));
  const int64_t current = std::max(last_main, r.compact_revision);
  if (revision > current) {
    return Status::FailedPrecondition(
        fmt::format("revision {} is beyond the db's current revision {}: hash an earlier revision", revision, current));
  }
  r.hash = crc;
  r.revision = revision > 0 ? revision : current;
  return r;
}

}  // namespace lifeboat::snapshot
