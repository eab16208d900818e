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
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
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

}  // namespace

FramingVerdict check_request_framing(std::string& buffer, size_t max_body) {
  const std::optional<HeaderEnd> end = header_end(buffer);
  if (!end) return {};  // not a whole header: nothing to decide yet
  const std::string_view header(buffer.data(), end->blank_line);
  std::optional<std::string> length;  // the digits of Content-Length
  bool transfer_encoding = false;
  size_t line_start = header.find('\n');  // after the request line
  while (line_start != std::string_view::npos && line_start + 1 < header.size()) {
    const size_t next = header.find('\n', line_start + 1);
    const std::string_view line =
        header.substr(line_start + 1, (next == std::string_view::npos ? header.size() : next) - line_start - 1);
    line_start = next;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // httplib ignores it too
    const std::string name = lower(trim(line.substr(0, colon)));
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
  if (length) {
    const std::string digits = length->substr(std::min(length->find_first_not_of('0'), length->size()));
    const std::string limit = std::to_string(max_body);
    if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit)) {
      return refuse(413, "request body larger than --max-body (" + limit + " bytes)");
    }
    return {};
  }
  if (!transfer_encoding) buffer.insert(end->blank_line, "Content-Length: 0" + std::string(end->newline));
  return {};
}

}  // namespace nucleus::server
