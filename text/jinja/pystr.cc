#include "text/jinja/pystr.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "text/unicode_utf8.h"

namespace nucleus::jinja::pystr {

std::u32string decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<uint8_t>(s[i]);
    size_t n = unicode::utf8_sequence_length(b);
    if (n == 1 || i + n > s.size()) {
      out.push_back(b < 0x80 ? b : 0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = b & (0xFF >> (n + 1));
    bool ok = true;
    for (size_t k = 1; k < n; ++k) {
      auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    out.push_back(ok ? cp : 0xFFFD);
    i += ok ? n : 1;
  }
  return out;
}

std::string encode(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) unicode::append_utf8(c > 0x10FFFF ? 0xFFFD : c, out);
  return out;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<uint8_t>(c) < 0x80; });
}

size_t length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  std::u32string t = decode(s);
  std::u32string set = chars ? decode(*chars) : std::u32string();
  auto strippable = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : is_space(c); };
  size_t b = 0, e = t.size();
  if (left)
    while (b < e && strippable(t[b])) ++b;
  if (right)
    while (e > b && strippable(t[e - 1])) --e;
  return encode(std::u32string_view(t).substr(b, e - b));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) throw std::invalid_argument("empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      size_t hit = s.find(*sep, pos);
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, hit - pos));
      pos = hit + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  std::u32string t = decode(s);
  size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && is_space(t[i])) ++i;
    if (i == t.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      size_t e = t.size();
      while (e > i && is_space(t[e - 1])) --e;
      out.push_back(encode(std::u32string_view(t).substr(i, e - i)));
      break;
    }
    size_t j = i;
    while (j < t.size() && !is_space(t[j])) ++j;
    out.push_back(encode(std::u32string_view(t).substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  if (maxsplit < 0) return split(s, sep, maxsplit);
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) throw std::invalid_argument("empty separator");
    size_t end = s.size();
    while (static_cast<int64_t>(out.size()) < maxsplit) {
      if (end < sep->size()) break;
      size_t hit = s.rfind(*sep, end - sep->size());
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    out.emplace_back(s.substr(0, end));
  } else {
    std::u32string t = decode(s);
    size_t e = t.size();
    while (e > 0) {
      while (e > 0 && is_space(t[e - 1])) --e;
      if (e == 0) break;
      if (static_cast<int64_t>(out.size()) == maxsplit) {
        size_t b = 0;
        while (b < e && is_space(t[b])) ++b;
        out.push_back(encode(std::u32string_view(t).substr(b, e - b)));
        break;
      }
      size_t b = e;
      while (b > 0 && !is_space(t[b - 1])) --b;
      out.push_back(encode(std::u32string_view(t).substr(b, e - b)));
      e = b;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
  std::u32string t = decode(s);
  std::vector<std::string> out;
  size_t i = 0, start = 0;
  auto is_break = [](char32_t c) {
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 ||
           c == 0x2028 || c == 0x2029;
  };
  while (i < t.size()) {
    if (!is_break(t[i])) {
      ++i;
      continue;
    }
    size_t eol = i;
    i += (t[i] == '\r' && i + 1 < t.size() && t[i + 1] == '\n') ? 2 : 1;
    out.push_back(encode(std::u32string_view(t).substr(start, (keepends ? i : eol) - start)));
    start = i;
  }
  if (start < t.size()) out.push_back(encode(std::u32string_view(t).substr(start)));
  return out;
}

std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count) {
  std::string out;
  if (old.empty()) {
    std::u32string t = decode(s);
    int64_t done = 0;
    for (size_t i = 0; i <= t.size(); ++i) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      if (i < t.size()) out += encode(std::u32string_view(&t[i], 1));
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(old, pos);
    if (hit == std::string_view::npos) break;
    out += s.substr(pos, hit - pos);
    out += repl;
    pos = hit + old.size();
    ++done;
  }
  out += s.substr(pos);
  return out;
}

int64_t count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<int64_t>(length(s)) + 1;
  int64_t n = 0;
  for (size_t pos = s.find(sub); pos != std::string_view::npos; pos = s.find(sub, pos + sub.size())) ++n;
  return n;
}

int64_t find(std::string_view s, std::string_view sub) {
  size_t hit = s.find(sub);
  return hit == std::string_view::npos ? -1 : static_cast<int64_t>(length(s.substr(0, hit)));
}

namespace {

// Python's case mapping, generated from Python itself (scripts/golden/gen_unicode_case.py).
struct CaseRecord {
  uint8_t flags;
  int32_t upper, lower, title, fold;  // single-character mappings, as code point deltas
};
struct CaseRun {
  uint32_t first, last;
  uint8_t stride;  // 2 for alternating upper/lower pairs
  uint16_t record;
};
// Code points whose upper, lower, title or fold mapping is more than one character ('ß' -> "SS").
struct SpecialCase {
  uint32_t cp;
  const char32_t *upper, *lower, *title, *fold;
};

#include "text/jinja/unicode_case_table.inc"

enum CaseFlag : uint8_t { kLower = 1, kUpper = 2, kTitle = 4, kCased = 8, kCaseIgnorable = 16 };
enum class Mapping { kUpper, kLower, kTitle, kFold };

// The runs expanded to one sorted (code point, record) entry each: a few thousand, built once.
const std::vector<std::pair<char32_t, uint16_t>>& case_index() {
  static const std::vector<std::pair<char32_t, uint16_t>> index = [] {
    std::vector<std::pair<char32_t, uint16_t>> out;
    for (const CaseRun& r : kCaseRuns)
      for (uint32_t c = r.first; c <= r.last; c += r.stride) out.emplace_back(c, r.record);
    std::sort(out.begin(), out.end());
    return out;
  }();
  return index;
}

const CaseRecord& case_record(char32_t c) {
  static constexpr CaseRecord kNone{0, 0, 0, 0, 0};
  const auto& index = case_index();
  auto it = std::lower_bound(index.begin(), index.end(), std::make_pair(c, uint16_t{0}));
  return it != index.end() && it->first == c ? kCaseRecords[it->second] : kNone;
}

bool has(char32_t c, uint8_t flag) { return (case_record(c).flags & flag) != 0; }

void append_mapped(char32_t c, Mapping m, std::u32string& out) {
  auto special = std::lower_bound(std::begin(kSpecialCases), std::end(kSpecialCases), c,
                                  [](const SpecialCase& sc, char32_t x) { return sc.cp < x; });
  if (special != std::end(kSpecialCases) && special->cp == c) {
    out += m == Mapping::kUpper   ? special->upper
           : m == Mapping::kLower ? special->lower
           : m == Mapping::kTitle ? special->title
                                  : special->fold;
    return;
  }
  const CaseRecord& r = case_record(c);
  int32_t d = m == Mapping::kUpper ? r.upper : m == Mapping::kLower ? r.lower : m == Mapping::kTitle ? r.title : r.fold;
  out += static_cast<char32_t>(static_cast<int32_t>(c) + d);
}

// CPython's lower of t[i]: a capital sigma is final (ς) after a cased letter and not before one,
// case-ignorable characters (apostrophes, combining marks) skipped both ways.
void append_lower(const std::u32string& t, size_t i, std::u32string& out) {
  if (t[i] != 0x3A3) return append_mapped(t[i], Mapping::kLower, out);
  size_t j = i;
  while (j > 0 && has(t[j - 1], kCaseIgnorable)) --j;
  bool final_sigma = j > 0 && has(t[j - 1], kCased);
  if (final_sigma) {
    size_t k = i + 1;
    while (k < t.size() && has(t[k], kCaseIgnorable)) ++k;
    final_sigma = k == t.size() || !has(t[k], kCased);
  }
  out += final_sigma ? U'\u03C2' : U'\u03C3';
}

// ASCII text maps byte by byte; the rest through the tables.
template <typename F>
std::string map_text(std::string_view s, char (*ascii)(char), F f) {
  if (is_ascii(s)) {
    std::string out(s);
    for (char& c : out) c = ascii(c);
    return out;
  }
  std::u32string t = decode(s), out;
  for (size_t i = 0; i < t.size(); ++i) f(t, i, out);
  return encode(out);
}

char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
char ascii_swap(char c) { return c >= 'a' && c <= 'z' ? ascii_upper(c) : ascii_lower(c); }

}  // namespace

std::string upper(std::string_view s) {
  return map_text(s, ascii_upper, [](const std::u32string& t, size_t i, std::u32string& out) {
    append_mapped(t[i], Mapping::kUpper, out);
  });
}

std::string lower(std::string_view s) { return map_text(s, ascii_lower, append_lower); }

std::string casefold(std::string_view s) {
  return map_text(s, ascii_lower, [](const std::u32string& t, size_t i, std::u32string& out) {
    append_mapped(t[i], Mapping::kFold, out);
  });
}

std::string swapcase(std::string_view s) {
  return map_text(s, ascii_swap, [](const std::u32string& t, size_t i, std::u32string& out) {
    if (has(t[i], kUpper))
      append_lower(t, i, out);
    else if (has(t[i], kLower))
      append_mapped(t[i], Mapping::kUpper, out);
    else
      out += t[i];
  });
}

std::string title(std::string_view s) {
  std::u32string t = decode(s), out;
  bool prev_cased = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (prev_cased)
      append_lower(t, i, out);
    else
      append_mapped(t[i], Mapping::kTitle, out);
    prev_cased = has(t[i], kCased);
  }
  return encode(out);
}

std::string capitalize(std::string_view s) {
  std::u32string t = decode(s), out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i == 0)
      append_mapped(t[i], Mapping::kTitle, out);
    else
      append_lower(t, i, out);
  }
  return encode(out);
}

bool is_upper(std::string_view s) {
  bool cased = false;
  for (char32_t c : decode(s)) {
    if (has(c, kLower | kTitle)) return false;
    cased = cased || has(c, kUpper);
  }
  return cased;
}

bool is_lower(std::string_view s) {
  bool cased = false;
  for (char32_t c : decode(s)) {
    if (has(c, kUpper | kTitle)) return false;
    cased = cased || has(c, kLower);
  }
  return cased;
}

bool is_title(std::string_view s) {
  bool cased = false, prev_cased = false;
  for (char32_t c : decode(s)) {
    if (has(c, kUpper | kTitle)) {
      if (prev_cased) return false;
      prev_cased = cased = true;
    } else if (has(c, kLower)) {
      if (!prev_cased) return false;
      prev_cased = cased = true;
    } else {
      prev_cased = false;
    }
  }
  return cased;
}

size_t byte_offset(std::string_view s, size_t index) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) continue;
    if (n++ == index) return i;
  }
  return s.size();
}

std::vector<int64_t> slice_positions(int64_t size, std::optional<int64_t> start, std::optional<int64_t> stop,
                                     int64_t step) {
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + size : *v;
    return std::clamp(x, lo, hi);
  };
  std::vector<int64_t> out;
  if (step > 0) {
    int64_t b = clamp(start, 0, 0, size), e = clamp(stop, size, 0, size);
    for (int64_t i = b; i < e; i += step) out.push_back(i);
  } else {
    int64_t b = clamp(start, size - 1, -1, size - 1), e = clamp(stop, -1, -1, size - 1);
    for (int64_t i = b; i > e; i += step) out.push_back(i);
  }
  return out;
}

std::string slice(std::string_view s, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
  if (is_ascii(s)) {
    std::string out;
    for (int64_t i : slice_positions(static_cast<int64_t>(s.size()), start, stop, step)) out += s[i];
    return out;
  }
  std::u32string t = decode(s), out;
  for (int64_t i : slice_positions(static_cast<int64_t>(t.size()), start, stop, step)) out += t[i];
  return encode(out);
}

std::string float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
  if (f == 0) return std::signbit(f) ? "-0.0" : "0.0";
  // Shortest round-trip digits, as CPython's repr, then its layout: fixed for 1e-4 <= |f| < 1e16.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t epos = sci.find('e');
  int exp = std::stoi(sci.substr(epos + 1));
  std::string digits = sci.substr(0, epos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      if (static_cast<int>(digits.size()) <= exp + 1) {
        out = digits + std::string(exp + 1 - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
      }
    } else {
      out = "0." + std::string(-exp - 1, '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof(e), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += e;
  }
  return sign + out;
}

std::string string_repr(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos, has_double = s.find('"') != std::string_view::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : decode(s)) {
    char buf[16];
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) {
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if ((c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) ||
               c == 0xFEFF || (c >= 0xD800 && c <= 0xDFFF) || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
               c == 0x205F || c == 0x3000) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      unicode::append_utf8(c, out);
    }
  }
  out += quote;
  return out;
}

}  // namespace nucleus::jinja::pystr
