#include "server/errors.h"

#include "text/json_scan.h"

namespace nucleus::server {

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param,
                          const std::string& code) {
  nlohmann::json error = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) error["param"] = param;
  if (!code.empty()) error["code"] = code;
  return {{"error", std::move(error)}};
}

nlohmann::json ApiError::to_json() const { return error_body(message_, type_, param_, code_); }

ApiError invalid_param(const std::string& param, const std::string& message) {
  return ApiError(400, "invalid_request_error", message, param);
}

ApiError not_supported(const std::string& param, const std::string& message) {
  return ApiError(400, "invalid_request_error", message, param, "not_supported");
}

ApiError generation_error(const std::string& error, const std::string& param) {
  if (!param.empty()) return invalid_param(param, error);
  return ApiError(500, "server_error", error);
}

void require_shallow_json_text(const std::string& text, const std::string& param) {
  if (json_scan::nests_too_deep(text)) {
    throw invalid_param(param, param + " nests deeper than " + std::to_string(json_scan::kMaxNestingDepth) + " levels");
  }
}

ApiError model_not_found(const std::string& model) {
  return ApiError(404, "invalid_request_error", "The model `" + model + "` does not exist", "model", "model_not_found");
}

}  // namespace nucleus::server
