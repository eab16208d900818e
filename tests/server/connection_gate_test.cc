// The connection gate through the real HttpServer on loopback (no model: the
// server stays "loading", so /health answers 503 at once): slow and silent
// clients hold no worker, header deadline and size, the connection cap,
// keep-alive and pipelining, and a stop that no client can delay.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "server/http_server.h"

namespace nucleus::server {
namespace {

using Clock = std::chrono::steady_clock;

int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  close(s);
  return ntohs(addr.sin_port);
}

int connect_to(int port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(s);
    return -1;
  }
  return s;
}

void send_all(int s, const std::string& data) { send(s, data.data(), data.size(), MSG_NOSIGNAL); }

// What arrives on `s` within `timeout_ms` (until the server closes or goes quiet for that long).
std::string receive(int s, int timeout_ms) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{s, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) break;
    const ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const std::string kHealth = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

class GateTest : public ::testing::Test {
 protected:
  void start(HttpOptions options) {
    options.port = free_port();
    port_ = options.port;
    server_ = std::make_unique<HttpServer>(options, state_);
    server_->bind();
    serving_ = std::thread([this] { server_->run(); });
    // Served once (and closed by the server, so it no longer counts as open) before the test begins.
    for (int i = 0; i < 100; ++i) {
      const int s = connect_to(port_);
      if (s >= 0) {
        send_all(s, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        receive(s, 2000);
        close(s);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Seconds stop() and the listener took to return.
  double stop() {
    const auto t0 = Clock::now();
    server_->stop();
    serving_.join();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }
  void TearDown() override {
    if (serving_.joinable()) stop();
    for (int s : sockets_) close(s);
  }
  int open_socket() {
    const int s = connect_to(port_);
    sockets_.push_back(s);
    return s;
  }

  ServerState state_;  // never ready: /health answers 503 "loading" without an engine
  std::unique_ptr<HttpServer> server_;
  std::thread serving_;
  int port_ = 0;
  std::vector<int> sockets_;
};

TEST_F(GateTest, SlowAndSilentClientsHoldNoWorker) {
  HttpOptions options;
  options.http_threads = 2;
  start(options);
  for (int i = 0; i < 16; ++i) {
    const int s = open_socket();
    if (i % 2 == 0) send_all(s, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ");  // a header never finished
  }
  const int s = open_socket();
  const auto t0 = Clock::now();
  send_all(s, kHealth);
  const std::string response = receive(s, 300);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.5);
  EXPECT_EQ(response.rfind("HTTP/1.1 503", 0), 0u) << response;
}

TEST_F(GateTest, AHeaderNotFinishedInTimeGets408AndAnIdleConnectionIsClosed) {
  HttpOptions options;
  options.header_timeout = 0.3;
  start(options);
  const int partial = open_socket();
  const int idle = open_socket();
  send_all(partial, "GET /health HTTP/1.1\r\nHost: x\r\n");
  const std::string response = receive(partial, 2000);
  EXPECT_EQ(response.rfind("HTTP/1.1 408", 0), 0u) << response;
  EXPECT_NE(response.find("header-timeout"), std::string::npos) << response;
  EXPECT_EQ(receive(idle, 2000), "");  // closed without a word
}

TEST_F(GateTest, AnOversizedHeaderGets431) {
  start(HttpOptions{});
  const int s = open_socket();
  send_all(s, "GET /health HTTP/1.1\r\nX-Big: " + std::string(70000, 'a'));
  const std::string response = receive(s, 2000);
  EXPECT_EQ(response.rfind("HTTP/1.1 431", 0), 0u) << response.substr(0, 200);
}

// The body deadline ends the read; the connection, whose framing is lost, is
// closed with the answer (not kept alive until the header deadline).
TEST_F(GateTest, ASlowBodyGets400AtTheBodyDeadlineAndTheConnectionCloses) {
  HttpOptions options;
  options.body_timeout = 0.3;
  options.header_timeout = 30;
  start(options);
  const int s = open_socket();
  const auto t0 = Clock::now();
  send_all(s, "POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
  const std::string response = receive(s, 3000);  // until closed
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
  EXPECT_GT(elapsed, 0.25);
  EXPECT_LT(elapsed, 1.5);
}

// A body over --max-body gets 413 and Connection: close, and the connection is closed.
TEST_F(GateTest, ABodyTooLargeClosesTheConnection) {
  HttpOptions options;
  options.max_body = 1024;
  options.header_timeout = 30;
  start(options);
  const int s = open_socket();
  const auto t0 = Clock::now();
  send_all(s, "POST /tokenize HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                  std::string(2048, 'a') + "\r\n");
  const std::string response = receive(s, 3000);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 1.5);
}

// A Content-Length that is not a number gets one 400 and the connection
// closes: its body is never served as a second request (request smuggling).
TEST_F(GateTest, AnInvalidContentLengthGets400AndNothingElse) {
  start(HttpOptions{});
  const int s = open_socket();
  send_all(s, "POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n" + kHealth);
  const std::string response = receive(s, 2000);  // until closed
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Length"), std::string::npos) << response;
  EXPECT_EQ(count(response, "HTTP/1.1"), 1) << response;
  // The same behind a bare-LF blank line, and a body on a GET.
  for (const std::string& smuggled :
       {"POST /tokenize HTTP/1.1\r\nHost: x\n\nContent-Length: abc\r\n\r\n" + kHealth,
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kHealth.size()) + "\r\n\r\n" + kHealth}) {
    const int t = open_socket();
    send_all(t, smuggled);
    const std::string answer = receive(t, 2000);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_EQ(count(answer, "HTTP/1.1"), 1) << answer;
  }
}

// No Content-Length and no Transfer-Encoding: an empty body (RFC 9112), so the
// route answers at once instead of waiting for --body-timeout.
TEST_F(GateTest, APostWithoutALengthHasAnEmptyBody) {
  HttpOptions options;
  options.body_timeout = 5;
  start(options);
  const int s = open_socket();
  const auto t0 = Clock::now();
  send_all(s, "POST /tokenize HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string response = receive(s, 1000);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.5);
  EXPECT_EQ(response.rfind("HTTP/1.1 ", 0), 0u) << response;
  EXPECT_EQ(response.find("could not be read"), std::string::npos) << response;
}

// A declared length over --max-body is refused from the header: no 100
// Continue invites the upload, and no body timeout is waited for.
TEST_F(GateTest, ADeclaredBodyOverMaxBodyGets413AtOnce) {
  HttpOptions options;
  options.max_body = 1024;
  options.body_timeout = 5;
  start(options);
  const int s = open_socket();
  const auto t0 = Clock::now();
  send_all(s, "POST /tokenize HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 9000000\r\n\r\n");
  const std::string response = receive(s, 3000);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.5);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
  EXPECT_EQ(response.find("100 Continue"), std::string::npos) << response;
  EXPECT_NE(response.find("--max-body (1024 bytes)"), std::string::npos) << response;
}

TEST_F(GateTest, OverTheConnectionCapA503NamesTheOption) {
  HttpOptions options;
  options.max_connections = 3;
  start(options);
  for (int i = 0; i < 3; ++i) open_socket();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int s = open_socket();
  send_all(s, kHealth);
  const std::string response = receive(s, 2000);
  EXPECT_EQ(response.rfind("HTTP/1.1 503", 0), 0u) << response;
  EXPECT_NE(response.find("--max-connections 3"), std::string::npos) << response;
}

TEST_F(GateTest, KeepAliveAndPipelinedRequestsAreAllAnswered) {
  start(HttpOptions{});
  const int s = open_socket();
  send_all(s, kHealth + kHealth);  // two at once: the second is read with the first
  std::string responses = receive(s, 300);
  send_all(s, kHealth);  // and a third on the kept-alive connection
  responses += receive(s, 300);
  EXPECT_EQ(count(responses, "HTTP/1.1 503"), 3) << responses;
}

TEST_F(GateTest, DrainClosesIdleKeepAliveConnectionsAtOnce) {
  start(HttpOptions{});
  const int s = open_socket();
  send_all(s, kHealth);
  ASSERT_EQ(count(receive(s, 300), "HTTP/1.1"), 1);
  const auto t0 = Clock::now();
  server_->drain();
  EXPECT_EQ(receive(s, 3000), "");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.5);
}

TEST_F(GateTest, StopReturnsAtOnceWhateverTheClientsDo) {
  HttpOptions options;
  options.header_timeout = 60;
  options.body_timeout = 60;
  start(options);
  send_all(open_socket(), "GET /health HTTP/1.1\r\nHost: x\r\n");  // a header never finished
  open_socket();                                                    // silent
  // A body that never comes: its worker waits in the body read.
  send_all(open_socket(), "POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_LT(stop(), 1.0);
}

}  // namespace
}  // namespace nucleus::server
