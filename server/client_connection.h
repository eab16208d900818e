// The connection the calling HTTP worker thread is serving a request on, so
// that code waiting on the engine before it writes anything (a collected
// response settling, a stream waiting out a long prefill or a queue) notices a
// client that left, and aborts its generation then rather than at its first
// write: vLLM aborts a request as soon as its client disconnects.
//
// GatedServer sets it around each request; httplib runs the handler and its
// content provider on that same thread, so a thread-local serves. No extra
// thread is involved.
#pragma once

#include <httplib.h>

namespace nucleus::server {

class ServingConnection {
 public:
  explicit ServingConnection(const httplib::Stream& stream);
  ~ServingConnection();
  ServingConnection(const ServingConnection&) = delete;
  ServingConnection& operator=(const ServingConnection&) = delete;

  // Whether the client of the request this thread serves has closed its end
  // of the connection (or it was reset), looked at without consuming a byte:
  // bytes waiting (a pipelined next request) alone do not make it gone. A
  // client that half-closes after its request (pipelined bytes or not) counts
  // as gone, as it does to uvicorn. False when this thread serves no
  // connection (unit tests).
  static bool client_gone();

 private:
  int previous_;
};

// The same check on any socket (tests use it on a socketpair).
bool peer_closed(int fd);

}  // namespace nucleus::server
