#include "text/json_scan.h"

#include <algorithm>

namespace nucleus::json_scan {
namespace {

// One past the closing quote of the string opening at text[pos] == '"', or
// npos when the text ends inside it.
size_t string_end(std::string_view text, size_t pos) {
  for (size_t i = pos + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // the escaped byte cannot close the string
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// One past the end of the value starting at text[pos], for text already known
// to be valid JSON; npos if it is not there after all.
size_t value_end(std::string_view text, size_t pos) {
  if (pos >= text.size()) return std::string_view::npos;
  char c = text[pos];
  if (c == '"') return string_end(text, pos);
  if (c == '{' || c == '[') {
    ScanResult r = scan_container(text, pos);
    return r.status == ScanStatus::kComplete ? r.end : std::string_view::npos;
  }
  size_t i = pos;  // number, true, false, null
  while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' && !is_space(text[i])) ++i;
  return i == pos ? std::string_view::npos : i;
}

}  // namespace

size_t nesting_depth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  return text.substr(b, e - b);
}

size_t skip_space(std::string_view text, size_t pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos;
}

ScanResult scan_container(std::string_view text, size_t pos, ScanMemo* memo) {
  if (pos >= text.size() || (text[pos] != '{' && text[pos] != '[')) return {ScanStatus::kInvalid, 0};
  // Only the depth matters: a mismatched bracket kind is caught by the parse that follows.
  size_t i = pos, depth = 0;
  bool in_string = false;
  if (memo && memo->start == pos && memo->next <= text.size()) {
    i = memo->next;
    depth = memo->depth;
    in_string = memo->in_string;
  }
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        if (i + 1 == text.size()) break;  // resume at the backslash, whose escaped byte is still to come
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return {ScanStatus::kComplete, i + 1};
    }
  }
  if (memo) *memo = {pos, i, depth, in_string};
  return {ScanStatus::kIncomplete, 0};
}

std::optional<std::vector<Member>> object_members(std::string_view object_text) {
  std::string_view t = trim(object_text);
  if (t.size() < 2 || t.front() != '{' || t.back() != '}') return std::nullopt;
  std::vector<Member> members;
  size_t i = skip_space(t, 1);
  if (t[i] == '}') return members;
  while (i < t.size()) {
    if (t[i] != '"') return std::nullopt;
    size_t key_end = string_end(t, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    size_t colon = skip_space(t, key_end);
    if (colon >= t.size() || t[colon] != ':') return std::nullopt;
    size_t value_begin = skip_space(t, colon + 1);
    size_t end = value_end(t, value_begin);
    if (end == std::string_view::npos) return std::nullopt;
    members.push_back({t.substr(i, key_end - i), t.substr(value_begin, end - value_begin)});
    size_t next = skip_space(t, end);
    if (next >= t.size()) return std::nullopt;
    if (t[next] == '}') return members;
    if (t[next] != ',') return std::nullopt;
    i = skip_space(t, next + 1);
  }
  return std::nullopt;
}

std::optional<std::vector<std::string_view>> array_elements(std::string_view array_text) {
  std::string_view t = trim(array_text);
  if (t.size() < 2 || t.front() != '[' || t.back() != ']') return std::nullopt;
  std::vector<std::string_view> elements;
  size_t i = skip_space(t, 1);
  if (t[i] == ']') return elements;
  while (i < t.size()) {
    size_t end = value_end(t, i);
    if (end == std::string_view::npos) return std::nullopt;
    elements.push_back(t.substr(i, end - i));
    size_t next = skip_space(t, end);
    if (next >= t.size()) return std::nullopt;
    if (t[next] == ']') return elements;
    if (t[next] != ',') return std::nullopt;
    i = skip_space(t, next + 1);
  }
  return std::nullopt;
}

}  // namespace nucleus::json_scan
