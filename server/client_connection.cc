#include "server/client_connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace nucleus::server {
namespace {

thread_local int current_fd = -1;

}  // namespace

ServingConnection::ServingConnection(const httplib::Stream& stream) : previous_(current_fd) {
  current_fd = static_cast<int>(stream.socket());
}

ServingConnection::~ServingConnection() { current_fd = previous_; }

PeerState ServingConnection::peer() { return current_fd >= 0 ? peer_state(current_fd) : PeerState::kOpen; }

PeerState peer_state(int fd) {
  pollfd p{.fd = fd, .events = POLLIN | POLLRDHUP, .revents = 0};
  if (::poll(&p, 1, 0) <= 0) return PeerState::kOpen;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return PeerState::kGone;
  // Bytes waiting first: a pipelined next request is read before any end.
  if (p.revents & POLLIN) {
    char byte;
    ssize_t n;
    do {
      n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) return PeerState::kOpen;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? PeerState::kOpen : PeerState::kGone;
    return PeerState::kEnded;
  }
  return p.revents & POLLRDHUP ? PeerState::kEnded : PeerState::kOpen;
}

}  // namespace nucleus::server
