#include "sampling/grammar/gbnf.h"

#include <string>

#include "sampling/grammar/grammar_error.h"

namespace nucleus::grammar {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Parser {
 public:
  explicit Parser(std::string_view src) : src_(src) {}

  Grammar parse() {
    skip_space();
    while (!eof()) {
      const size_t at = pos_;
      const std::string name = parse_name();
      skip_space();
      if (src_.substr(pos_, 3) != "::=") fail("expected '::=' after rule name '" + name + "'");
      pos_ += 3;
      const uint32_t rule = g_.rule_named(name);
      if (g_.rules()[rule].defined) {
        pos_ = at;
        fail("rule '" + name + "' defined twice");
      }
      parse_alternatives(rule, false);
      skip_space();
    }
    bool has_root = false;
    for (size_t r = 0; r < g_.rules().size(); ++r) {
      if (g_.rules()[r].name == "root") {
        g_.set_root(static_cast<uint32_t>(r));
        has_root = g_.rules()[r].defined;
      }
    }
    if (!has_root) throw GrammarError("GBNF: no rule 'root'");
    return std::move(g_);
  }

 private:
  bool eof() const { return pos_ >= src_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }

  [[noreturn]] void fail(const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < src_.size(); ++i) {
      if (src_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw GrammarError("GBNF: " + what + " at line " + std::to_string(line) + ":" + std::to_string(col));
  }

  void skip_space() {
    while (!eof()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (!eof() && peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (!eof() && is_name_char(peek())) ++pos_;
    if (pos_ == start) fail(std::string("expected a rule name, found '") + peek() + "'");
    return std::string(src_.substr(start, pos_ - start));
  }

  // A name followed by '::=' starts the next rule, which ends the current one.
  bool at_rule_start() {
    size_t p = pos_;
    while (p < src_.size() && is_name_char(src_[p])) ++p;
    while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\n' || src_[p] == '\r')) ++p;
    return src_.substr(p, 3) == "::=";
  }

  void parse_alternatives(uint32_t rule, bool nested) {
    while (true) {
      g_.add_alternative(rule, parse_sequence(nested));
      skip_space();
      if (peek() != '|') return;
      ++pos_;
    }
  }

  Sequence parse_sequence(bool nested) {
    Sequence seq;
    while (true) {
      skip_space();
      if (eof()) break;
      const char c = peek();
      if (c == '|' || c == ')') break;
      if (!nested && is_name_char(c) && at_rule_start()) break;
      Sequence atom = parse_atom();
      skip_quantifiers(atom);
      seq.insert(seq.end(), atom.begin(), atom.end());
    }
    return seq;
  }

  Sequence parse_atom() {
    const char c = peek();
    if (c == '"') return parse_literal();
    if (c == '[') return {parse_class()};
    if (c == '.') {
      ++pos_;
      return {g_.code_points({}, true)};
    }
    if (c == '(') {
      ++pos_;
      if (++depth_ > kMaxGroupDepth) fail("groups nested deeper than " + std::to_string(kMaxGroupDepth));
      const uint32_t rule = g_.new_rule("group");
      parse_alternatives(rule, true);
      skip_space();
      if (peek() != ')') fail("expected ')'");
      ++pos_;
      --depth_;
      return {Grammar::ref(rule)};
    }
    if (is_name_char(c)) return {Grammar::ref(g_.rule_named(parse_name()))};
    if (c == '<' || c == '!') fail("token references ('<[id]>', '!') are not supported");
    fail(std::string("unexpected '") + c + "'");
  }

  void skip_quantifiers(Sequence& atom) {
    while (!eof()) {
      const char c = peek();
      uint32_t min = 0;
      std::optional<uint32_t> max;
      if (c == '*') {
        ++pos_;
      } else if (c == '+') {
        ++pos_;
        min = 1;
      } else if (c == '?') {
        ++pos_;
        max = 1;
      } else if (c == '{') {
        ++pos_;
        skip_space();
        min = parse_count();
        skip_space();
        if (peek() == '}') {
          max = min;
        } else {
          if (peek() != ',') fail("expected ',' or '}' in a repetition");
          ++pos_;
          skip_space();
          if (peek() != '}') max = parse_count();
          skip_space();
        }
        if (peek() != '}') fail("expected '}' to close a repetition");
        ++pos_;
      } else {
        return;
      }
      const Element body = g_.group({atom}, "rep");
      atom = {g_.repeat(body, min, max, "rep")};
    }
  }

  uint32_t parse_count() {
    const size_t start = pos_;
    uint64_t n = 0;
    while (!eof() && peek() >= '0' && peek() <= '9') {
      n = n * 10 + static_cast<uint64_t>(peek() - '0');
      if (n > 1000000) fail("repetition count too large");
      ++pos_;
    }
    if (pos_ == start) fail("expected a number in a repetition");
    return static_cast<uint32_t>(n);
  }

  // One character of a literal or class: an escape or a UTF-8 code point.
  uint32_t parse_char() {
    if (peek() != '\\') return decode_utf8(src_, pos_, "GBNF text");
    const char e = peek(1);
    pos_ += 2;
    switch (e) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case '\\':
      case '"':
      case '[':
      case ']':
      case '-':
      case '^':
      case '/':
      case '\'':
        return static_cast<uint8_t>(e);
      case 'x':
        return parse_hex(2);
      case 'u':
        return parse_hex(4);
      case 'U':
        return parse_hex(8);
      default:
        pos_ -= 2;
        fail(std::string("unknown escape '\\") + e + "'");
    }
  }

  uint32_t parse_hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      const int h = hex_value(peek());
      if (h < 0) fail("expected " + std::to_string(digits) + " hex digits in an escape");
      v = v * 16 + static_cast<uint32_t>(h);
      ++pos_;
    }
    if (v > kMaxCodePoint || (v >= 0xD800 && v <= 0xDFFF)) fail("escape is not a Unicode scalar value");
    return v;
  }

  Sequence parse_literal() {
    ++pos_;
    std::string bytes;
    while (true) {
      if (eof()) fail("unterminated string literal");
      if (peek() == '"') break;
      append_utf8(bytes, parse_char());
    }
    ++pos_;
    return g_.literal(bytes);
  }

  Element parse_class() {
    ++pos_;
    const bool negated = peek() == '^';
    if (negated) ++pos_;
    std::vector<CodePointRange> ranges;
    while (true) {
      if (eof()) fail("unterminated character class");
      if (peek() == ']') break;
      const uint32_t lo = parse_char();
      uint32_t hi = lo;
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < src_.size()) {
        ++pos_;
        hi = parse_char();
        if (hi < lo) fail("character range out of order");
      }
      ranges.push_back({lo, hi});
    }
    ++pos_;
    if (ranges.empty() && !negated) fail("empty character class '[]'");
    return g_.code_points(std::move(ranges), negated);
  }

  std::string_view src_;
  size_t pos_ = 0;
  int depth_ = 0;  // groups open at pos_
  Grammar g_;
};

}  // namespace

Grammar parse_gbnf(std::string_view text) { return Parser(text).parse(); }

std::shared_ptr<const CompiledGrammar> compile_gbnf(std::string_view text) {
  return CompiledGrammar::compile(parse_gbnf(text));
}

}  // namespace nucleus::grammar
