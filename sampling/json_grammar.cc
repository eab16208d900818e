#include "sampling/json_grammar.h"

namespace nucleus::sampling {
namespace {

constexpr std::string_view kLiterals[3] = {"true", "false", "null"};

bool is_ws(uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }
bool is_digit(uint8_t b) { return b >= '0' && b <= '9'; }
bool is_hex(uint8_t b) { return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }

}  // namespace

bool JsonState::step(std::string_view bytes) {
  for (char c : bytes) {
    if (!step(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

bool JsonState::open(bool array) {
  if (depth_ >= kMaxDepth) return false;
  if (array) stack_ |= uint64_t{1} << depth_;
  else stack_ &= ~(uint64_t{1} << depth_);
  ++depth_;
  mode_ = array ? Mode::kValueOrEnd : Mode::kKeyOrEnd;
  return true;
}

bool JsonState::close(bool array) {
  if (depth_ == 0 || in_array() != array) return false;
  --depth_;
  value_done();
  return true;
}

void JsonState::value_done() { mode_ = depth_ == 0 ? Mode::kDone : Mode::kAfterValue; }

bool JsonState::value_start(uint8_t b) {
  switch (b) {
    case '{': return open(false);
    case '[': return open(true);
    case '"':
      mode_ = Mode::kString;
      key_ = false;
      return true;
    case '-':
      mode_ = Mode::kNumber;
      num_ = Num::kMinus;
      return true;
    case 't': case 'f': case 'n':
      mode_ = Mode::kLiteral;
      literal_ = b == 't' ? 0 : b == 'f' ? 1 : 2;
      literal_pos_ = 1;
      return true;
    default:
      if (!is_digit(b)) return false;
      mode_ = Mode::kNumber;
      num_ = b == '0' ? Num::kZero : Num::kInt;
      return true;
  }
}

bool JsonState::structural(uint8_t b) {
  if (is_ws(b)) {
    if (mode_ == Mode::kDone || ++ws_run_ > kMaxWhitespaceRun) return false;
    return true;
  }
  ws_run_ = 0;
  switch (mode_) {
    case Mode::kStart:
      return b == '{' && open(false);
    case Mode::kKeyOrEnd:
      if (b == '}') return close(false);
      [[fallthrough]];
    case Mode::kKey:
      if (b != '"') return false;
      mode_ = Mode::kString;
      key_ = true;
      return true;
    case Mode::kColon:
      if (b != ':') return false;
      mode_ = Mode::kValue;
      return true;
    case Mode::kValueOrEnd:
      if (b == ']') return close(true);
      [[fallthrough]];
    case Mode::kValue:
      return value_start(b);
    case Mode::kAfterValue:
      if (b == ',') {
        mode_ = in_array() ? Mode::kValue : Mode::kKey;
        return true;
      }
      if (b == '}' || b == ']') return close(b == ']');
      return false;
    default:
      return false;  // kDone: nothing may follow the object
  }
}

bool JsonState::step(uint8_t b) {
  switch (mode_) {
    case Mode::kString:
      if (utf8_left_ > 0) {
        if (b < utf8_lo_ || b > utf8_hi_) return false;
        --utf8_left_;
        utf8_lo_ = 0x80;
        utf8_hi_ = 0xBF;
        return true;
      }
      if (b == '"') {
        if (key_) mode_ = Mode::kColon;
        else value_done();
        return true;
      }
      if (b == '\\') {
        mode_ = Mode::kEscape;
        return true;
      }
      if (b < 0x20) return false;
      if (b < 0x80) return true;
      // RFC 3629's table: the second byte's range depends on the lead byte.
      utf8_lo_ = 0x80;
      utf8_hi_ = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        utf8_left_ = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        utf8_left_ = 2;
        if (b == 0xE0) utf8_lo_ = 0xA0;  // no overlong forms
        if (b == 0xED) utf8_hi_ = 0x9F;  // no surrogates
      } else if (b >= 0xF0 && b <= 0xF4) {
        utf8_left_ = 3;
        if (b == 0xF0) utf8_lo_ = 0x90;
        if (b == 0xF4) utf8_hi_ = 0x8F;  // nothing above U+10FFFF
      } else {
        return false;
      }
      return true;
    case Mode::kEscape:
      if (b == 'u') {
        mode_ = Mode::kHex;
        hex_left_ = 4;
        return true;
      }
      if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't') {
        mode_ = Mode::kString;
        return true;
      }
      return false;
    case Mode::kHex:
      if (!is_hex(b)) return false;
      if (--hex_left_ == 0) mode_ = Mode::kString;
      return true;
    case Mode::kLiteral: {
      const std::string_view lit = kLiterals[literal_];
      if (b != static_cast<uint8_t>(lit[literal_pos_])) return false;
      if (++literal_pos_ == lit.size()) value_done();
      return true;
    }
    case Mode::kNumber: {
      const bool digit = is_digit(b);
      switch (num_) {
        case Num::kMinus:
          if (!digit) return false;
          num_ = b == '0' ? Num::kZero : Num::kInt;
          return true;
        case Num::kZero:
        case Num::kInt:
          if (digit && num_ == Num::kInt) return true;
          if (b == '.') { num_ = Num::kDot; return true; }
          if (b == 'e' || b == 'E') { num_ = Num::kExp; return true; }
          break;  // the number ends here
        case Num::kDot:
          if (!digit) return false;
          num_ = Num::kFrac;
          return true;
        case Num::kFrac:
          if (digit) return true;
          if (b == 'e' || b == 'E') { num_ = Num::kExp; return true; }
          break;
        case Num::kExp:
          if (b == '+' || b == '-') { num_ = Num::kExpSign; return true; }
          [[fallthrough]];
        case Num::kExpSign:
          if (!digit) return false;
          num_ = Num::kExpInt;
          return true;
        case Num::kExpInt:
          if (digit) return true;
          break;
      }
      // A complete number ended by this byte, which must then fit after a value.
      value_done();
      return structural(b);
    }
    default:
      return structural(b);
  }
}

}  // namespace nucleus::sampling
