// The HTTP front end: cpp-httplib with the route table, API-key checks, body
// limits, and one wrapper that turns every exception into an OpenAI error
// object (ApiError -> its status; anything else -> 500), so a bad request can
// never take the server down.
//
// Threads: httplib runs each connection on one of `http_threads` pool threads
// (a streaming client holds one for its whole stream). Handlers only talk to
// the engine through Engine::submit and RequestHandle (engine/engine.h).
#pragma once

#include <memory>
#include <string>

#include "server/cors.h"
#include "server/server_state.h"

namespace httplib {
class Server;
}

namespace nucleus::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int http_threads = 64;
  size_t max_body = 8 << 20;
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
  void stop();

 private:
  HttpOptions options_;
  ServerState& state_;
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace nucleus::server
