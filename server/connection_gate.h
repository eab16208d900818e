// The connection gate: what stands between accept() and the HTTP workers, so
// that clients that send nothing, or send a header a byte at a time, never
// hold a worker.
//
// Why it exists: cpp-httplib 0.11 hands every accepted socket to a pool
// thread that then blocks reading the request line and headers, with only a
// per-read timeout (each byte restarts it) and no bound on the whole header.
// --http-threads slow clients took every worker and stopped all service, and
// idle keep-alive connections each held a worker too. httplib offers no hook
// between accept and that read, but its connection entry point is virtual and
// its per-request parser (Server::process_request, on any httplib::Stream) is
// reachable from a subclass, so connections are owned here instead:
//
//   accept (httplib's listener thread)
//     -> admit(): over --max-connections, a 503 error object and close
//     -> the gate thread: poll() over every waiting connection, reading what
//        arrives until a whole header (a blank line) is buffered; past
//        --header-timeout a partial header gets 408 and an idle one is closed;
//        a header whose body length is invalid or over --max-body is answered
//        here (server/request_framing.h)
//     -> a worker (--http-threads): httplib parses the buffered header and
//        runs the route; body reads end at --body-timeout (server/socket_stream.h)
//     -> keep-alive: the connection goes back to the gate to wait for its
//        next header, holding no worker while idle.
//
// Threads: one gate thread (poll loop; it only reads bytes and writes the
// gate's own small error responses) and the worker pool. Neither touches the
// engine except through the route handlers (server/http_server.h).
//
// Shutdown: drain() closes idle keep-alive connections at once and makes every
// later response end its connection; stop() closes whatever still waits,
// gives workers `grace` to finish their response, then shuts their sockets
// down so no client can hold the process, and joins every thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Stream;
class ThreadPool;
}  // namespace httplib

namespace nucleus::server {

struct GateOptions {
  int workers = 64;                                 // requests served at once (--http-threads)
  int max_connections = 512;                        // open at once, waiting or served (--max-connections)
  std::chrono::milliseconds header_timeout{5000};   // a whole request header, from accept or the previous response
  std::chrono::milliseconds body_timeout{10000};    // a whole request body, from the end of its header
  std::chrono::milliseconds write_timeout{60000};   // each write's wait for room in the socket buffer
  size_t max_header_bytes = 64 * 1024;              // a longer header gets 431
  size_t max_body = 8 << 20;                        // a longer declared body gets 413 at once (--max-body)
  int max_requests_per_connection = 1000;           // keep-alive requests before the connection is closed
};

class ConnectionGate {
 public:
  // Serves one request from `stream` (httplib's Server::process_request):
  // `close` asks it to answer with Connection: close; it sets `closed` when
  // the connection must end. False: the request failed, the connection ends.
  using ServeOne = std::function<bool(httplib::Stream& stream, bool close, bool& closed)>;
  // Told of every response the gate writes itself (its status), for /metrics.
  using Counted = std::function<void(int status)>;

  ConnectionGate(const GateOptions& options, ServeOne serve_one, Counted counted);
  ~ConnectionGate();
  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;

  // Takes ownership of an accepted socket. Any thread.
  void admit(int fd);
  void drain();
  void stop(std::chrono::milliseconds grace);
  int open_connections() const { return open_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Connection {
    int fd = -1;
    std::string buffer;  // bytes read, not yet parsed: the start of the next request
    Clock::time_point deadline;
    int served = 0;      // requests served on it so far
  };
  struct Lingering {     // refused: its answer written, input discarded until EOF or deadline
    int fd = -1;
    Clock::time_point deadline;
  };

  void gate_loop();
  // One round of the gate thread over `waiting`: reads, dispatches, expires.
  void poll_round(std::vector<Connection>& waiting, std::vector<Lingering>& lingering);
  // Hands a connection whose header is buffered to a worker.
  // A whole header is buffered: refused here when its body's framing is
  // wrong (server/request_framing.h), else dispatched.
  void take_header(Connection conn, std::vector<Lingering>& lingering);
  void dispatch(Connection conn);
  void serve(Connection conn);
  // Writes a small error response (best effort, never blocks) and lingers or closes.
  void refuse(int fd, int status, const std::string& message, std::vector<Lingering>* lingering);
  void close_connection(int fd);
  void wake();

  GateOptions options_;
  ServeOne serve_one_;
  Counted counted_;
  std::atomic<int> open_{0};
  int wake_fd_ = -1;  // eventfd: wakes the gate thread's poll()

  std::mutex mutex_;  // guards everything below
  std::condition_variable idle_;  // notified when a worker finishes a connection
  std::vector<Connection> inbox_;  // for the gate thread: new and kept-alive connections
  std::vector<int> refused_;       // for the gate thread: over the cap, to be answered 503
  std::set<int> serving_;          // sockets a worker is serving now
  bool draining_ = false;
  bool stopping_ = false;

  std::unique_ptr<httplib::ThreadPool> workers_;
  std::thread gate_thread_;
  bool stopped_ = false;
};

}  // namespace nucleus::server
