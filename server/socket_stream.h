// The httplib::Stream a worker serves one request through: bytes the
// connection gate already read (the whole request header, maybe more) come
// first, then the socket. Reads stop at the body deadline, so a client that
// sends its body slowly holds a worker for at most --body-timeout.
#pragma once

#include <chrono>
#include <string>

#include <httplib.h>

namespace nucleus::server {

class SocketStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;

  // `buffered`: bytes already read from `fd`. Reads fail after `read_deadline`;
  // a write waits at most `write_timeout` for room in the socket buffer.
  SocketStream(int fd, std::string buffered, Clock::time_point read_deadline, std::chrono::milliseconds write_timeout);

  bool is_readable() const override;
  // Room to write within the write timeout (a client that left makes a later
  // write fail, which aborts its generation).
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return fd_; }

  // What was read from the socket but not consumed (a pipelined next request).
  std::string take_unread();
  // The connection cannot carry another request: a read failed or timed out
  // (the body's framing is lost), or the response said Connection: close
  // (a handler that stopped reading a body too large sets it).
  bool must_close() const;

 private:
  // Waits for `events` on the socket until `deadline`; false on timeout or error.
  bool wait_for(short events, Clock::time_point deadline) const;

  int fd_;
  std::string buffer_;  // read, not yet consumed: buffer_[pos_, size)
  size_t pos_ = 0;
  Clock::time_point read_deadline_;
  std::chrono::milliseconds write_timeout_;
  bool read_failed_ = false;
  std::string response_head_;  // the response's status line and headers, as written
};

}  // namespace nucleus::server
