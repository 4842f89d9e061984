// Time stamps as lifeboat writes them: always UTC. FormatRFC3339 gives millisecond precision
// ("2026-11-24T20:12:23.123Z"); ParseRFC3339 accepts any RFC 3339 time stamp (optional fraction,
// 'Z' or a +hh:mm/-hh:mm offset). The short forms name backup objects and folders.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat {

std::string FormatRFC3339(std::chrono::system_clock::time_point tp);  // 2026-11-24T20:12:23.123Z
// InvalidArgument naming the text and the expected form.
Result<std::chrono::system_clock::time_point> ParseRFC3339(std::string_view text);

std::string FormatCompactUTC(std::chrono::system_clock::time_point tp);  // 20261124T201223Z
std::string FormatDate(std::chrono::system_clock::time_point tp);        // 2026-11-24
std::string FormatHour(std::chrono::system_clock::time_point tp);        // 20

}  // namespace lifeboat
