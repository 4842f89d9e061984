// The SigV4 signer against AWS's published test suite and the S3 documentation's examples
// (tests/data/sigv4/*.txt): canonical request, string to sign and signature, byte for byte.
#include "store/sigv4.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/sha256.h"

namespace lifeboat::store {
namespace {

struct Vector {
  std::string name;
  std::map<std::string, std::string> fields;    // access-key, region, time, ...
  std::map<std::string, std::string> sections;  // request, canonical-request, ...
};

// File format: "# comment" lines, "field value" lines, then "=== section" blocks whose lines
// (joined by '\n', no trailing newline) are the section's text.
Vector Load(const std::filesystem::path& file) {
  Vector v;
  v.name = file.stem().string();
  std::ifstream in(file, std::ios::binary);
  std::string line, section;
  std::vector<std::string> lines;
  auto flush = [&] {
    if (section.empty()) return;
    std::string text;
    for (size_t i = 0; i < lines.size(); ++i) text += (i ? "\n" : "") + lines[i];
    v.sections[section] = text;
    lines.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("=== ", 0) == 0) {
      flush();
      section = line.substr(4);
    } else if (!section.empty()) {
      lines.push_back(line);
    } else if (!line.empty() && line[0] != '#') {
      size_t sp = line.find(' ');
      v.fields[line.substr(0, sp)] = line.substr(sp + 1);
    }
  }
  flush();
  return v;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The suite's raw HTTP request -> what the signer takes: decoded path and query, headers as
// given (folded continuation lines kept, the signer must collapse them), and the body.
SigV4Request ParseRequest(const std::string& text, std::string* body) {
  SigV4Request r;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  const size_t sp = line.find(' '), http = line.rfind(" HTTP/");
  r.method = line.substr(0, sp);
  std::string target = line.substr(sp + 1, http - sp - 1);
  const size_t q = target.find('?');
  r.path = PercentDecode(target.substr(0, q));
  if (q != std::string::npos) {
    std::string_view query = std::string_view(target).substr(q + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      size_t eq = pair.find('=');
      r.query.emplace_back(PercentDecode(pair.substr(0, eq)),
                           eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1)));
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
  }
  while (std::getline(in, line) && !line.empty()) {
    if ((line[0] == ' ' || line[0] == '\t') && !r.headers.empty()) {
      r.headers.back().second += "\n" + line;
      continue;
    }
    const size_t colon = line.find(':');
    r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  std::ostringstream rest;
  rest << in.rdbuf();
  *body = rest.str();
  return r;
}

std::vector<std::filesystem::path> VectorFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(LB_TEST_DATA) + "/sigv4")) {
    if (e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(SigV4Test, PublishedVectors) {
  const auto files = VectorFiles();
  ASSERT_GE(files.size(), 30u) << "tests/data/sigv4 is missing vectors";
  for (const auto& file : files) {
    Vector v = Load(file);
    SCOPED_TRACE(v.name);
    std::string body;
    SigV4Request req = ParseRequest(v.sections.at("request"), &body);
    std::string payload_hash;
    for (const auto& [name, value] : req.headers) {
      if (name == "x-amz-content-sha256") payload_hash = value;
    }
    if (payload_hash.empty()) {
      payload_hash = HexEncode(Sha256::Of({reinterpret_cast<const uint8_t*>(body.data()), body.size()}));
      if (v.fields["sign-body"] == "yes") req.headers.emplace_back("X-Amz-Content-Sha256", payload_hash);
    }
    req.payload_sha256 = payload_hash;
    Credentials creds{v.fields.at("access-key"), v.fields.at("secret-key"), v.fields["session-token"], "test"};
    SigV4Signature sig = SignV4(&req, creds, v.fields.at("region"), v.fields.at("service"), v.fields.at("time"));
    if (v.sections.count("canonical-request")) {
      EXPECT_EQ(sig.canonical_request, v.sections["canonical-request"]);
    }
    if (v.sections.count("string-to-sign")) {
      EXPECT_EQ(sig.string_to_sign, v.sections["string-to-sign"]);
    }
    EXPECT_EQ(sig.signature, v.sections.at("signature"));
    EXPECT_NE(sig.authorization.find("Signature=" + sig.signature), std::string::npos);
    EXPECT_EQ(sig.authorization.find(creds.secret_access_key), std::string::npos);
  }
}

TEST(SigV4Test, AddsDateTokenAndAuthorizationHeaders) {
  SigV4Request req{"GET", "/", {}, {{"Host", "example.amazonaws.com"}}, std::string(64, '0')};
  Credentials creds{"AKID", "secret", "token", "test"};
  SignV4(&req, creds, "us-east-1", "s3", "20150830T123600Z");
  ASSERT_EQ(req.headers.size(), 4u);
  EXPECT_EQ(req.headers[1], (std::pair<std::string, std::string>{"X-Amz-Date", "20150830T123600Z"}));
  EXPECT_EQ(req.headers[2], (std::pair<std::string, std::string>{"X-Amz-Security-Token", "token"}));
  EXPECT_EQ(req.headers[3].first, "Authorization");
  EXPECT_NE(req.headers[3].second.find("SignedHeaders=host;x-amz-date;x-amz-security-token,"), std::string::npos);
}

TEST(SigV4Test, UriEncodeKeepsOnlyUnreservedAndSlash) {
  EXPECT_EQ(UriEncode("db-etcd/hourly/2026-11-24/20/a_b~c.db", true), "db-etcd/hourly/2026-11-24/20/a_b~c.db");
  EXPECT_EQ(UriEncode("a b+c/d", true), "a%20b%2Bc/d");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4=&*", false), "%E1%88%B4%3D%26%2A");
}

TEST(SigV4Test, CanonicalQuerySortsEncodedNamesThenValues) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"prefix", "a b/"}, {"list-type", "2"}, {"continuation-token", "x=y"}}),
            "continuation-token=x%3Dy&list-type=2&prefix=a%20b%2F");
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"b", "1"}, {"a", ""}}), "a=&b=1&b=2");
}

TEST(SigV4Test, AmzDateIsUtc) {
  EXPECT_EQ(AmzDate(std::chrono::system_clock::from_time_t(1440938160)), "20150830T123600Z");
}

}  // namespace
}  // namespace lifeboat::store
