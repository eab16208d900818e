// check_request_framing (server/request_framing.h) on request headers as
// clients and attackers write them; the gate tests (connection_gate_test.cc)
// send the same through the real server.
#include "server/request_framing.h"

#include <gtest/gtest.h>

#include <string>

namespace nucleus::server {
namespace {

constexpr size_t kMaxBody = 1000;

FramingVerdict check(std::string& request) { return check_request_framing(request, kMaxBody); }

TEST(RequestFraming, APlainContentLengthIsServedAsIs) {
  for (const std::string length : {"0", "17", "1000", "0001000"}) {
    std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + "\r\n\r\n{}";
    const std::string before = request;
    EXPECT_EQ(check(request).status, 0) << length;
    EXPECT_EQ(request, before) << length;
  }
  std::string spaced = "POST / HTTP/1.1\r\ncontent-length:  \t12 \r\n\r\n";
  EXPECT_EQ(check(spaced).status, 0);
  std::string repeated = "POST / HTTP/1.1\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\n";
  EXPECT_EQ(check(repeated).status, 0);
}

TEST(RequestFraming, AContentLengthThatIsNotADecimalNumberIs400) {
  for (const std::string length : {"abc", "-5", "+5", "5 5", "0x10", "1e3", "", "12,12", "５"}) {
    std::string request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + "\r\n\r\nGET /version HTTP/1.1\r\n\r\n";
    const FramingVerdict v = check(request);
    EXPECT_EQ(v.status, 400) << "'" << length << "'";
    EXPECT_NE(v.message.find("Content-Length"), std::string::npos) << v.message;
  }
}

TEST(RequestFraming, ConflictingFramingIsRefused) {
  std::string two = "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
  EXPECT_EQ(check(two).status, 400);
  std::string both = "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(check(both).status, 400);
  std::string gzip = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
  EXPECT_EQ(check(gzip).status, 501);
  std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  const std::string before = chunked;
  EXPECT_EQ(check(chunked).status, 0);
  EXPECT_EQ(chunked, before);
}

TEST(RequestFraming, ADeclaredLengthOverMaxBodyIs413) {
  for (const std::string length : {"1001", "9000000", "99999999999999999999999999"}) {
    std::string request = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: " + length + "\r\n\r\n";
    const FramingVerdict v = check(request);
    EXPECT_EQ(v.status, 413) << length;
    EXPECT_NE(v.message.find("--max-body (1000 bytes)"), std::string::npos) << v.message;
  }
}

TEST(RequestFraming, NoLengthAtAllMeansAnEmptyBody) {
  std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\n\r\n";
  EXPECT_EQ(check(request).status, 0);
  EXPECT_EQ(request, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
  std::string no_headers = "GET /health HTTP/1.1\r\n\r\n";
  EXPECT_EQ(check(no_headers).status, 0);
  EXPECT_EQ(no_headers, "GET /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
}

// httplib (as Debian builds it) ends header lines only at CRLF: a header it
// would read differently from the gate is refused, so nothing hides behind it.
TEST(RequestFraming, HeadersThatHttplibWouldReadOtherwiseAre400) {
  for (std::string request : {
           std::string("POST /tokenize HTTP/1.1\r\nHost: x\n\nContent-Length: abc\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nX: a\n\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\n\n\n"),
           std::string("POST / HTTP/1.1\nHost: x\n\n"),
           std::string("POST / HTTP/1.1\r\nHost: x\nContent-Length: 5\r\n\r\nhello"),
           std::string("POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello"),
           std::string("POST / HTTP/1.1\r\nHost: x\r\n Content-Length: 5\r\n\r\nhello"),
           std::string("POST / HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n"),
       }) {
    const std::string shown = request;
    EXPECT_EQ(check(request).status, 400) << shown;
  }
}

// httplib reads no body for GET (or HEAD, OPTIONS): one would be parsed as the next request.
TEST(RequestFraming, ABodyOnAMethodWithoutOneIs400) {
  for (const std::string method : {"GET", "HEAD", "OPTIONS"}) {
    std::string with_length = method + " /health HTTP/1.1\r\nContent-Length: 24\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n";
    EXPECT_EQ(check(with_length).status, 400) << method;
    std::string chunked = method + " /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    EXPECT_EQ(check(chunked).status, 400) << method;
    std::string empty = method + " /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(check(empty).status, 0) << method;
  }
  for (const std::string method : {"POST", "PUT", "PATCH", "DELETE"}) {
    std::string with_length = method + " /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
    EXPECT_EQ(check(with_length).status, 0) << method;
  }
}

TEST(RequestFraming, OnlyTheFirstHeaderIsRead) {
  // A Content-Length in the body (or in the next pipelined request) is not this request's.
  std::string request = "POST / HTTP/1.1\r\nContent-Length: 30\r\n\r\nX: y\r\nContent-Length: abc\r\n\r\n";
  EXPECT_EQ(check(request).status, 0);
}

}  // namespace
}  // namespace nucleus::server
