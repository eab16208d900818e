// Python's str semantics on UTF-8 text: lengths, indexes and slices count code points, and
// strip/split/title/... follow CPython, case mapping included (full Unicode, from Python's own tables).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::jinja::pystr {

// a + b + c + ... built by appending (GCC 12's -Wrestrict misfires on `"x" + std::string(...)`).
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

std::u32string decode(std::string_view utf8);  // invalid bytes become U+FFFD
std::string encode(std::u32string_view text);
bool is_ascii(std::string_view s);
size_t length(std::string_view s);  // in code points

bool is_space(char32_t c);  // str.isspace()
// str.strip([chars]) and its one-sided variants; `chars` is nullopt for whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep=None, maxsplit=-1) and str.rsplit.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends = false);
// str.replace(old, new, count=-1); an empty `old` inserts `repl` around every code point.
std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);
// str.count(sub) and str.find(sub) (a code-point index, -1 if absent).
int64_t count(std::string_view s, std::string_view sub);
int64_t find(std::string_view s, std::string_view sub);

// The byte offset of code point `index` (s.size() past the end).
size_t byte_offset(std::string_view s, size_t index);

// str.upper(), lower() (with the final sigma rule), title(), capitalize(), swapcase(), casefold():
// Python's full case mapping ('straße'.upper() == 'STRASSE').
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);
std::string capitalize(std::string_view s);
std::string swapcase(std::string_view s);
std::string casefold(std::string_view s);
bool is_upper(std::string_view s);  // str.isupper(): has a cased char, none lowercase or titlecase
bool is_lower(std::string_view s);
bool is_title(std::string_view s);  // str.istitle()

// s[start:stop:step] with Python's clamping; nullopt bounds are omitted ones. Step must not be 0.
std::string slice(std::string_view s, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step);
// Python's slice.indices(): the concrete positions a slice visits in a sequence of `size`.
std::vector<int64_t> slice_positions(int64_t size, std::optional<int64_t> start, std::optional<int64_t> stop,
                                     int64_t step);

// repr(float) / str(float): the shortest text that reads back the same double ("0.1", "1e+16").
std::string float_repr(double f);
// repr(str): quoted and escaped as CPython does ('it\'s' -> "it's").
std::string string_repr(std::string_view s);

}  // namespace nucleus::jinja::pystr
