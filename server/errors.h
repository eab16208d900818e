// OpenAI error objects: {"error": {"message", "type", "param", "code"}}.
// Handlers throw ApiError; the route wrapper (http_server.cc) turns it, and
// any other exception, into the JSON body and status code.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace nucleus::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, std::string message, std::string param = "", std::string code = "")
      : std::runtime_error(message), status_(status), type_(std::move(type)), message_(std::move(message)),
        param_(std::move(param)), code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  // The whole message: what() stops at a NUL byte a client's string may carry.
  const std::string& message() const { return message_; }
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string type_;
  std::string message_;
  std::string param_;
  std::string code_;
};

// 400 invalid_request_error naming the parameter.
ApiError invalid_param(const std::string& param, const std::string& message);
// 400 for a feature we do not implement (suffix, response_format json).
ApiError not_supported(const std::string& param, const std::string& message);
// 404 for a model this server does not serve (the request's "model", or /v1/models/{id}).
ApiError model_not_found(const std::string& model);

// An error the engine reported for a generating request (GenerationRun::error):
// the request's own, blamed on `param` (constraints that leave no token, a
// grammar too ambiguous to follow: 400 invalid_request_error), or, with `param`
// empty, the server's (500).
ApiError generation_error(const std::string& error, const std::string& param);

// 400 naming `param` when `text`, JSON held in a string of the body (a
// schema, tool-call arguments), nests deeper than a body may
// (json_scan::kMaxNestingDepth): what walks it recurses per level.
void require_shallow_json_text(const std::string& text, const std::string& param);

// The JSON error body for any status (param/code null when empty).
nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param = "",
                          const std::string& code = "");

}  // namespace nucleus::server
