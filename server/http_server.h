// The HTTP front end: cpp-httplib with the route table, API-key checks, body
// limits, and one wrapper that turns every exception into an OpenAI error
// object (ApiError -> its status; anything else -> 500), so a bad request can
// never take the server down.
//
// Threads: connections wait in the connection gate (server/connection_gate.h,
// one poll thread) until their request header has arrived, then one of
// `http_threads` workers serves the request (a streaming client holds one
// for its whole stream). Handlers only talk to the engine through
// Engine::submit and RequestHandle (engine/engine.h).
#pragma once

#include <memory>
#include <string>

#include "server/cors.h"
#include "server/server_state.h"

namespace nucleus::server {

class GatedServer;

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int http_threads = 64;
  size_t max_body = 8 << 20;
  int max_connections = 512;    // open at once; beyond, 503 and close
  double header_timeout = 5.0;  // seconds for a whole request header (and a keep-alive connection's idle wait)
  double body_timeout = 10.0;   // seconds for a whole request body
  CorsPolicy cors = CorsPolicy::parse("*");  // which web origins may call (server/cors.h)
  bool webui = true;                         // serve the web page at GET / (server/webui/)
};

class HttpServer {
 public:
  HttpServer(const HttpOptions& options, ServerState& state);
  ~HttpServer();

  // Binds the port; throws std::runtime_error naming host:port when it cannot.
  void bind();
  // Serves until stop(); call after bind().
  void run();
  // Shutdown begins: idle keep-alive connections are closed now, and every
  // response from here on closes its connection.
  void drain();
  // Stops listening and ends every connection; returns within about 0.5 s
  // whatever the clients do (a response being written gets that long).
  void stop();

 private:
  HttpOptions options_;
  ServerState& state_;
  std::unique_ptr<GatedServer> server_;
};

}  // namespace nucleus::server
