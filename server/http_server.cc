#include "server/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "server/auth.h"
#include "server/cors.h"
#include "server/errors.h"
#include "server/gated_server.h"
#include "server/request_framing.h"
#include "server/routes.h"

namespace nucleus::server {
namespace {

constexpr int kListenBacklog = 1024;  // connections the kernel queues before they are accepted
constexpr auto kStopGrace = std::chrono::milliseconds(500);  // a response being written when stop() comes

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

GateOptions gate_options(const HttpOptions& o) {
  GateOptions gate;
  gate.workers = o.http_threads;
  gate.max_connections = o.max_connections;
  gate.header_timeout = millis(o.header_timeout);
  gate.body_timeout = millis(o.body_timeout);
  gate.max_body = o.max_body;
  return gate;
}

using Handler = void (*)(ServerState&, const httplib::Request&, httplib::Response&);

enum class Method { kGet, kPost };

// One route and what is checked before its handler runs.
struct Route {
  Method method;
  const char* path;
  Handler handler;
  bool pattern = false;      // `path` is a regex; only plain paths answer another method with 405
  bool needs_auth = false;   // Authorization: Bearer --api-key (the /v1 and tokenizer routes)
  bool needs_model = false;  // 503 until the model is loaded and while draining
  bool generating = false;   // written while generated (SSE, or JSON behind heartbeats): sent uncompressed
  bool webui = false;        // the web page: not served with --no-webui
};

// The route table. Each path has one method; httplib answers a known path
// asked with another method with 404, which the error handler turns into 405.
constexpr Route kRoutes[] = {
    {.method = Method::kPost, .path = "/v1/completions", .handler = handle_completions, .needs_auth = true,
     .needs_model = true, .generating = true},
    {.method = Method::kPost, .path = "/v1/chat/completions", .handler = handle_chat, .needs_auth = true,
     .needs_model = true, .generating = true},
    {.method = Method::kGet, .path = "/v1/models", .handler = handle_models, .needs_auth = true},
    {.method = Method::kGet, .path = R"(/v1/models/(.+))", .handler = handle_model, .pattern = true,
     .needs_auth = true},
    {.method = Method::kPost, .path = "/tokenize", .handler = handle_tokenize, .needs_auth = true,
     .needs_model = true},
    {.method = Method::kPost, .path = "/detokenize", .handler = handle_detokenize, .needs_auth = true,
     .needs_model = true},
    {.method = Method::kPost, .path = "/apply-template", .handler = handle_apply_template, .needs_auth = true,
     .needs_model = true},
    {.method = Method::kGet, .path = "/health", .handler = handle_health},
    {.method = Method::kGet, .path = "/metrics", .handler = handle_metrics},
    {.method = Method::kGet, .path = "/version", .handler = handle_version},
    {.method = Method::kGet, .path = "/props", .handler = handle_props, .needs_auth = true, .needs_model = true},
    {.method = Method::kGet, .path = "/", .handler = handle_webui, .webui = true},
    {.method = Method::kGet, .path = "/index.html", .handler = handle_webui, .webui = true},
};

const char* method_name(Method m) { return m == Method::kGet ? "GET" : "POST"; }

// The served route whose plain path is `path`, or null (the web page's are not served with --no-webui).
const Route* route_for_path(const std::string& path, bool webui) {
  for (const Route& route : kRoutes) {
    if (!route.pattern && path == route.path && (webui || !route.webui)) return &route;
  }
  return nullptr;
}

void send_error(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

const char* error_type_for(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 503: return "service_unavailable";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

void reuse_address(int sock) {
  const int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

// A header's whole value: httplib's get_header_value goes through a C string,
// so "Bearer secret\0junk" would read as "Bearer secret".
std::string whole_header(const httplib::Request& req, const char* name) {
  const auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string() : it->second;
}

// The route's checks (API key, model loaded), then its handler; ApiError
// becomes its status and error object, any other exception a 500.
httplib::Server::Handler guarded(ServerState& state, const Route& route) {
  return [&state, route](const httplib::Request& req, httplib::Response& res) {
    try {
      if (route.needs_auth && !authorized(whole_header(req, "Authorization"), state.api_key)) {
        throw ApiError(401, "authentication_error", "Incorrect or missing API key", "", "invalid_api_key");
      }
      if (route.needs_model && (!state.ready || state.draining)) {  // Retry-After: set with every 503, below
        throw ApiError(503, "service_unavailable",
                       state.draining ? "the server is shutting down" : "the model is still loading");
      }
      route.handler(state, req, res);
    } catch (const ApiError& e) {
      if (e.status() == 503) res.set_header("Retry-After", "1");
      send_error(res, e.status(), e.to_json());
    } catch (const std::exception& e) {
      spdlog::error("{} {}: {}", req.method, req.path, e.what());
      send_error(res, 500, error_body(std::string("internal error: ") + e.what(), "server_error"));
    }
    // A handler that only sets content leaves the status at -1, which httplib sends as 200.
    state.metrics.count_response(res.status == -1 ? 200 : res.status);
  };
}

// Reads a POST body up to `max_body`. httplib enforces its payload limit only
// on Content-Length bodies and would buffer a chunked one whole, so the body
// is taken through a content reader that stops at the limit (a declared
// length over it was refused by the connection gate, request_framing.h). On
// failure answers 413 (too large) or 400 (unreadable) and returns nothing.
std::optional<std::string> read_body(ServerState& state, size_t max_body, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
  std::string body;
  bool too_large = false;
  const bool read = reader([&](const char* data, size_t length) {
    if (body.size() + length > max_body) {
      too_large = true;
      return false;
    }
    body.append(data, length);
    return true;
  });
  if (!too_large && read) return body;
  res.set_header("Connection", "close");  // the rest of the body is not read
  send_error(res, too_large ? 413 : 400,
             error_body(too_large ? body_too_large_message(max_body) : "the request body could not be read",
                        "invalid_request_error"));
  state.metrics.count_response(res.status);
  return std::nullopt;
}

// A POST route: its body read by read_body, then the guarded handler.
//
// A generating route goes out uncompressed. httplib compresses any JSON or
// text/* body whose client accepts gzip or brotli (the openai client asks for
// gzip), and its compressor holds writes back: a stream's first token would
// arrive with its last, and a client that left would go unnoticed until
// generation ends. Accept-Encoding is taken off the request before httplib
// reads it (its Request is a non-const object it owns; handlers are only
// given a const reference).
httplib::Server::HandlerWithContentReader with_body(ServerState& state, const Route& route, size_t max_body) {
  return [&state, route, max_body, inner = guarded(state, route)](
             const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    if (route.generating) const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    std::optional<std::string> body = read_body(state, max_body, res, reader);
    if (!body) return;
    httplib::Request whole = req;
    whole.body = std::move(*body);
    inner(whole, res);
  };
}

void add_routes(httplib::Server& s, ServerState& state, size_t max_body, bool webui) {
  for (const Route& route : kRoutes) {
    if (route.webui && !webui) continue;
    if (route.method == Method::kPost) {
      s.Post(route.path, with_body(state, route, max_body));
    } else {
      s.Get(route.path, guarded(state, route));
    }
  }
}

// CORS: every response (errors and streams too) names the allowed origin;
// preflights are answered here, before auth (browsers send them without credentials).
void add_cors(httplib::Server& s, const CorsPolicy& cors) {
  if (!cors.enabled()) return;
  s.set_post_routing_handler([cors](const httplib::Request& req, httplib::Response& res) {
    const std::string allow = cors.allow_origin(req.get_header_value("Origin"));
    if (!allow.empty()) res.set_header("Access-Control-Allow-Origin", allow);
    if (cors.varies_by_origin()) res.set_header("Vary", "Origin");
  });
  s.Options(R"(.*)", [cors](const httplib::Request& req, httplib::Response& res) {
    res.status = 204;
    if (cors.allow_origin(req.get_header_value("Origin")).empty()) return;
    res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    const std::string asked = req.get_header_value("Access-Control-Request-Headers");
    res.set_header("Access-Control-Allow-Headers", asked.empty() ? "Authorization, Content-Type" : asked);
    res.set_header("Access-Control-Max-Age", "600");
  });
}

// Statuses httplib produces itself (404 unknown route, 413 body too large,
// 400 bad framing) get an error object; a known path asked with another
// method gets 405 naming the method to use.
void add_error_handlers(httplib::Server& s, ServerState& state, size_t max_body, bool webui) {
  s.set_error_handler([&state, max_body, webui](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "HTTP " + std::to_string(res.status);
    if (res.status == 404) message = "no route for " + req.method + " " + req.path;
    if (const Route* known = route_for_path(req.path, webui); res.status == 404 && known) {
      const std::string method = method_name(known->method);
      res.status = 405;
      res.set_header("Allow", known->method == Method::kGet ? "GET, HEAD" : method);
      message = "method " + req.method + " is not allowed for " + req.path + " (use " + method + ")";
    }
    if (res.status == 413) message = body_too_large_message(max_body);
    send_error(res, res.status, error_body(message, error_type_for(res.status)));
    state.metrics.count_response(res.status);
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, error_body("internal error: " + what, "server_error"));
  });
}

}  // namespace

HttpServer::HttpServer(const HttpOptions& options, ServerState& state)
    : options_(options),
      state_(state),
      server_(std::make_unique<GatedServer>(
          gate_options(options), [&state](int status) { state.metrics.count_response(status); }, kStopGrace)) {
  httplib::Server& s = *server_;
  s.set_payload_max_length(options.max_body);
  // What httplib's Keep-Alive response header announces; the gate enforces it.
  const GateOptions gate = gate_options(options);
  s.set_keep_alive_max_count(static_cast<size_t>(gate.max_requests_per_connection));
  s.set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(options.header_timeout)));
  add_routes(s, state_, options.max_body, options.webui);
  add_cors(s, options.cors);
  add_error_handlers(s, state_, options.max_body, options.webui);
}

HttpServer::~HttpServer() = default;

void HttpServer::bind() {
  // httplib's default socket options set SO_REUSEPORT, which lets a second
  // server bind the same port and silently take half its connections; only
  // SO_REUSEADDR is kept (a restart need not wait out TIME_WAIT), so a clash fails here.
  int listening = -1;
  server_->set_socket_options([&listening](int sock) {
    reuse_address(sock);
    listening = sock;
  });
  const bool bound = server_->bind_to_port(options_.host, options_.port);
  server_->set_socket_options(reuse_address);
  if (!bound) {
    throw std::runtime_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                             " (address in use, or not an address of this machine)");
  }
  // httplib listens with a backlog of 5, which a burst of clients connecting
  // at once overflows (some get a reset); listen() again only raises the backlog.
  if (listening >= 0) ::listen(listening, kListenBacklog);
}

void HttpServer::run() { server_->listen_after_bind(); }

void HttpServer::drain() { server_->gate().drain(); }

void HttpServer::stop() { server_->stop(); }

}  // namespace nucleus::server
