#include "server/connection_gate.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "server/errors.h"
#include "server/request_framing.h"
#include "server/socket_stream.h"

namespace nucleus::server {
namespace {

constexpr size_t kLingeringMax = 256;  // refused sockets drained before close; beyond, closed at once
constexpr auto kLinger = std::chrono::milliseconds(500);
constexpr int kMaxPollWaitMs = 1000;

// A blank line ends the header. "\n\n" counts too, so that a header with
// bare LF line ends is answered (400, request_framing.h) rather than waited on.
bool header_complete(const std::string& buffer) {
  return buffer.find("\r\n\r\n") != std::string::npos || buffer.find("\n\n") != std::string::npos;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 501: return "Not Implemented";
    case 431: return "Request Header Fields Too Large";
    default: return "Service Unavailable";
  }
}

std::string error_response(int status, const std::string& message) {
  const std::string body =
      error_body(message, status == 503 ? "service_unavailable" : "invalid_request_error").dump();
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n";
  if (status == 503) out += "Retry-After: 1\r\n";
  return out + "\r\n" + body;
}

// Reads what is there without blocking. False when the peer has closed (or
// the socket failed): what was read before stays in `buffer`.
bool read_available(int fd, std::string& buffer, size_t limit) {
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      buffer.append(chunk, static_cast<size_t>(n));
      if (buffer.size() > limit) return true;
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
}

}  // namespace

ConnectionGate::ConnectionGate(const GateOptions& options, ServeOne serve_one, Counted counted)
    : options_(options), serve_one_(std::move(serve_one)), counted_(std::move(counted)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
  workers_ = std::make_unique<httplib::ThreadPool>(static_cast<size_t>(options_.workers));
  gate_thread_ = std::thread([this] { gate_loop(); });
}

ConnectionGate::~ConnectionGate() {
  stop(std::chrono::milliseconds(0));
  ::close(wake_fd_);
}

void ConnectionGate::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void ConnectionGate::admit(int fd) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    if (open_.load() >= options_.max_connections) {
      refused_.push_back(fd);
    } else {
      open_.fetch_add(1);
      inbox_.push_back(Connection{.fd = fd, .buffer = {}, .deadline = Clock::now() + options_.header_timeout});
    }
  }
  wake();
}

void ConnectionGate::drain() {
  {
    std::lock_guard lock(mutex_);
    draining_ = true;
  }
  wake();
}

void ConnectionGate::close_connection(int fd) {
  open_.fetch_sub(1);  // first: a client that sees the close may connect again at once
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

void ConnectionGate::refuse(int fd, int status, const std::string& message, std::vector<Lingering>* lingering) {
  const std::string response = error_response(status, message);
  [[maybe_unused]] const ssize_t n = ::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  counted_(status);
  // Closing with unread request bytes would send a reset, which can destroy
  // the answer before the client reads it: end our side and drain theirs a while.
  if (lingering && lingering->size() < kLingeringMax) {
    ::shutdown(fd, SHUT_WR);
    lingering->push_back(Lingering{.fd = fd, .deadline = Clock::now() + kLinger});
  } else {
    ::close(fd);
  }
}

void ConnectionGate::take_header(Connection conn, std::vector<Lingering>& lingering) {
  const FramingVerdict verdict = check_request_framing(conn.buffer, options_.max_body);
  if (verdict.status != 0) {
    refuse(conn.fd, verdict.status, verdict.message, &lingering);
    open_.fetch_sub(1);
    return;
  }
  dispatch(std::move(conn));
}

void ConnectionGate::dispatch(Connection conn) {
  {
    std::lock_guard lock(mutex_);
    serving_.insert(conn.fd);
  }
  workers_->enqueue([this, conn = std::move(conn)]() mutable { serve(std::move(conn)); });
}

void ConnectionGate::serve(Connection conn) {
  bool close_after = false;
  {
    std::lock_guard lock(mutex_);
    close_after = draining_ || stopping_;
  }
  ++conn.served;
  close_after = close_after || conn.served >= options_.max_requests_per_connection;
  SocketStream stream(conn.fd, std::move(conn.buffer), Clock::now() + options_.body_timeout, options_.write_timeout);
  bool closed = false;
  bool ok = false;
  try {
    ok = serve_one_(stream, close_after, closed);
  } catch (const std::exception& e) {
    spdlog::error("connection: {}", e.what());
  }
  std::lock_guard lock(mutex_);
  serving_.erase(conn.fd);
  idle_.notify_all();
  if (!ok || closed || close_after || stream.must_close() || draining_ || stopping_) {
    close_connection(conn.fd);
    return;
  }
  conn.buffer = stream.take_unread();
  conn.deadline = Clock::now() + options_.header_timeout;
  inbox_.push_back(std::move(conn));
  wake();
}

void ConnectionGate::gate_loop() {
  std::vector<Connection> waiting;
  std::vector<Lingering> lingering;
  for (;;) {
    std::vector<int> refused;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      for (Connection& c : inbox_) waiting.push_back(std::move(c));
      inbox_.clear();
      refused.swap(refused_);
      if (draining_) {  // idle keep-alive connections end now; new ones still get their answer (503)
        std::erase_if(waiting, [this](const Connection& c) {
          if (c.served == 0 || !c.buffer.empty()) return false;
          close_connection(c.fd);
          return true;
        });
      }
    }
    for (int fd : refused) {
      refuse(fd, 503, "too many open connections (--max-connections " + std::to_string(options_.max_connections) + ")",
             &lingering);
    }
    // A kept-alive connection may already hold its next (pipelined) request.
    std::erase_if(waiting, [this, &lingering](Connection& c) {
      if (!header_complete(c.buffer)) return false;
      take_header(std::move(c), lingering);
      return true;
    });
    poll_round(waiting, lingering);
  }
  for (const Connection& c : waiting) close_connection(c.fd);
  for (const Lingering& l : lingering) ::close(l.fd);
  std::lock_guard lock(mutex_);
  for (const Connection& c : inbox_) close_connection(c.fd);
  inbox_.clear();
  for (int fd : refused_) ::close(fd);
  refused_.clear();
}

void ConnectionGate::poll_round(std::vector<Connection>& waiting, std::vector<Lingering>& lingering) {
  std::vector<pollfd> fds;
  fds.reserve(1 + waiting.size() + lingering.size());
  fds.push_back(pollfd{.fd = wake_fd_, .events = POLLIN, .revents = 0});
  Clock::time_point next = Clock::now() + std::chrono::milliseconds(kMaxPollWaitMs);
  for (const Connection& c : waiting) {
    fds.push_back(pollfd{.fd = c.fd, .events = POLLIN, .revents = 0});
    next = std::min(next, c.deadline);
  }
  for (const Lingering& l : lingering) {
    fds.push_back(pollfd{.fd = l.fd, .events = POLLIN, .revents = 0});
    next = std::min(next, l.deadline);
  }
  const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
  const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<int64_t>(wait_ms + 1, 0, kMaxPollWaitMs)));
  if (ready < 0 && errno != EINTR) spdlog::warn("connection gate: poll failed: {}", std::strerror(errno));
  if (fds[0].revents & POLLIN) {
    uint64_t count;
    [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof count);
  }
  const Clock::time_point now = Clock::now();
  const size_t lingering_before = lingering.size();  // their poll entries follow the waiting connections'
  const size_t lingering_base = 1 + waiting.size();
  std::vector<Connection> still;
  still.reserve(waiting.size());
  for (size_t i = 0; i < waiting.size(); ++i) {
    Connection& c = waiting[i];
    if (fds[1 + i].revents != 0) {
      const bool open = read_available(c.fd, c.buffer, options_.max_header_bytes);
      if (!open && !header_complete(c.buffer)) {
        close_connection(c.fd);  // the client left (or the socket failed) before a whole header
        continue;
      }
      if (header_complete(c.buffer)) {  // even if the client then shut its side: the answer can still go out
        take_header(std::move(c), lingering);
        continue;
      }
      if (c.buffer.size() > options_.max_header_bytes) {
        refuse(c.fd, 431, "request header larger than " + std::to_string(options_.max_header_bytes) + " bytes",
               &lingering);
        open_.fetch_sub(1);
        continue;
      }
    }
    if (now >= c.deadline) {
      if (c.buffer.empty()) {
        close_connection(c.fd);  // idle: a keep-alive that was not used, or a client that never spoke
      } else {
        refuse(c.fd, 408, "the request header was not received within --header-timeout", &lingering);
        open_.fetch_sub(1);
      }
      continue;
    }
    still.push_back(std::move(c));
  }
  waiting.swap(still);
  std::vector<Lingering> kept;
  for (size_t i = 0; i < lingering.size(); ++i) {
    const Lingering& l = lingering[i];
    bool done = now >= l.deadline;
    if (!done && i < lingering_before && fds[lingering_base + i].revents != 0) {
      std::string discard;
      done = !read_available(l.fd, discard, 1 << 20);
    }
    if (done) {
      ::close(l.fd);
    } else {
      kept.push_back(l);
    }
  }
  lingering.swap(kept);
}

void ConnectionGate::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  wake();
  gate_thread_.join();
  std::unique_lock lock(mutex_);
  idle_.wait_for(lock, grace, [this] { return serving_.empty(); });
  // Whatever a client does (not reading, sending a body slowly), its worker's
  // next read or write now fails at once.
  for (int fd : serving_) ::shutdown(fd, SHUT_RDWR);
  lock.unlock();
  workers_->shutdown();
}

}  // namespace nucleus::server
