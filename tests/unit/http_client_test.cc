// HTTP reply bodies kept in memory have a cap; a body over it is an error naming the URL and the
// size, never a truncated document parsed as whole. An S3 listing page may be larger than the
// default cap and is still read completely. The server is cpp-httplib on a loopback port.
#include "store/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <thread>

#include "store/s3_client.h"
#include "store/s3_location.h"

namespace lifeboat::store {
namespace {

class LoopbackServer {
 public:
  LoopbackServer() {
    server_.Get(R"(/big/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::string(std::stoul(req.matches[1].str()), 'x'), "application/octet-stream");
    });
    // A ListObjectsV2 page of 3000 keys of 400 bytes each: about 1.5 MB of XML.
    server_.Get("/bucket", [](const httplib::Request&, httplib::Response& res) {
      std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>bucket</Name>";
      for (int i = 0; i < 3000; ++i) {
        char n[8];
        std::snprintf(n, sizeof n, "%05d", i);
        xml += "<Contents><Key>p/" + std::string(400, 'k') + n + "</Key><Size>7</Size>"
               "<LastModified>2026-11-25T04:00:00.000Z</LastModified><ETag>\"e\"</ETag></Contents>";
      }
      xml += "<IsTruncated>false</IsTruncated></ListBucketResult>";
      res.set_content(xml, "application/xml");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // The socket listens from bind_to_any_port on; this only keeps stop() from racing the loop.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpClientTest, BodyOverTheCapIsAnErrorNotATruncatedBody) {
  LoopbackServer server;
  ASSERT_GT(server.port(), 0);
  HttpClient http(HttpOptions{});
  HttpResponse r;
  const size_t cap = HttpRequest::kDefaultMaxBody;
  HttpRequest at_cap{"GET", server.url("/big/" + std::to_string(cap)), {}, {}, nullptr};
  ASSERT_TRUE(http.Do(at_cap, nullptr, &r).ok());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), cap);

  HttpRequest over{"GET", server.url("/big/" + std::to_string(cap + 1)), {}, {}, nullptr};
  Status s = http.Do(over, nullptr, &r);
  ASSERT_FALSE(s.ok()) << "a body of " << r.body.size() << " bytes came back as if whole";
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find(over.url), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("Content-Length " + std::to_string(cap + 1)), std::string::npos) << s.ToString();

  // A caller that expects more says so.
  HttpRequest raised{"GET", server.url("/big/" + std::to_string(3 * cap)), {}, {}, nullptr, 4 * cap};
  ASSERT_TRUE(http.Do(raised, nullptr, &r).ok());
  EXPECT_EQ(r.body.size(), 3 * cap);
}

TEST(HttpClientTest, ListingPageLargerThanTheDefaultCapIsReadWhole) {
  LoopbackServer server;
  ASSERT_GT(server.port(), 0);
  auto loc = ParseS3Url("s3://bucket/p?endpoint=" + server.url("") + "&style=path&region=us-east-1",
                        [](std::string_view) -> std::optional<std::string> { return std::nullopt; });
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  S3Options o;
  o.max_attempts = 1;
  S3Client client(*loc, Credentials{"AKIDEXAMPLE", "secret", "", "test"}, o);
  auto page = client.ListObjectsV2("p/", "");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 3000u);
  EXPECT_EQ(page->objects.back().key, "p/" + std::string(400, 'k') + "02999");
  EXPECT_TRUE(page->next_token.empty());
}

}  // namespace
}  // namespace lifeboat::store
