// The connection the calling HTTP worker thread is serving a request on, so
// that code waiting on the engine before it writes anything (a collected
// response settling, a stream waiting out a long prefill or a queue) notices a
// client that left, and aborts its generation then rather than after it:
// vLLM aborts a request as soon as its client disconnects.
//
// Reading alone cannot tell a client that closed from one that only shut
// down its sending side and still reads the answer (nc -N, Go's CloseWrite):
// both arrive as the end of the input. So that is only "ended": the writer
// then writes something harmless (an SSE comment, a heartbeat space), which
// fails once a closed client's reset has come back, and a half-closed client
// reads its whole answer. A reset or a socket error is "gone" at once.
//
// GatedServer sets it around each request; httplib runs the handler and its
// content provider on that same thread, so a thread-local serves. No extra
// thread is involved.
#pragma once

#include <httplib.h>

namespace nucleus::server {

enum class PeerState {
  kOpen,   // nothing read says otherwise (bytes waiting, a pipelined request, count as open)
  kEnded,  // the input ended (FIN): closed, or half-closed and still reading; a write tells which
  kGone,   // reset or error: nothing written would arrive
};

class ServingConnection {
 public:
  explicit ServingConnection(const httplib::Stream& stream);
  ~ServingConnection();
  ServingConnection(const ServingConnection&) = delete;
  ServingConnection& operator=(const ServingConnection&) = delete;

  // The state of the connection this thread serves, looked at without
  // consuming a byte; kOpen when this thread serves none (unit tests).
  static PeerState peer();

 private:
  int previous_;
};

// The same look at any socket (tests use it on a socketpair).
PeerState peer_state(int fd);

}  // namespace nucleus::server
