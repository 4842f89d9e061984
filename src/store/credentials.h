// Credentials for S3-compatible stores, found where the AWS CLI looks for them and never in the
// store URL (URLs end up in logs and manifests): the environment first, then a profile of the
// shared credentials file. Messages name files, profiles and access key ids, never a secret.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::store {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
  std::string source;         // "environment" or "profile P in FILE": for error messages
};

// Looks a variable up; std::nullopt when unset. Tests pass their own map.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup ProcessEnv();

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); else the profile AWS_PROFILE
// (default "default") of AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials).
// Unauthenticated with the places searched when nothing is found.
Result<Credentials> LoadCredentials(const EnvLookup& env);

// AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region` in AWS_CONFIG_FILE (default
// ~/.aws/config); "" when none is set.
std::string LoadRegion(const EnvLookup& env);

// Parses an INI file as the AWS CLI writes it; the value of `key` in section `section`, if any.
// Section names are compared after dropping a leading "profile " (config file style).
std::optional<std::string> IniValue(std::string_view text, std::string_view section, std::string_view key);

}  // namespace lifeboat::store
