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

bool ServingConnection::client_gone() { return current_fd >= 0 && peer_closed(current_fd); }

bool peer_closed(int fd) {
  pollfd p{.fd = fd, .events = POLLIN | POLLRDHUP, .revents = 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
  if (!(p.revents & POLLIN)) return false;
  char byte;
  ssize_t n;
  do {
    n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace nucleus::server
