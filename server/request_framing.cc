#include "server/request_framing.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

namespace nucleus::server {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Where the blank line that ends the header starts (the position after the
// last header line's line break), and the line break the header uses.
struct HeaderEnd {
  size_t blank_line;
  std::string_view newline;
};

std::optional<HeaderEnd> header_end(const std::string& buffer) {
  const size_t crlf = buffer.find("\r\n\r\n"), lf = buffer.find("\n\n");
  if (crlf == std::string::npos && lf == std::string::npos) return std::nullopt;
  if (crlf != std::string::npos && (lf == std::string::npos || crlf < lf)) return HeaderEnd{crlf + 2, "\r\n"};
  return HeaderEnd{lf + 1, "\n"};
}

FramingVerdict refuse(int status, std::string message) { return FramingVerdict{status, std::move(message)}; }

// httplib 0.11 reads a body only for these methods; any other's body would be
// parsed as the next request of the connection.
bool method_has_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" || method == "PRI";
}

}  // namespace

std::string body_too_large_message(size_t max_body) {
  return "request body larger than --max-body (" + std::to_string(max_body) + " bytes)";
}

FramingVerdict check_request_framing(std::string& buffer, size_t max_body) {
  const std::optional<HeaderEnd> end = header_end(buffer);
  if (!end) return {};  // not a whole header: nothing to decide yet
  // httplib (as built by Debian) takes only CRLF line ends: a header it would
  // read differently from this check is refused, not guessed at.
  if (end->newline != "\r\n") return refuse(400, "request header lines must end in CRLF");
  const std::string_view header(buffer.data(), end->blank_line);
  const std::string_view method = header.substr(0, header.find(' '));
  std::optional<std::string> length;  // the digits of Content-Length
  bool transfer_encoding = false;
  size_t line_start = 0;
  for (bool request_line = true; line_start < header.size(); request_line = false) {
    const size_t next = header.find('\n', line_start);
    if (next == 0 || header[next - 1] != '\r') return refuse(400, "request header lines must end in CRLF");
    const std::string_view line = header.substr(line_start, next - 1 - line_start);
    line_start = next + 1;
    if (request_line) continue;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      return refuse(400, "folded request header lines are not accepted (RFC 9112 5.2)");
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // httplib skips it too
    const std::string_view raw_name = line.substr(0, colon);
    if (raw_name.find_first_of(" \t") != std::string_view::npos) {
      return refuse(400, "whitespace in the request header name '" + std::string(raw_name) + "' (RFC 9112 5.1)");
    }
    const std::string name = lower(raw_name);
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      if (value.empty() || !std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return refuse(400, "invalid Content-Length header '" + std::string(value) + "': must be a decimal number");
      }
      if (length && *length != value) return refuse(400, "the request has Content-Length headers that differ");
      length = std::string(value);
    } else if (name == "transfer-encoding") {
      if (lower(value) != "chunked") {
        return refuse(501, "Transfer-Encoding '" + std::string(value) + "' is not supported (only chunked)");
      }
      transfer_encoding = true;
    }
  }
  if (length && transfer_encoding) return refuse(400, "the request has both Content-Length and Transfer-Encoding");
  // The length without leading zeros: empty for 0; compared as text, so no digit count overflows.
  const std::string digits = length ? length->substr(std::min(length->find_first_not_of('0'), length->size())) : "";
  if (!method_has_body(method) && (transfer_encoding || !digits.empty())) {
    return refuse(400, "a " + std::string(method) + " request has no body");
  }
  if (length) {
    const std::string limit = std::to_string(max_body);
    if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit)) {
      return refuse(413, body_too_large_message(max_body));
    }
    return {};
  }
  if (!transfer_encoding) buffer.insert(end->blank_line, "Content-Length: 0\r\n");
  return {};
}

}  // namespace nucleus::server
