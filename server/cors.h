// CORS: which web pages (origins) a browser lets call this server. Browsers
// send `Origin` on cross-origin requests and, before a POST with JSON or an
// Authorization header, an OPTIONS preflight; without the Access-Control-*
// answers a web UI on another origin cannot use the API. vLLM (--allowed-origins)
// and llama.cpp's server allow every origin by default; so does Nucleus
// (--allowed-origins '*'). An API key (--api-key) still applies to every call.
#pragma once

#include <string>
#include <vector>

namespace nucleus::server {

class CorsPolicy {
 public:
  // "" = no CORS headers at all; "*" = any origin; else a comma-separated list
  // of origins (scheme://host[:port]). Throws std::invalid_argument naming a bad entry.
  static CorsPolicy parse(const std::string& list);

  bool enabled() const { return any_ || !origins_.empty(); }
  // The Access-Control-Allow-Origin value for a request from `origin`, or ""
  // when that origin may not call (or the request has no Origin).
  std::string allow_origin(const std::string& origin) const;
  // The value is the request's origin, not "*": responses then vary with Origin.
  bool varies_by_origin() const { return !any_; }

 private:
  bool any_ = false;
  std::vector<std::string> origins_;
};

}  // namespace nucleus::server
