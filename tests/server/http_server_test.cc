// The listening socket: a second server on a taken port fails to bind (no
// SO_REUSEPORT sharing), and a burst of connections fits the accept queue.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "server/http_server.h"

namespace nucleus::server {
namespace {

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

// A non-blocking connect to 127.0.0.1:port; true when the handshake completes within timeout_ms.
bool connects(int port, int timeout_ms, std::vector<int>& keep) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  fcntl(s, F_SETFL, O_NONBLOCK);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  keep.push_back(s);
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
  pollfd p{s, POLLOUT, 0};
  if (poll(&p, 1, timeout_ms) != 1) return false;
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0;
}

TEST(HttpServer, SecondServerOnTheSamePortFailsToBind) {
  HttpOptions options;
  options.port = free_port();
  ServerState state_a, state_b;
  HttpServer a(options, state_a);
  a.bind();
  HttpServer b(options, state_b);
  EXPECT_THROW(b.bind(), std::runtime_error);
}

TEST(HttpServer, BurstOfConnectionsFitsTheAcceptQueue) {
  HttpOptions options;
  options.port = free_port();
  ServerState state;
  HttpServer server(options, state);
  server.bind();  // listening, but nothing accepts yet: every connection waits in the kernel's queue
  std::vector<int> sockets;
  int connected = 0;
  for (int i = 0; i < 64; ++i) connected += connects(options.port, 200, sockets);
  for (int s : sockets) close(s);
  EXPECT_EQ(connected, 64);  // httplib's own backlog of 5 queued 6
}

// A 503 carries one Retry-After: it was set before the throw and again by the
// error wrapper, and two headers reach a client joined as "1, 1", which the
// openai client cannot parse as a number of seconds.
TEST(HttpServer, ServiceUnavailableHasOneRetryAfter) {
  HttpOptions options;
  options.port = free_port();
  ServerState state;  // never ready: the model is "still loading"
  HttpServer server(options, state);
  server.bind();
  std::thread serving([&] { server.run(); });
  httplib::Client client("127.0.0.1", options.port);
  for (int i = 0; i < 100 && !client.Get("/health"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (const char* path : {"/v1/completions", "/v1/chat/completions"}) {
    const auto res = client.Post(path, R"({"prompt": "x"})", "application/json");
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 503) << path;
    EXPECT_EQ(res->headers.count("Retry-After"), 1u) << path;
    EXPECT_EQ(res->get_header_value("Retry-After"), "1") << path;
  }
  server.stop();
  serving.join();
}

// The status line of one raw HTTP/1.1 request (headers may hold any byte, NUL included).
int raw_status(int port, const std::string& request) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  send(s, request.data(), request.size(), 0);
  char buf[64] = {};
  const ssize_t n = recv(s, buf, sizeof buf - 1, 0);
  close(s);
  return n > 12 ? std::atoi(buf + 9) : -1;  // "HTTP/1.1 401 ..."
}

TEST(HttpServer, AnApiKeyWithJunkAfterANulIsRefused) {
  HttpOptions options;
  options.port = free_port();
  ServerState state;  // not ready: a request that passes the key check gets 503, one that fails gets 401
  state.api_key = "secret";
  HttpServer server(options, state);
  server.bind();
  std::thread serving([&] { server.run(); });
  httplib::Client client("127.0.0.1", options.port);
  for (int i = 0; i < 100 && !client.Get("/health"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto request = [](const std::string& key) {
    const std::string body = R"({"prompt": "x"})";
    return "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  };
  EXPECT_EQ(raw_status(options.port, request("secret")), 503);
  EXPECT_EQ(raw_status(options.port, request(std::string("secret\0junk", 11))), 401);
  EXPECT_EQ(raw_status(options.port, request("wrong")), 401);
  server.stop();
  serving.join();
}

}  // namespace
}  // namespace nucleus::server
