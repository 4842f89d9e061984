#include "catalog/layout.h"

#include "base/timefmt.h"
#include "fmt/format.h"

namespace lifeboat::catalog {

namespace {

// Long enough for any real cluster or member name; short enough that the object's file name
// stays far below the 255-byte limit of common file systems.
constexpr size_t kMaxNameInKey = 64;
constexpr size_t kMaxTierBytes = 63;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string SanitizeName(std::string_view name) {
  if (name.empty()) return "unnamed";
  std::string out;
  for (char c : name.substr(0, kMaxNameInKey)) out.push_back(IsAlnum(c) || c == '.' || c == '-' ? c : '-');
  // A leading '.' would hide the object: stores treat such names as unfinished writes.
  if (out[0] == '.') out[0] = '-';
  return out;
}

std::string NormalizePrefix(std::string_view prefix) {
  std::string out;
  size_t pos = 0;
  while (pos < prefix.size()) {
    size_t end = prefix.find('/', pos);
    if (end == std::string_view::npos) end = prefix.size();
    if (end > pos) {
      if (!out.empty()) out.push_back('/');
      out.append(prefix.substr(pos, end - pos));
    }
    pos = end + 1;
  }
  return out;
}

std::string ObjectKey(std::string_view prefix, std::string_view tier, std::string_view cluster,
                      std::string_view member, int64_t revision, std::chrono::system_clock::time_point when) {
  std::string normal = NormalizePrefix(prefix);
  return fmt::format("{}{}{}/{}/{}/{}_{}_r{}_{}{}", normal, normal.empty() ? "" : "/", tier, FormatDate(when),
                     FormatHour(when), SanitizeName(cluster), SanitizeName(member), revision, FormatCompactUTC(when),
                     kObjectSuffix);
}

std::string ManifestKey(std::string_view object_key) {
  if (EndsWith(object_key, kObjectSuffix)) object_key.remove_suffix(kObjectSuffix.size());
  return fmt::format("{}{}", object_key, kManifestSuffix);
}

bool IsManifestKey(std::string_view key) { return EndsWith(key, kManifestSuffix); }

bool IsBackupObjectKey(std::string_view key) {
  if (EndsWith(key, kAeadSuffix)) key.remove_suffix(kAeadSuffix.size());
  if (EndsWith(key, kZstdSuffix)) key.remove_suffix(kZstdSuffix.size());
  return EndsWith(key, kObjectSuffix);
}

Status ValidateName(std::string_view tier) {
  bool ok = !tier.empty() && tier.size() <= kMaxTierBytes;
  for (char c : tier) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (ok) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "invalid tier name \"{}\" (use 1 to {} lowercase letters, digits or '-', like daily or hourly)", tier,
      kMaxTierBytes));
}

Status ValidatePrefix(std::string_view prefix) {
  const std::string normal = NormalizePrefix(prefix);
  bool ok = true;
  bool segment_start = true;
  for (char c : normal) {
    if (c == '/') {
      segment_start = true;
      continue;
    }
    // A segment starting with '.' is hidden from listings (and "." / ".." would escape).
    if (segment_start && c == '.') ok = false;
    if (!IsAlnum(c) && c != '.' && c != '-' && c != '_') ok = false;
    segment_start = false;
  }
  if (ok) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "invalid prefix \"{}\" (use '/'-separated folders of letters, digits, '.', '-' or '_' not starting with '.', "
      "like db-etcd/prod)",
      prefix));
}

}  // namespace lifeboat::catalog
