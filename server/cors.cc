#include "server/cors.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace nucleus::server {
namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Origins compare case-insensitively (scheme and host are).
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// scheme://host[:port], nothing after: what browsers put in Origin.
bool looks_like_origin(const std::string& o) {
  const size_t sep = o.find("://");
  if (sep == std::string::npos || sep == 0) return false;
  const std::string rest = o.substr(sep + 3);
  return !rest.empty() && rest.find_first_of("/?# ") == std::string::npos;
}

}  // namespace

CorsPolicy CorsPolicy::parse(const std::string& list) {
  CorsPolicy policy;
  size_t begin = 0;
  while (begin <= list.size()) {
    const size_t comma = std::min(list.find(',', begin), list.size());
    const std::string entry = trim(list.substr(begin, comma - begin));
    begin = comma + 1;
    if (entry.empty()) continue;
    if (entry == "*") {
      policy.any_ = true;
    } else if (looks_like_origin(entry)) {
      policy.origins_.push_back(lower(entry));
    } else {
      throw std::invalid_argument("'" + entry + "' is not an origin (scheme://host[:port], or * for any)");
    }
  }
  return policy;
}

std::string CorsPolicy::allow_origin(const std::string& origin) const {
  if (origin.empty()) return "";
  if (any_) return "*";
  return std::find(origins_.begin(), origins_.end(), lower(origin)) != origins_.end() ? origin : "";
}

}  // namespace nucleus::server
