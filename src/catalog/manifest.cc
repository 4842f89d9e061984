#include "catalog/manifest.h"

#include <cctype>
#include <charconv>
#include <limits>

#include "base/timefmt.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace lifeboat::catalog {

namespace {

constexpr std::string_view kFix = "(restore this manifest from a copy, or delete it and its backup)";

std::string HexId(uint64_t id) { return fmt::format("{:016x}", id); }

// One builder for both JSON flavours: ordered_json keeps the documented field order on disk.
template <typename Json>
Json Build(const Manifest& m) {
  Json j;
  j["format_version"] = m.format_version;
  j["object_key"] = m.object_key;
  j["sha256"] = m.sha256;
  j["db_sha256"] = m.db_sha256;
  j["size"] = m.size;
  j["revision"] = m.revision;
  j["cluster_id"] = HexId(m.cluster_id);
  j["cluster_name"] = m.cluster_name;
  j["member_name"] = m.member_name;
  j["member_id"] = HexId(m.member_id);
  j["member_endpoint"] = m.member_endpoint;
  j["leader_name"] = m.leader_name;
  j["leader_id"] = HexId(m.leader_id);
  j["source_is_leader"] = m.source_is_leader;
  j["etcd_version"] = m.etcd_version;
  j["raft_term"] = m.raft_term;
  j["raft_index"] = m.raft_index;
  j["raft_applied_index"] = m.raft_applied_index;
  j["started_at"] = m.started_at;
  j["finished_at"] = m.finished_at;
  j["tool_version"] = m.tool_version;
  j["tier"] = m.tier;
  j["store"] = m.store;
  if (m.format_version >= 2) {
    j["compression"] = m.compression;
    j["encryption"] = m.encryption;
    j["key_id"] = m.key_id;
    j["object_size"] = m.object_size;
    j["object_sha256"] = m.object_sha256;
  }
  if (m.source_hashkv) {
    Json h;
    h["revision"] = m.source_hashkv->revision;
    h["hash"] = m.source_hashkv->hash;
    h["compact_revision"] = m.source_hashkv->compact_revision;
    h["member_id"] = HexId(m.source_hashkv->member_id);
    j["source_hashkv"] = h;
  }
  if (m.auth) j["auth"] = {{"alg", m.auth->alg}, {"key_id", m.auth->key_id}, {"mac", m.auth->mac}};
  return j;
}

// "auth" as written by Build; nullopt for anything else (then the manifest is unauthenticated).
std::optional<ManifestAuth> ParseAuth(const nlohmann::json& j) {
  auto it = j.find("auth");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  ManifestAuth a;
  for (auto [name, out] : {std::pair{"alg", &a.alg}, {"key_id", &a.key_id}, {"mac", &a.mac}}) {
    auto f = it->find(name);
    if (f == it->end() || !f->is_string()) return std::nullopt;
    *out = f->get<std::string>();
  }
  return a;
}

// Reads typed fields out of a JSON object; the first problem sticks and names its field.
class FieldReader {
 public:
  explicit FieldReader(const nlohmann::json& j) : j_(j) {}
  const Status& status() const { return status_; }

  void String(const char* name, std::string* out) {
    const nlohmann::json* v = Find(name);
    if (v == nullptr) return;
    if (!v->is_string()) return Bad(name, "a string");
    *out = v->get<std::string>();
  }
  void Bool(const char* name, bool* out) {
    const nlohmann::json* v = Find(name);
    if (v == nullptr) return;
    if (!v->is_boolean()) return Bad(name, "true or false");
    *out = v->get<bool>();
  }
  void Uint(const char* name, uint64_t* out) {
    const nlohmann::json* v = Find(name);
    if (v == nullptr) return;
    // nlohmann stores every non-negative integer literal as number_unsigned.
    if (!v->is_number_unsigned()) return Bad(name, "a non-negative integer");
    *out = v->get<uint64_t>();
  }
  void Int(const char* name, int64_t* out) {
    const nlohmann::json* v = Find(name);
    if (v == nullptr) return;
    if (!v->is_number_integer()) return Bad(name, "an integer");
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Bad(name, "an integer that fits in 64 bits");
    }
    *out = v->get<int64_t>();
  }
  void Id(const char* name, uint64_t* out) {
    std::string s;
    String(name, &s);
    if (!status_.ok()) return;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 16);
    if (s.empty() || s.size() > 16 || ec != std::errc() || end != s.data() + s.size()) {
      return Bad(name, "a hex string of up to 16 digits");
    }
    *out = value;
  }
  void Sha256Hex(const char* name, std::string* out) {
    String(name, out);
    if (!status_.ok()) return;
    bool hex = out->size() == 64;
    for (char& c : *out) {
      hex = hex && std::isxdigit(static_cast<unsigned char>(c));
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!hex) Bad(name, "64 hex digits");
  }
  void Time(const char* name, std::string* out) {
    String(name, out);
    if (status_.ok() && !ParseRFC3339(*out).ok()) Bad(name, "an RFC 3339 time stamp");
  }

 private:
  const nlohmann::json* Find(const char* name) {
    if (!status_.ok()) return nullptr;
    auto it = j_.find(name);
    if (it == j_.end()) {
      status_ = Status::Corruption(fmt::format("manifest field \"{}\" is missing {}", name, kFix));
      return nullptr;
    }
    return &*it;
  }
  void Bad(const char* name, std::string_view expected) {
    status_ = Status::Corruption(fmt::format("manifest field \"{}\" is not {} {}", name, expected, kFix));
  }

  const nlohmann::json& j_;
  Status status_;
};

}  // namespace

std::string ToJson(const Manifest& m) {
  // Replace rather than throw on invalid UTF-8 (names come from etcd, not from us).
  return Build<nlohmann::ordered_json>(m).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

nlohmann::json ToJsonValue(const Manifest& m) { return Build<nlohmann::json>(m); }

namespace {

// The format comes first: a newer format may have changed any other field.
Status ReadFormatVersion(FieldReader& r, Manifest* m) {
  int64_t format = 0;
  r.Int("format_version", &format);
  LB_RETURN_IF_ERROR(r.status());
  if (format > kManifestFormatVersion) {
    return Status::Corruption(fmt::format("manifest format {} is newer than this lifeboat (upgrade lifeboat)", format));
  }
  if (format < 1) return Status::Corruption(fmt::format("manifest format {} is not valid {}", format, kFix));
  m->format_version = static_cast<int>(format);
  return Status::OK();
}

// The flat fields of m's format; the first one missing or of the wrong type is in r.status().
void ReadFields(FieldReader& r, Manifest* m) {
  r.String("object_key", &m->object_key);
  r.Sha256Hex("sha256", &m->sha256);
  r.Sha256Hex("db_sha256", &m->db_sha256);
  r.Uint("size", &m->size);
  r.Int("revision", &m->revision);
  r.Id("cluster_id", &m->cluster_id);
  r.String("cluster_name", &m->cluster_name);
  r.String("member_name", &m->member_name);
  r.Id("member_id", &m->member_id);
  r.String("member_endpoint", &m->member_endpoint);
  r.String("leader_name", &m->leader_name);
  r.Id("leader_id", &m->leader_id);
  r.Bool("source_is_leader", &m->source_is_leader);
  r.String("etcd_version", &m->etcd_version);
  r.Uint("raft_term", &m->raft_term);
  r.Uint("raft_index", &m->raft_index);
  r.Uint("raft_applied_index", &m->raft_applied_index);
  r.Time("started_at", &m->started_at);
  r.Time("finished_at", &m->finished_at);
  r.String("tool_version", &m->tool_version);
  r.String("tier", &m->tier);
  r.String("store", &m->store);
  if (m->format_version >= 2) {
    r.String("compression", &m->compression);
    r.String("encryption", &m->encryption);
    r.String("key_id", &m->key_id);
    r.Uint("object_size", &m->object_size);
    r.Sha256Hex("object_sha256", &m->object_sha256);
  }
}

// The optional source_hashkv object: the member's HashKV taken with the backup.
Status ReadSourceHashKV(const nlohmann::json& j, Manifest* m) {
  auto it = j.find("source_hashkv");
  if (it == j.end()) return Status::OK();
  if (!it->is_object()) return Status::Corruption(fmt::format("manifest field \"source_hashkv\" is not an object {}", kFix));
  FieldReader h(*it);
  KvHashRecord rec;
  uint64_t hash = 0;
  h.Int("revision", &rec.revision);
  h.Uint("hash", &hash);
  h.Int("compact_revision", &rec.compact_revision);
  h.Id("member_id", &rec.member_id);
  LB_RETURN_IF_ERROR(h.status().Annotate("source_hashkv"));
  if (hash > UINT32_MAX) return Status::Corruption(fmt::format("manifest source_hashkv.hash is not 32 bits {}", kFix));
  rec.hash = static_cast<uint32_t>(hash);
  m->source_hashkv = rec;
  return Status::OK();
}

// Values this lifeboat could not act on: an encoding it does not know, a key it would not use.
Status CheckUsable(const Manifest& m) {
  if (m.encryption != "none" && m.encryption != "aes-256-gcm") {
    return Status::Corruption(fmt::format("manifest encryption \"{}\" is not known to this lifeboat (upgrade lifeboat)",
                                          m.encryption));
  }
  if (m.compression != "none" && m.compression != "zstd") {
    return Status::Corruption(fmt::format("manifest compression \"{}\" is not known to this lifeboat (upgrade lifeboat)",
                                          m.compression));
  }
  if (!store::ValidateKey(m.object_key).ok()) {
    return Status::Corruption(
        fmt::format("manifest field \"object_key\" is not a valid key: \"{}\" {}", m.object_key, kFix));
  }
  return Status::OK();
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(fmt::format("manifest is not valid JSON: {} {}", e.what(), kFix));
  }
  if (!j.is_object()) return Status::Corruption(fmt::format("manifest is not a JSON object {}", kFix));

  Manifest m;
  FieldReader r(j);
  LB_RETURN_IF_ERROR(ReadFormatVersion(r, &m));
  ReadFields(r, &m);
  LB_RETURN_IF_ERROR(r.status());
  LB_RETURN_IF_ERROR(ReadSourceHashKV(j, &m));
  LB_RETURN_IF_ERROR(CheckUsable(m));
  m.auth = ParseAuth(j);
  return m;
}

Status SignManifest(Manifest* m, const codec::KeyRing& keys) {
  m->auth.reset();
  LB_ASSIGN_OR_RETURN(ManifestAuth a, SignJson(kBackupManifestKind, Build<nlohmann::json>(*m), keys));
  m->auth = std::move(a);
  return Status::OK();
}

std::string DistrustManifest(const TrustPolicy& policy, std::string_view json, const Manifest& m) {
  if (!policy.checks()) return "";
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  const codec::Encoding e =
      m.format_version >= 2 ? codec::Encoding{m.compression, m.encryption, m.key_id} : codec::Encoding{};
  return Distrust(policy, kBackupManifestKind, doc, e);
}

}  // namespace lifeboat::catalog
