#include "ops/verify/etcd_version.h"

#include <charconv>

namespace lifeboat::ops {
namespace {

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "3.5.26" -> 26 ("3.6.0-rc.1" -> 0); -1 without a patch level.
int Patch(std::string_view v) {
  const size_t first = v.find('.');
  const size_t second = first == std::string_view::npos ? first : v.find('.', first + 1);
  if (second == std::string_view::npos) return -1;
  std::string_view digits = v.substr(second + 1);
  digits = digits.substr(0, digits.find_first_not_of("0123456789"));
  int patch = -1;
  return ParseInt(digits, &patch) ? patch : -1;
}

}  // namespace

std::optional<MajorMinor> ParseMajorMinor(std::string_view v) {
  size_t dot = v.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view rest = v.substr(dot + 1);
  size_t dot2 = rest.find('.');
  MajorMinor mm;
  if (!ParseInt(v.substr(0, dot), &mm.major) || !ParseInt(rest.substr(0, dot2), &mm.minor)) return std::nullopt;
  return mm;
}

Status CheckCanServe(const std::string& who, const std::string& server, const std::string& data_version,
                     const std::string& fix, const std::string& data_what) {
  auto s = ParseMajorMinor(server);
  auto d = ParseMajorMinor(data_version);
  if (!s || !d || *s >= *d) return Status::OK();
  const std::string need = std::to_string(d->major) + "." + std::to_string(d->minor);
  return Status::FailedPrecondition(who + " runs etcd " + server + ", older than " + data_what + " " + data_version +
                                    " (etcd's rule: no downgrade below the snapshot's cluster version): " +
                                    (fix.empty() ? "give it an etcd " + need + " or newer binary" : fix));
}

Status CheckUpgradeRule(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string newest, too_old;
  for (const auto& [name, v] : members) {
    auto mm = ParseMajorMinor(v);
    if (mm && *mm >= MajorMinor{3, 6}) newest = name + " " + v;
  }
  if (newest.empty()) return Status::OK();
  for (const auto& [name, v] : members) {
    auto mm = ParseMajorMinor(v);
    const bool old = mm && (*mm < MajorMinor{3, 5} || (*mm == MajorMinor{3, 5} && Patch(v) >= 0 && Patch(v) < 26));
    if (old) too_old += (too_old.empty() ? "" : ", ") + name + " " + v;
  }
  if (too_old.empty()) return Status::OK();
  return Status::FailedPrecondition("etcd's upgrade rule: 3.5.26 or later before 3.6 (" + newest + " beside " +
                                    too_old + "; a 3.6 member reads back zombie members older ones leave, etcd "
                                    "#20967): upgrade " + too_old + " to etcd 3.5.26 or later first");
}

}  // namespace lifeboat::ops
