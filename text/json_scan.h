// Finding where a JSON value ends in text that may still be arriving, and
// the raw text of an object's members. The tool-call parsers use it to cut a
// call's JSON out of model output and to pass the arguments through exactly as
// the model wrote them; validation proper is left to nlohmann::json.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace nucleus::json_scan {

// The deepest nesting of objects and arrays in JSON text (brackets outside
// strings; 0 for a scalar), found without recursion, so that text nested too
// deep for the recursive code that walks a parsed value (nlohmann's dump,
// the template and grammar converters) is refused before it is parsed.
size_t nesting_depth(std::string_view text);
// The deepest a request body, or a JSON string inside it, may nest.
inline constexpr size_t kMaxNestingDepth = 512;
inline bool nests_too_deep(std::string_view text) { return nesting_depth(text) > kMaxNestingDepth; }

// ASCII JSON whitespace (space, tab, newline, carriage return).
bool is_space(char c);
std::string_view trim(std::string_view text);
// Index of the first non-whitespace byte at or after `pos` (text.size() if none).
size_t skip_space(std::string_view text, size_t pos);

enum class ScanStatus {
  kComplete,    // the value ends at `end`
  kIncomplete,  // the text ran out inside the value: more text may complete it
  kInvalid,     // no JSON value can start here
};
struct ScanResult {
  ScanStatus status = ScanStatus::kInvalid;
  size_t end = 0;  // one past the value's last byte when kComplete
};

// Where an incomplete scan_container stopped, so a stream that only grows at
// the end can resume there instead of reading the whole value again.
struct ScanMemo {
  size_t start = static_cast<size_t>(-1);  // the container's first byte; npos: nothing saved
  size_t next = 0;                         // the byte to read next
  size_t depth = 0;
  bool in_string = false;
};

// Finds the end of the object or array that opens at text[pos] ('{' or '['),
// matching brackets outside strings (escapes honoured). Structure inside is
// not checked: a complete result still needs a real parse. With `memo`, an
// incomplete scan saves its place and a later call for the same `pos`
// resumes from it: the caller must reset the memo when the text before
// memo->next changes.
ScanResult scan_container(std::string_view text, size_t pos, ScanMemo* memo = nullptr);

// Raw member texts of a JSON object that is already known to be valid.
struct Member {
  std::string_view key_raw;  // the key as written, quotes included
  std::string_view value;    // the value as written, no surrounding whitespace
};
// Returns nullopt if `object_text` is not shaped like an object.
std::optional<std::vector<Member>> object_members(std::string_view object_text);
// Raw element texts of a JSON array that is already known to be valid.
std::optional<std::vector<std::string_view>> array_elements(std::string_view array_text);

}  // namespace nucleus::json_scan
