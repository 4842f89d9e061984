// Bearer tokens for the agent, read from a file the way ssh reads a private key: the file must
// belong to this process's user and be readable by nobody else (mode 0600 or 0400), and the
// token must carry at least 128 bits (32 hex digits, 22 base64 characters). Trailing whitespace
// is dropped, so `echo > file` works. Tokens are compared in constant time, so response timing
// does not leak how much of a guess was right. Messages never contain the token.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::agent {

// InvalidArgument naming the fix when the file is missing, unreadable, open to others, owned by
// another user, or holds no token or a token of under 128 bits.
Result<std::string> ReadTokenFile(const std::string& path);

// An estimate of the token's strength: 4 bits a character for hex, 6 for base64 (and any other
// printable text).
int TokenBits(std::string_view token);

// True when a == b. Time depends only on the lengths, never on where the bytes differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The token from an "authorization" metadata value "Bearer <token>"; empty when not that form.
std::string_view BearerToken(std::string_view header);

}  // namespace lifeboat::agent
