#include "agent/token.h"

#include <openssl/crypto.h>

#include <fstream>
#include <sstream>

namespace lifeboat::agent {

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument("cannot read token file " + path +
                                   " (create it with a random token, e.g. `openssl rand -hex 32 > " + path + "`)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) t.pop_back();
  if (t.empty()) return Status::InvalidArgument("token file " + path + " is empty (put a random token in it)");
  if (t.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("token file " + path + " holds more than one line (keep only the token)");
  }
  return t;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Lengths are not secret (a token's length is in the config docs); the bytes are.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view BearerToken(std::string_view header) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() <= kPrefix.size() || header.substr(0, kPrefix.size()) != kPrefix) return {};
  return header.substr(kPrefix.size());
}

}  // namespace lifeboat::agent
