// JSON mode (response_format {"type": "json_object"}): a byte-level recognizer
// for one JSON object (RFC 8259), used to mask the tokens that cannot continue
// valid JSON. The state is a small POD, so the engine can copy it freely while
// it tries every token of the vocabulary (engine/json_token_mask.h).
//
// What it accepts, on top of RFC 8259:
//   - the top-level value must be an object (what "json_object" promises);
//   - nesting is at most kMaxDepth containers deep;
//   - at most kMaxWhitespaceRun whitespace bytes in a row outside strings, so a
//     model cannot pad forever instead of finishing (llama.cpp's JSON grammar
//     bounds whitespace for the same reason);
//   - strings hold well-formed UTF-8 (RFC 3629: no overlong forms, no
//     surrogates, nothing above U+10FFFF) and no raw control bytes.
// Once the object is closed (complete()), no byte is accepted: the engine then
// only allows the end-of-generation token.
#pragma once

#include <cstdint>
#include <string_view>

namespace nucleus::sampling {

class JsonState {
 public:
  static constexpr int kMaxDepth = 64;
  static constexpr int kMaxWhitespaceRun = 32;

  // Consumes one byte; returns false (and leaves the state unusable) when the
  // byte cannot continue valid JSON.
  bool step(uint8_t byte);
  // Every byte of `bytes`; false at the first that cannot continue.
  bool step(std::string_view bytes);
  // The top-level object is closed.
  bool complete() const { return mode_ == Mode::kDone; }

 private:
  enum class Mode : uint8_t {
    kStart,          // before the top-level '{'
    kKeyOrEnd,       // after '{': a key or '}'
    kKey,            // after ',' in an object: a key
    kColon,          // after a key
    kValue,          // after ':' or ',' in an array: any value
    kValueOrEnd,     // after '[': a value or ']'
    kAfterValue,     // after a value in a container: ',' or the closing bracket
    kString,         // inside a string (key_ says which kind)
    kEscape,         // after '\' in a string
    kHex,            // in \uXXXX, hex_left_ digits to go
    kNumber,         // inside a number, num_ says where
    kLiteral,        // inside true/false/null
    kDone,           // the top-level object is closed
  };
  enum class Num : uint8_t { kMinus, kZero, kInt, kDot, kFrac, kExp, kExpSign, kExpInt };

  bool open(bool array);
  bool close(bool array);
  bool value_start(uint8_t byte);
  void value_done();
  bool structural(uint8_t byte);  // a byte outside strings, numbers and literals
  bool in_array() const { return depth_ > 0 && ((stack_ >> (depth_ - 1)) & 1u); }

  uint64_t stack_ = 0;  // bit i: the container at depth i + 1 is an array
  uint8_t depth_ = 0;
  Mode mode_ = Mode::kStart;
  Num num_ = Num::kMinus;
  bool key_ = false;        // the current string is an object key
  uint8_t utf8_left_ = 0;   // continuation bytes still due in a string
  uint8_t utf8_lo_ = 0x80, utf8_hi_ = 0xBF;  // the range the next continuation byte must fall in
  uint8_t hex_left_ = 0;
  uint8_t ws_run_ = 0;
  uint8_t literal_ = 0;     // 0 true, 1 false, 2 null
  uint8_t literal_pos_ = 0;  // bytes of it matched
};

}  // namespace nucleus::sampling
