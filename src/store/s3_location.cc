#include "store/s3_location.h"

#include <arpa/inet.h>

#include "fmt/format.h"
#include "store/store.h"

namespace lifeboat::store {

namespace {

constexpr std::string_view kExample =
    "e.g. s3://my-bucket/db-etcd?endpoint=https://obs.cn-north-4.myhuaweicloud.com&region=cn-north-4";

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// S3's rules for bucket names (3-63 of a-z 0-9 . -, starting and ending with a letter or digit).
bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(b.front()) && alnum(b.back());
}

std::string HostOnly(std::string_view authority) {
  if (!authority.empty() && authority[0] == '[') return std::string(authority.substr(1, authority.find(']') - 1));
  return std::string(authority.substr(0, authority.rfind(':')));
}

}  // namespace

bool DefaultPathStyle(std::string_view host, std::string_view bucket) {
  std::string h(host);
  unsigned char buf[16];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1) return true;
  if (h == "localhost") return true;
  // Dots would make the bucket several DNS labels and break the endpoint's TLS wildcard.
  return bucket.find('.') != std::string_view::npos;
}

std::string S3Location::Host() const { return path_style ? authority : bucket + "." + authority; }

std::string S3Location::Path(std::string_view key) const {
  std::string p = path_style ? "/" + bucket : "";
  if (!key.empty() || !path_style) p += "/" + std::string(key);
  return p;
}

std::string S3Location::Describe() const {
  return fmt::format("s3://{}{}{}?endpoint={}&region={}&style={}", bucket, prefix.empty() ? "" : "/", prefix,
                     Endpoint(), region, path_style ? "path" : "virtual");
}

namespace {

Status BadUrl(std::string_view url, std::string_view why) {
  return Status::InvalidArgument(fmt::format("S3 store URL \"{}\": {} ({})", url, why, kExample));
}

// "bucket[/prefix]": the bucket by S3's naming rules, the prefix decoded, without trailing
// slashes, and usable as a key.
Status ParseBucketAndPrefix(std::string_view url, std::string_view rest, S3Location* loc) {
  const size_t slash = rest.find('/');
  loc->bucket = std::string(rest.substr(0, slash));
  if (!ValidBucket(loc->bucket)) {
    return BadUrl(url, fmt::format("\"{}\" is not a bucket name (3-63 characters: a-z, 0-9, '.', '-')", loc->bucket));
  }
  if (slash != std::string_view::npos) {
    std::string prefix = PercentDecode(rest.substr(slash + 1));
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    loc->prefix = prefix;
    if (!prefix.empty() && !ValidateKey(prefix).ok()) {
      return BadUrl(url,
                    fmt::format("\"{}\" is not a usable key prefix (no empty, '.', '..' or hidden parts)", prefix));
    }
  }
  return Status::OK();
}

// The options after '?', each percent-decoded; empty when not given.
struct UrlOptions {
  std::string endpoint, region, style;
};

Result<UrlOptions> ParseOptions(std::string_view url, std::string_view query) {
  UrlOptions opts;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string value = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    if (name == "endpoint") {
      opts.endpoint = value;
    } else if (name == "region") {
      opts.region = value;
    } else if (name == "style") {
      opts.style = value;
    } else {
      // Secrets must never ride in a URL that ends up in logs and manifests.
      return BadUrl(url, fmt::format("unknown option \"{}\" (known: endpoint, region, style; credentials come from "
                                     "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials)",
                                     name));
    }
  }
  return opts;
}

// The region and the endpoint: the URL's, else the environment's, else the defaults. Sets
// loc->region and returns the endpoint URL.
Result<std::string> ResolveRegionAndEndpoint(std::string_view url, const UrlOptions& opts, const EnvLookup& env,
                                             S3Location* loc) {
  loc->region = !opts.region.empty() ? opts.region : LoadRegion(env);
  std::string endpoint = opts.endpoint;
  if (endpoint.empty()) {
    for (const char* name : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
      if (auto v = env(name); v && !v->empty()) {
        endpoint = *v;
        break;
      }
    }
  }
  if (loc->region.empty()) {
    // Ceph and most S3-compatible servers accept any region; AWS's default is us-east-1.
    if (!endpoint.empty()) {
      loc->region = "us-east-1";
    } else {
      return BadUrl(url, "no region: add region=R, or set AWS_REGION");
    }
  }
  if (endpoint.empty()) endpoint = fmt::format("https://s3.{}.amazonaws.com", loc->region);
  return endpoint;
}

// "scheme://host[:port]" into loc->scheme and loc->authority (lower case, no trailing slash).
Status ParseEndpointUrl(std::string_view url, const std::string& endpoint, S3Location* loc) {
  const size_t sep = endpoint.find("://");
  if (sep == std::string::npos) {
    return BadUrl(url, fmt::format("endpoint \"{}\" has no scheme (use https://host[:port])", endpoint));
  }
  loc->scheme = endpoint.substr(0, sep);
  if (loc->scheme != "https" && loc->scheme != "http") {
    return BadUrl(url, fmt::format("endpoint \"{}\" is neither https:// nor http://", endpoint));
  }
  std::string authority = endpoint.substr(sep + 3);
  while (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (authority.empty() || authority.find('/') != std::string::npos || authority.find('@') != std::string::npos) {
    return BadUrl(url, fmt::format("endpoint \"{}\" must be scheme://host[:port] without a path or user", endpoint));
  }
  for (char& c : authority) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  loc->authority = authority;
  return Status::OK();
}

// Path or virtual-hosted style: the URL's choice, else what suits the host and the bucket.
Status ChooseStyle(std::string_view url, const std::string& style, S3Location* loc) {
  if (style.empty()) {
    loc->path_style = DefaultPathStyle(HostOnly(loc->authority), loc->bucket);
  } else if (style == "path" || style == "virtual") {
    loc->path_style = style == "path";
  } else {
    return BadUrl(url, fmt::format("style \"{}\" is neither virtual nor path", style));
  }
  return Status::OK();
}

}  // namespace

Result<S3Location> ParseS3Url(std::string_view url, const EnvLookup& env) {
  if (url.substr(0, 5) != "s3://") return BadUrl(url, "it does not start with s3://");
  std::string_view rest = url.substr(5);
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3Location loc;
  LB_RETURN_IF_ERROR(ParseBucketAndPrefix(url, rest, &loc));
  LB_ASSIGN_OR_RETURN(UrlOptions opts, ParseOptions(url, query));
  LB_ASSIGN_OR_RETURN(std::string endpoint, ResolveRegionAndEndpoint(url, opts, env, &loc));
  LB_RETURN_IF_ERROR(ParseEndpointUrl(url, endpoint, &loc));
  LB_RETURN_IF_ERROR(ChooseStyle(url, opts.style, &loc));
  return loc;
}

}  // namespace lifeboat::store
