#include "store/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "fmt/format.h"

namespace lifeboat::store {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* request;
  const BodySink* sink;
  HttpResponse* response;
  const std::atomic<bool>* cancel;
  size_t sent = 0;
  Status sink_status;
};

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const auto body = t->request->body;
  size_t len = std::min(size * n, body.size() - t->sent);
  std::memcpy(buf, body.data() + t->sent, len);
  t->sent += len;
  return len;
}

// libcurl rewinds when it must resend the body (a redirect, a reused connection that closed).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->request->body.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->sink != nullptr && t->response->status / 100 == 2) {
    t->sink_status = (*t->sink)(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), len));
    return t->sink_status.ok() ? len : 0;  // 0 makes libcurl stop with CURLE_WRITE_ERROR
  }
  if (t->response->body.size() + len > t->request->max_body) {
    auto length = t->response->headers.find("content-length");
    t->sink_status = Status::IOError(fmt::format(
        "the response to {} {} is larger than the {} bytes accepted ({} received{}): refusing a truncated body",
        t->request->method, t->request->url, t->request->max_body, t->response->body.size() + len,
        length == t->response->headers.end() ? std::string() : ", Content-Length " + length->second));
    return 0;  // CURLE_WRITE_ERROR
  }
  t->response->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response starts (after a 100 Continue, for instance): forget the previous one.
    t->response->headers.clear();
    size_t sp = line.find(' ');
    t->response->status = sp == std::string_view::npos ? 0 : std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  t->response->headers[name] = std::string(value);
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->cancel != nullptr && t->cancel->load() ? 1 : 0;  // non-zero aborts the transfer
}

}  // namespace

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {
  GlobalInit();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

namespace {

// The request's headers as libcurl takes them; the caller frees the list.
curl_slist* CurlHeaders(const HttpRequest& request) {
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // No "Expect: 100-continue" round trip before each part; an early rejection costs one part.
  headers = curl_slist_append(headers, "Expect:");
  // libcurl would add its own form Content-Type to POSTs; S3 bodies here are XML or bytes.
  bool has_type = std::any_of(request.headers.begin(), request.headers.end(),
                              [](const auto& h) { return strcasecmp(h.first.c_str(), "content-type") == 0; });
  if (!has_type) headers = curl_slist_append(headers, "Content-Type:");
  return headers;
}

// The options every request shares: timeouts that catch a stalled peer, and the callbacks
// that move the body through `t`.
void SetCommonOptions(CURL* c, const HttpOptions& options, const std::string& url, curl_slist* headers, Transfer* t) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options.low_speed_time_s);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
}

// The method, and for PUT and POST the body read from the request through `t` (seekable, so
// libcurl can resend it).
void SetMethod(CURL* c, const HttpRequest& request, Transfer* t) {
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, t);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
    if (request.method == "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
}

// A transport failure is a response, not an error: the caller decides whether it retries, and
// the flags say which kind it was.
void RecordTransportError(CURLcode rc, const char* error, HttpResponse* response) {
  response->status = 0;  // a half-received response is no response
  response->transport_code = rc;
  response->transport_error = error[0] != '\0' ? error : curl_easy_strerror(rc);
  response->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
  response->connect_failed = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
  response->tls_failed = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
                         rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE;
}

}  // namespace

Status HttpClient::Do(const HttpRequest& request, const BodySink* sink, HttpResponse* response) {
  *response = HttpResponse();
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) return Status::Internal("libcurl could not be initialised (out of memory?)");
  curl_easy_reset(c);  // keeps the connection cache, drops the previous request's options
  Transfer t{&request, sink, response, request.cancel, 0, Status::OK()};

  curl_slist* headers = CurlHeaders(request);
  SetCommonOptions(c, options_, request.url, headers, &t);
  SetMethod(c, request, &t);

  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);

  if (rc == CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    response->status = code;
    return Status::OK();
  }
  if (!t.sink_status.ok()) return t.sink_status;
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Aborted("transfer cancelled");
  RecordTransportError(rc, error, response);
  return Status::OK();
}

}  // namespace lifeboat::store
