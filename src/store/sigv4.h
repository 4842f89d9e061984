// SigV4: AWS Signature Version 4 for requests authenticated by the Authorization header.
// Sign() adds X-Amz-Date (and X-Amz-Security-Token for temporary credentials) to the request and
// signs every header it carries, so callers put in exactly the headers that must be signed.
// S3 flavour: paths are encoded once and never normalized ("a//b/../c" is signed as is).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/credentials.h"

namespace lifeboat::store {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct SigV4Request {
  std::string method;                                       // "GET", "PUT", ...
  std::string path;                                         // decoded, "/bucket/key name.db"
  std::vector<std::pair<std::string, std::string>> query;   // decoded names and values
  HeaderList headers;                                       // as sent, Host included
  std::string payload_sha256;                               // lowercase hex, or "UNSIGNED-PAYLOAD"
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lowercase hex
  std::string authorization;  // the Authorization header's value
};

// `amz_date` is the signing time as "YYYYMMDDTHHMMSSZ" (see AmzDate). Appends X-Amz-Date, the
// session token header when `creds` has one, and Authorization to req->headers.
SigV4Signature SignV4(SigV4Request* req, const Credentials& creds, std::string_view region,
                      std::string_view service, std::string_view amz_date);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~) stay,
// everything else becomes %XX (uppercase); '/' stays only with keep_slash.
std::string UriEncode(std::string_view s, bool keep_slash);

// "YYYYMMDDTHHMMSSZ" in UTC.
std::string AmzDate(std::chrono::system_clock::time_point t);

// The canonical query string (sorted by encoded name, then value), also used as the URL's query.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace lifeboat::store
