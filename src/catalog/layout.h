// Where backups live inside a store, mirroring the operators' date/hour folders:
//   <prefix>/<tier>/<YYYY-MM-DD>/<HH>/<cluster>_<member>_r<revision>_<YYYYMMDDTHHMMSSZ>.db
// with its manifest beside it as ".manifest.json" instead of ".db". All times are UTC.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::catalog {

inline constexpr std::string_view kObjectSuffix = ".db";
inline constexpr std::string_view kManifestSuffix = ".manifest.json";
inline constexpr std::string_view kZstdSuffix = ".zst";  // appended to kObjectSuffix when compressed
inline constexpr std::string_view kAeadSuffix = ".enc";  // appended last when encrypted

// `prefix` may be empty or several segments ("db-etcd/prod"); leading/trailing '/' are dropped.
// Cluster and member names are sanitized: anything outside [A-Za-z0-9.-] becomes '-' (so '_'
// only separates fields), a leading '.' becomes '-', an empty name becomes "unnamed", and each
// is cut to 64 bytes.
std::string ObjectKey(std::string_view prefix, std::string_view tier, std::string_view cluster,
                      std::string_view member, int64_t revision, std::chrono::system_clock::time_point when);
// "x.db" -> "x.manifest.json" (any other name gets ".manifest.json" appended).
std::string ManifestKey(std::string_view object_key);
bool IsManifestKey(std::string_view key);
// A backup object's name: ".db", with ".zst" and/or ".enc" after it as its encoding adds them.
bool IsBackupObjectKey(std::string_view key);

// The part of ObjectKey() a name turns into; exposed so callers can show what will be used.
std::string SanitizeName(std::string_view name);
// `prefix` without leading or trailing '/' (and with repeated '/' collapsed).
std::string NormalizePrefix(std::string_view prefix);

// Tier names: [a-z0-9-]+, at most 63 bytes. InvalidArgument otherwise.
Status ValidateName(std::string_view tier);
// Prefixes: empty, or '/'-separated segments of [A-Za-z0-9._-] not starting with '.'.
Status ValidatePrefix(std::string_view prefix);

}  // namespace lifeboat::catalog
