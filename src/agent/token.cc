#include "agent/token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lifeboat::agent {
namespace {

constexpr int kMinBits = 128;

// The file's owner and mode must keep the token to one user, as ssh insists for private keys.
Status CheckPrivate(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("token file " + path + " is not a regular file");
  if (st.st_uid != ::geteuid()) {
    return Status::InvalidArgument(fmt::format("token file {} belongs to uid {}, not to this process's user (uid {}): "
                                               "`chown {} {}`",
                                               path, st.st_uid, ::geteuid(), ::geteuid(), path));
  }
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument(fmt::format("token file {} is open to other users (mode {:04o}): `chmod 600 {}`",
                                               path, st.st_mode & 07777, path));
  }
  return Status::OK();
}

}  // namespace

int TokenBits(std::string_view t) {
  bool hex = !t.empty();
  for (char c : t) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
  return static_cast<int>(t.size()) * (hex ? 4 : 6);
}

Result<std::string> ReadTokenFile(const std::string& path) {
  const std::string create = " (create it: `openssl rand -hex 32 > " + path + " && chmod 600 " + path + "`)";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::InvalidArgument("cannot read token file " + path + ": " + std::strerror(errno) + create);
  struct stat st {};
  Status ok = ::fstat(fd, &st) == 0 ? CheckPrivate(path, st) : Status::IOError("cannot stat " + path);
  std::string t;
  char buf[4096];
  for (ssize_t n; ok.ok() && (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = Status::IOError("cannot read token file " + path + ": " + std::strerror(errno));
    else t.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  LB_RETURN_IF_ERROR(ok);
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) t.pop_back();
  if (t.empty()) return Status::InvalidArgument("token file " + path + " is empty" + create);
  if (t.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("token file " + path + " holds more than one line (keep only the token)");
  }
  if (int bits = TokenBits(t); bits < kMinBits) {
    return Status::InvalidArgument(fmt::format("token file {} holds a token of about {} bits, under the {} needed{}",
                                               path, bits, kMinBits, create));
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
