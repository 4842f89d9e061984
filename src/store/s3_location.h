// S3Location: where an S3 store lives, parsed from its URL
//   s3://BUCKET[/PREFIX][?endpoint=URL&region=R&style=virtual|path]
// The URL never carries credentials (see credentials.h). Without endpoint= the endpoint is
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS's https://s3.<region>.amazonaws.com.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "store/credentials.h"

namespace lifeboat::store {

struct S3Location {
  std::string bucket;
  std::string prefix;     // key prefix inside the bucket, no leading or trailing '/'; may be ""
  std::string scheme;     // "https" or "http"
  std::string authority;  // host[:port] of the endpoint, as given
  std::string region;     // the SigV4 scope's region
  bool path_style = false;

  // Host header and URL prefix of a request for `key` ("" = the bucket itself), and the path
  // that is signed (decoded; "/bucket/key" in path style, "/key" in virtual-hosted style).
  std::string Host() const;
  std::string Path(std::string_view key) const;
  std::string Endpoint() const { return scheme + "://" + authority; }
  // "s3://bucket/prefix?endpoint=...&region=...&style=..." : for logs and manifests.
  std::string Describe() const;
};

// InvalidArgument naming the problem and an example for malformed URLs. `env` supplies the
// region and endpoint defaults (AWS_REGION, AWS_DEFAULT_REGION, ~/.aws/config, AWS_ENDPOINT_URL*).
Result<S3Location> ParseS3Url(std::string_view url, const EnvLookup& env);

// Virtual-hosted style unless the endpoint is an IP address or localhost (no DNS name per
// bucket there), or the bucket name cannot be a DNS label.
bool DefaultPathStyle(std::string_view host, std::string_view bucket);

}  // namespace lifeboat::store
