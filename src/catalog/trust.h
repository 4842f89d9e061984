// Trust: which stored manifests lifeboat believes. Anyone who can write the bucket can write a
// manifest, so a manifest is believed only when it carries
//   "auth": {"alg": "hmac-sha256", "key_id": ID, "mac": HEX}
// whose tag (codec::AuthTag under key ID) covers "<kind>\n" and the canonical form of every other
// member of the manifest's JSON object: nlohmann's compact dump, members sorted by name, UTF-8
// as is. Members this lifeboat does not know are covered too, so a newer lifeboat's manifest
// still verifies here, and any edit (revision, cluster id, checksums, object key) fails. The key
// is one derived from the encryption key (or, without encryption, the `signing:` key); the
// object is bound through the manifest's SHA-256 of its stored bytes. docs/formats.md has the
// threat model.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "codec/aead_stream.h"
#include "codec/object_codec.h"
#include "nlohmann/json_fwd.hpp"

namespace lifeboat::catalog {

// What is authenticated: each kind of manifest signs under its own label.
inline constexpr std::string_view kBackupManifestKind = "lifeboat backup manifest";
inline constexpr std::string_view kSegmentManifestKind = "lifeboat segment manifest";

struct ManifestAuth {
  std::string alg;  // "hmac-sha256"
  std::string key_id;
  std::string mac;  // lowercase hex
  bool operator==(const ManifestAuth&) const = default;
};

// The tag of `doc` (a JSON object; an "auth" member in it is ignored) under the current key of
// `keys`.
Result<ManifestAuth> SignJson(std::string_view kind, const nlohmann::json& doc, const codec::KeyRing& keys);
// OK when `doc`'s "auth" member is a valid tag of the rest. Unauthenticated saying why not
// ("its manifest is not authenticated", "... was changed after it was signed"), or
// FailedPrecondition naming a key id `keys` lacks.
Status CheckJsonAuth(std::string_view kind, const nlohmann::json& doc, const codec::KeyRing& keys);

// What a reader accepts without being told to.
struct TrustPolicy {
  // Manifests must verify under one of these (the encryption keys and the signing keys);
  // null or empty: nothing is checked and everything is trusted (no keys are configured).
  const codec::KeyRing* keys = nullptr;
  bool require_encrypted = false;  // `encryption:` is configured: a plain object is not trusted
  // An explicit REF may name an untrusted backup (--allow-unencrypted); `latest`, --at and
  // every automatic choice still skip them.
  bool allow_untrusted = false;
  bool checks() const { return keys != nullptr && !keys->empty(); }
};

// Empty when the manifest `doc` (of `kind`, its object stored as `encoding`) is trusted under
// `policy`; otherwise why not, in words for the operator ("not encrypted, and its manifest is
// not authenticated").
std::string Distrust(const TrustPolicy& policy, std::string_view kind, const nlohmann::json& doc,
                     const codec::Encoding& encoding);

}  // namespace lifeboat::catalog
