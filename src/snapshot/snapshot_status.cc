#include "snapshot/snapshot_status.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "fmt/format.h"
#include "snapshot/crc32c.h"
#include "snapshot/proto_wire.h"

namespace lifeboat::snapshot {
namespace {

std::string AlarmName(uint64_t v) {
  switch (v) {
    case 1:
      return "NOSPACE";
    case 2:
      return "CORRUPT";
    default:
      return std::to_string(v);
  }
}

}  // namespace

StatusCollector::StatusCollector(bool hash) : st_(&own_), live_(std::make_unique<NewestByKey>()), hashing_(hash) {}
StatusCollector::~StatusCollector() = default;

Status StatusCollector::BeginBucket(std::string_view name, uint64_t) {
  bucket_.assign(name);
  st_->buckets.push_back(bucket_);
  hash_ = Crc32c(hash_, name);
  return Status::OK();
}

Status StatusCollector::Entry(std::string_view key, std::string_view value, bool) {
  if (hashing_) hash_ = Crc32c(Crc32c(hash_, key), value);
  ++st_->bucket_entries;
  if (bucket_ == "key") return KeyEntry(key, value);
  if (bucket_ == "meta") return MetaEntry(key, value);
  if (bucket_ == "members") {
    auto m = ParseMemberJson(value);
    if (!m.ok()) return m.status().Annotate(fmt::format("members/{}", key));
    st_->members.push_back(std::move(*m));
  } else if (bucket_ == "members_removed") {
    uint64_t id = 0;
    if (!ParseHexId(key, &id))
      return Status::Corruption(fmt::format("members_removed: key \"{}\" is not a hex member id", key));
    st_->removed_member_ids.push_back(id);
  } else if (bucket_ == "cluster" && key == "clusterVersion") {
    st_->cluster_version.assign(value);
  } else if (bucket_ == "auth" && key == "authEnabled") {
    st_->auth_enabled = value.size() == 1 && value[0] == 1;
  } else if (bucket_ == "authUsers") {
    ++st_->auth_users;
  } else if (bucket_ == "authRoles") {
    ++st_->auth_roles;
  } else if (bucket_ == "lease") {
    ++st_->leases;
  } else if (bucket_ == "alarm") {
    StoredAlarm a;
    proto::Reader r(key);
    while (r.Next()) {
      if (r.field() == 1 && r.type() == proto::kVarint) a.member_id = r.varint();
      if (r.field() == 2 && r.type() == proto::kVarint) a.alarm = AlarmName(r.varint());
    }
    if (!r.ok()) return Status::Corruption("alarm bucket: a key is not an AlarmMember");
    st_->alarms.push_back(a);
  }
  return Status::OK();
}

Status StatusCollector::EndBucket() { return Status::OK(); }

Result<SnapshotStatus> StatusCollector::Finish() {
  st_->hash = hash_;
  uint64_t live = 0;
  LB_RETURN_IF_ERROR(live_->ForEachNewest([&live](uint64_t is_put) {
    live += is_put;
    return Status::OK();
  }));
  st_->live_keys = live;
  // The snapshot's version as etcdutl 3.6+ tells it (storageVersion), else its cluster's, else
  // 3.4: from 3.6 on, etcdutl counts live keys (`seenKeys`), before it every entry.
  const bool has_term = st_->term.has_value();
  st_->status_minor =
      std::max({has_term ? 5 : 4, EtcdMinor(st_->storage_version), EtcdMinor(st_->cluster_version)});
  st_->total_keys = st_->status_minor >= 6 ? live : st_->bucket_entries;
  st_->current_revision = std::max<int64_t>(last_main_, 1);
  if (st_->compacted_revision && *st_->compacted_revision > st_->current_revision) {
    st_->current_revision = *st_->compacted_revision;
  }
  return *st_;
}

Status StatusCollector::KeyEntry(std::string_view key, std::string_view value) {
  int64_t main = 0, sub = 0;
  bool tombstone = false;
  if (!ParseRevisionKey(key, &main, &sub, &tombstone)) {
    return Status::Corruption(fmt::format("key bucket: a {}-byte key is not an mvcc revision", key.size()));
  }
  st_->revision = main;  // etcdctl: the main revision of the last entry
  last_main_ = main;
  ++st_->key_entries;
  std::string user_key;
  if (!ParseKeyValueKey(value, &user_key))
    return Status::Corruption(fmt::format("key bucket: the value at revision {}_{} is not a KeyValue", main, sub));
  if (tombstone) ++st_->tombstones;
  return live_->Set(user_key, tombstone ? 0 : 1);  // revision order: the last set is the newest
}

Status StatusCollector::MetaEntry(std::string_view key, std::string_view value) {
  auto u64 = [&](std::optional<uint64_t>* out) {
    if (value.size() != 8) return Status::Corruption(fmt::format("meta/{} is {} bytes, not 8", key, value.size()));
    *out = LoadBigEndian64(value);
    return Status::OK();
  };
  auto rev = [&](std::optional<int64_t>* out) {
    int64_t main = 0, sub = 0;
    bool t = false;
    if (!ParseRevisionKey(value, &main, &sub, &t))
      return Status::Corruption(fmt::format("meta/{} is not a revision", key));
    *out = main;
    return Status::OK();
  };
  if (key == "consistent_index") return u64(&st_->consistent_index);
  if (key == "term") return u64(&st_->term);
  if (key == "finishedCompactRev") return rev(&st_->compacted_revision);
  if (key == "scheduledCompactRev") return rev(&st_->scheduled_compaction);
  if (key == "storageVersion") st_->storage_version.assign(value);
  return Status::OK();
}

bool StatusCollector::ParseHexId(std::string_view s, uint64_t* id) {
  if (s.empty() || s.size() > 16) return false;
  *id = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    *id = (*id << 4) | static_cast<uint64_t>(d);
  }
  return true;
}

int EtcdMinor(std::string_view v) {
  if (!v.starts_with("3.")) return -1;
  v.remove_prefix(2);
  int minor = -1;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), minor);
  if (ec != std::errc() || p == v.data() || (p != v.data() + v.size() && *p != '.')) return -1;
  return minor;
}

uint64_t LoadBigEndian64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

bool ParseKeyValueKey(std::string_view kv, std::string* key) {
  proto::Reader r(kv);
  key->clear();
  while (r.Next()) {
    if (r.field() == 1 && r.type() == proto::kBytes) key->assign(r.bytes());
  }
  return r.ok();
}

bool ParseRevisionKey(std::string_view key, int64_t* main, int64_t* sub, bool* tombstone) {
  if ((key.size() != 17 && key.size() != 18) || key[8] != '_') return false;
  if (key.size() == 18 && key[17] != 't') return false;
  *main = static_cast<int64_t>(LoadBigEndian64(key));
  *sub = static_cast<int64_t>(LoadBigEndian64(key.substr(9)));
  *tombstone = key.size() == 18;
  return true;
}

Result<StoredMember> ParseMemberJson(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("member record is not JSON");
  StoredMember m;
  try {
    if (!j.contains("id") || !j["id"].is_number_unsigned()) return Status::Corruption("member record has no id");
    m.id = j["id"].get<uint64_t>();
    if (j.contains("name")) m.name = j["name"].get<std::string>();
    if (j.contains("peerURLs") && !j["peerURLs"].is_null()) m.peer_urls = j["peerURLs"].get<std::vector<std::string>>();
    if (j.contains("clientURLs") && !j["clientURLs"].is_null())
      m.client_urls = j["clientURLs"].get<std::vector<std::string>>();
    if (j.contains("isLearner")) m.is_learner = j["isLearner"].get<bool>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("member record: ") + e.what());
  }
  return m;
}

Result<SnapshotStatus> ComputeStatus(BboltReader& db) {
  StatusCollector v;
  BboltWalkStats ws;
  LB_RETURN_IF_ERROR(db.Walk(v, &ws));
  LB_ASSIGN_OR_RETURN(SnapshotStatus st, v.Finish());
  st.total_size = db.total_size();
  st.page_size = db.page_size();
  st.pages_reachable = ws.pages_reachable;
  st.pages_free = ws.pages_free;
  return st;
}

}  // namespace lifeboat::snapshot
