// Bearer tokens for the agent: read from a file (trailing whitespace dropped, so `echo > file`
// works) and compared in constant time, so response timing does not leak how much of a guess
// was right. Messages never contain the token.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::agent {

// InvalidArgument when the file is missing, unreadable or holds no token.
Result<std::string> ReadTokenFile(const std::string& path);

// True when a == b. Time depends only on the lengths, never on where the bytes differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The token from an "authorization" metadata value "Bearer <token>"; empty when not that form.
std::string_view BearerToken(std::string_view header);

}  // namespace lifeboat::agent
