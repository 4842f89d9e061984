// Manifest: what lifeboat knows about one backup object, stored next to it as
// "<object>.manifest.json". ToJson writes every field in a fixed order; ParseManifest requires
// every field, ignores unknown ones (written by newer lifeboats) and refuses newer formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "catalog/trust.h"
#include "codec/aead_stream.h"
#include "nlohmann/json_fwd.hpp"

namespace lifeboat::catalog {

// 1: the object is the snapshot file. 2: it may be encoded (`compression`); written only then.
inline constexpr int kManifestFormatVersion = 2;

// etcd's HashKV as a member answered it at `revision`, with its compact revision then: what a
// file's native HashKV (snapshot/hashkv.h) is compared with.
struct KvHashRecord {
  int64_t revision = 0;
  uint32_t hash = 0;
  int64_t compact_revision = 0;
  uint64_t member_id = 0;
  bool operator==(const KvHashRecord&) const = default;
};

struct Manifest {
  int format_version = 1;  // 2 only when the object is encoded (older lifeboats then refuse it)
  std::string object_key;
  std::string sha256;     // hex SHA-256 of the snapshot file (bbolt image + 32-byte trailer)
  std::string db_sha256;  // hex of etcd's 32-byte trailer, i.e. SHA-256 of the bbolt image
  uint64_t size = 0;      // bytes of the snapshot file
  int64_t revision = 0;
  uint64_t cluster_id = 0;  // JSON: 16 lowercase hex digits, like etcdctl prints it
  std::string cluster_name;
  std::string member_name;
  uint64_t member_id = 0;  // JSON: hex
  std::string member_endpoint;
  std::string leader_name;
  uint64_t leader_id = 0;  // JSON: hex
  bool source_is_leader = false;
  std::string etcd_version;
  uint64_t raft_term = 0;
  uint64_t raft_index = 0;
  uint64_t raft_applied_index = 0;
  std::string started_at;   // RFC 3339, UTC
  std::string finished_at;  // RFC 3339, UTC
  std::string tool_version;
  std::string tier;
  std::string store;  // Store::Describe() of where the backup was written
  // Format 2: how the snapshot file is encoded in the object ("none" or "zstd"), and the stored
  // object's own size and SHA-256 (equal to size/sha256 when "none"). Format 1 has neither.
  std::string compression = "none";
  std::string encryption = "none";  // or "aes-256-gcm" (codec/aead_stream.h), after compression
  std::string key_id;               // the encryption key's id; the key itself is never stored
  uint64_t object_size = 0;
  std::string object_sha256;
  // A member's HashKV at `revision`: another follower's, asked while the snapshot streamed, or
  // the source's after it when there is none (member_id says whose); absent when it could not be
  // had. JSON "source_hashkv", optional in every format.
  std::optional<KvHashRecord> source_hashkv;
  // The manifest's authentication (catalog/trust.h), written last; absent when it was written
  // without keys. JSON "auth", optional in every format: older lifeboats ignore it.
  std::optional<ManifestAuth> auth;

  // What the store holds: the object fields in format 2, the snapshot's own in format 1.
  uint64_t stored_size() const { return format_version >= 2 ? object_size : size; }
  const std::string& stored_sha256() const { return format_version >= 2 ? object_sha256 : sha256; }

  bool operator==(const Manifest&) const = default;
};

// Pretty JSON (2-space indent) with the fields in declaration order, ending without a newline.
std::string ToJson(const Manifest& m);
// The same fields as a JSON value, for embedding in other output (e.g. `list --json`).
nlohmann::json ToJsonValue(const Manifest& m);
// Corruption naming the missing or malformed field, or a format newer than this lifeboat. A
// malformed "auth" is not an error here: the manifest is then simply not authenticated.
Result<Manifest> ParseManifest(std::string_view json);

// Sets m->auth: the tag of every other field under the current key of `keys`.
Status SignManifest(Manifest* m, const codec::KeyRing& keys);
// Why the manifest stored as `json` (parsed as `m`) is not trusted under `policy`; empty when it is.
std::string DistrustManifest(const TrustPolicy& policy, std::string_view json, const Manifest& m);

}  // namespace lifeboat::catalog
