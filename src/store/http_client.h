// HttpClient: one libcurl handle for one thread at a time, reused so that connections are kept
// alive between requests. It moves bytes and reports what happened; deciding what a status code
// means and whether to retry is the caller's business (see s3_client.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>

#include "base/status.h"
#include "store/sigv4.h"

namespace lifeboat::store {

struct HttpRequest {
  std::string method;               // GET, HEAD, PUT, POST, DELETE
  std::string url;                  // already percent-encoded
  HeaderList headers;               // sent as given (Host included); nothing else is signed
  std::span<const uint8_t> body;    // request body; must stay valid during Do()
  const std::atomic<bool>* cancel = nullptr;  // set it to end the transfer from another thread
  // The largest body kept in HttpResponse::body (a sink has no limit). A longer one fails the
  // request: a truncated document must never be parsed as if it were whole.
  size_t max_body = kDefaultMaxBody;
  static constexpr size_t kDefaultMaxBody = 1 << 20;
};

struct HttpResponse {
  long status = 0;                             // 0 when no HTTP response arrived
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;                            // unless streamed to a sink
  // When status is 0: what went wrong on the way (libcurl's code and message).
  int transport_code = 0;
  std::string transport_error;
  bool timed_out = false;
  bool connect_failed = false;
  bool tls_failed = false;  // certificate or handshake: retrying will not help
};

using BodySink = std::function<Status(std::span<const uint8_t>)>;

struct HttpOptions {
  long connect_timeout_ms = 10000;
  // A transfer slower than 1 KiB/s for this long is abandoned as timed out (a stuck peer).
  long low_speed_time_s = 60;
  std::string ca_file;  // "" = the system's trust store
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request. With `sink`, a 2xx body goes to it in chunks instead of into
  // response->body. Returns non-OK only when the sink failed, the transfer was cancelled or the
  // body exceeded request.max_body (IOError naming the URL and the size);
  // network trouble is described in *response (status 0).
  Status Do(const HttpRequest& request, const BodySink* sink, HttpResponse* response);

 private:
  void* curl_;  // CURL*, kept out of this header
  HttpOptions options_;
};

}  // namespace lifeboat::store
