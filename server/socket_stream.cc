#include "server/socket_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace nucleus::server {
namespace {

constexpr size_t kReadChunk = 16 * 1024;  // bytes asked of the socket at once (header lines are read a byte at a time)
constexpr size_t kMaxResponseHead = 16 * 1024;  // response headers kept to look for Connection: close

bool says_connection_close(const std::string& head) {
  std::string lower(head);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("\r\nconnection: close\r\n") != std::string::npos;
}

void address_of(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    port = ntohs(in.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    port = ntohs(in6.sin6_port);
  }
  ip = text;
}

}  // namespace

SocketStream::SocketStream(int fd, std::string buffered, Clock::time_point read_deadline,
                           std::chrono::milliseconds write_timeout)
    : fd_(fd), buffer_(std::move(buffered)), read_deadline_(read_deadline), write_timeout_(write_timeout) {}

bool SocketStream::wait_for(short events, Clock::time_point deadline) const {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{.fd = fd_, .events = events, .revents = 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (ready > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
    if (ready < 0 && errno != EINTR) return false;
  }
}

bool SocketStream::is_readable() const { return pos_ < buffer_.size() || wait_for(POLLIN, read_deadline_); }

bool SocketStream::is_writable() const { return wait_for(POLLOUT, Clock::now() + write_timeout_); }

ssize_t SocketStream::read(char* ptr, size_t size) {
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
    if (!wait_for(POLLIN, read_deadline_)) {
      read_failed_ = true;
      return -1;
    }
    buffer_.resize(kReadChunk);
    ssize_t n;
    do {
      n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    } while (n < 0 && errno == EINTR);
    buffer_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (n <= 0) {
      read_failed_ = true;
      return n;
    }
  }
  const size_t n = std::min(size, buffer_.size() - pos_);
  std::memcpy(ptr, buffer_.data() + pos_, n);
  pos_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t SocketStream::write(const char* ptr, size_t size) {
  if (response_head_.find("\r\n\r\n") == std::string::npos && response_head_.size() < kMaxResponseHead) {
    response_head_.append(ptr, std::min(size, kMaxResponseHead - response_head_.size()));
    if (response_head_.starts_with("HTTP/1.1 100 ") && response_head_.find("\r\n\r\n") != std::string::npos) {
      response_head_.clear();  // 100 Continue: the response proper follows
    }
  }
  size_t sent = 0;
  while (sent < size) {
    if (!wait_for(POLLOUT, Clock::now() + write_timeout_)) return -1;
    const ssize_t n = ::send(fd_, ptr + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return -1;
    }
    sent += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(sent);
}

void SocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) address_of(addr, ip, port);
}

void SocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) address_of(addr, ip, port);
}

bool SocketStream::must_close() const {
  const size_t end = response_head_.find("\r\n\r\n");
  return read_failed_ || (end != std::string::npos && says_connection_close(response_head_.substr(0, end + 2)));
}

std::string SocketStream::take_unread() {
  std::string rest = buffer_.substr(pos_);
  buffer_.clear();
  pos_ = 0;
  return rest;
}

}  // namespace nucleus::server
