// JSON strings exactly as Go's encoding/json (1.19, HTML-safe) writes them, so that member
// records and the v2 store in a .snap are byte-identical to etcd's own output.
#pragma once

#include <string>
#include <string_view>

namespace lifeboat::snapshot {

// Appends `s` as a quoted JSON string: \" \\ \n \r \t, other bytes < 0x20 and < > & as \u00xx,
// U+2028/U+2029 escaped, invalid UTF-8 as \ufffd, everything else raw.
void AppendGoJsonString(std::string* out, std::string_view s);

inline std::string GoJsonString(std::string_view s) {
  std::string out;
  AppendGoJsonString(&out, s);
  return out;
}

}  // namespace lifeboat::snapshot
