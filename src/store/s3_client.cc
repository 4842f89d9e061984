#include "store/s3_client.h"

#include <openssl/evp.h>

#include <ctime>
#include <optional>
#include <random>
#include <thread>

#include "base/sha256.h"
#include "base/timefmt.h"
#include "fmt/format.h"
#include "store/s3_xml.h"
#include "store/sigv4.h"

namespace lifeboat::store {

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

std::span<const uint8_t> AsBytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// Content-MD5: S3 demands it (or a checksum header) for DeleteObjects and lifecycle PUTs.
std::string Md5Base64(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

// "Tue, 24 Nov 2026 20:37:12 GMT" (HTTP dates: Date, Last-Modified) -> seconds; 0 if unparsable.
int64_t ParseHttpDate(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

int64_t ParseIsoSeconds(const std::string& s) {
  auto t = ParseRFC3339(s);
  if (!t.ok()) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
}

std::string Header(const HttpResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

struct S3Client::Call {
  std::string op{};  // what we were doing, for messages: "upload", "list", ...
  std::string method{};
  std::string key{};  // full key; "" = the bucket
  Query query{};
  HeaderList headers{};  // extra headers, all signed
  std::span<const uint8_t> body{};
  const BodySink* sink = nullptr;
  bool ranged = false;
  uint64_t range_offset = 0, range_length = 0;  // length 0: to the end
  const std::atomic<bool>* cancel = nullptr;
  bool error_in_ok_body = false;  // CompleteMultipartUpload can fail inside a 200 reply
  size_t max_body = HttpRequest::kDefaultMaxBody;  // a reply body (not a sink's) larger than this fails
};

namespace {
// A listing page of 1000 keys of up to 1024 bytes each, with their XML, stays well below this.
constexpr size_t kMaxListingBody = 16 << 20;
}  // namespace

S3Client::S3Client(S3Location location, Credentials credentials, S3Options options)
    : location_(std::move(location)), credentials_(std::move(credentials)), options_(std::move(options)) {}

S3Client::~S3Client() = default;

std::unique_ptr<HttpClient> S3Client::Acquire() {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.empty()) return std::make_unique<HttpClient>(options_.http);
  auto h = std::move(pool_.back());
  pool_.pop_back();
  return h;
}

void S3Client::Release(std::unique_ptr<HttpClient> http) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  pool_.push_back(std::move(http));
}

namespace {

// Refusals whose fix is on this machine: the keys, the session token or the clock. nullopt
// when `code` is none of them.
std::optional<Status> CredentialError(std::string_view code, const Credentials& credentials,
                                      const std::string& endpoint, int64_t clock_offset_s) {
  const std::string& id = credentials.access_key_id;
  if (code == "SignatureDoesNotMatch") {
    return Status::Unauthenticated(fmt::format(
        "S3 rejected the signature for access key {} (check AWS_SECRET_ACCESS_KEY / the profile; keys from {})", id,
        credentials.source));
  }
  if (code == "InvalidAccessKeyId") {
    return Status::Unauthenticated(fmt::format(
        "S3 at {} does not know access key {} (check AWS_ACCESS_KEY_ID / the profile; keys from {})",
        endpoint, id, credentials.source));
  }
  if (code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired") {
    return Status::Unauthenticated(fmt::format(
        "S3 refused the session token of access key {} ({}; refresh the temporary credentials in AWS_SESSION_TOKEN "
        "or the profile)",
        id, code));
  }
  if (code == "RequestTimeTooSkewed") {
    return Status::FailedPrecondition(fmt::format(
        "S3 rejected the request time: this machine's clock is about {} s off the server's (sync it with NTP)",
        clock_offset_s));
  }
  return std::nullopt;
}

// Refusals whose fix is in the store URL: the bucket's region, its endpoint, the bucket
// itself. nullopt when the reply is none of them.
std::optional<Status> AddressError(const S3Location& location, const HttpResponse& r, std::string_view code,
                                   const std::string& detail) {
  std::string region = Header(r, "x-amz-bucket-region");
  if (region.empty()) region = XmlText(r.body, "Region");
  if ((r.status == 301 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") && !region.empty() &&
      region != location.region) {
    return Status::InvalidArgument(fmt::format(
        "bucket {} is in region {}, not {} (add region={} to the store URL or set AWS_REGION)", location.bucket,
        region, location.region, region));
  }
  if (r.status == 301 || code == "PermanentRedirect") {
    return Status::InvalidArgument(fmt::format(
        "S3 says bucket {} must be addressed through another endpoint than {} ({}; fix endpoint=/region= in the "
        "store URL)",
        location.bucket, location.Endpoint(), detail));
  }
  if (code == "NoSuchBucket") {
    return Status::NotFound(fmt::format("bucket {} does not exist at {} (create it, or fix the bucket in --store)",
                                        location.bucket, location.Endpoint()));
  }
  return std::nullopt;
}

// Something the request names that does not exist (the object, the upload, the lifecycle
// configuration). nullopt when the reply is none of them.
std::optional<Status> MissingError(const S3Location& location, std::string_view method, const HttpResponse& r,
                                   std::string_view code, const std::string& target) {
  if (code == "NoSuchKey" || (r.status == 404 && method == "HEAD")) {
    return Status::NotFound(fmt::format("no object {} (run `lifeboat list` to see what exists)", target));
  }
  if (code == "NoSuchUpload") {
    return Status::NotFound(fmt::format("the multipart upload of {} no longer exists (aborted or expired)", target));
  }
  if (code == "NoSuchLifecycleConfiguration") {
    return Status::NotFound(fmt::format("bucket {} has no lifecycle configuration", location.bucket));
  }
  return std::nullopt;
}

}  // namespace

// Turns a refused request into a message that names the fix: the credentials, the store URL,
// what is missing, then the quota, the permissions and the server, in that order.
Status S3Client::ErrorStatus(const Call& call, const HttpResponse& r, std::string_view code,
                             std::string_view message) const {
  const std::string target =
      call.key.empty() ? "s3://" + location_.bucket : fmt::format("s3://{}/{}", location_.bucket, call.key);
  const std::string& id = credentials_.access_key_id;
  const std::string detail = fmt::format("HTTP {}{}{}{}", r.status, code.empty() ? "" : " ", code,
                                         message.empty() ? "" : ": " + std::string(message));
  if (auto s = CredentialError(code, credentials_, location_.Endpoint(), clock_offset_s_.load())) return *s;
  if (auto s = AddressError(location_, r, code, detail)) return *s;
  if (auto s = MissingError(location_, call.method, r, code, target)) return *s;
  if (code == "QuotaExceeded") {
    return Status::FailedPrecondition(fmt::format(
        "S3 refused to {} {}: the quota of access key {} (or of the bucket) is used up (free space or raise it)",
        call.op, target, id));
  }
  if (r.status == 403) {
    if (call.method == "HEAD" && code.empty()) {
      // HEAD replies have no body, so a wrong secret and a missing permission look alike.
      return Status::PermissionDenied(fmt::format(
          "S3 refused {} {} to access key {} (HTTP 403: a wrong AWS_SECRET_ACCESS_KEY or a missing permission)",
          call.op, target, id));
    }
    return Status::PermissionDenied(fmt::format(
        "S3 denied {} {} to access key {} ({}; grant the permission in the bucket policy or IAM)", call.op, target,
        id, detail));
  }
  if (r.status >= 500 || r.status == 429) {
    return Status::Unavailable(fmt::format("S3 {} {} failed: {} (the server is overloaded or failing)", call.op,
                                           target, detail));
  }
  return Status::FailedPrecondition(fmt::format("S3 {} {} failed: {}", call.op, target, detail));
}

// What a streamed GET has handed to its sink so far: a retry resumes after it, on the same
// object version.
struct S3Client::Resume {
  uint64_t delivered = 0;
  std::string etag;
};

SigV4Request S3Client::SignedRequest(const Call& call, const std::string& path, const std::string& payload_sha256,
                                     const Resume& resume) const {
  SigV4Request req{call.method, path, call.query,
                   {{"Host", location_.Host()}, {"x-amz-content-sha256", payload_sha256}}, payload_sha256};
  req.headers.insert(req.headers.end(), call.headers.begin(), call.headers.end());
  if (call.sink != nullptr && (call.ranged || resume.delivered > 0)) {
    const uint64_t start = call.range_offset + resume.delivered;
    req.headers.emplace_back("Range", call.range_length == 0
                                          ? fmt::format("bytes={}-", start)
                                          : fmt::format("bytes={}-{}", start, call.range_offset + call.range_length - 1));
    if (resume.delivered > 0 && !resume.etag.empty()) req.headers.emplace_back("If-Match", resume.etag);
  }
  const auto now = std::chrono::system_clock::now() + std::chrono::seconds(clock_offset_s_.load());
  SignV4(&req, credentials_, location_.region, "s3", AmzDate(now));
  return req;
}

// No HTTP reply at all. Retryable, except a TLS failure, which retrying does not mend.
Status S3Client::TransportError(const Call& call, const HttpResponse& r, bool* retry) const {
  const std::string target = call.key.empty() ? location_.bucket : location_.bucket + "/" + call.key;
  *retry = !r.tls_failed;
  if (r.tls_failed) {
    return Status::Unavailable(fmt::format(
        "TLS with S3 endpoint {} failed: {} (check the endpoint's certificate; AWS_CA_BUNDLE names a CA file)",
        location_.Endpoint(), r.transport_error));
  }
  if (r.connect_failed) {
    return Status::Unavailable(
        fmt::format("cannot reach S3 endpoint {}: {} (check endpoint= in the store URL and that the server is up)",
                    location_.Endpoint(), r.transport_error));
  }
  if (r.timed_out) {
    return Status::DeadlineExceeded(fmt::format("S3 {} {} timed out: {}", call.op, target, r.transport_error));
  }
  return Status::Unavailable(fmt::format("S3 {} {} failed on the network: {}", call.op, target, r.transport_error));
}

// The signature carries our clock; AWS refuses it beyond 15 minutes of skew. Learns the server's
// time from the refusal (as AWS's SDKs do), so that one more signing succeeds: a backup must not
// be lost to a bad clock. False when the reply does not say the server's time.
bool S3Client::LearnServerClock(const HttpResponse& r) {
  int64_t server = ParseIsoSeconds(XmlText(r.body, "ServerTime"));
  if (server == 0) server = ParseHttpDate(Header(r, "date"));
  if (server == 0) return false;
  const auto local =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  clock_offset_s_ = server - local;
  return true;
}

// Exponential backoff with full jitter: concurrent part uploads must not retry in lockstep.
// Aborted when the call is cancelled while waiting.
Status S3Client::Backoff(const Call& call, int attempt) const {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const int64_t ceiling =
      std::min<int64_t>(options_.backoff_cap.count(), options_.backoff_base.count() << std::min(attempt - 1, 20));
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, ceiling)(rng));
  while (std::chrono::steady_clock::now() < until) {
    if (call.cancel != nullptr && call.cancel->load()) return Status::Aborted("S3 " + call.op + " cancelled");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::OK();
}

Result<HttpResponse> S3Client::Execute(const Call& call) {
  const std::string payload_sha256 = HexEncode(Sha256::Of(call.body));
  const std::string path = location_.Path(call.key);
  std::string url = location_.scheme + "://" + location_.Host() + UriEncode(path, true);
  if (!call.query.empty()) url += "?" + CanonicalQuery(call.query);

  Resume resume;
  BodySink counting;
  if (call.sink != nullptr) {
    counting = [&](std::span<const uint8_t> d) {
      resume.delivered += d.size();
      return (*call.sink)(d);
    };
  }
  bool skew_fixed = false;
  for (int attempt = 1;; ++attempt) {
    if (call.cancel != nullptr && call.cancel->load()) return Status::Aborted("S3 " + call.op + " cancelled");
    SigV4Request req = SignedRequest(call, path, payload_sha256, resume);
    HttpRequest hreq{call.method, url, std::move(req.headers), call.body, call.cancel, call.max_body};
    HttpResponse r;
    auto http = Acquire();
    const uint64_t before = resume.delivered;
    Status st = http->Do(hreq, call.sink != nullptr ? &counting : nullptr, &r);
    Release(std::move(http));
    if (!st.ok()) return st;  // the sink refused the data, or we were cancelled
    if (resume.etag.empty() && resume.delivered > before) resume.etag = Header(r, "etag");

    bool retry = false;
    Status err;
    if (r.status == 0) {
      err = TransportError(call, r, &retry);
    } else {
      const bool ok_status = r.status / 100 == 2;
      const bool error_body = call.error_in_ok_body && ok_status && !XmlElements(r.body, "Error").empty();
      if (ok_status && !error_body) return r;
      const std::string code = XmlText(r.body, "Code");
      if (error_body) r.status = 500;  // S3 documents these as retryable server errors
      if (code == "RequestTimeTooSkewed" && !skew_fixed && LearnServerClock(r)) {
        skew_fixed = true;
        continue;
      }
      retry = r.status >= 500 || r.status == 429 || code == "RequestTimeout" || code == "SlowDown";
      err = ErrorStatus(call, r, code, XmlText(r.body, "Message"));
    }
    if (!retry) return err;
    if (attempt >= options_.max_attempts) {
      std::string msg = fmt::format("{} (gave up after {} attempts)", err.message(), attempt);
      return err.code() == Status::Code::kDeadlineExceeded ? Status::DeadlineExceeded(msg) : Status::Unavailable(msg);
    }
    LB_RETURN_IF_ERROR(Backoff(call, attempt));
  }
}

namespace {

// x-amz-object-lock-* of a locked write; none otherwise.
HeaderList LockHeaders(const WriteOptions& o) {
  if (!o.locks()) return {};
  const auto until = std::chrono::system_clock::time_point(std::chrono::seconds(o.retain_until_unix));
  return {{"x-amz-object-lock-mode", o.lock_mode}, {"x-amz-object-lock-retain-until-date", FormatRFC3339(until)}};
}

}  // namespace

Status S3Client::PutObject(std::string_view key, std::span<const uint8_t> body, const WriteOptions& options) {
  Call c{.op = "upload", .method = "PUT", .key = std::string(key), .headers = LockHeaders(options), .body = body};
  if (options.locks()) {
    c.headers.emplace_back("Content-MD5", Md5Base64({reinterpret_cast<const char*>(body.data()), body.size()}));
  }
  auto r = Execute(c);
  return r.status();
}

Status S3Client::GetObject(std::string_view key, uint64_t offset, uint64_t length, const BodySink& sink) {
  Call c{.op = "download", .method = "GET", .key = std::string(key), .sink = &sink};
  c.ranged = offset > 0 || length > 0;
  c.range_offset = offset;
  c.range_length = length;
  auto r = Execute(c);
  return r.status();
}

Result<S3Object> S3Client::HeadObject(std::string_view key) {
  Call c{.op = "inspect", .method = "HEAD", .key = std::string(key)};
  LB_ASSIGN_OR_RETURN(HttpResponse r, Execute(c));
  S3Object o;
  o.key = std::string(key);
  o.size = std::strtoull(Header(r, "content-length").c_str(), nullptr, 10);
  o.mtime_unix = ParseHttpDate(Header(r, "last-modified"));
  o.etag = Header(r, "etag");
  o.lock_mode = Header(r, "x-amz-object-lock-mode");
  o.retain_until_unix = ParseIsoSeconds(Header(r, "x-amz-object-lock-retain-until-date"));
  return o;
}

Result<S3ListPage> S3Client::ListObjectsV2(std::string_view prefix, std::string_view continuation_token) {
  Call c{.op = "list", .method = "GET", .max_body = kMaxListingBody};
  c.query = {{"list-type", "2"}, {"prefix", std::string(prefix)}};
  if (options_.list_page_size != 1000) c.query.emplace_back("max-keys", std::to_string(options_.list_page_size));
  if (!continuation_token.empty()) c.query.emplace_back("continuation-token", std::string(continuation_token));
  LB_ASSIGN_OR_RETURN(HttpResponse r, Execute(c));
  S3ListPage page;
  for (std::string_view item : XmlElements(r.body, "Contents")) {
    S3Object o;
    o.key = XmlText(item, "Key");
    o.size = std::strtoull(XmlText(item, "Size").c_str(), nullptr, 10);
    o.mtime_unix = ParseIsoSeconds(XmlText(item, "LastModified"));
    o.etag = XmlText(item, "ETag");
    page.objects.push_back(std::move(o));
  }
  if (XmlText(r.body, "IsTruncated") == "true") {
    page.next_token = XmlText(r.body, "NextContinuationToken");
    if (page.next_token.empty()) {
      return Status::Internal(fmt::format("S3 list of s3://{} is truncated but has no continuation token",
                                          location_.bucket));
    }
  }
  return page;
}

Status S3Client::DeleteObject(std::string_view key) {
  Call c{.op = "delete", .method = "DELETE", .key = std::string(key)};
  return Execute(c).status();
}

Result<std::vector<std::string>> S3Client::DeleteObjects(const std::vector<std::string>& keys) {
  if (keys.size() > 1000) {
    return Status::InvalidArgument(fmt::format("DeleteObjects takes at most 1000 keys, not {}", keys.size()));
  }
  std::vector<std::string> failed;
  if (keys.empty()) return failed;
  std::string xml = "<Delete><Quiet>true</Quiet>";
  for (const auto& k : keys) xml += "<Object><Key>" + XmlEscape(k) + "</Key></Object>";
  xml += "</Delete>";
  Call c{.op = "delete", .method = "POST", .query = {{"delete", ""}}, .body = AsBytes(xml)};
  c.headers = {{"Content-MD5", Md5Base64(xml)}, {"Content-Type", "application/xml"}};
  LB_ASSIGN_OR_RETURN(HttpResponse r, Execute(c));
  for (std::string_view e : XmlElements(r.body, "Error")) {
    failed.push_back(fmt::format("{}: {} {}", XmlText(e, "Key"), XmlText(e, "Code"), XmlText(e, "Message")));
  }
  return failed;
}

Result<std::string> S3Client::CreateMultipartUpload(std::string_view key, const WriteOptions& options) {
  Call c{.op = "start the upload of", .method = "POST", .key = std::string(key), .query = {{"uploads", ""}},
         .headers = LockHeaders(options)};
  LB_ASSIGN_OR_RETURN(HttpResponse r, Execute(c));
  std::string id = XmlText(r.body, "UploadId");
  if (id.empty()) {
    return Status::Internal(fmt::format("S3 started an upload of s3://{}/{} without an UploadId", location_.bucket, key));
  }
  return id;
}

Result<std::string> S3Client::UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                         std::span<const uint8_t> data, const std::atomic<bool>* cancel, bool md5) {
  Call c{.op = fmt::format("upload part {} of", part_number), .method = "PUT", .key = std::string(key)};
  c.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", std::string(upload_id)}};
  if (md5) c.headers.emplace_back("Content-MD5", Md5Base64({reinterpret_cast<const char*>(data.data()), data.size()}));
  c.body = data;
  c.cancel = cancel;
  LB_ASSIGN_OR_RETURN(HttpResponse r, Execute(c));
  std::string etag = Header(r, "etag");
  if (etag.empty()) {
    return Status::Internal(fmt::format("S3 stored part {} of s3://{}/{} but sent no ETag", part_number,
                                        location_.bucket, key));
  }
  return etag;
}

Status S3Client::CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                         const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, XmlEscape(etags[i]));
  }
  xml += "</CompleteMultipartUpload>";
  Call c{.op = "complete the upload of", .method = "POST", .key = std::string(key),
         .query = {{"uploadId", std::string(upload_id)}}, .body = AsBytes(xml)};
  c.headers = {{"Content-Type", "application/xml"}};
  c.error_in_ok_body = true;
  return Execute(c).status();
}

Status S3Client::AbortMultipartUpload(std::string_view key, std::string_view upload_id) {
  Call c{.op = "abort the upload of", .method = "DELETE", .key = std::string(key),
         .query = {{"uploadId", std::string(upload_id)}}};
  Status s = Execute(c).status();
  return s.code() == Status::Code::kNotFound ? Status::OK() : s;  // already gone is what we wanted
}

Status S3Client::PutObjectRetention(std::string_view key, const WriteOptions& options) {
  const auto until = std::chrono::system_clock::time_point(std::chrono::seconds(options.retain_until_unix));
  const std::string xml = "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>" + options.lock_mode +
                          "</Mode><RetainUntilDate>" + FormatRFC3339(until) + "</RetainUntilDate></Retention>";
  Call c{.op = "lock", .method = "PUT", .key = std::string(key), .query = {{"retention", ""}}, .body = AsBytes(xml)};
  c.headers = {{"Content-MD5", Md5Base64(xml)}, {"Content-Type", "application/xml"}};
  return Execute(c).status();
}

Result<std::vector<S3Upload>> S3Client::ListMultipartUploads(std::string_view prefix) {
  std::vector<S3Upload> out;
  std::string key_marker, id_marker;
  while (true) {
    Call c{.op = "list uploads in", .method = "GET", .query = {{"uploads", ""}, {"prefix", std::string(prefix)}},
           .max_body = kMaxListingBody};
    if (!key_marker.empty()) c.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) c.query.emplace_back("upload-id-marker", id_marker);
    LB_ASSIGN_OR_RETURN(HttpResponse r, Execute(c));
    for (std::string_view u : XmlElements(r.body, "Upload")) out.push_back({XmlText(u, "Key"), XmlText(u, "UploadId")});
    if (XmlText(r.body, "IsTruncated") != "true") break;
    key_marker = XmlText(r.body, "NextKeyMarker");
    id_marker = XmlText(r.body, "NextUploadIdMarker");
    if (key_marker.empty() && id_marker.empty()) break;
  }
  return out;
}

Result<std::string> S3Client::GetBucketLifecycleConfiguration() {
  Call c{.op = "read the lifecycle of", .method = "GET", .query = {{"lifecycle", ""}}, .max_body = kMaxListingBody};
  LB_ASSIGN_OR_RETURN(HttpResponse r, Execute(c));
  return std::move(r.body);
}

Status S3Client::PutBucketLifecycleConfiguration(std::string_view xml) {
  Call c{.op = "set the lifecycle of", .method = "PUT", .query = {{"lifecycle", ""}}, .body = AsBytes(xml)};
  c.headers = {{"Content-MD5", Md5Base64(xml)}, {"Content-Type", "application/xml"}};
  return Execute(c).status();
}

Status S3Client::CreateBucket(bool object_lock) {
  std::string xml;
  if (location_.region != "us-east-1") {
    xml = "<CreateBucketConfiguration><LocationConstraint>" + XmlEscape(location_.region) +
          "</LocationConstraint></CreateBucketConfiguration>";
  }
  Call c{.op = "create", .method = "PUT", .body = AsBytes(xml)};
  if (object_lock) c.headers.emplace_back("x-amz-bucket-object-lock-enabled", "true");
  auto r = Execute(c);
  if (!r.ok() && r.status().message().find("BucketAlreadyOwnedByYou") != std::string::npos) return Status::OK();
  return r.status();
}

}  // namespace lifeboat::store
