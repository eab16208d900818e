#include "server/http_server.h"

#include <sys/socket.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "server/auth.h"
#include "server/cors.h"
#include "server/errors.h"
#include "server/routes.h"

namespace nucleus::server {
namespace {

constexpr int kListenBacklog = 1024;  // connections the kernel queues before they are accepted

using Handler = void (*)(ServerState&, const httplib::Request&, httplib::Response&);

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

std::string body_too_large_message(size_t max_body) {
  return "request body larger than --max-body (" + std::to_string(max_body) + " bytes)";
}

}  // namespace

HttpServer::HttpServer(const HttpOptions& options, ServerState& state)
    : options_(options), state_(state), server_(std::make_unique<httplib::Server>()) {
  httplib::Server& s = *server_;
  const int threads = options.http_threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(options.max_body);
  s.set_read_timeout(60, 0);
  s.set_write_timeout(60, 0);

  // needs_model: refuse with 503 until loaded and while draining; needs_auth: /v1 and tokenizer routes.
  auto route = [this](Handler handler, bool needs_model, bool needs_auth) {
    return [this, handler, needs_model, needs_auth](const httplib::Request& req, httplib::Response& res) {
      try {
        if (needs_auth && !authorized(req.get_header_value("Authorization"), state_.api_key)) {
          throw ApiError(401, "authentication_error", "Incorrect or missing API key", "", "invalid_api_key");
        }
        if (needs_model && (!state_.ready || state_.draining)) {  // Retry-After: set once, below
          throw ApiError(503, "service_unavailable",
                         state_.draining ? "the server is shutting down" : "the model is still loading");
        }
        handler(state_, req, res);
      } catch (const ApiError& e) {
        if (e.status() == 503) res.set_header("Retry-After", "1");
        send_error(res, e.status(), e.to_json());
      } catch (const std::exception& e) {
        spdlog::error("{} {}: {}", req.method, req.path, e.what());
        send_error(res, 500, error_body(std::string("internal error: ") + e.what(), "server_error"));
      }
      state_.metrics.count_response(res.status);
    };
  };

  // POST routes read their body here, up to --max-body: httplib enforces its
  // payload limit only on Content-Length bodies and would buffer a chunked one
  // whole (a 200 MB chunked body took 257 MB before its 413), so the body is
  // taken through a content reader that stops at the limit.
  //
  // generates: the response is written while it is generated (SSE, or JSON
  // behind heartbeat spaces), so it goes out uncompressed. httplib compresses
  // any JSON or text/* body whose client accepts gzip or brotli (the openai
  // client asks for gzip), and its compressor held the writes back: a stream's
  // first token arrived with its last, and a client that left went unnoticed
  // until generation ended. Accept-Encoding is taken off the request before
  // httplib reads it (its Request is a non-const object it owns; handlers are
  // only given a const reference).
  auto post_route = [this, route](Handler handler, bool needs_model, bool needs_auth, bool generates = false) {
    auto inner = route(handler, needs_model, needs_auth);
    return [this, inner, generates](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
      if (generates) const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
      std::string body;
      bool too_large = false;
      const bool read = reader([&](const char* data, size_t length) {
        if (body.size() + length > options_.max_body) {
          too_large = true;
          return false;
        }
        body.append(data, length);
        return true;
      });
      if (too_large || !read) {
        const std::string declared = req.get_header_value("Content-Length");
        const bool over = too_large || (!declared.empty() && std::strtoull(declared.c_str(), nullptr, 10) > options_.max_body);
        res.set_header("Connection", "close");  // the rest of the body is not read
        send_error(res, over ? 413 : 400,
                   error_body(over ? body_too_large_message(options_.max_body) : "the request body could not be read",
                              "invalid_request_error"));
        state_.metrics.count_response(res.status);
        return;
      }
      httplib::Request whole = req;
      whole.body = std::move(body);
      inner(whole, res);
    };
  };

  // The route table. Each path has one method; the path -> method map turns a
  // known path asked with another method into 405 (httplib answers 404).
  std::map<std::string, std::string> methods = {
      {"/v1/completions", "POST"}, {"/v1/chat/completions", "POST"}, {"/tokenize", "POST"}, {"/detokenize", "POST"},
      {"/v1/models", "GET"},       {"/health", "GET"},               {"/metrics", "GET"},   {"/version", "GET"}};
  s.Post("/v1/completions", post_route(handle_completions, true, true, true));
  s.Post("/v1/chat/completions", post_route(handle_chat, true, true, true));
  s.Get("/v1/models", route(handle_models, false, true));
  s.Get(R"(/v1/models/(.+))", route(handle_model, false, true));
  s.Post("/tokenize", post_route(handle_tokenize, true, true));
  s.Post("/detokenize", post_route(handle_detokenize, true, true));
  s.Get("/health", route(handle_health, false, false));
  s.Get("/metrics", route(handle_metrics, false, false));
  s.Get("/version", route(handle_version, false, false));

  // CORS: every response (errors and streams too) names the allowed origin;
  // preflights are answered here, before auth (browsers send them without credentials).
  const CorsPolicy cors = options.cors;
  if (cors.enabled()) {
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

  // Statuses httplib produces itself (404 unknown route, 413 body too large, 400 bad framing) get an error object.
  s.set_error_handler([this, methods](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "HTTP " + std::to_string(res.status);
    if (res.status == 404) message = "no route for " + req.method + " " + req.path;
    if (auto known = methods.find(req.path); res.status == 404 && known != methods.end()) {
      res.status = 405;
      res.set_header("Allow", known->second == "GET" ? "GET, HEAD" : known->second);
      message = "method " + req.method + " is not allowed for " + req.path + " (use " + known->second + ")";
    }
    if (res.status == 413) message = body_too_large_message(options_.max_body);
    send_error(res, res.status, error_body(message, error_type_for(res.status)));
    state_.metrics.count_response(res.status);
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

HttpServer::~HttpServer() = default;

void HttpServer::bind() {
  // httplib's default socket options set SO_REUSEPORT, which lets a second
  // server bind the same port and silently take half its connections; only
  // SO_REUSEADDR is kept (a restart need not wait out TIME_WAIT), so a clash fails here.
  int listening = -1;
  server_->set_socket_options([&listening](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  const bool bound = server_->bind_to_port(options_.host, options_.port);
  server_->set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  if (!bound) {
    throw std::runtime_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                             " (address in use, or not an address of this machine)");
  }
  // httplib listens with a backlog of 5: a burst of clients connecting at once
  // overflowed it and some got a reset. listen() again only raises the backlog.
  if (listening >= 0) ::listen(listening, kListenBacklog);
}

void HttpServer::run() { server_->listen_after_bind(); }

void HttpServer::stop() { server_->stop(); }

}  // namespace nucleus::server
