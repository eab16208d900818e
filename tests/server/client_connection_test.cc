// Noticing a client that left, before anything was written to it: the end of
// its input only says "ended" (it may still read), a reset says "gone".
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "server/client_connection.h"

namespace nucleus::server {
namespace {

// A connected TCP pair on loopback: what a client and the server hold.
struct TcpPair {
  int client = -1, server = -1;
  TcpPair() {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    server = ::accept(listener, nullptr, nullptr);
    ::close(listener);
  }
  ~TcpPair() {
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
  }
};

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

TEST(ClientConnection, PipelinedBytesAreOpenAndLookingConsumesNothing) {
  TcpPair s;
  EXPECT_EQ(peer_state(s.server), PeerState::kOpen);
  ASSERT_EQ(::write(s.client, "GET", 3), 3);
  settle();
  EXPECT_EQ(peer_state(s.server), PeerState::kOpen);
  EXPECT_EQ(peer_state(s.server), PeerState::kOpen);
  char buf[4] = {};
  EXPECT_EQ(::recv(s.server, buf, sizeof buf, MSG_DONTWAIT), 3);
}

// nc -N, Go's CloseWrite: the input ends, the client still reads the answer.
TEST(ClientConnection, AHalfCloseEndsTheInputAndTheClientStillReads) {
  TcpPair s;
  ASSERT_EQ(::shutdown(s.client, SHUT_WR), 0);
  settle();
  EXPECT_EQ(peer_state(s.server), PeerState::kEnded);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(::send(s.server, "x", 1, MSG_NOSIGNAL), 1);
    settle();
  }
  char buf[4] = {};
  EXPECT_EQ(::recv(s.client, buf, sizeof buf, 0), 3);
}

// A closed client looks the same until a write: its reset fails the next one.
TEST(ClientConnection, AClosedClientEndsTheInputAndAWriteFindsItGone) {
  TcpPair s;
  ::close(s.client);
  s.client = -1;
  settle();
  EXPECT_EQ(peer_state(s.server), PeerState::kEnded);
  EXPECT_EQ(::send(s.server, "x", 1, MSG_NOSIGNAL), 1);  // answered by a reset
  settle();
  EXPECT_EQ(peer_state(s.server), PeerState::kGone);
  EXPECT_EQ(::send(s.server, "x", 1, MSG_NOSIGNAL), -1);
}

TEST(ClientConnection, NoConnectionServedIsOpen) { EXPECT_EQ(ServingConnection::peer(), PeerState::kOpen); }

}  // namespace
}  // namespace nucleus::server
