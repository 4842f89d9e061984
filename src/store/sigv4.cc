#include "store/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "base/sha256.h"
#include "fmt/format.h"

namespace lifeboat::store {

namespace {

using Bytes = std::vector<uint8_t>;

Bytes Hmac(std::span<const uint8_t> key, std::string_view data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Header values are trimmed and every run of whitespace becomes one space, as SigV4 requires
// (folded multi-line values included).
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~' || (c == '/' && keep_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += k + "=" + v;
  }
  return out;
}

SigV4Signature SignV4(SigV4Request* req, const Credentials& creds, std::string_view region,
                      std::string_view service, std::string_view amz_date) {
  req->headers.emplace_back("X-Amz-Date", std::string(amz_date));
  if (!creds.session_token.empty()) req->headers.emplace_back("X-Amz-Security-Token", creds.session_token);

  // Names lowercased and sorted; a header given several times is one line with its values
  // joined by ',' in the order given.
  std::map<std::string, std::string> canon;
  for (const auto& [name, value] : req->headers) {
    std::string& slot = canon[Lower(name)];
    if (!slot.empty()) slot.push_back(',');
    slot += CanonicalValue(value);
  }
  std::string headers, signed_headers;
  for (const auto& [name, value] : canon) {
    headers += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += name;
  }

  SigV4Signature sig;
  sig.canonical_request = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", req->method, UriEncode(req->path, true),
                                      CanonicalQuery(req->query), headers, signed_headers, req->payload_sha256);
  const std::string date(amz_date.substr(0, 8));
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
  sig.string_to_sign = fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, scope,
                                   HexEncode(Sha256::Of(AsBytes(sig.canonical_request))));

  const std::string secret = "AWS4" + creds.secret_access_key;
  Bytes k = Hmac(AsBytes(secret), date);
  k = Hmac(k, region);
  k = Hmac(k, service);
  k = Hmac(k, "aws4_request");
  sig.signature = HexEncode(Hmac(k, sig.string_to_sign));
  sig.authorization = fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                                  creds.access_key_id, scope, signed_headers, sig.signature);
  req->headers.emplace_back("Authorization", sig.authorization);
  return sig;
}

}  // namespace lifeboat::store
