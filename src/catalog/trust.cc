#include "catalog/trust.h"

#include <nlohmann/json.hpp>

#include "codec/mac.h"

namespace lifeboat::catalog {
namespace {

// "<kind>\n" + the object without "auth", compact, members sorted (nlohmann::json keeps them in a
// std::map), invalid UTF-8 replaced as the manifest writers replace it.
std::string Canonical(std::string_view kind, const nlohmann::json& doc) {
  nlohmann::json rest = doc;
  rest.erase("auth");
  return std::string(kind) + "\n" + rest.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::span<const uint8_t> Bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

Result<ManifestAuth> SignJson(std::string_view kind, const nlohmann::json& doc, const codec::KeyRing& keys) {
  if (!doc.is_object()) return Status::InvalidArgument("only a JSON object can be signed");
  const std::string body = Canonical(kind, doc);
  LB_ASSIGN_OR_RETURN(std::string mac, codec::AuthTag(keys, keys.current_id(), Bytes(body)));
  return ManifestAuth{std::string(codec::kHmacSha256), keys.current_id(), mac};
}

Status CheckJsonAuth(std::string_view kind, const nlohmann::json& doc, const codec::KeyRing& keys) {
  if (!doc.is_object()) return Status::Unauthenticated("its manifest is not a JSON object");
  auto it = doc.find("auth");
  if (it == doc.end()) return Status::Unauthenticated("its manifest is not authenticated");
  const nlohmann::json& a = *it;
  auto text = [&a](const char* name) {
    auto f = a.is_object() ? a.find(name) : a.end();
    return f != a.end() && f->is_string() ? f->get<std::string>() : std::string();
  };
  if (text("alg") != codec::kHmacSha256) {
    return Status::Unauthenticated("its manifest's authentication '" + text("alg") +
                                   "' is not one this lifeboat knows (hmac-sha256)");
  }
  const std::string body = Canonical(kind, doc);
  Status s = codec::CheckAuthTag(keys, text("key_id"), Bytes(body), text("mac"));
  if (s.code() == Status::Code::kUnauthenticated) {
    return Status::Unauthenticated("its manifest fails authentication (it was changed after it was signed, or "
                                   "signed with another key of the same id)");
  }
  if (!s.ok()) return s.WithMessage("its manifest is " + s.message());
  return s;
}

std::string Distrust(const TrustPolicy& policy, std::string_view kind, const nlohmann::json& doc,
                     const codec::Encoding& encoding) {
  if (!policy.checks()) return "";
  Status auth = CheckJsonAuth(kind, doc, *policy.keys);
  const bool plain = encoding.encryption == "none";
  if (policy.require_encrypted && plain) {
    return auth.ok() ? "not encrypted (encryption is configured)" : "not encrypted, and " + auth.message();
  }
  return auth.ok() ? "" : auth.message();
}

}  // namespace lifeboat::catalog
