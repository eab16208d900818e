// API key check for --api-key: "Authorization: Bearer <key>", compared in
// constant time so response timing does not reveal how much of a guess matched.
#pragma once

#include <string>
#include <string_view>

namespace nucleus::server {

// True when `a` and `b` are equal; the time taken depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

// True when `authorization_header` is "Bearer <expected_key>" (scheme case-insensitive).
// An empty expected key means auth is off: always true.
bool authorized(std::string_view authorization_header, const std::string& expected_key);

}  // namespace nucleus::server
