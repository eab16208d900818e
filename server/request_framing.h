// How long a request's body is, decided from its header before a worker reads
// it (RFC 9112 section 6), where cpp-httplib 0.11 decides wrongly:
//   - a Content-Length that is not a decimal number reads as 0, so the body is
//     parsed as the next request of the connection (request smuggling behind
//     a proxy that framed it otherwise);
//   - a request with neither Content-Length nor Transfer-Encoding has its body
//     read until the client closes, which holds a worker for --body-timeout;
//     the RFC says such a body is empty;
//   - a declared length over --max-body is read (after a 100 Continue when the
//     client asks) before it is refused.
// The connection gate (server/connection_gate.h) applies this to every
// buffered header: a refusal is answered there and the connection closed.
#pragma once

#include <cstddef>
#include <string>

namespace nucleus::server {

struct FramingVerdict {
  int status = 0;       // 0: serve the request; else answer with this status and close
  std::string message;  // why, for the error object
};

// The error message of a body over --max-body (the gate's 413 and the routes' own).
std::string body_too_large_message(size_t max_body);

// `buffer` starts with a complete request header (a blank line ends it) and
// may hold more bytes after it. Refuses (400) a Content-Length that is not a
// plain decimal, differing Content-Length lines, Content-Length together with
// Transfer-Encoding; (501) a transfer coding other than chunked; (413) a
// declared length over max_body. With neither header, adds "Content-Length: 0"
// to the header in `buffer`, so the body is read as empty.
FramingVerdict check_request_framing(std::string& buffer, size_t max_body);

}  // namespace nucleus::server
