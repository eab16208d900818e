// Noticing a client that left, before anything was written to it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/client_connection.h"

namespace nucleus::server {
namespace {

struct SocketPair {
  int ours = -1, theirs = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ours = fds[0], theirs = fds[1];
  }
  ~SocketPair() {
    if (ours >= 0) ::close(ours);
    if (theirs >= 0) ::close(theirs);
  }
};

TEST(ClientConnection, APeerThatClosesIsGoneOneThatWritesIsNot) {
  SocketPair s;
  EXPECT_FALSE(peer_closed(s.ours));
  ASSERT_EQ(::write(s.theirs, "GET", 3), 3);  // a pipelined next request: still there
  EXPECT_FALSE(peer_closed(s.ours));
  EXPECT_FALSE(peer_closed(s.ours));  // looking consumed nothing
  char buf[4] = {};
  EXPECT_EQ(::recv(s.ours, buf, sizeof buf, MSG_DONTWAIT), 3);
  ::close(s.theirs);
  s.theirs = -1;
  EXPECT_TRUE(peer_closed(s.ours));
}

TEST(ClientConnection, HalfCloseCountsAsGone) {
  SocketPair s;
  ASSERT_EQ(::shutdown(s.theirs, SHUT_WR), 0);
  EXPECT_TRUE(peer_closed(s.ours));
}

TEST(ClientConnection, NoConnectionServedMeansNoneGone) { EXPECT_FALSE(ServingConnection::client_gone()); }

}  // namespace
}  // namespace nucleus::server
